package check

import (
	"slices"
	"time"

	"raftsim/node"
)

// checkMonotonic checks that a live node's term, commit index, applied index and snapshot
// index never go backwards (Figure 2: currentTerm only grows; commitIndex and lastApplied
// "increase monotonically"; §7: a snapshot is only replaced by a later one). The record
// starts afresh at a restart, since a crash loses volatile state and even a term that was
// not yet durable.
func checkMonotonic(now time.Duration, id node.ID, ns *nodeState, v *node.View) *Violation {
	switch {
	case v.Term < ns.term:
		return violation(MonotonicIndexes, now, v.Term, 0, ids(id),
			"term went back from %d to %d", ns.term, v.Term)
	case v.CommitIndex < ns.commit:
		return violation(MonotonicIndexes, now, v.Term, v.CommitIndex, ids(id),
			"commit index went back from %d to %d", ns.commit, v.CommitIndex)
	case v.AppliedIndex < ns.appliedIndex:
		return violation(MonotonicIndexes, now, v.Term, v.AppliedIndex, ids(id),
			"applied index went back from %d to %d", ns.appliedIndex, v.AppliedIndex)
	case v.SnapshotIndex < ns.snapIndex:
		return violation(MonotonicIndexes, now, v.Term, v.SnapshotIndex, ids(id),
			"snapshot index went back from %d to %d", ns.snapIndex, v.SnapshotIndex)
	}
	return nil
}

// checkSnapshotFloor checks that a node's commit and applied indexes are not below its
// snapshot index: a snapshot covers only committed, applied entries, and a node that
// installs or restores one has its state machine at the snapshot's index (Figure 13).
func checkSnapshotFloor(now time.Duration, id node.ID, v *node.View) *Violation {
	switch {
	case v.CommitIndex < v.SnapshotIndex:
		return violation(MonotonicIndexes, now, v.Term, v.CommitIndex, ids(id),
			"commit index %d is below the snapshot index %d", v.CommitIndex, v.SnapshotIndex)
	case v.AppliedIndex < v.SnapshotIndex:
		return violation(MonotonicIndexes, now, v.Term, v.AppliedIndex, ids(id),
			"applied index %d is below the snapshot index %d", v.AppliedIndex, v.SnapshotIndex)
	}
	return nil
}

// checkCurrentTermCommit checks the commit rule of §5.4.2 (Figure 8): a leader counts
// replicas only of entries of its current term, so whenever a leader's commit index
// advances, the entry at the new commit index has the leader's term. Committing an entry
// of an earlier term by counting its replicas is exactly what Figure 8 shows to be unsafe.
func checkCurrentTermCommit(now time.Duration, id node.ID, ns *nodeState, v *node.View) *Violation {
	if v.Role != node.Leader || v.CommitIndex <= ns.commit {
		return nil
	}
	t, ok := v.TermAt(v.CommitIndex)
	if !ok || v.CommitIndex <= v.SnapshotIndex {
		return nil // a commit index past the log is Commit Agreement's to report
	}
	if t != v.Term {
		return violation(CurrentTermCommit, now, v.Term, v.CommitIndex, ids(id),
			"leader of term %d advanced its commit index to %d, an entry of term %d", v.Term, v.CommitIndex, t)
	}
	return nil
}

