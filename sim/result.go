package sim

import (
	"fmt"
	"strconv"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
)

// Result is what a run produced.
type Result struct {
	Scenario    string
	Seed        uint64
	TraceHash   uint64
	VirtualTime time.Duration // virtual time reached (the deadline, or the failing event)
	Counts      Counts
	// Failure is the first broken check, or nil if every check held.
	Failure *Failure
	// Interrupted reports that Config.Interrupt stopped the run before its end (a
	// wall-clock limit, say): the run is neither a pass nor a failure, its end-of-run
	// check did not run, and its trace hash and counts are those of the prefix it ran.
	Interrupted bool
	// Timeline holds the run's notable happenings in order (leaders taking office, faults),
	// for the story of a run; at most timelineMax are kept, the rest only counted.
	Timeline        []Happening
	TimelineDropped int
	// Terms summarises, per term in which a leader was seen, who led, when it took office
	// and which committed entries were created in that term (at most termsMax terms).
	Terms []TermSummary

	// History is every client operation, invoked and answered, on one timestamp scale
	// (see World.History); operations given up or pending at the end are Unknown.
	History []linearizability.Op
	// Annotations mark the run's crash windows, partitions and leaders' terms on the
	// history's timestamp scale, for the visualization.
	Annotations []linearizability.Annotation

	// FinalConfig is the configuration in force at the end of the run, as
	// World.Configuration computes it (the basis of World.Voters).
	FinalConfig node.Configuration

	// LeaseViolation is the first Lease Safety violation of a run whose clocks had left
	// the bound the leases rely on (see World.checkLease), where it does not fail the
	// run; nil if none. Counts.LeaseViolations counts them.
	LeaseViolation *Failure
}

// TermSummary is one term of a run, as the story tells it.
type TermSummary struct {
	Term   node.Term
	Leader node.ID
	Since  time.Duration // when the leader was first seen in office
	// First and Last are the first and last committed index whose entry has this term
	// (0, 0 if none: the leader committed nothing of its own).
	First, Last node.Index
}

const termsMax = 1000

// Counts are the run's totals.
type Counts struct {
	Events            uint64 // processed events (each touches the trace hash)
	MessagesSent      uint64 // messages handed to the network by nodes
	MessagesDelivered uint64 // copies that reached a live node
	MessagesDropped   uint64 // copies lost, cut by a partition, or arriving at a crashed node
	Elections         uint64 // times a node became candidate
	Leaders           uint64 // times a node took office as leader
	Commits           uint64 // entries in the committed ledger at the end
	Applied           uint64 // entries applied, summed over nodes and lives
	Proposals         uint64 // commands proposed by the workload or the scenario
	ProposalsAccepted uint64 // of which a leader appended
	Crashes           uint64
	Pauses            uint64 // server pauses (World.Pause)
	Restarts          uint64
	Rejected          uint64 // inputs nodes refused as malformed (should stay 0 here)
	ClientOps         uint64 // client operations invoked
	ClientOK          uint64 // of which answered OK
	ClientUnknown     uint64 // of which given up, or pending at the end: outcome unknown
	ClientRetries     uint64 // requests resent for an operation already sent (same sequence number)

	// Snapshots (§7).
	SnapshotsTaken     uint64 // snapshots servers took of their own state (Output.SaveSnapshot)
	SnapshotsSaved     uint64 // of which the background write ended and the disk took it (the rest were lost in crashes, overtaken by an installed snapshot, or are still being written)
	SnapshotsLost      uint64 // of which a crash interrupted the write
	SnapshotsInstalled uint64 // snapshots received from a leader and made durable (Output.InstallSnapshot)
	SnapshotChunksSent uint64 // InstallSnapshot messages (node.MsgSnap) handed to the network
	// MaxRetainedLog is the most log entries any server held in memory after any step
	// (len(View.Log): the entries after its snapshot).
	MaxRetainedLog uint64

	// Membership changes and leadership transfers (§6, thesis §3.10, §9.6).
	AdminRequests      uint64 // admin requests made (World.Admin)
	AdminRetries       uint64 // admin requests resent (same sequence number)
	AdminCompleted     uint64 // admin requests answered OK
	Transfers          uint64 // transfers the operator asked a leader for (World.Transfer)
	TransfersStarted   uint64 // transfers leaders started (View.TransferTarget set)
	TransfersCompleted uint64 // of which the target took office next
	TransfersAborted   uint64 // of which the leader gave up and led on
	PreVotes           uint64 // times a server became a pre-candidate

	// The Work Bound check's high-water marks (see Config.WorkLimits): the most events
	// processed and Raft messages sent in one window of WorkWindow virtual time, and the
	// most packets (message copies, client requests and replies) in flight at once.
	PeakWindowEvents   uint64
	PeakWindowMessages uint64
	PeakInFlight       uint64

	// Leases (thesis §6.4.1): reads servers accepted under a lease (node.Output.LeaseRead),
	// and of those, how many broke Lease Safety in a run whose clocks had left the bound
	// (Result.LeaseViolation; within it, the first one fails the run).
	LeaseReads      uint64
	LeaseViolations uint64
}

