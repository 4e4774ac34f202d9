package check

import (
	"time"

	"raftsim/node"
)

// Final re-checks every property from scratch over the nodes' views at virtual time now
// (views[i] is node i+1, live or as last known), as a slow cross-check of the incremental
// checks: pairwise Log Matching over all logs, one leader per term over the records and the
// views, agreement of every committed and applied prefix, every committed entry present in
// the log of every leader of a later term, and each view's vote against the vote record.
// It costs O(n² · log length) and is meant for the end of a run and for tests.
//
// Where the incremental checker needs its records (the term an entry was committed in, the
// leaders and votes of the past), Final uses them; where the views suffice it does not, so
// a fault in the incremental bookkeeping shows as a disagreement.
func (c *Checker) Final(now time.Duration, views []node.View) *Violation {
	if x := c.finalElectionSafety(now, views); x != nil {
		return x
	}
	for i := range views {
		if x := finalLogShape(now, node.ID(i+1), &views[i]); x != nil {
			return x
		}
	}
	if x := finalLogMatching(now, views); x != nil {
		return x
	}
	if x := c.finalCommitted(now, views); x != nil {
		return x
	}
	if x := c.finalLeaderCompleteness(now, views); x != nil {
		return x
	}
	if x := finalApplied(now, views); x != nil {
		return x
	}
	return c.finalVotes(now, views)
}

// finalElectionSafety checks Election Safety (§5.2) over the leader records (one per term,
// ascending) and the views (no two leaders of one term, and each agrees with the record).
func (c *Checker) finalElectionSafety(now time.Duration, views []node.View) *Violation {
	for k := 1; k < len(c.leaders); k++ {
		a, b := c.leaders[k-1], c.leaders[k]
		if a.Term >= b.Term {
			return violation(ElectionSafety, now, b.Term, 0, ids(a.ID, b.ID),
				"leader records out of order: term %d (node %d) before term %d (node %d)", a.Term, a.ID, b.Term, b.ID)
		}
	}
	for i := range views {
		v := &views[i]
		if v.Role != node.Leader {
			continue
		}
		for j := i + 1; j < len(views); j++ {
			if views[j].Role == node.Leader && views[j].Term == v.Term {
				return violation(ElectionSafety, now, v.Term, 0, ids(node.ID(i+1), node.ID(j+1)), "both leaders")
			}
		}
		for _, r := range c.leaders { // a slice: ranging is deterministic
			if r.Term == v.Term && r.ID != node.ID(i+1) {
				return violation(ElectionSafety, now, v.Term, 0, ids(min(r.ID, node.ID(i+1)), max(r.ID, node.ID(i+1))),
					"both leaders (node %d on record since %v)", r.ID, r.Time)
			}
		}
	}
	return nil
}

// finalLogShape checks that a view's log is well formed (Log Write): Log[k].Index == k+1,
// terms between 1 and the node's term, never decreasing.
func finalLogShape(now time.Duration, id node.ID, v *node.View) *Violation {
	var prev node.Term
	for k := range v.Log {
		e := &v.Log[k]
		switch {
		case e.Index != node.Index(k+1):
			return violation(LogWrite, now, v.Term, node.Index(k+1), ids(id), "log position %d holds %v", k+1, *e)
		case e.Term == 0 || e.Term > v.Term:
			return violation(LogWrite, now, v.Term, e.Index, ids(id), "entry %v has a term outside 1..%d", *e, v.Term)
		case e.Term < prev:
			return violation(LogWrite, now, v.Term, e.Index, ids(id), "entry %v follows an entry of term %d", *e, prev)
		}
		prev = e.Term
	}
	return nil
}

// finalLogMatching checks Log Matching (§5.3) pairwise: if two logs hold an entry with the
// same index and term, they are identical up to it. It suffices to find the highest index
// at which two logs agree on the term and compare everything up to it.
func finalLogMatching(now time.Duration, views []node.View) *Violation {
	for a := range views {
		for b := a + 1; b < len(views); b++ {
			la, lb := views[a].Log, views[b].Log
			top := min(len(la), len(lb)) - 1
			for top >= 0 && la[top].Term != lb[top].Term {
				top--
			}
			for k := 0; k <= top; k++ {
				if !la[k].SameAs(lb[k]) {
					return violation(LogMatching, now, la[top].Term, node.Index(top+1), ids(node.ID(a+1), node.ID(b+1)),
						"both hold index %d in term %d but differ at index %d: %v and %v",
						top+1, la[top].Term, k+1, la[k], lb[k])
				}
			}
		}
	}
	return nil
}

