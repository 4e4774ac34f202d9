// Package check checks Raft's safety properties after every simulated event, incrementally.
//
// The simulator owns one Checker per run and reports every event to it: Step after a node
// processed one input (with that step's Output and the node's View afterwards), Crash when
// a node's volatile state is lost, Restart when a node was rebuilt from its disk. Each call
// returns the first property it found broken, as a *Violation that names the check, the
// paper's rule, the virtual time, the nodes, term and index involved. Final re-checks
// everything from scratch over the nodes' views, as a cross-check of the incremental work.
//
// The checks (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm",
// extended version; section numbers refer to it):
//
//   - Election Safety (§5.2): at most one leader per term.
//   - Leader Append-Only (§5.3): a leader never overwrites or deletes entries of its log
//     (compacting applied entries into a snapshot, §7, is not deleting them).
//   - Log Matching (§5.3): two logs holding an entry with the same index and term are
//     identical up to and including it. A snapshot stands for the committed prefix it
//     covers (Snapshot Safety checks that it is that prefix).
//   - Leader Completeness (§5.4): a leader holds every entry committed in an earlier term,
//     in its log above its snapshot index; what its snapshot covers, Snapshot Safety checks.
//   - Commit Agreement (§5.4): every node commits the same entry at an index, and never
//     rewrites an entry it has committed. The paper has no separate name for it; it is the
//     step between Leader Completeness and State Machine Safety, and checking it on its own
//     names the node that went wrong earlier than a divergent apply would.
//   - State Machine Safety (§5.4.3): no two nodes apply different entries at an index; a
//     node applies only committed entries, in index order, each once per lifetime. And on
//     states, not just entries: after every step a live node's state machine
//     (View.Store.Hash()) equals the reference state after applying its AppliedIndex, the
//     committed ledger's EntryCommand entries applied in index order to one kv.Store
//     (detail "state after applying index i differs"). A View with a nil Store is not
//     state-checked (node implementations without a state machine, unit tests).
//   - Snapshot Safety (§7): every snapshot a node holds (View.Snapshot, checked whenever it
//     changes, and at Restart), installs (Output.InstallSnapshot) or takes
//     (Output.SaveSnapshot) is at or below the node's commit index (a taken one: applied
//     index), has the committed term at its index, and its data restores to the reference
//     state after applying its index. A restarted node's snapshot is not older than the
//     last one its views reported durable.
//   - Monotonic indexes (Figure 2): a live node's term, commit index, applied index and
//     snapshot index never go backwards, and its commit and applied indexes are never below
//     its snapshot index (also right after an install and a restart).
//   - One vote per term (§5.2, Figure 2): a node never grants its vote to two candidates in
//     one term, also across crashes.
//   - Current-Term Commit (§5.4.2, Figure 8): a leader advances its commit index only to an
//     entry of its own term; earlier-term entries are committed only along with one.
//   - Commit Quorum (§5.3, §6): when a leader advances its commit index to c, the entry at
//     c is held by a majority of the voters of its configuration in force (and, while it is
//     joint, of the outgoing voters too), judged on the checker's latest knowledge of each
//     server's log; see checkCommitQuorum.
//   - Election Quorum (§5.2, §6): a node taking office in term T holds the votes of a
//     majority of the voters of its configuration (of each majority, while joint), from the
//     vote record; pre-votes (thesis §9.6) are never recorded as votes.
//   - Configuration in Force (§6, thesis §4.1; config.go): the configuration a node reports
//     (View.Config) and the configuration of every snapshot it takes are the ones its log
//     says: the latest configuration entry in its log, committed or not, else its
//     snapshot's, else its bootstrap configuration (Bootstrap). Every quorum check judges
//     the node's decisions against that configuration, derived from the log itself, never
//     against the node's belief.
//
// Membership (§6). The configuration a node is in comes from its log (config.go); nothing
// assumes that the nodes 1..n are all voters, or that a node's configuration contains it.
// Election Safety and Leader Completeness need nothing new: they hold across changing and
// joint configurations, which the quorum checks tie to the votes and replicas they rest
// on. A node whose configuration in force has no voters (no bootstrap declared, and a view
// that reports none) is not quorum-checked.
//
// Checks fed by the simulator. Some decisions are made from what a server received, and
// some properties need the world's knowledge; the checker's Step sees neither, so they
// live in values of their own that the simulator feeds (with the step's input and the
// server's clock reading) or drives (with the network and the hosts' state). Each judges
// against ConfigInForce:
//
//   - Read Quorum (thesis §6.4; decisions.go): a leader answers a ReadIndex read only
//     after a majority of its configuration in force acknowledged a round it sent after
//     the read arrived.
//
//   - Leader Quorum (thesis §6.2; decisions.go): with CheckQuorum a leader stays in office
//     only while a majority of its configuration in force acknowledges its rounds within
//     an election timeout.
//
//   - Stability (thesis §9.6, §6.2; stability.go): with PreVote, a server that hears from
//     its leader grants no pre-vote; with CheckQuorum, it does not take the term of a
//     RequestVote that is not a transfer: a server cut off from the leader cannot change
//     the leader or the term of the servers that hear it, idle or not.
//
//   - Transfer Outcome (thesis §3.10; liveness.go): under perfect conditions a leadership
//     transfer ends with its target in office, or with an abort.
//
//   - Liveness while Healthy (liveness.go): once a majority has been healthy for a
//     warm-up, the cluster is never without a leader in office for longer than a bound.
//
//   - Exactly-once (Raft thesis §6.3): a client command (client, sequence number) takes
//     effect at most once on each node's state machine, and a client's commands take
//     effect in the order of their sequence numbers. Step reads Output.Commands: each
//     command applied with outcome kv.Applied must carry a sequence number above the last
//     one that took effect for its client on that node's state machine. The record follows
//     the state machine: at Restart it is seeded from the restored store's session table
//     (View.Store), at an InstallSnapshot from the snapshot's, so a command a snapshot
//     already covers must not take effect again. Duplicate and stale outcomes change
//     nothing and are fine.
//
//   - Lease Safety (Raft thesis §6.4.1; lease.go): when a leader accepts a read under its
//     lease (node.Output.LeaseRead), no leader of a higher term has taken office, in
//     virtual time. Checker.Lease, called by the simulator for such steps, not by Step:
//     leases are about real time, which a schedule's abstract time does not have.
//
//   - Log Write (Figure 2, §7, node.Output): the node's view of its log is what its writes
//     made it: an InstallSnapshot (the log keeps its entries after the snapshot only if it
//     held the snapshot's index with its term, else becomes empty; Figure 13), then
//     Entries; or, in a step with neither, a compaction that raises the snapshot index to
//     an index the node has applied and drops exactly the prefix up to it. The incremental
//     checks reason about the writes and Final about the views, so this is what keeps the
//     two in step; it also keeps the checker's own records bounded by real log lengths.
//
// # Cost
//
// The simulator calls Step hundreds of thousands of times per second, so a Step costs
// O(what changed): the entries written, the messages sent, the entries applied, the newly
// committed range, plus O(1) hash compares. A step that changes nothing (a heartbeat) does a
// handful of compares and no allocation. Some things cost more and happen rarely: a node
// taking office is compared once with the retained committed ledger; a restart checks the
// restored log; a snapshot event decodes the snapshot (kv.Restore); Final is quadratic in
// the number of nodes and linear in the logs.
//
// # Memory
//
// The committed ledger, the Log Matching record and the reference state hashes are trimmed
// below a floor: the smallest snapshot index over all nodes, live or crashed (for a crashed
// node, the snapshot index of its last view, which its disk holds at least). Nothing at or
// below the floor is needed again: every write, install and restart lies above the
// writer's snapshot index, which is at least the floor. What the checks need at the floor
// itself (its committed term, its reference state hash) is kept. Trimming is amortized: it
// happens once the droppable prefix is at least as long as what is kept (and trimMin), so
// the records hold at most about twice the entries between the floor and the highest
// commit. A node that never compacts, or stays crashed, holds the floor down: memory then
// grows with the run, as before. Spares are the exception (Checker.Spare): a server booted
// outside every configuration, with an empty log, is left out of the floor until a
// configuration naming it (as voter or learner) appears in some log or snapshot the
// checker sees, or it holds an entry. Until then no server sends it anything (servers send
// only to members of their configuration), so it writes nothing the trimming could have
// dropped; from then on it counts like any node, and holds the floor down until it
// installs a snapshot. (The rule is "named in any configuration seen", not "in a committed
// one": a leader starts sending to a learner as soon as it appends the configuration.) A
// removed server is not left out: it keeps holding the floor at its last snapshot.
//
// Two records still grow with the number of terms, not of
// entries: the leader per term and the votes. Forgetting old terms' votes is unsafe here,
// because a node's term may go back across a restart (a term not yet durable), and a vote
// in such an old term must still be checked.
//
// # Contract with the caller
//
// Nodes are numbered 1..n and all start live with an empty log in term 0; some may start
// outside every configuration (declared with Spare). The checker keeps
// the Log slice of each node's last View and reads it again at that node's next event, to
// compare the log before and after. That relies on node.Entry's rule that entries are never
// modified once created (a node truncates by copying, never in place), not merely on the
// View being valid until the next Step. Likewise it keeps the View.Snapshot value (its Data
// is immutable) to notice when it changes; a node that hands out the same Data string makes
// that compare O(1). Calling Step for a node after Crash and before Restart, or with an
// unknown ID, is a simulator bug and panics. After a violation the checker's state is
// unspecified: the simulator stops at the first.
//
// # Model checking
//
// A model checker gives each explored path its own checker: where it branches it calls
// Clone, which is copy-on-write (two allocations; each side later copies only the records
// it writes), and it folds AppendRecords into the state's fingerprint: a canonical binary
// encoding of the records future verdicts depend on beyond the nodes' current states,
// with servers renamed for symmetry reduction. AppendRecords documents what it holds and
// what it leaves out, and why.
//
// Imports: node, node/kv and the standard library only. Like the rest of the simulator it follows
// the determinism rules: no clocks, goroutines, randomness, and no range over a map.
package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// Violation is one broken safety property.
type Violation struct {
	Check  string        // the check's name, e.g. "Election Safety"
	Rule   string        // paper citation, e.g. "§5.2"
	Time   time.Duration // virtual time of the event
	Nodes  []node.ID     // the node(s) involved
	Term   node.Term     // the term involved (0 if none)
	Index  node.Index    // the log index involved (0 if none)
	Detail string
}

