package check

import (
	"slices"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// This file holds what log compaction (§7) adds to the checker: the ledger's offset, the
// reference state machine, Snapshot Safety, the state check, and trimming.

// trimMin is the fewest ledger entries a trim drops: below it, trimming is not worth a copy.
const trimMin = 256

// top is the highest index on the ledger: every index up to it was seen committed.
func (c *Checker) top() node.Index { return c.base + node.Index(len(c.committed)) }

// ledgerAt returns the ledger's entry at index i and its meta, if the ledger holds it
// (base < i <= top).
func (c *Checker) ledgerAt(i node.Index) (*node.Entry, *commitMeta, bool) {
	if i <= c.base || i > c.top() {
		return nil, nil, false
	}
	k := i - c.base - 1
	return &c.committed[k], &c.meta[k], true
}

// ledgerTerm returns the committed term at index i (0 at index 0), if the ledger knows it:
// at its floor it keeps the term though the entry is trimmed.
func (c *Checker) ledgerTerm(i node.Index) (node.Term, bool) {
	switch {
	case i == c.base:
		return c.baseTerm, true
	case i < c.base || i > c.top():
		return 0, false
	}
	return c.committed[i-c.base-1].Term, true
}

// refIndex is the last index the reference state machine has applied.
func (c *Checker) refIndex() node.Index { return c.refBase + node.Index(len(c.refHash)) - 1 }

// refHashAt returns the reference state's hash after applying index i, advancing the
// reference store along the ledger as needed: the committed ledger's EntryCommand entries
// in index order, skipping those that do not decode to a write, as the node does. It
// returns false if i is above the ledger or below the trimmed floor.
func (c *Checker) refHashAt(i node.Index) (uint64, bool) {
	if i < c.refBase {
		return 0, false
	}
	for c.refIndex() < i {
		e, _, ok := c.ledgerAt(c.refIndex() + 1)
		if !ok {
			return 0, false
		}
		if e.Kind == node.EntryCommand {
			if cmd, err := kv.Decode(e.Data); err == nil && cmd.Op != kv.OpGet {
				if c.shared&sharedRef != 0 {
					c.ref = c.ref.Clone()
					c.shared &^= sharedRef
				}
				c.ref.Apply(cmd)
			}
		}
		c.refHash = push(c, sharedRefHash, c.refHash, c.ref.Hash())
	}
	return c.refHash[i-c.refBase], true
}

// checkState checks State Machine Safety (§5.4.3) on states: node id's state machine after
// the step (View.Store, which has applied AppliedIndex entries) equals the reference state
// after that index. It compares the stores' incremental hashes: O(1). A View without a
// Store is not checked.
func (c *Checker) checkState(now time.Duration, id node.ID, v *node.View) *Violation {
	if v.Store == nil {
		return nil
	}
	want, ok := c.refHashAt(v.AppliedIndex)
	if !ok && v.AppliedIndex == 0 {
		// Nothing applied: the empty state, known even after the ledger was trimmed (a
		// spare that joins after compaction has applied nothing until it installs a
		// snapshot).
		want, ok = c.emptyHash, true
	}
	if !ok {
		return violation(StateMachineSafety, now, v.Term, v.AppliedIndex, ids(id),
			"applied index %d is outside the committed ledger %d..%d", v.AppliedIndex, c.refBase, c.top())
	}
	if got := v.Store.Hash(); got != want {
		return violation(StateMachineSafety, now, v.Term, v.AppliedIndex, ids(id),
			"state after applying index %d differs from the committed entries' (hash %#x, want %#x)",
			v.AppliedIndex, got, want)
	}
	return nil
}

// snapOf returns v's snapshot, or the zero snapshot if it has none.
func (c *Checker) snapOf(v *node.View) *node.Snapshot {
	if v.Snapshot == nil {
		return &c.none.snapshot
	}
	return v.Snapshot
}

// snapshotID is what sameSnapshot compares of a snapshot: all a node's record needs.
type snapshotID struct {
	index node.Index
	term  node.Term
	data  string
}

// sameSnapshot reports whether a and b are the same snapshot (Config aside). Comparing Data
// costs O(1) when both share one string, as a node's output and view normally do.
func sameSnapshot(a, b *node.Snapshot) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Data == b.Data
}

