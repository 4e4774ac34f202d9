package check

import (
	"fmt"
	"testing"

	"raftsim/node"
	"raftsim/node/kv"
)

// installFrom: to installs from's current snapshot (edited by f, if not nil), as a
// follower of from's term receiving it (Figure 13).
func installFrom(from, to node.ID, f func(s *node.Snapshot)) op {
	return func(h *harness) *Violation {
		s := *h.views[from].Snapshot
		if f != nil {
			f(&s)
		}
		term := h.views[from].Term
		h.installs++
		return h.step(to, func(v *node.View) node.Output {
			setTerm(v, term)
			v.Leader = from
			install(v, &s, false)
			return node.Output{InstallSnapshot: &s}
		})
	}
}

// restartAll: id restarts from a disk that kept its snapshot and its whole log after it.
func restartAll(id node.ID) op {
	return func(h *harness) *Violation { return restart(id, len(h.views[id].Log), nil)(h) }
}

// clientLoad: leader 1 appends n commands of clients 1..3 on two keys, numbered from seq.
func clientLoad(seq uint64, n int) []op {
	var ops []op
	for i := range n {
		s := seq + uint64(i)
		ops = append(ops, proposeKV(1, kv.ClientID(1+s%3), s, fmt.Sprintf("k%d", s%2), fmt.Sprintf("v%d,", s)))
	}
	return ops
}

// cat joins op lists.
func cat(lists ...[]op) []op {
	var out []op
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// snapBase: node 1 leads term 1 with nodes 2 and 3; indexes 2..5 are client commands;
// nodes 1 and 2 committed and applied 1..5 and compacted their logs up to 5; node 3 holds
// 1..5 but has committed nothing.
func snapBase() []op {
	return cat([]op{elect(1, 1, 2, 3)}, clientLoad(1, 4), []op{
		replicate(1, 2, 5), replicate(1, 3, 5), commit(1, 5), replicate(1, 2, 5),
		takeSnapshot(1, nil), takeSnapshot(2, nil),
	})
}

var legalSnapshotHistories = []struct {
	name string
	ops  []op
}{
	{"compaction, then more entries", cat(snapBase(), clientLoad(5, 3), []op{
		replicate(1, 2, 8), commit(1, 8), replicate(1, 2, 8), takeSnapshot(2, nil), takeSnapshot(1, nil),
		replicate(1, 3, 8), takeSnapshot(3, nil),
	})},
	{"install keeps the matching suffix", cat([]op{elect(1, 1, 2, 3)}, clientLoad(1, 4), []op{
		replicate(1, 2, 5), replicate(1, 3, 5), commit(1, 4), replicate(1, 2, 4), takeSnapshot(1, nil),
		installFrom(1, 3, nil), // node 3 holds 5@t1 after the snapshot at 4: it keeps it
		commit(1, 5), replicate(1, 3, 5), replicate(1, 2, 5),
	})},
	{"install discards a conflicting log", cat([]op{
		elect(5, 1), propose(5, "deposed"), // 5 leads term 1 alone: 1@t1, 2@t1 never commit
		elect(1, 2, 2, 3)}, clientLoad(1, 3), []op{
		replicate(1, 2, 4), commit(1, 4), replicate(1, 2, 4), takeSnapshot(1, nil),
		replicate(1, 5, 4), // 5 holds 2@t1 where the snapshot has 4@t2: installs, log empty
	}, clientLoad(4, 2), []op{replicate(1, 5, 6), commit(1, 6), replicate(1, 5, 6), takeSnapshot(5, nil)})},
	{"restart from a snapshot", cat(snapBase(), clientLoad(5, 2), []op{
		replicate(1, 2, 7), crash(2), restartAll(2), replicate(1, 2, 7), commit(1, 7), replicate(1, 2, 7),
		crash(1), restartAll(1), elect(2, 2, 3), replicate(2, 1, 8), replicate(2, 3, 8), commit(2, 8),
		replicate(2, 1, 8), replicate(2, 3, 8),
	})},
	{"restart from a snapshot with an empty log", cat(snapBase(), []op{
		crash(2), restart(2, 0, nil), replicate(1, 2, 5),
	})},
	{"a leader whose snapshot covers committed entries", cat(snapBase(), []op{
		elect(2, 2, 1, 3), replicate(2, 3, 6), commit(2, 6), replicate(2, 1, 6), replicate(2, 3, 6),
	})},
	{"retries of covered commands are duplicates after an install", cat(snapBase(), []op{
		proposeKV(1, 1, 3, "k1", "retry"), // client 1's command 3 again: a duplicate
		replicate(1, 2, 6), commit(1, 6), takeSnapshot(1, nil),
		installFrom(1, 3, nil), replicate(1, 3, 6),
	}, clientLoad(5, 2), []op{replicate(1, 3, 8), commit(1, 8), replicate(1, 3, 8)})},
}

func TestLegalSnapshotHistoriesPass(t *testing.T) {
	for _, tc := range legalSnapshotHistories {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(5)
			if x := h.run(tc.ops...); x != nil {
				t.Fatalf("incremental: %v", x)
			}
			if x := h.final(); x != nil {
				t.Fatalf("Final: %v", x)
			}
			if h.installs+h.compactions == 0 {
				t.Fatal("the history has no snapshot")
			}
		})
	}
}