// Error formats v on one line, for example
// "Election Safety (§5.2) violated at 1.234s, term 4, nodes 1 and 3: both leaders".
func (v *Violation) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) violated at %v", v.Check, v.Rule, v.Time)
	if v.Term != 0 {
		fmt.Fprintf(&b, ", term %d", v.Term)
	}
	if v.Index != 0 {
		fmt.Fprintf(&b, ", index %d", v.Index)
	}
	switch len(v.Nodes) {
	case 0:
	case 1:
		fmt.Fprintf(&b, ", node %d", v.Nodes[0])
	default:
		b.WriteString(", nodes ")
		for i, id := range v.Nodes {
			switch {
			case i == 0:
			case i == len(v.Nodes)-1:
				b.WriteString(" and ")
			default:
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d", id)
		}
	}
	b.WriteString(": ")
	b.WriteString(v.Detail)
	return b.String()
}

// Check names and rules, so that the incremental checks and Final report alike.
const (
	ElectionSafety     = "Election Safety"
	LeaderAppendOnly   = "Leader Append-Only"
	LogMatching        = "Log Matching"
	LeaderCompleteness = "Leader Completeness"
	CommitAgreement    = "Commit Agreement"
	StateMachineSafety = "State Machine Safety"
	SnapshotSafety     = "Snapshot Safety"
	MonotonicIndexes   = "Monotonic indexes"
	OneVotePerTerm     = "One vote per term"
	LogWrite           = "Log Write"
	CurrentTermCommit  = "Current-Term Commit"
	ExactlyOnce        = "Exactly-once"
	CommitQuorum       = "Commit Quorum"
	ElectionQuorum     = "Election Quorum"
	ConfigInForce      = "Configuration in Force"
)