// checkCommit checks Commit Agreement (§5.4) as node id's commit index advances, and grows
// the ledger: each entry in (old, new] of the node's log must equal the ledger's entry at
// its index, or, past the end of the ledger, is appended to it. The ledger remembers the
// committing node's term, which is the term the entry was committed in: the leader that
// commits an entry is always the first node seen committing it. When the ledger grows,
// Leader Completeness is checked for the new entries.
//
// Indexes the node's snapshot covers are not in its log: they must already be on the
// ledger (some node committed them before any snapshot could hold them); that the snapshot
// is the ledger's prefix is Snapshot Safety's to check.
func (c *Checker) checkCommit(now time.Duration, id node.ID, ns *nodeState, v *node.View) *Violation {
	if v.CommitIndex <= ns.commit {
		return nil
	}
	if v.CommitIndex > v.LastIndex() {
		return violation(CommitAgreement, now, v.Term, v.CommitIndex, ids(id),
			"commit index %d is past the last log index %d", v.CommitIndex, v.LastIndex())
	}
	from := ns.commit + 1
	if v.SnapshotIndex >= from {
		if top := c.top(); v.SnapshotIndex > top {
			return violation(SnapshotSafety, now, v.Term, v.SnapshotIndex, ids(id),
				"snapshot at index %d covers entries no node was seen committing (the ledger ends at %d)",
				v.SnapshotIndex, top)
		}
		from = v.SnapshotIndex + 1
	}
	grewFrom := c.top()
	for i := from; i <= v.CommitIndex; i++ {
		e := &v.Log[i-v.SnapshotIndex-1]
		if i > c.top() { // ns.commit <= c.top(), so i is the next index
			c.appendCommitted(*e, commitMeta{term: v.Term, by: id})
			continue
		}
		was, m, ok := c.ledgerAt(i)
		if !ok {
			return violation(CommitAgreement, now, v.Term, i, ids(id),
				"node commits %v at index %d, at or below the checker's floor %d", *e, i, c.base)
		}
		if !e.SameAs(*was) {
			return violation(CommitAgreement, now, v.Term, i, ids(m.by, id),
				"node %d committed %v at index %d, node %d commits %v", m.by, *was, i, id, *e)
		}
	}
	ns.commit = v.CommitIndex
	if c.top() > grewFrom {
		return c.checkCompletenessOnGrowth(now, grewFrom)
	}
	return nil
}

// appendCommitted appends e, committed at the next index, to the ledger, and notes it in
// the leader record of its term.
func (c *Checker) appendCommitted(e node.Entry, m commitMeta) {
	c.committed = push(c, sharedCommitted, c.committed, e)
	c.meta = push(c, sharedMeta, c.meta, m)
	k := c.sumK
	if k >= len(c.leaders) || c.leaders[k].Term != e.Term {
		var found bool
		if k, found = c.findLeader(e.Term); !found {
			return
		}
		c.sumK = k
	}
	own(c, sharedLeaders, &c.leaders)
	r := &c.leaders[k]
	if r.First == 0 {
		r.First = e.Index
	}
	r.Last = e.Index
}

// checkRewriteCommitted checks Commit Agreement (§5.4) for a write by node id whose commit
// index was commit: an entry the node committed may be written again (some implementations
// rewrite a suffix they already hold) but only as itself.
func (c *Checker) checkRewriteCommitted(now time.Duration, id node.ID, commit node.Index, w []node.Entry) *Violation {
	for k := range w {
		e := &w[k]
		if e.Index > commit {
			return nil
		}
		was, _, ok := c.ledgerAt(e.Index)
		if !ok {
			return violation(CommitAgreement, now, e.Term, e.Index, ids(id),
				"node rewrote %v, at or below the checker's floor %d", *e, c.base)
		}
		if !e.SameAs(*was) {
			return violation(CommitAgreement, now, e.Term, e.Index, ids(id),
				"node overwrote its committed entry %v with %v", *was, *e)
		}
	}
	return nil
}

// findLeader returns the position of term's record in c.leaders, or where it would go.
func (c *Checker) findLeader(term node.Term) (int, bool) {
	return slices.BinarySearchFunc(c.leaders, term, func(r LeaderRecord, t node.Term) int {
		switch {
		case r.Term < t:
			return -1
		case r.Term > t:
			return 1
		}
		return 0
	})
}

