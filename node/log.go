package node

import (
	"fmt"
	"slices"
)

// raftLog is a server's in-memory log after its latest snapshot (§7): the snapshot covers
// indexes up to snapIndex (whose entry had term snapTerm), and entries holds the rest, with
// entries[k].Index == snapIndex+k+1. Compaction copies the retained suffix into a fresh
// array, so the memory of the dropped prefix is really released, not hidden behind a
// slice header.
//
// Truncation rule. Entry values are shared without copying: in-flight messages carry
// sub-slices of entries, Output.Entries and Output.Apply are sub-slices of it, and the host
// may keep the entries on its disk. Therefore the log never writes into a slot of its
// backing array that has ever held an entry visible to anyone. Appends only write past the
// current length, and truncate cuts with a full slice expression (entries[:k:k]), so that
// the next append after a truncation must reallocate instead of overwriting the slots that
// older slices still see.
type raftLog struct {
	snapIndex Index
	snapTerm  Term
	entries   []Entry
}

// lastIndex is the index of the last entry (snapIndex if no entry follows the snapshot).
func (l *raftLog) lastIndex() Index { return l.snapIndex + Index(len(l.entries)) }

// lastTerm is the term of the last entry (snapTerm if no entry follows the snapshot).
func (l *raftLog) lastTerm() Term {
	if len(l.entries) == 0 {
		return l.snapTerm
	}
	return l.entries[len(l.entries)-1].Term
}

// term is the term of the entry at i (0 for i == 0, snapTerm at snapIndex), and false if i
// is past the end or compacted away.
func (l *raftLog) term(i Index) (Term, bool) {
	switch {
	case i == 0:
		return 0, true
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.lastIndex():
		return 0, false
	}
	return l.entries[i-l.snapIndex-1].Term, true
}

// at returns the entry at i, which must be in the log (after the snapshot).
func (l *raftLog) at(i Index) *Entry {
	if i <= l.snapIndex || i > l.lastIndex() {
		panic(fmt.Sprintf("raft: invariant broken: entry %d outside log %d..%d", i, l.snapIndex+1, l.lastIndex()))
	}
	return &l.entries[i-l.snapIndex-1]
}

// append adds es after the last entry. es must continue the log: consecutive indexes
// from lastIndex+1 and terms never below the last term (Log Matching relies on it).
func (l *raftLog) append(es ...Entry) {
	next, lastTerm := l.lastIndex()+1, l.lastTerm()
	for i := range es {
		if es[i].Index != next+Index(i) {
			panic(fmt.Sprintf("raft: invariant broken: log indexes not consecutive: appending %v after index %d", es[i], next+Index(i)-1))
		}
		if es[i].Term < lastTerm || es[i].Term == 0 {
			panic(fmt.Sprintf("raft: invariant broken: log terms decrease: appending %v after term %d", es[i], lastTerm))
		}
		lastTerm = es[i].Term
	}
	l.entries = append(l.entries, es...)
}

// truncate drops every entry with index >= from. See the truncation rule on raftLog: the
// full slice expression caps the capacity so the next append reallocates.
func (l *raftLog) truncate(from Index) {
	if from <= l.snapIndex || from > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: invariant broken: truncate at %d outside log %d..%d", from, l.snapIndex+1, l.lastIndex()))
	}
	k := from - l.snapIndex - 1
	l.entries = l.entries[:k:k]
}

// slice returns the entries with indexes in [lo, hi), capped so that an append by the
// receiver cannot reach into the log's backing array. It returns nil when empty.
func (l *raftLog) slice(lo, hi Index) []Entry {
	if lo <= l.snapIndex || lo > hi || hi > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: invariant broken: slice [%d, %d) outside log %d..%d", lo, hi, l.snapIndex+1, l.lastIndex()))
	}
	if lo == hi {
		return nil
	}
	a, b := lo-l.snapIndex-1, hi-l.snapIndex-1
	return l.entries[a:b:b]
}

// compact discards the entries up to index i, which the snapshot (i, t) now covers. The
// retained suffix is copied into a new array so that the prefix's memory is released once
// no message or disk holds it. i must be in the log or at its end.
func (l *raftLog) compact(i Index, t Term) {
	if got, ok := l.term(i); !ok || got != t || i < l.snapIndex {
		panic(fmt.Sprintf("raft: invariant broken: compact to %d@t%d in log %d..%d (term there %d)", i, t, l.snapIndex, l.lastIndex(), got))
	}
	keep := l.entries[i-l.snapIndex:]
	l.entries = slices.Clip(append([]Entry(nil), keep...))
	l.snapIndex, l.snapTerm = i, t
}

// restore makes the log start after an installed snapshot (i, t) (Figure 13): if the log
// has an entry at i with term t, the entries after it are kept (they may be newer than
// the snapshot); otherwise the whole log is discarded.
func (l *raftLog) restore(i Index, t Term) {
	if got, ok := l.term(i); ok && got == t && i >= l.snapIndex {
		l.compact(i, t)
		return
	}
	l.entries = nil
	l.snapIndex, l.snapTerm = i, t
}

// firstIndexOfTerm returns the first index whose entry has term t, searching the log up to
// upTo; the snapshot's index if the search reaches it. Terms in a log never decrease, so a
// binary search suffices (no scan of the log). It is used for the conflict hint, where the
// entry at upTo has term t.
func (l *raftLog) firstIndexOfTerm(t Term, upTo Index) Index {
	lo, hi := 0, int(upTo-l.snapIndex) // search entries[lo:hi] for the first with Term >= t
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.entries[mid].Term < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 && l.snapIndex > 0 && l.snapTerm == t {
		return l.snapIndex // the term may go on before the snapshot: stop at what is known
	}
	return l.snapIndex + Index(lo+1)
}

// lastIndexOfTerm returns the last index whose entry has term t, and false if the log has
// no entry of term t (the snapshot's last entry counts). Binary search, as for
// firstIndexOfTerm.
func (l *raftLog) lastIndexOfTerm(t Term) (Index, bool) {
	lo, hi := 0, len(l.entries) // first entry with Term > t
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.entries[mid].Term <= t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		if l.snapIndex > 0 && l.snapTerm == t {
			return l.snapIndex, true
		}
		return 0, false
	}
	if l.entries[lo-1].Term != t {
		return 0, false
	}
	return l.snapIndex + Index(lo), true
}

// upToDate reports whether a log ending at (lastTerm, lastIndex) is at least as up-to-date
// as l (§5.4.1): the later last term wins; with equal last terms, the longer log wins.
func (l *raftLog) upToDate(lastTerm Term, lastIndex Index) bool {
	if lastTerm != l.lastTerm() {
		return lastTerm > l.lastTerm()
	}
	return lastIndex >= l.lastIndex()
}