// citation returns check's citation in the paper ("" for a check without one). A switch,
// not a package-level map, so that no run can change it.
func citation(check string) string {
	switch check {
	case ElectionSafety, OneVotePerTerm:
		return "§5.2"
	case LeaderAppendOnly, LogMatching:
		return "§5.3"
	case LeaderCompleteness, CommitAgreement:
		return "§5.4"
	case StateMachineSafety:
		return "§5.4.3"
	case SnapshotSafety:
		return "§7"
	case MonotonicIndexes, LogWrite:
		return "Figure 2"
	case CurrentTermCommit:
		return "§5.4.2"
	case ExactlyOnce:
		return "thesis §6.3"
	case CommitQuorum:
		return "§5.3, §6"
	case ElectionQuorum:
		return "§5.2, §6"
	case LeaseSafety:
		return "thesis §6.4.1"
	case ConfigInForce:
		return "§6, thesis §4.1"
	case ReadQuorum:
		return "thesis §6.4, §4.1"
	case LeaderQuorum:
		return "thesis §6.2, §4.1"
	case Stability:
		return "thesis §9.6, §6.2"
	case HealthyLiveness:
		return "§5.2, thesis §9.6"
	case TransferOutcome:
		return "thesis §3.10"
	}
	return ""
}

// violation builds a Violation; it is only called on the failure path, so it may allocate.
func violation(check string, now time.Duration, term node.Term, index node.Index, nodes []node.ID,
	format string, args ...any) *Violation {
	return &Violation{
		Check:  check,
		Rule:   citation(check),
		Time:   now,
		Nodes:  nodes,
		Term:   term,
		Index:  index,
		Detail: fmt.Sprintf(format, args...),
	}
}