// finalCommitted checks Commit Agreement (§5.4): every view's committed prefix lies in its
// log, agrees with every other view's, and agrees with the ledger; the ledger itself is well
// formed.
func (c *Checker) finalCommitted(now time.Duration, views []node.View) *Violation {
	for k := range c.committed {
		if c.committed[k].Index != node.Index(k+1) {
			return violation(CommitAgreement, now, c.committed[k].Term, node.Index(k+1), nil,
				"ledger position %d holds %v", k+1, c.committed[k])
		}
	}
	for a := range views {
		va := &views[a]
		if va.CommitIndex > va.LastIndex() {
			return violation(CommitAgreement, now, va.Term, va.CommitIndex, ids(node.ID(a+1)),
				"commit index %d is past the last log index %d", va.CommitIndex, va.LastIndex())
		}
		n := min(int(va.CommitIndex), len(c.committed))
		if x := samePrefix(now, CommitAgreement, node.ID(a+1), va.Log, 0, c.committed, n); x != nil {
			return x
		}
		for b := a + 1; b < len(views); b++ {
			vb := &views[b]
			n := min(va.CommitIndex, vb.CommitIndex, vb.LastIndex())
			if x := samePrefix(now, CommitAgreement, node.ID(a+1), va.Log, node.ID(b+1), vb.Log, int(n)); x != nil {
				return x
			}
		}
	}
	return nil
}

// samePrefix reports the first index up to n at which logs a (of node ida) and b (of node
// idb, or the ledger if idb is None) differ, as a violation of check.
func samePrefix(now time.Duration, check string, ida node.ID, a []node.Entry, idb node.ID, b []node.Entry, n int) *Violation {
	for k := 0; k < n; k++ {
		if a[k].SameAs(b[k]) {
			continue
		}
		if idb == node.None {
			return violation(check, now, a[k].Term, node.Index(k+1), ids(ida),
				"node %d holds %v where the ledger has %v", ida, a[k], b[k])
		}
		return violation(check, now, a[k].Term, node.Index(k+1), ids(ida, idb),
			"node %d holds %v, node %d holds %v", ida, a[k], idb, b[k])
	}
	return nil
}

// finalLeaderCompleteness checks Leader Completeness (§5.4) for every view in the leader
// role, of term T: its log holds every ledger entry committed in a term below T, and every
// entry another view committed while in a term below T (a node learns of a commit in a term
// no later than its current one, so such entries were committed in a term below T).
func (c *Checker) finalLeaderCompleteness(now time.Duration, views []node.View) *Violation {
	for y := range views {
		vy := &views[y]
		if vy.Role != node.Leader {
			continue
		}
		if x := c.checkLeaderCompleteness(now, node.ID(y+1), vy.Term, vy.Log, 0); x != nil {
			return x
		}
		for x := range views {
			vx := &views[x]
			if vx.Term >= vy.Term {
				continue
			}
			for k := 0; k < int(vx.CommitIndex); k++ {
				if k >= len(vy.Log) || !vy.Log[k].SameAs(vx.Log[k]) {
					return violation(LeaderCompleteness, now, vy.Term, node.Index(k+1), ids(node.ID(y+1), node.ID(x+1)),
						"leader of term %d lacks %v, committed at node %d in term %d or earlier",
						vy.Term, vx.Log[k], x+1, vx.Term)
				}
			}
		}
	}
	return nil
}

// finalApplied checks State Machine Safety (§5.4.3): every view applied no more than it
// committed, and any two views' applied prefixes agree.
func finalApplied(now time.Duration, views []node.View) *Violation {
	for a := range views {
		va := &views[a]
		if va.AppliedIndex > va.CommitIndex {
			return violation(StateMachineSafety, now, va.Term, va.AppliedIndex, ids(node.ID(a+1)),
				"applied index %d is above commit index %d", va.AppliedIndex, va.CommitIndex)
		}
		for b := a + 1; b < len(views); b++ {
			vb := &views[b]
			n := min(va.AppliedIndex, vb.AppliedIndex, vb.LastIndex())
			if x := samePrefix(now, StateMachineSafety, node.ID(a+1), va.Log, node.ID(b+1), vb.Log, int(n)); x != nil {
				return x
			}
		}
	}
	return nil
}

// finalVotes checks One vote per term (§5.2): each view's vote in its term is the one on
// record, if any.
func (c *Checker) finalVotes(now time.Duration, views []node.View) *Violation {
	for i := range views {
		v := &views[i]
		if v.Vote == node.None {
			continue
		}
		id := node.ID(i + 1)
		if was, ok := c.votes[voteKey{voter: id, term: v.Term}]; ok && was != v.Vote {
			return violation(OneVotePerTerm, now, v.Term, 0, ids(id, was, v.Vote),
				"node %d voted for node %d and for node %d in term %d", id, was, v.Vote, v.Term)
		}
	}
	return nil
}