// checkElectionSafety checks Election Safety (§5.2): node id is seen as leader of term, and
// no other node may have been. It records the leader of a term the first time one is seen
// and reports whether this was that first time.
func (c *Checker) checkElectionSafety(now time.Duration, id node.ID, term node.Term) (bool, *Violation) {
	k, found := c.findLeader(term)
	if !found {
		own(c, sharedLeaders, &c.leaders)
		c.leaders = slices.Insert(c.leaders, k, LeaderRecord{Term: term, ID: id, Time: now})
		return true, nil
	}
	r := c.leaders[k]
	if r.ID == id {
		return false, nil
	}
	a, b := min(r.ID, id), max(r.ID, id)
	return false, violation(ElectionSafety, now, term, 0, ids(a, b),
		"both leaders (node %d since %v, node %d now)", r.ID, r.Time, id)
}

// takeOffice handles node id seen as leader of v.Term: Election Safety, and, the first time
// a leader of that term is seen, Leader Completeness against the whole ledger, once.
func (c *Checker) takeOffice(now time.Duration, id node.ID, ns *nodeState, v *node.View) *Violation {
	first, x := c.checkElectionSafety(now, id, v.Term)
	if x != nil {
		return x
	}
	ns.officeTerm = v.Term
	if !first {
		return nil
	}
	l := viewLog(v)
	return c.checkLeaderCompleteness(now, id, v.Term, &l, 0)
}

// checkCompletenessOnGrowth checks Leader Completeness for the ledger entries above index
// from, newly committed, against every live leader.
func (c *Checker) checkCompletenessOnGrowth(now time.Duration, from node.Index) *Violation {
	for j := 1; j < len(c.nodes); j++ {
		ns := &c.nodes[j]
		if !ns.live || ns.role != node.Leader {
			continue
		}
		if x := c.checkLeaderCompleteness(now, node.ID(j), ns.term, &ns.logState, from); x != nil {
			return x
		}
	}
	return nil
}

// checkLeaderCompleteness checks Leader Completeness (§5.4): the log l of node id, leader
// of term, holds every ledger entry above index from that was committed in an earlier
// term. Entries at or below l's snapshot index are covered by its snapshot, which Snapshot
// Safety checks against the ledger; entries at or below the ledger's floor were trimmed,
// and the floor is at most every node's snapshot index.
//
// "Committed in a term" is the term of the first node seen committing the entry. It is not
// the entry's own term: an entry of term 2 may be committed in term 4 while a stale leader
// of term 3 that lacks it still runs (Figure 8), and that leader breaks nothing.
func (c *Checker) checkLeaderCompleteness(now time.Duration, id node.ID, term node.Term, l *logState, from node.Index) *Violation {
	for i := max(from, l.snapIndex, c.base) + 1; i <= c.top(); i++ {
		want, m, _ := c.ledgerAt(i)
		if m.term >= term {
			continue
		}
		e, ok := l.entryAt(i)
		if ok && e.SameAs(*want) {
			continue
		}
		holds := "nothing"
		if ok {
			holds = e.String()
		}
		return violation(LeaderCompleteness, now, term, i, ids(id, m.by),
			"leader of term %d holds %s where %v was committed in term %d (by node %d)",
			term, holds, *want, m.term, m.by)
	}
	return nil
}