// ids is a shorthand for the Nodes of a Violation; a node named twice is listed once.
func ids(xs ...node.ID) []node.ID {
	out := xs[:0]
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// LeaderRecord says which node led a term and when it was first seen leading, and which
// committed entries are of that term.
type LeaderRecord struct {
	Term node.Term
	ID   node.ID
	Time time.Duration // virtual time the leader was first seen in office
	// First and Last are the lowest and highest committed indexes holding an entry of Term
	// (0 if none was seen committed). Terms never decrease along the ledger, so the entries
	// of Term are exactly First..Last. They stay valid after the ledger is trimmed.
	First, Last node.Index
}

// logState is a log with a snapshot offset: log[k].Index == snapIndex+k+1.
type logState struct {
	snapIndex node.Index
	snapTerm  node.Term
	log       []node.Entry
}

func (l *logState) last() node.Index { return l.snapIndex + node.Index(len(l.log)) }

// termAt is the term at index i: snapTerm at snapIndex, false outside snapIndex..last.
func (l *logState) termAt(i node.Index) (node.Term, bool) {
	switch {
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.last():
		return 0, false
	}
	return l.log[i-l.snapIndex-1].Term, true
}

// entryAt is the entry at index i, if the log holds it (above the snapshot).
func (l *logState) entryAt(i node.Index) (*node.Entry, bool) {
	if i <= l.snapIndex || i > l.last() {
		return nil, false
	}
	return &l.log[i-l.snapIndex-1], true
}

// get is the entry at index i, or the zero Entry if the log does not hold it.
func (l *logState) get(i node.Index) node.Entry {
	if e, ok := l.entryAt(i); ok {
		return *e
	}
	return node.Entry{}
}

// viewLog is the logState of a view. The checker uses it rather than View's methods on
// its hot paths: those have value receivers and copy the whole View.
func viewLog(v *node.View) logState {
	return logState{snapIndex: v.SnapshotIndex, snapTerm: v.SnapshotTerm, log: v.Log}
}

// nodeState is what the checker remembers of one node between its events.
type nodeState struct {
	live bool
	term node.Term
	role node.Role
	// logState is the log of the node's last view, with its snapshot offset. Entries are
	// immutable and logs are truncated by copying (node.Entry), so holding the slice header
	// is enough: no copy.
	logState
	// snap is the identity of the View.Snapshot of the node's last view, to notice when it
	// changes.
	snap snapshotID
	// durableSnap is the snapshot index of the node's last view. It survives Crash: the
	// node's disk holds at least that snapshot, so a restart comes back at or above it. The
	// trimming floor is the smallest durableSnap.
	durableSnap node.Index
	// commit and appliedIndex are the view's CommitIndex and AppliedIndex; applied is the
	// index of the last entry this lifetime's state machine holds: handed over in
	// Output.Apply, or covered by an installed snapshot.
	commit, appliedIndex, applied node.Index
	// officeTerm is the term in which this node was last checked as a new leader, so that a
	// leader's every heartbeat does not repeat the check.
	officeTerm node.Term
	// voteTerm and vote cache the last vote recorded for this node, so that an unchanged
	// vote costs no look-up in the vote record.
	voteTerm node.Term
	vote     node.ID
	// conf is the configuration in force after the node's last event by its log (config.go):
	// its latest configuration entry, at index confAt, else (confAt 0) its snapshot's or
	// its bootstrap; confOK is false when the checker cannot tell. It is what a leader's
	// decisions in its next step start from. viewConf is the last View.Config found equal
	// to it (viewOK), so that an unchanged view costs no element compare.
	conf     node.Configuration
	confAt   node.Index
	confOK   bool
	viewOK   bool
	viewConf node.Configuration
	// boot is the node's bootstrap configuration (Bootstrap, or inferred at its first
	// event; bootOK: known), and started whether it had its first event. They survive
	// Crash and Restart.
	boot            node.Configuration
	bootOK, started bool
}

// commitMeta is what the ledger keeps next to each committed entry.
type commitMeta struct {
	term      node.Term // the committing node's term when it was first seen committed
	by        node.ID   // the node first seen committing it
	appliedBy node.ID   // the node first seen applying it (None if none yet)
}

// voteRec is one granted vote: voter voted for cand in term.
type voteRec struct {
	term  node.Term
	voter node.ID
	cand  node.ID
}

// sessionRec is one Exactly-once record: seq is the last sequence number that took effect
// for client on node's state machine.
type sessionRec struct {
	node   node.ID
	client kv.ClientID
	seq    uint64
}

// Checker checks one cluster's history, event by event. Create it with New.
type Checker struct {
	nodes []nodeState // indexed by ID; slot 0 unused

	leaders []LeaderRecord // ascending term, one per term
	sumK    int            // a guess at the index in leaders of the last committed entry's term

	// The committed ledger: committed[k] is the entry committed at index base+k+1 and
	// meta[k] how it was seen. Entries up to base are trimmed; baseTerm is the term at base.
	committed []node.Entry
	meta      []commitMeta
	base      node.Index
	baseTerm  node.Term

	// The reference state machine: ref has applied the ledger up to refBase+len(refHash)-1,
	// and refHash[k] is its Hash() after applying index refBase+k.
	ref     *kv.Store
	refHash []uint64
	refBase node.Index
	// emptyHash is the empty state machine's hash: the reference state at index 0.
	emptyHash uint64

	match     []matchSlot // Log Matching record: match[k] is index matchBase+k+1
	matchBase node.Index

	// votes holds the granted votes, across crashes, ascending by (term, voter): a new
	// vote is almost always of the highest term, so it is appended. A sorted slice rather
	// than a map, so that Clone and AppendRecords need neither hashing nor sorting.
	votes []voteRec

	// sessions holds, ascending by (node, client), the last sequence number that took
	// effect for each client on each node's state machine (Exactly-once).
	sessions []sessionRec

	// outside[id]: node id was declared a Spare and has not been named in any
	// configuration the checker saw in a log or snapshot, nor held any entry: the trimming
	// floor leaves it out (see Memory in the package doc). outsideCount counts them, so
	// that the common case (no spares) costs one compare.
	outside      []bool
	outsideCount int

	// shared marks the records whose backing arrays (or, for ref, the store) another
	// checker may share since a Clone: each is copied before its first write in place
	// (see clone.go). Always zero in a checker that was never cloned.
	shared shareBits

	// none holds the values that stand for a nil Output and a missing snapshot. They are
	// per checker, not package-level, so that nothing a run does to them can reach another
	// run; nothing writes them, so a Clone shares them (and copies 300 bytes less).
	none *noneValues
}

// noneValues are the stand-ins of Checker.none.
type noneValues struct {
	output   node.Output   // a step that wrote, sent and applied nothing
	snapshot node.Snapshot // a view without a snapshot
}

// New returns a checker for a cluster of nodes numbered 1..nodes, all live, with empty logs.
func New(nodes int) *Checker {
	if nodes < 1 {
		panic(fmt.Sprintf("check: New(%d): a cluster needs at least one node", nodes))
	}
	ref := kv.NewStore()
	c := &Checker{
		nodes:     make([]nodeState, nodes+1),
		ref:       ref,
		refHash:   []uint64{ref.Hash()},
		emptyHash: ref.Hash(),
		outside:   make([]bool, nodes+1),
		none:      new(noneValues),
	}
	for i := 1; i <= nodes; i++ {
		c.nodes[i].live = true
	}
	return c
}

// CommittedLen returns the highest index observed committed: entries 1..CommittedLen() are
// committed, and those above CommittedFloor() are still on the ledger.
func (c *Checker) CommittedLen() node.Index { return c.top() }

// CommittedFloor returns the index up to which the ledger has been trimmed (0 if it has
// not): CommittedEntry answers for the indexes above it.
func (c *Checker) CommittedFloor() node.Index { return c.base }

// CommittedEntry returns the entry committed at index i, and false if no entry was seen
// committed there or the ledger no longer holds it (i <= CommittedFloor()).
func (c *Checker) CommittedEntry(i node.Index) (node.Entry, bool) {
	if e, _, ok := c.ledgerAt(i); ok {
		return *e, true
	}
	return node.Entry{}, false
}

// Leaders returns one record per term in which a leader was seen, in ascending term. The
// slice is the checker's own; callers must not modify it.
func (c *Checker) Leaders() []LeaderRecord { return c.leaders }

// state returns the record of node id, panicking on an ID the cluster does not have: that
// is a simulator bug, not a property of the run.
func (c *Checker) state(id node.ID) *nodeState {
	if id < 1 || int(id) >= len(c.nodes) {
		panic(fmt.Sprintf("check: unknown node %d (cluster has nodes 1..%d)", id, len(c.nodes)-1))
	}
	return &c.nodes[id]
}

// Step checks the event in which node id processed one input at virtual time now: out is
// that step's Output (InstallSnapshot and Entries the log write, Messages what it sent,
// Apply what it applied, SaveSnapshot a snapshot it took) and v the node's View after the
// step (a nil out means an empty one). It returns the first violation, or nil.
func (c *Checker) Step(now time.Duration, id node.ID, out *node.Output, v *node.View) *Violation {
	ns := c.state(id)
	if !ns.live {
		panic(fmt.Sprintf("check: Step for node %d, which crashed and was not restarted", id))
	}
	if out == nil {
		out = &c.none.output
	}
	if x := checkMonotonic(now, id, ns, v); x != nil {
		return x
	}
	if x := c.stepLog(now, id, ns, out, v); x != nil {
		return x
	}
	if x := checkSnapshotFloor(now, id, v); x != nil {
		return x
	}
	sc := stepConf{prev: ns.conf, prevOK: ns.confOK}
	ns.stepConfig(out, v)
	sc.after, sc.afterOK = ns.conf, ns.confOK
	if x := checkConfigInForce(now, id, ns, v); x != nil {
		return x
	}
	if out.SaveSnapshot != nil {
		if x := checkSnapshotConfig(now, id, ns, out.SaveSnapshot, v); x != nil {
			return x
		}
	}
	ns.logState, ns.term, ns.role = viewLog(v), v.Term, v.Role
	if c.outsideCount > 0 {
		c.noteNamed(id, out, v)
	}
	if v.Role == node.Leader && ns.officeTerm != v.Term {
		if x := c.takeOffice(now, id, ns, v); x != nil {
			return x
		}
		if x := c.checkElectionQuorum(now, id, &sc, out.Entries, v); x != nil {
			return x
		}
	}
	if x := c.checkVotes(now, id, ns, out.Messages, v); x != nil {
		return x
	}
	if x := checkCurrentTermCommit(now, id, ns, v); x != nil {
		return x
	}
	if v.Role == node.Leader && v.CommitIndex > ns.commit {
		if x := c.checkCommitQuorum(now, id, &sc, out.Entries, v); x != nil {
			return x
		}
	}
	if x := c.checkCommit(now, id, ns, v); x != nil {
		return x
	}
	if x := c.stepSnapshots(now, id, ns, out, v); x != nil {
		return x
	}
	if x := c.checkApply(now, id, ns, out.Apply, v); x != nil {
		return x
	}
	if len(out.Commands) > 0 {
		if x := c.checkExactlyOnce(now, id, v.Term, out.Commands); x != nil {
			return x
		}
	}
	if x := c.checkState(now, id, v); x != nil {
		return x
	}
	if ns.durableSnap != v.SnapshotIndex {
		ns.durableSnap = v.SnapshotIndex
		c.maybeTrim()
	}
	return nil
}

// stepLog runs the checks about a log write: its shape, then, if the node wrote anything,
// Leader Append-Only, Commit Agreement for rewritten committed entries and Log Matching.
func (c *Checker) stepLog(now time.Duration, id node.ID, ns *nodeState, out *node.Output, v *node.View) *Violation {
	w := out.Entries
	// A leader that stays in office is checked first, so that a leader shrinking its log is
	// reported as the Raft property it breaks rather than as a bad write.
	if ns.role == node.Leader && v.Role == node.Leader && ns.term == v.Term {
		if x := checkLeaderAppendOnly(now, id, &ns.logState, w, v); x != nil {
			return x
		}
	}
	base := &ns.logState // the common case: no install, no compaction
	if out.InstallSnapshot != nil || v.SnapshotIndex != ns.snapIndex || v.SnapshotTerm != ns.snapTerm {
		var b logState
		if x := writeBase(now, id, &ns.logState, out, v, &b); x != nil {
			return x
		}
		base = &b
	}
	if x := checkLogWrite(now, id, base, w, v); x != nil {
		return x
	}
	if len(w) == 0 {
		return nil
	}
	if x := c.checkRewriteCommitted(now, id, ns.commit, w); x != nil {
		return x
	}
	prevTerm, _ := v.TermAt(w[0].Index - 1) // present: checkLogWrite saw to it
	for k := range w {
		if x := c.checkLogMatching(now, id, w[k], prevTerm); x != nil {
			return x
		}
		prevTerm = w[k].Term
	}
	return nil
}

// Crash records that node id lost its volatile state at virtual time now. Its votes stay
// on record: a vote is durable, and a node that forgets one may not vote again. So do its
// last snapshot index and its last log, which its disk holds: Commit Quorum counts a
// crashed voter's durable log.
func (c *Checker) Crash(now time.Duration, id node.ID) {
	ns := c.state(id)
	*ns = nodeState{durableSnap: ns.durableSnap, logState: ns.logState,
		conf: ns.conf, confAt: ns.confAt, confOK: ns.confOK, boot: ns.boot, bootOK: ns.bootOK, started: ns.started}
	c.resetSessions(id)
}

// Restart checks node id, rebuilt from its disk at virtual time now, whose view is v. The
// restored snapshot is checked like any new snapshot, the restored log entry by entry
// against the Log Matching record and the committed ledger (a restart is rare, so this
// costs O(log) once), and the restored state machine against the reference; the node's
// term, commit and applied indexes start afresh, commit and applied at or above the
// snapshot index. The Exactly-once record is seeded from the restored store's sessions.
func (c *Checker) Restart(now time.Duration, id node.ID, v *node.View) *Violation {
	ns := c.state(id)
	*ns = nodeState{live: true, durableSnap: ns.durableSnap, boot: ns.boot, bootOK: ns.bootOK, started: true}
	durable := ns.durableSnap
	c.resetSessions(id)
	if v.SnapshotIndex < durable {
		return violation(SnapshotSafety, now, v.Term, v.SnapshotIndex, ids(id),
			"restarted from a snapshot at index %d, below the snapshot at index %d it held before the crash",
			v.SnapshotIndex, durable)
	}
	base := logState{snapIndex: v.SnapshotIndex, snapTerm: v.SnapshotTerm}
	if x := checkLogWrite(now, id, &base, v.Log, v); x != nil {
		return x
	}
	if x := checkSnapshotTerm(now, id, v, v.SnapshotTerm); x != nil {
		return x
	}
	for k := range v.Log {
		prevTerm, _ := v.TermAt(v.Log[k].Index - 1)
		if x := c.checkLogMatching(now, id, v.Log[k], prevTerm); x != nil {
			return x
		}
	}
	if x := checkSnapshotFloor(now, id, v); x != nil {
		return x
	}
	ns.deriveConfig(v)
	if x := checkConfigInForce(now, id, ns, v); x != nil {
		return x
	}
	ns.logState, ns.term, ns.role = viewLog(v), v.Term, v.Role
	if c.outsideCount > 0 {
		c.noteNamedRestart(id, v)
	}
	ns.appliedIndex, ns.applied = v.AppliedIndex, v.AppliedIndex
	if v.Role == node.Leader {
		if x := c.takeOffice(now, id, ns, v); x != nil {
			return x
		}
	}
	if x := c.checkVotes(now, id, ns, nil, v); x != nil {
		return x
	}
	if v.AppliedIndex > v.CommitIndex {
		return violation(StateMachineSafety, now, v.Term, v.AppliedIndex, ids(id),
			"restarted with applied index %d above commit index %d", v.AppliedIndex, v.CommitIndex)
	}
	if x := c.checkCommit(now, id, ns, v); x != nil {
		return x
	}
	if x := c.stepSnapshots(now, id, ns, &c.none.output, v); x != nil {
		return x
	}
	if v.Store != nil {
		c.seedSessions(id, v.Store)
	}
	if x := c.checkState(now, id, v); x != nil {
		return x
	}
	ns.durableSnap = v.SnapshotIndex
	c.maybeTrim()
	return nil
}