var snapshotViolations = []struct {
	name  string
	check string
	ops   []op
}{
	{"compaction past the applied index", LogWrite, cat(snapBase(), clientLoad(5, 1), []op{
		edit(1, func(v *node.View) node.Output {
			compact(v, &node.Snapshot{Index: 6, Term: 1, Data: v.Store.Encode()})
			return node.Output{}
		}),
	})},
	{"compaction in a step that writes entries", LogWrite, cat([]op{elect(1, 1, 2)}, clientLoad(1, 2), []op{
		commit(1, 3), edit(1, func(v *node.View) node.Output {
			compact(v, &node.Snapshot{Index: 3, Term: 1, Data: v.Store.Encode()})
			return node.Output{Entries: write(v, 4, noop(4, 1))}
		}),
	})},
	{"install keeps a suffix after a conflicting entry", LogWrite, cat([]op{
		elect(5, 1), propose(5, "deposed"), elect(1, 2, 2, 3)}, clientLoad(1, 3), []op{
		replicate(1, 2, 4), commit(1, 4), takeSnapshot(1, nil),
		// 5 holds 2@t1 and more, where the snapshot ends at 4@t2: it must discard its log.
		propose(5, "more"), propose(5, "and more"), propose(5, "past the snapshot"),
		func(h *harness) *Violation {
			h.installKeepsLog = true
			return replicate(1, 5, 4)(h)
		},
	})},
	{"snapshot data differs from the state at its index", SnapshotSafety, cat(snapBase(), clientLoad(5, 1), []op{
		commit(1, 6), takeSnapshot(1, func(s *node.Snapshot) { s.Data = kv.NewStore().Encode() }),
	})},
	{"snapshot of the state one entry ahead", SnapshotSafety, cat(snapBase(), clientLoad(5, 2), []op{
		commit(1, 7), takeSnapshot(1, func(s *node.Snapshot) { s.Index-- }),
	})},
	{"snapshot data does not decode", SnapshotSafety, cat(snapBase(), clientLoad(5, 1), []op{
		commit(1, 6), takeSnapshot(1, func(s *node.Snapshot) { s.Data = "garbage" }),
	})},
	{"snapshot with the wrong term", SnapshotSafety, cat(snapBase(), clientLoad(5, 1), []op{
		commit(1, 6), takeSnapshot(1, func(s *node.Snapshot) { s.Term = 2 }),
	})},
	{"installed snapshot with the wrong term", SnapshotSafety, cat(snapBase(), []op{
		grant(3, 1, 2), installFrom(1, 3, func(s *node.Snapshot) { s.Term = 2 }),
	})},
	{"installed snapshot with the wrong data", SnapshotSafety, cat(snapBase(), []op{
		installFrom(1, 3, func(s *node.Snapshot) { s.Data = kv.NewStore().Encode() }),
	})},
	{"snapshot above the commit index", SnapshotSafety, cat(snapBase(), clientLoad(5, 1), []op{
		edit(1, func(v *node.View) node.Output {
			return node.Output{SaveSnapshot: &node.Snapshot{Index: 6, Term: 1, Data: v.Store.Encode()}}
		}),
	})},
	{"restart from an older snapshot than it held", SnapshotSafety, cat(snapBase(), []op{
		crash(2), restart(2, 0, func(v *node.View) {
			*v = node.View{ID: 2, Term: v.Term, Vote: v.Vote, Store: kv.NewStore()}
		}),
	})},
	{"state diverges after an apply", StateMachineSafety, cat(snapBase(), clientLoad(5, 1), []op{
		edit(1, func(v *node.View) node.Output {
			var out node.Output
			advance(v, 6, &out)
			v.Store.Apply(kv.Command{Client: 9, Seq: 1, Op: kv.OpPut, Key: "x", Value: "y"})
			return out
		}),
	})},
	{"state diverges after an install", StateMachineSafety, cat(snapBase(), []op{
		func(h *harness) *Violation {
			s := *h.views[1].Snapshot
			return h.step(3, func(v *node.View) node.Output {
				install(v, &s, false)
				v.Store = kv.NewStore() // installed, but the state machine was not restored
				return node.Output{InstallSnapshot: &s}
			})
		},
	})},
	{"restored node re-applies a command its snapshot covers", ExactlyOnce, cat(snapBase(), []op{
		proposeKV(1, 1, 3, "k1", "retry"), // index 6: a retry of client 1's command 3 (index 4)
		replicate(1, 2, 6), crash(2), restartAll(2),
		edit(2, func(v *node.View) node.Output {
			var out node.Output
			advance(v, 6, &out)                  // the store answers Duplicate...
			out.Commands[0].Outcome = kv.Applied // ...the node reports it took effect again
			return out
		}),
	})},
	{"installed node re-applies a command the snapshot covers", ExactlyOnce, cat(snapBase(), []op{
		proposeKV(1, 1, 3, "k1", "retry"), replicate(1, 2, 6),
		installFrom(1, 3, nil), replicate(1, 3, 6), commit(1, 6), // 3 holds 6 from the snapshot at 5 on
		func(h *harness) *Violation {
			return h.step(3, func(v *node.View) node.Output {
				var out node.Output
				advance(v, 6, &out)
				out.Commands[0].Outcome = kv.Applied
				return out
			})
		},
	})},
	{"commit index below the snapshot after an install", MonotonicIndexes, cat(snapBase(), []op{
		func(h *harness) *Violation {
			s := *h.views[1].Snapshot
			return h.step(3, func(v *node.View) node.Output {
				commit := v.CommitIndex
				install(v, &s, false)
				v.CommitIndex = commit
				return node.Output{InstallSnapshot: &s}
			})
		},
	})},
	{"applied index below the snapshot after an install", MonotonicIndexes, cat(snapBase(), []op{
		func(h *harness) *Violation {
			s := *h.views[1].Snapshot
			return h.step(3, func(v *node.View) node.Output {
				install(v, &s, false)
				v.AppliedIndex, v.Store = 0, kv.NewStore()
				return node.Output{InstallSnapshot: &s}
			})
		},
	})},
	{"commit index below the snapshot after a restart", MonotonicIndexes, cat(snapBase(), []op{
		crash(2), restart(2, 0, func(v *node.View) { v.CommitIndex, v.AppliedIndex, v.Store = 0, 0, kv.NewStore() }),
	})},
	{"snapshot index goes back", MonotonicIndexes, cat(snapBase(), []op{
		edit(2, func(v *node.View) node.Output {
			v.SnapshotIndex, v.SnapshotTerm, v.Snapshot = 0, 0, nil
			return node.Output{}
		}),
	})},
	{"new leader lacks a committed entry above its snapshot", LeaderCompleteness, cat([]op{elect(1, 1, 2, 3)}, clientLoad(1, 2), []op{
		replicate(1, 2, 3), replicate(1, 3, 2), commit(1, 3), replicate(1, 3, 2), // 3 commits and applies 1..2
		takeSnapshot(3, nil), elect(3, 2, 4, 5), // 3 leads term 2 without 3@t1, committed in term 1
	})},
	{"leader compacts and loses an entry", LeaderAppendOnly, cat(snapBase(), clientLoad(5, 1), []op{
		edit(1, func(v *node.View) node.Output {
			compact(v, v.Snapshot)
			v.Log = nil
			return node.Output{}
		}),
	})},
}

