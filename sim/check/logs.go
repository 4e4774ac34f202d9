package check

import (
	"time"

	"raftsim/node"
)

// checkLogWrite checks that node id's view of its log after a step is what its write made
// of the log it had before (Output.Entries: drop every entry from the first written index
// on, then append), and that the written entries are well formed: consecutive indexes, no
// gap after the old log, terms between 1 and the node's term, never decreasing along the
// log (Figure 2: a leader appends entries of its own term, which is at least that of every
// entry it holds, and followers copy leaders' logs).
//
// Entries outside the write are spot-checked at the boundary only (O(1)): Log Matching,
// checked on every write, carries the rest.
func checkLogWrite(now time.Duration, id node.ID, prev, w []node.Entry, v *node.View) *Violation {
	if len(w) == 0 {
		if len(v.Log) != len(prev) {
			return violation(LogWrite, now, v.Term, node.Index(len(v.Log)), ids(id),
				"log went from %d to %d entries without a write", len(prev), len(v.Log))
		}
		return checkUnchanged(now, id, prev, v, node.Index(len(prev)))
	}
	first, last := w[0].Index, w[len(w)-1].Index
	if first < 1 || first > node.Index(len(prev))+1 {
		return violation(LogWrite, now, v.Term, first, ids(id),
			"write starting at index %d leaves a gap after last index %d", first, len(prev))
	}
	if x := checkUnchanged(now, id, prev, v, first-1); x != nil {
		return x
	}
	if last != node.Index(len(v.Log)) {
		return violation(LogWrite, now, v.Term, last, ids(id),
			"write ends at index %d but the log has %d entries", last, len(v.Log))
	}
	prevTerm, _ := v.TermAt(first - 1)
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
		case !v.Log[e.Index-1].SameAs(*e):
			return violation(LogWrite, now, v.Term, e.Index, ids(id),
				"wrote %v but the view holds %v", *e, v.Log[e.Index-1])
		}
		prevTerm = e.Term
	}
	return nil
}

// checkUnchanged spot-checks that the entry at index i, which the step did not write, is
// the one the node held before.
func checkUnchanged(now time.Duration, id node.ID, prev []node.Entry, v *node.View, i node.Index) *Violation {
	if i == 0 || v.Log[i-1].SameAs(prev[i-1]) {
		return nil
	}
	return violation(LogWrite, now, v.Term, i, ids(id),
		"entry %v became %v without a write", prev[i-1], v.Log[i-1])
}

// checkLeaderAppendOnly checks Leader Append-Only (§5.3): node id, leader in the same term
// before and after the step, neither overwrote nor deleted entries of its log. Its write
// must start after its previous last index and its log must not shrink. That the entries it
// had keep their terms is spot-checked at its previous last entry (O(1)); Log Matching,
// checked on every write, extends that to the whole prefix.
func checkLeaderAppendOnly(now time.Duration, id node.ID, prev, w []node.Entry, v *node.View) *Violation {
	n := node.Index(len(prev))
	if len(w) > 0 && w[0].Index <= n {
		return violation(LeaderAppendOnly, now, v.Term, w[0].Index, ids(id),
			"leader overwrote its log from index %d (its last index was %d): %v replaces %v",
			w[0].Index, n, w[0], prev[w[0].Index-1])
	}
	if v.LastIndex() < n {
		return violation(LeaderAppendOnly, now, v.Term, v.LastIndex()+1, ids(id),
			"leader's log shrank from %d to %d entries", n, v.LastIndex())
	}
	if n > 0 && !v.Log[n-1].SameAs(prev[n-1]) {
		return violation(LeaderAppendOnly, now, v.Term, n, ids(id),
			"leader's entry %v became %v", prev[n-1], v.Log[n-1])
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
// (i-1, p), which by the induction hypothesis is identical in both, down to index 1. The
// checkLogWrite spot checks see to it that logs change only by writes.
func (c *Checker) checkLogMatching(now time.Duration, id node.ID, e node.Entry, prevTerm node.Term) *Violation {
	// e.Index is at most the length of a real log (checkLogWrite), so this stays bounded.
	for node.Index(len(c.match)) < e.Index {
		c.match = append(c.match, matchSlot{})
	}
	slot := &c.match[e.Index-1]
	r := slot.find(e.Term)
	if r == nil {
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