// stepSnapshots runs Snapshot Safety (§7) for node id's step: the view's snapshot must sit
// at the view's snapshot position, and is checked whenever it changes (a compaction, an
// install, a restart); the step's InstallSnapshot and SaveSnapshot are checked too (once if
// the view holds the same one). An install replaces the node's state machine: its
// Exactly-once record is reseeded from the snapshot's session table, and what it covers
// counts as applied.
func (c *Checker) stepSnapshots(now time.Duration, id node.ID, ns *nodeState, out *node.Output, v *node.View) *Violation {
	s := c.snapOf(v)
	if s.Index != v.SnapshotIndex || s.Term != v.SnapshotTerm {
		return violation(SnapshotSafety, now, v.Term, v.SnapshotIndex, ids(id),
			"the view's snapshot is at %d@t%d but its snapshot position is %d@t%d",
			s.Index, s.Term, v.SnapshotIndex, v.SnapshotTerm)
	}
	changed := ns.snap != snapshotID{s.Index, s.Term, s.Data}
	var restored *kv.Store
	if changed {
		ns.snap = snapshotID{s.Index, s.Term, s.Data}
		st, x := c.checkSnapshot(now, id, v, s, v.CommitIndex, "commit")
		if x != nil {
			return x
		}
		restored = st
	}
	if ins := out.InstallSnapshot; ins != nil {
		if !changed || !sameSnapshot(ins, s) {
			st, x := c.checkSnapshot(now, id, v, ins, v.CommitIndex, "commit")
			if x != nil {
				return x
			}
			restored = st
		}
		if restored != nil {
			c.seedSessions(id, restored)
		}
		ns.applied = max(ns.applied, ins.Index)
	}
	if sv := out.SaveSnapshot; sv != nil && !(changed && sameSnapshot(sv, s)) {
		if sv.Index < v.SnapshotIndex {
			return violation(SnapshotSafety, now, v.Term, sv.Index, ids(id),
				"took a snapshot at index %d, older than the snapshot at %d it holds", sv.Index, v.SnapshotIndex)
		}
		if _, x := c.checkSnapshot(now, id, v, sv, v.AppliedIndex, "applied"); x != nil {
			return x
		}
	}
	return nil
}

// checkSnapshot checks Snapshot Safety (§7) for snapshot s of node id (view v): it lies at
// or below the node's limit index (commit for one it holds or installs, applied for one it
// takes), its term is the committed term at its index, and its data restores to the
// reference state after its index: a snapshot at index i is the state every replica had
// after applying i. It returns the restored store. It costs a kv.Restore: snapshots are rare.
func (c *Checker) checkSnapshot(now time.Duration, id node.ID, v *node.View, s *node.Snapshot, limit node.Index, limitName string) (*kv.Store, *Violation) {
	if s.Index == 0 {
		if s.Term != 0 {
			return nil, violation(SnapshotSafety, now, v.Term, 0, ids(id), "empty snapshot with term %d", s.Term)
		}
		return nil, nil
	}
	if s.Index > limit {
		return nil, violation(SnapshotSafety, now, v.Term, s.Index, ids(id),
			"snapshot at index %d is above the node's %s index %d", s.Index, limitName, limit)
	}
	t, ok := c.ledgerTerm(s.Index)
	if !ok {
		return nil, violation(SnapshotSafety, now, v.Term, s.Index, ids(id),
			"snapshot at index %d is outside the committed ledger %d..%d", s.Index, c.base, c.top())
	}
	if t != s.Term {
		return nil, violation(SnapshotSafety, now, v.Term, s.Index, ids(id),
			"snapshot at index %d has term %d, the committed entry there has term %d", s.Index, s.Term, t)
	}
	st, err := kv.Restore(s.Data)
	if err != nil {
		return nil, violation(SnapshotSafety, now, v.Term, s.Index, ids(id),
			"snapshot at index %d does not restore: %v", s.Index, err)
	}
	want, ok := c.refHashAt(s.Index)
	if !ok {
		return nil, violation(SnapshotSafety, now, v.Term, s.Index, ids(id),
			"snapshot at index %d is outside the reference states %d..%d", s.Index, c.refBase, c.top())
	}
	if st.Hash() != want {
		return nil, violation(SnapshotSafety, now, v.Term, s.Index, ids(id),
			"snapshot data at index %d differs from the state after applying index %d", s.Index, s.Index)
	}
	return st, nil
}

