package check

import (
	"slices"
	"time"

	"raftsim/node"
)

// writeBase sets *base to the log that node id's Entries of this step are written onto:
// the log it had before (prev), after this step's InstallSnapshot or compaction, if any.
//
// An InstallSnapshot (Figure 13) makes the log the snapshot followed by prev's entries
// after its index if prev held the snapshot's index with its term (its own snapshot
// position counts), and the bare snapshot otherwise. A compaction, in a step with neither
// Entries nor InstallSnapshot, raises the snapshot index to an index the node has applied
// and drops exactly the prefix up to it. Any other change of the snapshot position is a
// Log Write violation.
func writeBase(now time.Duration, id node.ID, prev *logState, out *node.Output, v *node.View, base *logState) *Violation {
	*base = *prev
	switch {
	case out.InstallSnapshot != nil:
		s := out.InstallSnapshot
		if s.Term > v.Term {
			return violation(LogWrite, now, v.Term, s.Index, ids(id),
				"installed a snapshot at %d@t%d, of a term above the node's term %d", s.Index, s.Term, v.Term)
		}
		*base = logState{snapIndex: s.Index, snapTerm: s.Term}
		if t, ok := prev.termAt(s.Index); ok && t == s.Term {
			base.log = prev.log[s.Index-prev.snapIndex:]
		}
	case len(out.Entries) == 0 && v.SnapshotIndex != prev.snapIndex:
		s := v.SnapshotIndex
		switch {
		case s < prev.snapIndex:
			return violation(LogWrite, now, v.Term, s, ids(id),
				"snapshot index went back from %d to %d", prev.snapIndex, s)
		case s > prev.last():
			return violation(LogWrite, now, v.Term, s, ids(id),
				"log compacted up to index %d, past its last index %d, without an install", s, prev.last())
		case s > v.AppliedIndex:
			return violation(LogWrite, now, v.Term, s, ids(id),
				"log compacted up to index %d, past its applied index %d", s, v.AppliedIndex)
		}
		t, _ := prev.termAt(s)
		*base = logState{snapIndex: s, snapTerm: t, log: prev.log[s-prev.snapIndex:]}
	}
	if v.SnapshotIndex != base.snapIndex || v.SnapshotTerm != base.snapTerm {
		return violation(LogWrite, now, v.Term, v.SnapshotIndex, ids(id),
			"snapshot position is %d@t%d where the step's writes make it %d@t%d (a compaction may only happen in a step without Entries or InstallSnapshot)",
			v.SnapshotIndex, v.SnapshotTerm, base.snapIndex, base.snapTerm)
	}
	return nil
}

// checkLogWrite checks that node id's view of its log after a step is what its write w
// made of the log base it was written onto (Output.Entries: drop every entry from the
// first written index on, then append), and that the written entries are well formed:
// consecutive indexes above the snapshot, no gap after the base log, terms between 1 and
// the node's term, never decreasing along the log (Figure 2: a leader appends entries of
// its own term, which is at least that of every entry it holds, and followers copy
// leaders' logs). The view's snapshot position is base's (writeBase saw to it).
//
// Entries outside the write are spot-checked at the boundary only (O(1)): Log Matching,
// checked on every write, carries the rest.
func checkLogWrite(now time.Duration, id node.ID, base *logState, w []node.Entry, v *node.View) *Violation {
	cur := viewLog(v) // View's methods copy the whole View: use the logState's
	if len(w) == 0 {
		if cur.last() != base.last() {
			return violation(LogWrite, now, v.Term, cur.last(), ids(id),
				"log went from last index %d to %d without a write", base.last(), cur.last())
		}
		return checkUnchanged(now, id, base, &cur, v.Term, base.last())
	}
	first, last := w[0].Index, w[len(w)-1].Index
	if first <= base.snapIndex || first > base.last()+1 {
		return violation(LogWrite, now, v.Term, first, ids(id),
			"write starting at index %d is outside %d..%d (after snapshot index %d, no gap after last index %d)",
			first, base.snapIndex+1, base.last()+1, base.snapIndex, base.last())
	}
	if last != cur.last() {
		return violation(LogWrite, now, v.Term, last, ids(id),
			"write ends at index %d but the log ends at index %d", last, cur.last())
	}
	if x := checkUnchanged(now, id, base, &cur, v.Term, first-1); x != nil {
		return x
	}
	prevTerm, _ := cur.termAt(first - 1)
	for k := range w {
		e := &w[k]
		switch {
		case e.Index != first+node.Index(k):
			return violation(LogWrite, now, v.Term, e.Index, ids(id),
				"write is not consecutive: %v at position %d of a write from index %d", *e, k, first)
		case e.Term == 0 || e.Term > v.Term:
			return violation(LogWrite, now, v.Term, e.Index, ids(id),
				"entry %v has a term outside 1..%d (the node's term)", *e, v.Term)
		case e.Term < prevTerm:
			return violation(LogWrite, now, v.Term, e.Index, ids(id),
				"entry %v follows an entry of term %d: terms decrease along the log", *e, prevTerm)
		}
		if ve := cur.get(e.Index); !ve.SameAs(*e) {
			return violation(LogWrite, now, v.Term, e.Index, ids(id),
				"wrote %v but the view holds %v", *e, ve)
		}
		prevTerm = e.Term
	}
	return nil
}

// checkUnchanged spot-checks that the entry at index i (at most base.last() and
// cur.last()), which the step did not write, is the one base holds. At the snapshot index
// there is nothing to compare: writeBase compared the snapshot positions.
func checkUnchanged(now time.Duration, id node.ID, base, cur *logState, term node.Term, i node.Index) *Violation {
	if i <= base.snapIndex {
		return nil
	}
	was, _ := base.entryAt(i)
	if is, ok := cur.entryAt(i); !ok || !is.SameAs(*was) {
		return violation(LogWrite, now, term, i, ids(id),
			"entry %v became %v without a write", *was, cur.get(i))
	}
	return nil
}

