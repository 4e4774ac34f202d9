package check

import "slices"

// This file holds Clone and the copy-on-write rule that makes it cheap.

// shareBits marks records that another checker may share after a Clone.
type shareBits uint16

// One bit per record a Clone shares instead of copying.
const (
	sharedLeaders shareBits = 1 << iota
	sharedCommitted
	sharedMeta
	sharedRefHash
	sharedRef
	sharedMatch
	sharedVotes
	sharedSessions
	sharedOutside

	sharedAll = sharedLeaders | sharedCommitted | sharedMeta | sharedRefHash | sharedRef |
		sharedMatch | sharedVotes | sharedSessions | sharedOutside
)

// Clone returns an independent copy of c: stepping either never affects the other, and
// both go on to the same verdicts as c would have.
//
// It copies the per-node records (which nearly every step writes: two allocations in all)
// and shares the rest, copy-on-write: the committed ledger, its metadata, the leader
// records, the Log Matching record, the reference state machine and its hashes, the
// votes, the sessions and the spare marks. Sharing is safe because of two rules, kept by every write in this package:
//
//   - A write in place (an element changed, inserted, deleted, or a prefix trimmed) goes
//     to the checker's own array only: if the record's bit is set in c.shared, the record
//     is copied first and the bit cleared (own, dropPrefix; the reference store is cloned
//     before its first Apply; the Log Matching record's slots also get their own more).
//   - An append never writes where another checker can read: a Clone clips the clone's
//     slices to their length, so the clone's first append reallocates, and the original
//     appends only past its own length, which no clone made earlier can see (records
//     never shrink in place while shared).
//
// Entries, snapshots, configurations and logs held from views are immutable and shared by
// both. Clone marks c's records shared too, so it writes to c: like every method it must
// not run concurrently with another call on c. Each side copies a record at most once per
// Clone, and only the records it writes: a step that writes no record (a heartbeat, most
// deliveries) copies nothing; a commit reallocates the ledger it appends to and copies the
// leader records; an apply of a command copies the sessions and, the first time any node
// applies that index on this path, clones the reference store (kv.Store.Clone); a write
// of a new term at an index already recorded copies the Log Matching record.
func (c *Checker) Clone() *Checker {
	d := new(Checker)
	*d = *c
	d.nodes = slices.Clone(c.nodes)
	d.leaders = slices.Clip(c.leaders)
	d.committed = slices.Clip(c.committed)
	d.meta = slices.Clip(c.meta)
	d.refHash = slices.Clip(c.refHash)
	d.match = slices.Clip(c.match)
	d.votes = slices.Clip(c.votes)
	d.sessions = slices.Clip(c.sessions)
	d.outside = slices.Clip(c.outside)
	c.shared, d.shared = sharedAll, sharedAll
	return d
}

// own makes *s the checker's own before a write in place: if the record's bit is set, a
// Clone may share its array, so *s is copied first and the bit cleared. A never-cloned
// checker pays one bit test.
func own[T any](c *Checker, bit shareBits, s *[]T) {
	if c.shared&bit != 0 {
		*s = slices.Clone(*s)
		c.shared &^= bit
	}
}

// push appends x to s, a record without slices of its own (see clipMore for one with), and
// clears the record's bit when the append reallocates: the new array is the checker's own.
func push[T any](c *Checker, bit shareBits, s []T, x T) []T {
	if len(s) == cap(s) {
		c.shared &^= bit
	}
	return append(s, x)
}
