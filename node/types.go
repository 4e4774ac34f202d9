// Package node implements one Raft server as a pure, deterministic state machine.
//
// A Node never reads a clock, starts a goroutine, touches a file or socket, or draws from
// a package-level random source. Everything it knows arrives as an Input to Step, together
// with the node's local clock reading; everything it does comes back from Step as an Output
// (what must become durable, messages to send, entries to apply, the next wake-up time).
// There are no periodic ticks: the node asks to be woken at the times it needs.
//
// The host that drives a Node (the simulator, or a real server) must honour the step
// contract documented on Step and Output. In particular it must make an output's durable
// part durable before any of that output's messages leave: a node restarted with New from
// its DurableState alone must never contradict what it told others.
//
// Choices this implementation makes where Raft and the design leave room:
//
//   - Beyond Raft §5: log compaction with snapshots and chunked InstallSnapshot (§7),
//     membership changes by joint consensus with learners (§6, thesis chapter 4), PreVote
//     and CheckQuorum (thesis §9.6), leadership transfer (thesis §3.10), client sessions
//     and three read modes (ReadIndex, lease, local; thesis chapter 6). The initial
//     configuration is Config.Peers; later ones come from the log.
//   - The election timer is armed by the first Step after New (normally the host's initial
//     InputWake). It is reset, with a fresh draw, on becoming a candidate, on becoming a
//     follower in a new term, on granting a vote, and on an AppendEntries from the leader
//     of the current term. A leader has no election timer; its WakeAt is the next
//     heartbeat.
//   - Replication is pipelined: after sending entries up to index k to a peer the leader
//     optimistically sets that peer's nextIndex to k+1. A rejection (with the fast
//     backtracking hint) moves nextIndex back and the entries are sent again at once; a
//     heartbeat also carries entries from nextIndex, so a lost message is recovered within
//     one heartbeat and one round trip.
//   - A leader does not send extra messages when its commit index advances: followers
//     learn it with the next AppendEntries (the next proposal or heartbeat).
//   - Messages that no correct peer can send (a second leader in one term, an
//     AppendEntries that would truncate a committed entry, a MatchIndex beyond the
//     leader's log) are rejected and counted in Stats.Rejected like malformed ones: the
//     node trusts its own invariants, not its peers.
//   - Output.HardState is always filled with the term and vote after the step;
//     HardStateChanged says whether they changed in the step and must be written.
//   - Terms and indexes are bounded (MaxTerm, MaxIndex), far beyond anything real
//     elections or logs reach, so that term+1, lastIndex+1 and PrevLogIndex+len(Entries)
//     never wrap around. A message or durable state with a larger term or index is
//     rejected (Stats.Rejected, or an error from New); a node in term MaxTerm no longer
//     campaigns. Without the bound, one RequestVote of term 2^64-1 was granted and the
//     next election wrapped the term to 0.
//   - For the model checker, Node.AppendState, AppendMessage and their kin (state.go)
//     encode a node's state and messages canonically, leaving out what cannot matter
//     under abstract time (clock readings, the timer's random stream), with server IDs
//     optionally renamed for symmetry reduction.
//
// Imports: node/kv (the state machine it applies entries to) and the standard library.
package node

import (
	"fmt"
	"time"

	"raftsim/node/kv"
)

// ID names a server. Servers are numbered from 1; None (0) means "no server".
type ID int

// None is the zero ID: no vote, no known leader.
const None ID = 0

// Term is a Raft term number (§5.1). Terms only grow.
type Term uint64

// MaxTerm is the largest term a node accepts or enters: a message whose term (or any term
// it carries) is above it is rejected and counted in Stats.Rejected, New refuses a durable
// state above it, and a node in term MaxTerm never campaigns, since the election would
// need term MaxTerm+1. Reaching it honestly takes 2^62 elections; only a faulty peer can
// bring a node there. It leaves room below 2^64-1 so that term+1 never wraps to 0.
const MaxTerm Term = 1 << 62

// Index is a log index. The first entry has index 1; index 0 is the empty prefix.
type Index uint64