func TestSnapshotViolationsFire(t *testing.T) {
	for _, tc := range snapshotViolations {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(5)
			wantViolation(t, h.run(tc.ops...), tc.check)
		})
	}
}

// longRun plays a 3-node history of n client commands in which every node compacts its
// log every 50 entries, and calls each(i) after entry i is committed everywhere.
func longRun(t *testing.T, h *harness, n int, each func(i int)) {
	t.Helper()
	if x := h.run(elect(1, 1, 2, 3)); x != nil {
		t.Fatal(x)
	}
	for i := 1; i <= n; i++ {
		last := h.views[1].LastIndex() + 1
		ops := []op{
			proposeKV(1, kv.ClientID(1+i%4), uint64(i), fmt.Sprintf("k%d", i%7), "v"),
			replicate(1, 2, last), replicate(1, 3, last), commit(1, last), replicate(1, 2, last), replicate(1, 3, last),
		}
		if i%50 == 0 {
			ops = append(ops, takeSnapshot(1, nil), takeSnapshot(2, nil), takeSnapshot(3, nil))
		}
		if x := h.run(ops...); x != nil {
			t.Fatalf("entry %d: %v", i, x)
		}
		each(i)
	}
}

func TestTrimmingBoundsMemory(t *testing.T) {
	h := newHarness(3)
	const bound = 2*trimMin + 100
	longRun(t, h, 5000, func(i int) {
		if l, m, s := h.c.RetainedSizes(); l > bound || m > bound || s > bound {
			t.Fatalf("after %d entries the checker holds %d ledger entries, %d match slots, %d states (bound %d)", i, l, m, s, bound)
		}
	})
	c := h.c
	if c.CommittedLen() != 5001 || c.CommittedFloor() < 4000 {
		t.Fatalf("CommittedLen() = %d, CommittedFloor() = %d", c.CommittedLen(), c.CommittedFloor())
	}
	if _, ok := c.CommittedEntry(1); ok {
		t.Error("CommittedEntry(1) found a trimmed entry")
	}
	if e, ok := c.CommittedEntry(5001); !ok || e.Index != 5001 {
		t.Errorf("CommittedEntry(5001) = %v, %v", e, ok)
	}
	if x := h.final(); x != nil {
		t.Fatalf("Final: %v", x)
	}
	if l := c.Leaders(); len(l) != 1 || l[0].First != 1 || l[0].Last != 5001 {
		t.Errorf("Leaders() = %+v, want term 1 committing 1..5001", l)
	}
}