// checkApply checks State Machine Safety (§5.4.3) for the entries node id applied in one
// step: a node applies only committed entries (applied index at most commit index), in
// index order, each index once per lifetime (an installed snapshot counts as applying what
// it covers), and each equal to the ledger's entry there, so that no two nodes apply
// different entries at one index. Since every applied entry must equal the committed one,
// the committed ledger doubles as the applied ledger; it only notes who applied each index
// first, to name that node in a report.
func (c *Checker) checkApply(now time.Duration, id node.ID, ns *nodeState, apply []node.Entry, v *node.View) *Violation {
	if v.AppliedIndex > v.CommitIndex {
		return violation(StateMachineSafety, now, v.Term, v.AppliedIndex, ids(id),
			"applied index %d is above commit index %d", v.AppliedIndex, v.CommitIndex)
	}
	for k := range apply {
		e := &apply[k]
		if e.Index != ns.applied+1 {
			return violation(StateMachineSafety, now, v.Term, e.Index, ids(id),
				"applied %v but the next index to apply was %d (out of order, a gap, or twice)", *e, ns.applied+1)
		}
		if e.Index > v.CommitIndex {
			return violation(StateMachineSafety, now, v.Term, e.Index, ids(id),
				"applied %v beyond commit index %d", *e, v.CommitIndex)
		}
		was, m, ok := c.ledgerAt(e.Index) // the ledger covers v.CommitIndex: checkCommit ran first
		if !ok {
			return violation(StateMachineSafety, now, v.Term, e.Index, ids(id),
				"applied %v, at or below the checker's floor %d (every node's snapshot covers it)", *e, c.base)
		}
		if !e.SameAs(*was) {
			if m.appliedBy != node.None {
				return violation(StateMachineSafety, now, v.Term, e.Index, ids(m.appliedBy, id),
					"node %d applied %v, node %d applies %v", m.appliedBy, *was, id, *e)
			}
			return violation(StateMachineSafety, now, v.Term, e.Index, ids(m.by, id),
				"node %d applies %v where node %d committed %v", id, *e, m.by, *was)
		}
		if m.appliedBy == node.None {
			own(c, sharedMeta, &c.meta)
			c.meta[e.Index-c.base-1].appliedBy = id
		}
		ns.applied = e.Index
	}
	ns.appliedIndex = v.AppliedIndex
	return nil
}

// checkVotes checks One vote per term (§5.2): node id never grants its vote to two
// candidates in one term. The record, which survives crashes, holds each granted vote
// response the node sent and the vote in its view (a candidate's vote for itself counts).
func (c *Checker) checkVotes(now time.Duration, id node.ID, ns *nodeState, msgs []node.Message, v *node.View) *Violation {
	for k := range msgs {
		m := &msgs[k]
		if m.Type == node.MsgVoteResp && m.Success {
			if x := c.recordVote(now, id, m.Term, m.To); x != nil {
				return x
			}
		}
	}
	if v.Vote == node.None || (v.Term == ns.voteTerm && v.Vote == ns.vote) {
		return nil
	}
	ns.voteTerm, ns.vote = v.Term, v.Vote
	return c.recordVote(now, id, v.Term, v.Vote)
}

// recordVote records that voter voted for cand in term, and reports a second candidate.
func (c *Checker) recordVote(now time.Duration, voter node.ID, term node.Term, cand node.ID) *Violation {
	k, ok := c.findVote(voter, term)
	if !ok {
		own(c, sharedVotes, &c.votes)
		c.votes = slices.Insert(c.votes, k, voteRec{term: term, voter: voter, cand: cand})
		return nil
	}
	was := c.votes[k].cand
	if was == cand {
		return nil
	}
	return violation(OneVotePerTerm, now, term, 0, ids(voter, was, cand),
		"node %d voted for node %d and for node %d in term %d", voter, was, cand, term)
}

// findVote returns the position of voter's vote in term in c.votes, or where it would go.
// The newest term is the common case, so the last record is tried first.
func (c *Checker) findVote(voter node.ID, term node.Term) (int, bool) {
	n := len(c.votes)
	if n == 0 || voteBefore(c.votes[n-1], term, voter) {
		return n, false
	}
	return slices.BinarySearchFunc(c.votes, voteRec{term: term, voter: voter}, func(r, key voteRec) int {
		switch {
		case voteBefore(r, key.term, key.voter):
			return -1
		case r.term == key.term && r.voter == key.voter:
			return 0
		}
		return 1
	})
}

// voteBefore reports whether r sorts before the vote of voter in term.
func voteBefore(r voteRec, term node.Term, voter node.ID) bool {
	return r.term < term || (r.term == term && r.voter < voter)
}

// vote returns the candidate voter voted for in term, if the record has one.
func (c *Checker) vote(voter node.ID, term node.Term) (node.ID, bool) {
	k, ok := c.findVote(voter, term)
	if !ok {
		return node.None, false
	}
	return c.votes[k].cand, true
}
