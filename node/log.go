package node

import "fmt"

// raftLog is a server's in-memory log: entries with consecutive indexes from 1, so that
// entries[k].Index == k+1 (no snapshots yet).
//
// Truncation rule. Entry values are shared without copying: in-flight messages carry
// sub-slices of entries, Output.Entries and Output.Apply are sub-slices of it, and the host
// may keep the entries on its disk. Therefore the log never writes into a slot of its
// backing array that has ever held an entry visible to anyone. Appends only write past the
// current length, and truncate cuts with a full slice expression (entries[:k:k]), so that
// the next append after a truncation must reallocate instead of overwriting the slots that
// older slices still see.
type raftLog struct {
	entries []Entry
}

// lastIndex is the index of the last entry, 0 if the log is empty.
func (l *raftLog) lastIndex() Index { return Index(len(l.entries)) }

// lastTerm is the term of the last entry, 0 if the log is empty.
func (l *raftLog) lastTerm() Term {
	if len(l.entries) == 0 {
		return 0
	}
	return l.entries[len(l.entries)-1].Term
}

// term is the term of the entry at i (0 for i == 0), and false if i is past the end.
func (l *raftLog) term(i Index) (Term, bool) {
	if i == 0 {
		return 0, true
	}
	if i > l.lastIndex() {
		return 0, false
	}
	return l.entries[i-1].Term, true
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
	if from == 0 || from > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: invariant broken: truncate at %d outside log 1..%d", from, l.lastIndex()))
	}
	k := from - 1
	l.entries = l.entries[:k:k]
}

// slice returns the entries with indexes in [lo, hi), capped so that an append by the
// receiver cannot reach into the log's backing array. It returns nil when empty.
func (l *raftLog) slice(lo, hi Index) []Entry {
	if lo == 0 || lo > hi || hi > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: invariant broken: slice [%d, %d) outside log 1..%d", lo, hi, l.lastIndex()))
	}
	if lo == hi {
		return nil
	}
	return l.entries[lo-1 : hi-1 : hi-1]
}

// firstIndexOfTerm returns the first index whose entry has term t, searching [1, upTo].
// Terms in a log never decrease, so a binary search suffices (no scan of the log).
// It is used for the conflict hint, where the entry at upTo has term t.
func (l *raftLog) firstIndexOfTerm(t Term, upTo Index) Index {
	lo, hi := 0, int(upTo) // search entries[lo:hi] for the first with Term >= t
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.entries[mid].Term < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return Index(lo + 1)
}

// lastIndexOfTerm returns the last index whose entry has term t, and false if the log has
// no entry of term t. Binary search, as for firstIndexOfTerm.
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
	if lo == 0 || l.entries[lo-1].Term != t {
		return 0, false
	}
	return Index(lo), true
}

// upToDate reports whether a log ending at (lastTerm, lastIndex) is at least as up-to-date
// as l (§5.4.1): the later last term wins; with equal last terms, the longer log wins.
func (l *raftLog) upToDate(lastTerm Term, lastIndex Index) bool {
	if lastTerm != l.lastTerm() {
		return lastTerm > l.lastTerm()
	}
	return lastIndex >= l.lastIndex()
}