// checkSnapshotTerm checks a restored view's snapshot position (Log Write): term 0 exactly
// at index 0, and no term above the node's.
func checkSnapshotTerm(now time.Duration, id node.ID, v *node.View, t node.Term) *Violation {
	if (v.SnapshotIndex == 0) != (t == 0) || t > v.Term {
		return violation(LogWrite, now, v.Term, v.SnapshotIndex, ids(id),
			"snapshot position %d@t%d is malformed (node's term %d)", v.SnapshotIndex, t, v.Term)
	}
	return nil
}

// floor is the index below which nothing is needed again: the smallest snapshot index of
// any node, live or crashed (its last view's, which its disk holds at least), leaving out
// the spares no configuration has named yet (Spare).
func (c *Checker) floor() node.Index {
	f := c.top()
	for j := 1; j < len(c.nodes); j++ {
		if c.outside[j] {
			continue
		}
		f = min(f, c.nodes[j].durableSnap)
	}
	return f
}

// maybeTrim drops the ledger, the reference hashes and the Log Matching record at and
// below the floor, keeping the floor's committed term and reference hash. No write,
// install or restart reaches at or below the floor: each lies above its node's snapshot
// index, which is at least the floor (Monotonic indexes; Restart checks the restored
// snapshot against the last durable one). It trims only when at least trimMin entries and
// at least as many as stay can go, so the copying costs O(1) per committed entry.
func (c *Checker) maybeTrim() {
	f := c.floor()
	drop, keep := f-c.base, c.top()-f
	if f <= c.base || drop < trimMin || drop < keep {
		return
	}
	if _, ok := c.refHashAt(f); !ok { // the ledger covers f, so this does not happen
		return
	}
	c.baseTerm = c.committed[drop-1].Term
	c.committed = dropPrefix(c, sharedCommitted, c.committed, int(drop))
	c.meta = dropPrefix(c, sharedMeta, c.meta, int(drop))
	c.base = f
	c.refHash = dropPrefix(c, sharedRefHash, c.refHash, int(f-c.refBase))
	c.refBase = f
	if f > c.matchBase {
		wasShared := c.shared&sharedMatch != 0
		c.match = dropPrefix(c, sharedMatch, c.match, int(min(f-c.matchBase, node.Index(len(c.match)))))
		if wasShared {
			clipMore(c.match)
		}
		c.matchBase = f
	}
}

// dropPrefix removes s's first n elements. If s is the checker's own (bit clear in
// c.shared) it works in place, keeping its capacity and clearing the vacated tail so that
// nothing it referenced stays reachable; if another checker may share it (Clone), it
// copies what stays instead, and s is the checker's own from then on.
func dropPrefix[T any](c *Checker, bit shareBits, s []T, n int) []T {
	if c.shared&bit != 0 {
		c.shared &^= bit
		return slices.Clone(s[n:])
	}
	m := copy(s, s[n:])
	clear(s[m:])
	return s[:m]
}

// RetainedSizes reports how many entries the checker's per-index records hold: the
// committed ledger, the Log Matching record and the reference state hashes. They stay
// bounded on a run with compaction (see Memory in the package doc).
func (c *Checker) RetainedSizes() (ledger, matching, states int) {
	return len(c.committed), len(c.match), len(c.refHash)
}