// TestTrimmingKeepsChecks runs the long history, then breaks a property just above the
// trimmed floor: each must still fire.
func TestTrimmingKeepsChecks(t *testing.T) {
	tests := []struct {
		name  string
		check string
		ops   []op
	}{
		{"two entries at one index and term", LogMatching, []op{
			propose(1, "x"),
			edit(3, func(v *node.View) node.Output {
				i := v.LastIndex() + 1
				return node.Output{Entries: write(v, i, noop(i, 1))}
			}),
		}},
		{"state diverges", StateMachineSafety, []op{
			edit(2, func(v *node.View) node.Output {
				v.Store.Apply(kv.Command{Client: 99, Seq: 1, Op: kv.OpPut, Key: "x", Value: "y"})
				return node.Output{}
			}),
		}},
		{"snapshot with stale data", SnapshotSafety, []op{takeSnapshot(3, func(s *node.Snapshot) { s.Index-- })}},
		{"new leader lacks a committed entry", LeaderCompleteness, []op{
			crash(3),
			func(h *harness) *Violation { return restart(3, len(h.views[3].Log)-1, nil)(h) }, // its disk lost one
			edit(3, func(v *node.View) node.Output {
				setTerm(v, 2)
				v.Role, v.Vote, v.Leader = node.Leader, 3, 3
				i := v.LastIndex() + 1
				return node.Output{Entries: write(v, i, noop(i, 2))}
			}),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(3)
			longRun(t, h, 1210, func(int) {})
			if f := h.c.CommittedFloor(); f < 1000 || h.views[3].SnapshotIndex < f || len(h.views[3].Log) == 0 {
				t.Fatalf("floor %d, node 3 snapshot %d and %d entries after it", f, h.views[3].SnapshotIndex, len(h.views[3].Log))
			}
			wantViolation(t, h.run(tc.ops...), tc.check)
		})
	}
}
