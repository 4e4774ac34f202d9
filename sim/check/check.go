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
//   - Leader Append-Only (§5.3): a leader never overwrites or deletes entries of its log.
//   - Log Matching (§5.3): two logs holding an entry with the same index and term are
//     identical up to and including it.
//   - Leader Completeness (§5.4): a leader holds every entry committed in an earlier term.
//   - Commit Agreement (§5.4): every node commits the same entry at an index, and never
//     rewrites an entry it has committed. The paper has no separate name for it; it is the
//     step between Leader Completeness and State Machine Safety, and checking it on its own
//     names the node that went wrong earlier than a divergent apply would.
//   - State Machine Safety (§5.4.3): no two nodes apply different entries at an index; a
//     node applies only committed entries, in index order, each once per lifetime.
//   - Monotonic indexes (Figure 2): a live node's term, commit index and applied index never
//     go backwards.
//   - One vote per term (§5.2, Figure 2): a node never grants its vote to two candidates in
//     one term, also across crashes.
//   - Current-Term Commit (§5.4.2, Figure 8): a leader advances its commit index only to an
//     entry of its own term; earlier-term entries are committed only along with one.
//   - Exactly-once (Raft thesis §6.3): a client command (client, sequence number) takes
//     effect at most once on each node's state machine, and a client's commands take
//     effect in the order of their sequence numbers. Step reads Output.Commands: each
//     command applied with outcome kv.Applied must carry a sequence number above the last
//     one that took effect for its client on that node in its current lifetime (a
//     restarted node rebuilds its state machine from its log, so the record starts afresh
//     at Crash and Restart). Duplicate and stale outcomes change nothing and are fine.
//   - Log Write (Figure 2, node.Output): the node's view of its log is what its writes made
//     it. The incremental checks reason about the writes (Output.Entries) and Final about
//     the views, so this is what keeps the two in step; it also keeps the checker's own
//     records bounded by real log lengths.
//
// # Cost
//
// The simulator calls Step hundreds of thousands of times per second, so a Step costs
// O(what changed): the entries written, the messages sent, the entries applied, the newly
// committed range. A step that changes nothing (a heartbeat) does a handful of compares and
// no allocation. Three things are proportional to more than that, and happen rarely: a node
// taking office is compared once with the whole committed ledger; a restart checks the
// restored log; Final is quadratic in the number of nodes and linear in the logs. Memory
// grows with the number of distinct (index, term) pairs ever written, the committed entries,
// the terms and the votes; bounding it (for example by forgetting records below the
// smallest commit index of all nodes) is left for later.
//
// # Contract with the caller
//
// Nodes are numbered 1..n and all start live with an empty log in term 0. The checker keeps
// the Log slice of each node's last View and reads it again at that node's next event, to
// compare the log before and after. That relies on node.Entry's rule that entries are never
// modified once created (a node truncates by copying, never in place), not merely on the
// View being valid until the next Step. Calling Step for a node
// after Crash and before Restart, or with an unknown ID, is a simulator bug and panics.
// After a violation the checker's state is unspecified: the simulator stops at the first.
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
	MonotonicIndexes   = "Monotonic indexes"
	OneVotePerTerm     = "One vote per term"
	LogWrite           = "Log Write"
	CurrentTermCommit  = "Current-Term Commit"
	ExactlyOnce        = "Exactly-once"
)

// rules maps each check to its citation in the paper.
var rules = map[string]string{
	ElectionSafety:     "§5.2",
	LeaderAppendOnly:   "§5.3",
	LogMatching:        "§5.3",
	LeaderCompleteness: "§5.4",
	CommitAgreement:    "§5.4",
	StateMachineSafety: "§5.4.3",
	MonotonicIndexes:   "Figure 2",
	OneVotePerTerm:     "§5.2",
	LogWrite:           "Figure 2",
	CurrentTermCommit:  "§5.4.2",
	ExactlyOnce:        "thesis §6.3",
}

