package check

import (
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// Final re-checks every property from scratch over the nodes' views at virtual time now
// (views[i] is node i+1, live or as last known), as a slow cross-check of the incremental
// checks: pairwise Log Matching over all logs (a snapshot standing for the committed
// prefix), one leader per term over the records and the views, agreement of every
// committed and applied range, every committed entry present in the log of every leader of
// a later term above its snapshot, every snapshot against the ledger and the reference
// states, replicas' states against each other and the reference, and each view's vote
// against the vote record, and each view's configuration against the one its log says. It costs O(n² · log length) plus a kv.Restore per snapshot and
// is meant for the end of a run and for tests.
//
// Where the incremental checker needs its records (the term an entry was committed in, the
// leaders and votes of the past, the committed prefix the nodes' snapshots cover), Final
// uses them; where the views suffice it does not, so a fault in the incremental
// bookkeeping shows as a disagreement.
func (c *Checker) Final(now time.Duration, views []node.View) *Violation {
	if x := c.finalElectionSafety(now, views); x != nil {
		return x
	}
	for i := range views {
		if x := c.finalLogShape(now, node.ID(i+1), &views[i]); x != nil {
			return x
		}
	}
	if x := c.finalLogMatching(now, views); x != nil {
		return x
	}
	if x := c.finalCommitted(now, views); x != nil {
		return x
	}
	if x := c.finalLeaderCompleteness(now, views); x != nil {
		return x
	}
	if x := c.finalSnapshots(now, views); x != nil {
		return x
	}
	if x := c.finalApplied(now, views); x != nil {
		return x
	}
	if x := c.finalConfigs(now, views); x != nil {
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

// finalLogShape checks that a view's log is well formed (Log Write): Log[k].Index ==
// SnapshotIndex+k+1, terms between 1 and the node's term, never decreasing from the
// snapshot's term on, and the view's snapshot at its snapshot position.
func (c *Checker) finalLogShape(now time.Duration, id node.ID, v *node.View) *Violation {
	if c.snapOf(v).Index != v.SnapshotIndex || c.snapOf(v).Term != v.SnapshotTerm {
		return violation(SnapshotSafety, now, v.Term, v.SnapshotIndex, ids(id),
			"the view's snapshot is at %d@t%d but its snapshot position is %d@t%d",
			c.snapOf(v).Index, c.snapOf(v).Term, v.SnapshotIndex, v.SnapshotTerm)
	}
	if x := checkSnapshotTerm(now, id, v, v.SnapshotTerm); x != nil {
		return x
	}
	prev := v.SnapshotTerm
	for k := range v.Log {
		e := &v.Log[k]
		i := v.SnapshotIndex + node.Index(k+1)
		switch {
		case e.Index != i:
			return violation(LogWrite, now, v.Term, i, ids(id), "log position %d (index %d) holds %v", k+1, i, *e)
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
// at which two logs agree on the term (a snapshot position counts) and compare everything
// up to it that both hold; what one holds and the other's snapshot covers must be the
// committed ledger's, since the snapshot is the committed prefix.
func (c *Checker) finalLogMatching(now time.Duration, views []node.View) *Violation {
	for a := range views {
		for b := a + 1; b < len(views); b++ {
			va, vb := &views[a], &views[b]
			lo := max(va.SnapshotIndex, vb.SnapshotIndex)
			top := min(va.LastIndex(), vb.LastIndex())
			for ; top >= lo && top > 0; top-- {
				ta, _ := va.TermAt(top)
				tb, _ := vb.TermAt(top)
				if ta == tb {
					break
				}
			}
			if top < lo || top == 0 {
				continue // no common (index, term) both logs know
			}
			t, _ := va.TermAt(top)
			for i := lo + 1; i <= top; i++ {
				ea, _ := va.EntryAt(i)
				eb, _ := vb.EntryAt(i)
				if !ea.SameAs(eb) {
					return violation(LogMatching, now, t, top, ids(node.ID(a+1), node.ID(b+1)),
						"both hold index %d in term %d but differ at index %d: %v and %v", top, t, i, ea, eb)
				}
			}
			// The view with the lower snapshot holds, up to lo, what the other's covers.
			lower, lid := va, node.ID(a+1)
			if vb.SnapshotIndex < va.SnapshotIndex {
				lower, lid = vb, node.ID(b+1)
			}
			for i := max(lower.SnapshotIndex, c.base) + 1; i <= lo; i++ {
				e, _ := lower.EntryAt(i)
				want, _, ok := c.ledgerAt(i)
				if ok && !e.SameAs(*want) {
					return violation(LogMatching, now, t, top, ids(node.ID(a+1), node.ID(b+1)),
						"both hold index %d in term %d but node %d holds %v at index %d where the other's snapshot covers the committed %v",
						top, t, lid, e, i, *want)
				}
			}
		}
	}
	return nil
}

// finalCommitted checks Commit Agreement (§5.4): every view's committed range (above its
// snapshot) lies in its log, agrees with every other view's, and agrees with the ledger;
// the ledger itself is well formed.
func (c *Checker) finalCommitted(now time.Duration, views []node.View) *Violation {
	for k := range c.committed {
		if i := c.base + node.Index(k+1); c.committed[k].Index != i {
			return violation(CommitAgreement, now, c.committed[k].Term, i, nil,
				"ledger position %d (index %d) holds %v", k+1, i, c.committed[k])
		}
	}
	for a := range views {
		va := &views[a]
		ida := node.ID(a + 1)
		if va.CommitIndex > va.LastIndex() {
			return violation(CommitAgreement, now, va.Term, va.CommitIndex, ids(ida),
				"commit index %d is past the last log index %d", va.CommitIndex, va.LastIndex())
		}
		if x := checkSnapshotFloor(now, ida, va); x != nil {
			return x
		}
		for i := max(va.SnapshotIndex, c.base) + 1; i <= min(va.CommitIndex, c.top()); i++ {
			e, _ := va.EntryAt(i)
			if want, _, _ := c.ledgerAt(i); !e.SameAs(*want) {
				return violation(CommitAgreement, now, e.Term, i, ids(ida),
					"node %d holds %v where the ledger has %v", ida, e, *want)
			}
		}
		for b := a + 1; b < len(views); b++ {
			vb := &views[b]
			n := min(va.CommitIndex, vb.CommitIndex, vb.LastIndex())
			if x := sameRange(now, CommitAgreement, ida, va, node.ID(b+1), vb, n); x != nil {
				return x
			}
		}
	}
	return nil
}

// sameRange reports the first index up to n, above both snapshots, at which the logs of
// views a (of node ida) and b (of node idb) differ, as a violation of check.
func sameRange(now time.Duration, check string, ida node.ID, a *node.View, idb node.ID, b *node.View, n node.Index) *Violation {
	for i := max(a.SnapshotIndex, b.SnapshotIndex) + 1; i <= n; i++ {
		ea, _ := a.EntryAt(i)
		eb, _ := b.EntryAt(i)
		if !ea.SameAs(eb) {
			return violation(check, now, ea.Term, i, ids(ida, idb), "node %d holds %v, node %d holds %v", ida, ea, idb, eb)
		}
	}
	return nil
}

// finalLeaderCompleteness checks Leader Completeness (§5.4) for every view in the leader
// role, of term T: its log holds, above its snapshot, every ledger entry committed in a
// term below T, and every entry another view committed while in a term below T (a node
// learns of a commit in a term no later than its current one, so such entries were
// committed in a term below T).
func (c *Checker) finalLeaderCompleteness(now time.Duration, views []node.View) *Violation {
	for y := range views {
		vy := &views[y]
		if vy.Role != node.Leader {
			continue
		}
		ly := viewLog(vy)
		if x := c.checkLeaderCompleteness(now, node.ID(y+1), vy.Term, &ly, 0); x != nil {
			return x
		}
		for x := range views {
			vx := &views[x]
			if vx.Term >= vy.Term {
				continue
			}
			for i := max(vx.SnapshotIndex, vy.SnapshotIndex) + 1; i <= min(vx.CommitIndex, vx.LastIndex()); i++ {
				ex, _ := vx.EntryAt(i)
				if ey, ok := vy.EntryAt(i); !ok || !ey.SameAs(ex) {
					return violation(LeaderCompleteness, now, vy.Term, i, ids(node.ID(y+1), node.ID(x+1)),
						"leader of term %d lacks %v, committed at node %d in term %d or earlier",
						vy.Term, ex, x+1, vx.Term)
				}
			}
		}
	}
	return nil
}

// finalSnapshots checks Snapshot Safety (§7) for every view's snapshot: at or below its
// commit index, of the committed term at its index, restoring to the reference state
// there; equal to the state machine of its own view if that has applied exactly its index;
// and equal to any other view's snapshot at the same index.
func (c *Checker) finalSnapshots(now time.Duration, views []node.View) *Violation {
	restored := make([]*kv.Store, len(views))
	for a := range views {
		va := &views[a]
		ida := node.ID(a + 1)
		st, x := c.checkSnapshot(now, ida, va, c.snapOf(va), va.CommitIndex, "commit")
		if x != nil {
			return x
		}
		restored[a] = st
		if st != nil && va.Store != nil && va.AppliedIndex == c.snapOf(va).Index && !st.Equal(va.Store) {
			return violation(SnapshotSafety, now, va.Term, c.snapOf(va).Index, ids(ida),
				"snapshot at index %d differs from the node's own state machine at that index", c.snapOf(va).Index)
		}
		for b := 0; b < a && st != nil; b++ {
			if restored[b] != nil && c.snapOf(&views[b]).Index == c.snapOf(va).Index && !restored[b].Equal(st) {
				return violation(SnapshotSafety, now, va.Term, c.snapOf(va).Index, ids(node.ID(b+1), ida),
					"two snapshots at index %d hold different states", c.snapOf(va).Index)
			}
		}
	}
	return nil
}

// finalApplied checks State Machine Safety (§5.4.3): every view applied no more than it
// committed, any two views' applied ranges agree, every state machine is the reference
// state at its applied index, and two state machines at one applied index are equal.
func (c *Checker) finalApplied(now time.Duration, views []node.View) *Violation {
	for a := range views {
		va := &views[a]
		ida := node.ID(a + 1)
		if va.AppliedIndex > va.CommitIndex {
			return violation(StateMachineSafety, now, va.Term, va.AppliedIndex, ids(ida),
				"applied index %d is above commit index %d", va.AppliedIndex, va.CommitIndex)
		}
		if x := c.checkState(now, ida, va); x != nil {
			return x
		}
		for b := a + 1; b < len(views); b++ {
			vb := &views[b]
			n := min(va.AppliedIndex, vb.AppliedIndex, vb.LastIndex())
			if x := sameRange(now, StateMachineSafety, ida, va, node.ID(b+1), vb, n); x != nil {
				return x
			}
			if va.Store != nil && vb.Store != nil && va.AppliedIndex == vb.AppliedIndex && !va.Store.Equal(vb.Store) {
				return violation(StateMachineSafety, now, va.Term, va.AppliedIndex, ids(ida, node.ID(b+1)),
					"state after applying index %d differs between the two nodes", va.AppliedIndex)
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
		if was, ok := c.vote(id, v.Term); ok && was != v.Vote {
			return violation(OneVotePerTerm, now, v.Term, 0, ids(id, was, v.Vote),
				"node %d voted for node %d and for node %d in term %d", id, was, v.Vote, v.Term)
		}
	}
	return nil
}