// MaxIndex is the largest log index a node accepts from a peer or a disk: a message with
// any index field above it (LastLogIndex, PrevLogIndex+len(Entries), LeaderCommit,
// MatchIndex, ConflictIndex, a snapshot's Index) is rejected and counted in
// Stats.Rejected, and New refuses a durable log or snapshot that ends above it. A node's
// own log can pass it only by 2^62 appends more, so lastIndex+1 and the other index
// arithmetic on accepted values never wrap around. A leader pushed to MaxIndex by a
// faulty peer's snapshot sends entries its followers reject: it stops making progress,
// but nothing breaks.
const MaxIndex Index = 1 << 62

// Role is a server's role in its current term (§5.1).
type Role uint8

// The roles of Raft §5.1.
const (
	Follower Role = iota
	Candidate
	Leader
	// PreCandidate: a follower whose election timer fired, asking whether it could win
	// before it raises its term (PreVote, thesis §9.6).
	PreCandidate
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	case PreCandidate:
		return "pre-candidate"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// EntryKind says what a log entry carries.
type EntryKind uint8

// Entry kinds.
const (
	// EntryNormal carries a client command in Data.
	EntryNormal EntryKind = iota
	// EntryNoOp is appended by a new leader at the start of its term, so that entries of
	// earlier terms can be committed by counting replicas of an entry of the current term
	// (§5.4.2, §8).
	EntryNoOp
	// EntryCommand carries a client's write command for the key-value state machine,
	// encoded with kv.Command.Encode.
	EntryCommand
	// EntryConfig carries a cluster configuration (Configuration.Encode); it takes effect
	// on a server as soon as it is in its log (§6).
	EntryConfig
)

// Valid reports whether k is a known entry kind.
func (k EntryKind) Valid() bool { return k <= EntryConfig }

func (k EntryKind) String() string {
	switch k {
	case EntryNormal:
		return "normal"
	case EntryNoOp:
		return "noop"
	case EntryCommand:
		return "command"
	case EntryConfig:
		return "config"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Entry is one log entry. Entries are values and must never be modified once created:
// logs and in-flight messages share backing arrays (see Log's truncation rule).
type Entry struct {
	Index Index
	Term  Term
	Kind  EntryKind
	// Data is the opaque command. (Kind, Data) is the entry's identity for the checkers:
	// two entries at one (Index, Term) must have the same identity (Log Matching, §5.3).
	Data string
}

// SameAs reports whether e and o are the same entry: same position, term and identity.
func (e Entry) SameAs(o Entry) bool {
	return e.Index == o.Index && e.Term == o.Term && e.Kind == o.Kind && e.Data == o.Data
}

func (e Entry) String() string {
	if e.Kind == EntryNoOp {
		return fmt.Sprintf("%d@t%d:noop", e.Index, e.Term)
	}
	return fmt.Sprintf("%d@t%d:%q", e.Index, e.Term, e.Data)
}

// MsgType is the kind of a Message.
type MsgType uint8

// Message types: the two RPCs of Figure 2 and their responses.
const (
	MsgVote MsgType = iota + 1 // RequestVote
	MsgVoteResp
	MsgApp // AppendEntries; a heartbeat is an AppendEntries with no entries
	MsgAppResp
	MsgSnap     // InstallSnapshot (Figure 13), one chunk
	MsgSnapResp // its acknowledgement
	// MsgPreVote asks whether the sender could win an election of term Term without
	// raising anyone's term (thesis §9.6); MsgPreVoteResp answers, in term Term of the
	// request if granted, else in the responder's term.
	MsgPreVote
	MsgPreVoteResp
	// MsgTimeoutNow tells the target of a leadership transfer to start an election at once
	// (thesis §3.10).
	MsgTimeoutNow
	msgTypeLimit
)

// Valid reports whether t is a known message type.
func (t MsgType) Valid() bool { return t >= MsgVote && t < msgTypeLimit }

func (t MsgType) String() string {
	switch t {
	case MsgVote:
		return "Vote"
	case MsgVoteResp:
		return "VoteResp"
	case MsgApp:
		return "App"
	case MsgAppResp:
		return "AppResp"
	case MsgSnap:
		return "Snap"
	case MsgSnapResp:
		return "SnapResp"
	case MsgPreVote:
		return "PreVote"
	case MsgPreVoteResp:
		return "PreVoteResp"
	case MsgTimeoutNow:
		return "TimeoutNow"
	}
	return fmt.Sprintf("msg(%d)", uint8(t))
}

// Message is one RPC or RPC response. It is a flat value (in the style of etcd's
// raftpb.Message): each type uses the fields documented next to it and leaves the rest zero.
type Message struct {
	Type     MsgType
	From, To ID
	Term     Term // the sender's current term (every type)

	// MsgVote and MsgPreVote: the candidate's last log entry (§5.4.1).
	LastLogIndex Index
	LastLogTerm  Term
	// MsgVote: the election was started by a leadership transfer (MsgTimeoutNow), so
	// voters answer it even while they hear from the old leader (thesis §3.10, §4.2.3).
	Transfer bool

	// MsgApp: the entry preceding Entries, the entries, and the leader's commit index.
	PrevLogIndex Index
	PrevLogTerm  Term
	Entries      []Entry // shared, read-only; see Entry
	LeaderCommit Index

	// MsgApp: the leader's broadcast round, a counter that grows with every broadcast of
	// its term. MsgAppResp echoes the round of the request it answers, so that the leader
	// learns which of its broadcasts a follower acknowledged: ReadIndex confirms leadership
	// with a round sent after the read arrived (thesis §6.4), and leases and CheckQuorum
	// date their contact with each follower by it.
	Round uint64

	// MsgSnap and MsgSnapResp: the snapshot chunk, or its acknowledgement. Behind a
	// pointer because snapshot transfers are rare and every message is copied several
	// times on its way: the common messages stay small.
	Snap *SnapChunk

	// MsgVoteResp and MsgAppResp: whether the request was granted or accepted.
	Success bool

	// MsgAppResp on success: the index of the last entry the follower now knows to match
	// the leader's log (PrevLogIndex + len(Entries) of the request it answers).
	MatchIndex Index

	// MsgAppResp on rejection: the conflict hint for fast backtracking. ConflictTerm is the
	// term of the follower's entry at PrevLogIndex (0 if its log is shorter) and
	// ConflictIndex is the first index the follower holds with that term (or its last
	// index + 1 if its log is shorter).
	ConflictTerm  Term
	ConflictIndex Index
}

func (m Message) String() string {
	switch m.Type {
	case MsgVote, MsgPreVote:
		return fmt.Sprintf("%v %d->%d t%d last=%d@t%d", m.Type, m.From, m.To, m.Term, m.LastLogIndex, m.LastLogTerm)
	case MsgPreVoteResp:
		return fmt.Sprintf("PreVoteResp %d->%d t%d granted=%v", m.From, m.To, m.Term, m.Success)
	case MsgVoteResp:
		return fmt.Sprintf("VoteResp %d->%d t%d granted=%v", m.From, m.To, m.Term, m.Success)
	case MsgApp:
		return fmt.Sprintf("App %d->%d t%d prev=%d@t%d n=%d commit=%d", m.From, m.To, m.Term,
			m.PrevLogIndex, m.PrevLogTerm, len(m.Entries), m.LeaderCommit)
	case MsgSnap:
		if s := m.Snap; s != nil {
			return fmt.Sprintf("Snap %d->%d t%d snap=%d@t%d offset=%d len=%d done=%v", m.From, m.To, m.Term,
				s.Index, s.Term, s.Offset, len(s.Data), s.Done)
		}
	case MsgSnapResp:
		if s := m.Snap; s != nil {
			return fmt.Sprintf("SnapResp %d->%d t%d snap=%d@t%d offset=%d ok=%v match=%d", m.From, m.To, m.Term,
				s.Index, s.Term, s.Offset, m.Success, m.MatchIndex)
		}
	case MsgAppResp:
		if m.Success {
			return fmt.Sprintf("AppResp %d->%d t%d ok match=%d", m.From, m.To, m.Term, m.MatchIndex)
		}
		return fmt.Sprintf("AppResp %d->%d t%d reject conflict=%d@t%d", m.From, m.To, m.Term,
			m.ConflictIndex, m.ConflictTerm)
	}
	return fmt.Sprintf("%v %d->%d t%d", m.Type, m.From, m.To, m.Term)
}

// SnapChunk is one chunk of an InstallSnapshot (Figure 13), or its acknowledgement.
type SnapChunk struct {
	// The snapshot's last included index and term.
	Index Index
	Term  Term
	// MsgSnap: the configuration at Index (sent with every chunk; it is small), the
	// chunk's byte offset in the snapshot's data, the chunk, and whether it is the last.
	// MsgSnapResp: Offset is the number of bytes of the snapshot the follower holds
	// contiguously from the start, so the leader sends the next chunk from there. Success
	// (in the Message) means the follower installed it, or already had its entries, and
	// MatchIndex is then the index its log matches the leader's up to.
	Config Configuration
	Offset int
	Data   string
	Done   bool
}

// HardState is the part of a server's state that must survive a crash (Figure 2,
// "persistent state on all servers"), besides the log.
type HardState struct {
	Term Term
	Vote ID // the candidate voted for in Term, or None
}

// Snapshot is a server's state machine at a log index (§7, Figure 13): everything the log
// up to Index produced, so that the prefix can be discarded. It is a value: Data is
// immutable, and Peers must not be modified once the snapshot is made.
type Snapshot struct {
	Index Index // the last included index
	Term  Term  // the term of the entry at Index
	// Config is the configuration in force at Index.
	Config Configuration
	// Data is the state machine (the key-value data and the client session table) in
	// kv's encoding.
	Data string
}

// IsZero reports whether s is the empty snapshot (nothing compacted).
func (s *Snapshot) IsZero() bool { return s.Index == 0 }

// DurableState is everything a server keeps on disk. A restarted server is rebuilt from it
// alone: the snapshot, then the log after it.
type DurableState struct {
	HardState HardState
	Snapshot  Snapshot // zero if none
	Log       []Entry  // entries with consecutive indexes from Snapshot.Index+1
}

// InputKind is the kind of an Input.
type InputKind uint8

// Input kinds.
const (
	// InputWake: the local clock reached a time the node asked for (Output.WakeAt). A wake
	// that arrives early, late or twice is harmless: the node acts on what is due and asks
	// again for the next time.
	InputWake InputKind = iota + 1
	// InputMessage: a message from a peer arrived.
	InputMessage
	// InputPropose: a command to append to the log, if this node is the leader.
	InputPropose
	// InputCampaign: start an election now, as if the election timer had fired (§5.2).
	// Scripted scenarios use it to force an election; a leader ignores it.
	InputCampaign
	// InputClient: a client's request (Input.Request). The node answers it, now or in a
	// later step, with a Reply in Output.Replies.
	InputClient
	// InputSnapshotSaved: the snapshot the node asked to save (Output.SaveSnapshot) at
	// index Input.Index is durable, and the disk has dropped the log entries it covers. The
	// node then discards them from memory too.
	InputSnapshotSaved
	// InputTransfer: an operator asks the leader to hand leadership to Input.Target
	// (thesis §3.10). A non-leader ignores it.
	InputTransfer
	// InputAdmin: an operator's membership change (Input.Admin), answered like a client
	// request with a Reply.
	InputAdmin
	// InputDurable: on an asynchronous disk (Config.AsyncStorage), the writes numbered up
	// to Input.Write (Output.Write) are durable. Writes complete in order.
	InputDurable
)

// AdminOp is a membership change an operator asks for.
type AdminOp uint8

// Membership changes.
const (
	// AdminAddServer adds Server: first as a learner; once it has caught up, through
	// joint consensus, as a voter.
	AdminAddServer AdminOp = iota + 1
	// AdminRemoveServer removes Server, through joint consensus if it votes.
	AdminRemoveServer
)

func (o AdminOp) String() string {
	switch o {
	case AdminAddServer:
		return "add-server"
	case AdminRemoveServer:
		return "remove-server"
	}
	return fmt.Sprintf("admin(%d)", uint8(o))
}

// AdminRequest is a membership change request. Like a client request it may be lost,
// retried or sent to a non-leader: it is answered ReplyOK once the cluster is in the
// requested configuration (so a retry of a finished change is answered at once),
// ReplyNotLeader with a hint, or ReplyBusy while another change is under way.
type AdminRequest struct {
	Client kv.ClientID
	Seq    uint64
	Op     AdminOp
	Server ID
}

func (k InputKind) String() string {
	switch k {
	case InputWake:
		return "wake"
	case InputMessage:
		return "message"
	case InputPropose:
		return "propose"
	case InputCampaign:
		return "campaign"
	case InputClient:
		return "client"
	case InputSnapshotSaved:
		return "snapshot-saved"
	case InputTransfer:
		return "transfer"
	case InputAdmin:
		return "admin"
	case InputDurable:
		return "durable"
	}
	return fmt.Sprintf("input(%d)", uint8(k))
}

// Input is one thing that happens to a node.
type Input struct {
	Kind    InputKind
	Message Message      // InputMessage
	Data    string       // InputPropose: the command
	Request kv.Command   // InputClient
	Index   Index        // InputSnapshotSaved: the saved snapshot's index
	Target  ID           // InputTransfer: the server to hand leadership to
	Admin   AdminRequest // InputAdmin
	Write   uint64       // InputDurable: the last write now durable
}

// ReplyStatus is the outcome of a client request.
type ReplyStatus uint8

// Reply statuses.
const (
	// ReplyOK: the request took effect (or, for a retry, had taken effect); Value is its
	// result.
	ReplyOK ReplyStatus = iota + 1
	// ReplyNotLeader: this node cannot serve the request; Leader is the leader it believes
	// in (None if it knows none). The request may still take effect if this node had
	// appended it as leader: clients retry with the same sequence number.
	ReplyNotLeader
	// ReplyBusy: the leader's queue of pending requests is full; retry later.
	ReplyBusy
	// ReplyInvalid: the request is malformed; it will never succeed.
	ReplyInvalid
)

func (s ReplyStatus) String() string {
	switch s {
	case ReplyOK:
		return "ok"
	case ReplyNotLeader:
		return "not-leader"
	case ReplyBusy:
		return "busy"
	case ReplyInvalid:
		return "invalid"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Reply answers a client request.
type Reply struct {
	Client kv.ClientID
	Seq    uint64
	Status ReplyStatus
	Value  string // ReplyOK: get: the value read; append: the value after it; put: ""
	Leader ID     // ReplyNotLeader: the hint
}

// AppliedCommand reports what applying one EntryCommand did to the state machine, for the
// exactly-once check.
type AppliedCommand struct {
	Index   Index
	Client  kv.ClientID
	Seq     uint64
	Outcome kv.Outcome
}

// Proposal is the answer to an InputPropose.
type Proposal struct {
	Accepted bool
	Index    Index // where the command was appended, if Accepted
	Term     Term  // in which term, if Accepted
	// Leader is the leader this node believes in when it refused (None if it knows none),
	// so that a client can follow the hint.
	Leader ID
}

// Output is what one Step asks of its host. The slices are owned by the node and are valid
// only until the next call to Step; a host that keeps them longer must copy them (the
// Entry values themselves are immutable and may be kept).
//
// The host must, in this order: make HardState (if HardStateChanged) and Entries durable;
// then send Messages; then apply Apply to the state machine. WakeAt is the local clock time
// at which the node wants an InputWake (0: no wake-up needed).
type Output struct {
	// HardStateChanged reports that the term or vote changed during the step, so
	// HardState must be made durable. HardState is always the term and vote after the step.
	HardStateChanged bool
	HardState        HardState

	// InstallSnapshot, if not nil, is a snapshot received from the leader, to make durable
	// now, before Entries (it is part of the durable state that must precede the
	// messages). The durable log then keeps only its entries after InstallSnapshot.Index,
	// and only if it holds an entry at that index with that term; otherwise it becomes
	// empty (Figure 13).
	InstallSnapshot *Snapshot

	// Entries to make durable. If Entries is not empty, the durable log first drops every
	// entry with index >= Entries[0].Index and then appends Entries.
	Entries []Entry

	// SaveSnapshot, if not nil, is a snapshot the node took of its own state machine. The
	// host makes it durable in the background (it may take time; the node keeps serving);
	// when it is durable the host drops the log entries it covers from the disk and tells
	// the node with InputSnapshotSaved. A crash before that loses it, harmlessly.
	SaveSnapshot *Snapshot

	Messages []Message

	// Apply holds newly committed entries, in index order, each exactly once per node
	// lifetime (a restarted node applies again from the start of its log).
	Apply []Entry

	// Proposal answers an InputPropose (zero for other inputs).
	Proposal Proposal

	// Replies answer client requests (of this step or earlier ones). The host sends them
	// after the messages.
	Replies []Reply

	// Commands reports, for each EntryCommand in Apply, what it did to the state machine.
	Commands []AppliedCommand

	WakeAt time.Duration

	// Write, on an asynchronous disk (Config.AsyncStorage), numbers this output's durable
	// part (HardState if changed, InstallSnapshot, Entries) as one write: 1, 2, ... in
	// each life of the node, 0 if the output has none. The host makes it durable in the
	// background, in order, and reports it with InputDurable; until then the node acts on
	// nothing that depends on it, and its responses wait (they leave in the output of the
	// InputDurable step). On a synchronous disk Write is 0 and the host writes at once.
	Write uint64

	// LeaseRead is the term of the lease under which this step accepted a read without a
	// round of heartbeats (ReadLease, thesis §6.4.1), 0 if it accepted none. The read is
	// answered at once or, behind earlier reads, later; by accepting it the leader
	// vouches that, now, no server leads a higher term (the Lease Safety check holds it
	// to that). It is a report for checkers: a host has nothing to do with it.
	LeaseRead Term
}

// View is a read-only look at a node's state, for checkers and traces. Log shares the
// node's memory: callers must not modify it, and it is valid until the next Step.
type View struct {
	ID     ID
	Term   Term
	Vote   ID
	Role   Role
	Leader ID // the leader this node believes in for Term, or None
	// SnapshotIndex and SnapshotTerm are the last entry covered by the node's latest
	// durable snapshot (0, 0 if none): the log's entries up to it are discarded.
	SnapshotIndex Index
	SnapshotTerm  Term
	// Log holds the node's entries after the snapshot, in index order:
	// Log[k].Index == SnapshotIndex+k+1.
	Log          []Entry
	CommitIndex  Index
	AppliedIndex Index
	Peers        []ID // the voters (Config.Voters), ascending
	// Config is the configuration in force (the last one in the log). Read-only.
	Config Configuration
	// Store is the node's key-value state machine after applying AppliedIndex entries.
	// Read-only.
	Store *kv.Store
	// Snapshot is the node's latest durable snapshot (nil if none). Read-only.
	Snapshot *Snapshot
	// TransferTarget is the server this leader is handing leadership to (None if none),
	// and TransferSince the local time the transfer started.
	TransferTarget ID
	TransferSince  time.Duration
	// DurableHardState and DurableIndex are what the node believes durable: the term and
	// vote on its disk, and the index up to which its disk's log agrees with Log. On a
	// synchronous disk they are Term, Vote and LastIndex(); on an asynchronous one they
	// follow InputDurable.
	DurableHardState HardState
	DurableIndex     Index
}

// LastIndex is the index of the last log entry (SnapshotIndex if no entry follows it).
func (v *View) LastIndex() Index { return v.SnapshotIndex + Index(len(v.Log)) }

// TermAt is the term of the entry at index i: 0 for i == 0, SnapshotTerm at
// SnapshotIndex, and false if i is past the end of the log or before the snapshot.
func (v *View) TermAt(i Index) (Term, bool) {
	switch {
	case i == 0:
		return 0, true
	case i == v.SnapshotIndex:
		return v.SnapshotTerm, true
	case i < v.SnapshotIndex || i > v.LastIndex():
		return 0, false
	}
	return v.Log[i-v.SnapshotIndex-1].Term, true
}

// EntryAt returns the entry at index i, and false if it is not in the log (compacted into
// the snapshot, or past the end).
func (v *View) EntryAt(i Index) (Entry, bool) {
	if i <= v.SnapshotIndex || i > v.LastIndex() {
		return Entry{}, false
	}
	return v.Log[i-v.SnapshotIndex-1], true
}

// Stats counts what a node did that a host may want to report.
type Stats struct {
	// Rejected counts inputs refused as malformed or from unknown peers.
	Rejected uint64
	// Elections counts the times this node became a candidate.
	Elections uint64
	// VotesIgnored counts RequestVotes ignored because a live leader was known
	// (CheckQuorum).
	VotesIgnored uint64
	// PreVotes counts the times this node became a pre-candidate.
	PreVotes uint64
	// Leadership transfers this node started as leader, and how they ended.
	TransfersStarted, TransfersCompleted, TransfersAborted uint64
}