// Failure describes the first check that failed.
type Failure struct {
	Check  string        // the check's name, e.g. "Election Safety", or "panic"
	Rule   string        // the paper section, if any
	Time   time.Duration // virtual time of the failing event
	Nodes  []node.ID
	Term   node.Term
	Detail string
}

func (f *Failure) Error() string {
	rule := ""
	if f.Rule != "" {
		rule = " (" + f.Rule + ")"
	}
	where := ""
	if len(f.Nodes) > 0 {
		where = fmt.Sprintf(", node(s) %v", f.Nodes)
	}
	if f.Term != 0 {
		where += fmt.Sprintf(", term %d", f.Term)
	}
	return fmt.Sprintf("%s%s failed at %v%s: %s", f.Check, rule, f.Time, where, f.Detail)
}

// HappeningKind classifies a timeline entry.
type HappeningKind uint8

// Timeline entry kinds.
const (
	HappenLeader    HappeningKind = iota + 1 // a node took office
	HappenCrash                              // a node crashed
	HappenRestart                            // a node restarted from its disk
	HappenNetwork                            // the links changed: a partition, isolation or cut
	HappenNote                               // a scenario's own note
	HappenStepDown                           // a leader stepped down
	HappenHeal                               // every link came back up
	HappenNetConfig                          // the network's fault rates changed
	HappenClock                              // a clock fault: a rate change or a jump
	HappenSnapshot                           // a node saved its own snapshot or installed the leader's
	HappenPreVote                            // a node became a pre-candidate
	HappenConfig                             // a leader appended a configuration, or one was committed
	HappenAdmin                              // an admin request was made or answered
	HappenTransfer                           // a leadership transfer was asked for, started or ended
	HappenPause                              // a node was paused (Happening.Until says until when)

	happeningKinds = iota + 1 // one more than the last kind
)

var happeningKindNames = [happeningKinds]string{"", "leader", "crash", "restart", "network", "note", "step-down",
	"heal", "network faults", "clock", "snapshot", "pre-vote", "configuration", "admin", "transfer", "pause"}

// String is the kind's short name, as the visualization labels it.
func (k HappeningKind) String() string {
	if k == 0 || k >= happeningKinds {
		return "happening(" + strconv.Itoa(int(k)) + ")"
	}
	return happeningKindNames[k]
}

// Happening is one entry of a run's timeline.
type Happening struct {
	Time time.Duration
	Kind HappeningKind
	Node node.ID
	Term node.Term
	Text string
	// Stamp is the last history timestamp handed out when it happened, so that the
	// happening can be placed among the client operations (Result.History).
	Stamp int64
	// Until is, for a pause, the virtual time at which it ends (a crash ends it earlier);
	// zero for other kinds.
	Until time.Duration
}

const timelineMax = 10_000