// violation builds a Violation; it is only called on the failure path, so it may allocate.
func violation(check string, now time.Duration, term node.Term, index node.Index, nodes []node.ID,
	format string, args ...any) *Violation {
	return &Violation{
		Check:  check,
		Rule:   rules[check],
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

// LeaderRecord says which node led a term and when it was first seen leading.
type LeaderRecord struct {
	Term node.Term
	ID   node.ID
	Time time.Duration // virtual time the leader was first seen in office
}

// nodeState is what the checker remembers of one node between its events.
type nodeState struct {
	live bool
	term node.Term
	role node.Role
	// log is the Log of the node's last view. Entries are immutable and logs are truncated
	// by copying (node.Entry), so holding the slice header is enough: no copy.
	log []node.Entry
	// commit and appliedIndex are the view's CommitIndex and AppliedIndex; applied is the
	// index of the last entry this lifetime handed over in Output.Apply.
	commit, appliedIndex, applied node.Index
	// officeTerm is the term in which this node was last checked as a new leader, so that a
	// leader's every heartbeat does not repeat the check.
	officeTerm node.Term
	// voteTerm and vote cache the last vote recorded for this node, so that an unchanged
	// vote costs no map lookup.
	voteTerm node.Term
	vote     node.ID
}

// commitMeta is what the ledger keeps next to each committed entry.
type commitMeta struct {
	term      node.Term // the committing node's term when it was first seen committed
	by        node.ID   // the node first seen committing it
	appliedBy node.ID   // the node first seen applying it (None if none yet)
}

// voteKey names one node's vote in one term.
type voteKey struct {
	voter node.ID
	term  node.Term
}

// Checker checks one cluster's history, event by event. Create it with New.
type Checker struct {
	nodes []nodeState // indexed by ID; slot 0 unused

	leaders []LeaderRecord // ascending term, one per term

	// committed[k] is the entry committed at index k+1 and meta[k] how it was seen.
	committed []node.Entry
	meta      []commitMeta

	match []matchSlot // Log Matching record, indexed by index-1

	votes map[voteKey]node.ID // granted votes, across crashes; looked up, never ranged over

	// sessions[id] maps each client to the last sequence number that took effect on node
	// id in its current lifetime (Exactly-once); looked up, never ranged over.
	sessions []map[kv.ClientID]uint64
}

// New returns a checker for a cluster of nodes numbered 1..nodes, all live, with empty logs.
func New(nodes int) *Checker {
	if nodes < 1 {
		panic(fmt.Sprintf("check: New(%d): a cluster needs at least one node", nodes))
	}
	c := &Checker{
		nodes:    make([]nodeState, nodes+1),
		votes:    make(map[voteKey]node.ID),
		sessions: make([]map[kv.ClientID]uint64, nodes+1),
	}
	for i := 1; i <= nodes; i++ {
		c.nodes[i].live = true
	}
	return c
}

// Committed returns the ledger of committed entries: Committed()[k] is the entry committed
// at index k+1. The slice is the checker's own; callers must not modify it.
func (c *Checker) Committed() []node.Entry { return c.committed }

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

// noOutput stands for a nil Output: a step that wrote, sent and applied nothing.
var noOutput node.Output

// Step checks the event in which node id processed one input at virtual time now: out is
// that step's Output (Entries the log write, Messages what it sent, Apply what it applied)
// and v the node's View after the step (a nil out means an empty one). It returns the first
// violation, or nil.
func (c *Checker) Step(now time.Duration, id node.ID, out *node.Output, v *node.View) *Violation {
	ns := c.state(id)
	if !ns.live {
		panic(fmt.Sprintf("check: Step for node %d, which crashed and was not restarted", id))
	}
	if out == nil {
		out = &noOutput
	}
	if x := checkMonotonic(now, id, ns, v); x != nil {
		return x
	}
	if x := c.stepLog(now, id, ns, out.Entries, v); x != nil {
		return x
	}
	ns.log, ns.term, ns.role = v.Log, v.Term, v.Role
	if v.Role == node.Leader && ns.officeTerm != v.Term {
		if x := c.takeOffice(now, id, ns, v); x != nil {
			return x
		}
	}
	if x := c.checkVotes(now, id, ns, out.Messages, v); x != nil {
		return x
	}
	if x := checkCurrentTermCommit(now, id, ns, v); x != nil {
		return x
	}
	if x := c.checkCommit(now, id, ns, v); x != nil {
		return x
	}
	if x := c.checkApply(now, id, ns, out.Apply, v); x != nil {
		return x
	}
	if len(out.Commands) > 0 {
		return c.checkExactlyOnce(now, id, v.Term, out.Commands)
	}
	return nil
}

// stepLog runs the checks about a log write: its shape, then, if the node wrote anything,
// Leader Append-Only, Commit Agreement for rewritten committed entries and Log Matching.
func (c *Checker) stepLog(now time.Duration, id node.ID, ns *nodeState, w []node.Entry, v *node.View) *Violation {
	// A leader that stays in office is checked first, so that a leader shrinking its log is
	// reported as the Raft property it breaks rather than as a bad write.
	if ns.role == node.Leader && v.Role == node.Leader && ns.term == v.Term {
		if x := checkLeaderAppendOnly(now, id, ns.log, w, v); x != nil {
			return x
		}
	}
	if x := checkLogWrite(now, id, ns.log, w, v); x != nil {
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
// on record: a vote is durable, and a node that forgets one may not vote again.
func (c *Checker) Crash(now time.Duration, id node.ID) {
	ns := c.state(id)
	*ns = nodeState{}
	c.resetSessions(id)
}

// Restart checks node id, rebuilt from its disk at virtual time now, whose view is v. The
// restored log is checked entry by entry against the Log Matching record and the committed
// ledger (a restart is rare, so this costs O(log) once); the node's term, commit and applied
// indexes start afresh.
func (c *Checker) Restart(now time.Duration, id node.ID, v *node.View) *Violation {
	ns := c.state(id)
	*ns = nodeState{live: true}
	c.resetSessions(id)
	if x := checkLogWrite(now, id, nil, v.Log, v); x != nil {
		return x
	}
	for k := range v.Log {
		prevTerm, _ := v.TermAt(node.Index(k))
		if x := c.checkLogMatching(now, id, v.Log[k], prevTerm); x != nil {
			return x
		}
	}
	ns.log, ns.term, ns.role = v.Log, v.Term, v.Role
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
	return c.checkCommit(now, id, ns, v)
}