// checkLeaderAppendOnly checks Leader Append-Only (§5.3): node id, leader in the same term
// before and after the step, neither overwrote nor deleted entries of its log (prev).
// Its write must start after its previous last index and its log must not shrink. That
// the entries it had keep their terms is spot-checked at its previous last entry (O(1)),
// unless the step compacted it into a snapshot (§7; Log Write checks compactions); Log
// Matching, checked on every write, extends that to the whole prefix.
func checkLeaderAppendOnly(now time.Duration, id node.ID, prev *logState, w []node.Entry, v *node.View) *Violation {
	cur := viewLog(v)
	n := prev.last()
	if len(w) > 0 && w[0].Index <= n {
		was := "its snapshot"
		if e, ok := prev.entryAt(w[0].Index); ok {
			was = e.String()
		}
		return violation(LeaderAppendOnly, now, v.Term, w[0].Index, ids(id),
			"leader overwrote its log from index %d (its last index was %d): %v replaces %s",
			w[0].Index, n, w[0], was)
	}
	if cur.last() < n {
		return violation(LeaderAppendOnly, now, v.Term, cur.last()+1, ids(id),
			"leader's log shrank from last index %d to %d", n, cur.last())
	}
	if was, ok := prev.entryAt(n); ok && n > cur.snapIndex {
		if is, ok := cur.entryAt(n); !ok || !is.SameAs(*was) {
			return violation(LeaderAppendOnly, now, v.Term, n, ids(id),
				"leader's entry %v became %v", *was, cur.get(n))
		}
	}
	return nil
}

// matchRec is the Log Matching record of one (index, term): the entry's identity, the term
// of the entry before it, and the node first seen writing it.
type matchRec struct {
	term, prevTerm node.Term
	kind           node.EntryKind
	data           string
	by             node.ID
}

// matchSlot holds the records of one index. Almost every index only ever sees one term, so
// the first record is inline and the rest (after a leader change overwrote uncommitted
// entries) go to more.
type matchSlot struct {
	first matchRec // first.term == 0: no record yet (real entries have terms from 1)
	more  []matchRec
}

// checkLogMatching checks Log Matching (§5.3) for entry e written by node id after an entry
// of term prevTerm: the record of (e.Index, e.Term) must hold e's identity and prevTerm, and
// is created if absent.
//
// Why this is the paper's property: the paper says that if two logs hold an entry with the
// same index and term, they are identical in all entries up to it. Every entry in every log
// was checked here when written, so every (index i, term t) in any log carries the recorded
// identity and the recorded term p of its predecessor. By induction on i: two logs holding
// (i, t) hold the same entry at i, and both hold an entry of term p at i-1, that is the same
// (i-1, p), which by the induction hypothesis is identical in both, down to index 1, or
// down to a snapshot, which Snapshot Safety checks is the committed prefix: the induction
// ends there in the committed ledger, which the recorded entries above it follow too. The
// checkLogWrite spot checks see to it that logs change only by writes, installs and
// compactions.
func (c *Checker) checkLogMatching(now time.Duration, id node.ID, e node.Entry, prevTerm node.Term) *Violation {
	if e.Index <= c.matchBase {
		return violation(LogMatching, now, e.Term, e.Index, ids(id),
			"entry %v is at or below the checker's floor %d, which every node's snapshot covers", e, c.matchBase)
	}
	// e.Index is at most the last index of a real log (checkLogWrite), so this stays
	// bounded; below the floor the record is trimmed (maybeTrim).
	had := len(c.match)
	for c.matchBase+node.Index(len(c.match)) < e.Index {
		c.match = append(c.match, matchSlot{}) // an append: never shared (see own)
	}
	k := int(e.Index - c.matchBase - 1)
	slot := &c.match[k]
	r := slot.find(e.Term)
	if r == nil {
		if k < had && c.shared&sharedMatch != 0 {
			c.match = slices.Clone(c.match)
			clipMore(c.match)
			c.shared &^= sharedMatch
			slot = &c.match[k]
		}
		slot.add(matchRec{term: e.Term, prevTerm: prevTerm, kind: e.Kind, data: e.Data, by: id})
		return nil
	}
	if r.kind != e.Kind || r.data != e.Data {
		was := node.Entry{Index: e.Index, Term: r.term, Kind: r.kind, Data: r.data}
		return violation(LogMatching, now, e.Term, e.Index, ids(r.by, id),
			"two different entries at one index and term: node %d wrote %v, node %d wrote %v", r.by, was, id, e)
	}
	if r.prevTerm != prevTerm {
		return violation(LogMatching, now, e.Term, e.Index, ids(r.by, id),
			"logs agree on %v but differ before it: entry %d has term %d at node %d, term %d at node %d",
			e, e.Index-1, r.prevTerm, r.by, prevTerm, id)
	}
	return nil
}

// find returns the record of term t, or nil.
func (s *matchSlot) find(t node.Term) *matchRec {
	if s.first.term == t {
		return &s.first
	}
	for i := range s.more {
		if s.more[i].term == t {
			return &s.more[i]
		}
	}
	return nil
}

// add stores a record for a term the slot does not have yet.
func (s *matchSlot) add(r matchRec) {
	if s.first.term == 0 {
		s.first = r
		return
	}
	s.more = append(s.more, r)
}

// clipMore clips every slot's more to its length, in a match record just copied from one
// another checker may share: the copy's slots then append to more arrays of their own.
func clipMore(match []matchSlot) {
	for k := range match {
		if match[k].more != nil {
			match[k].more = slices.Clip(match[k].more)
		}
	}
}
