package check

import (
	"testing"
	"time"

	"raftsim/node"
)

// legalHistories are Raft histories that break nothing, including the corners a careless
// checker trips over.
var legalHistories = []struct {
	name string
	ops  []op
}{
	{"replicate, commit, apply", []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 2), replicate(1, 3, 2),
		commit(1, 2), replicate(1, 2, 2), replicate(1, 3, 2), propose(1, "b"),
	}},
	{"follower drops uncommitted entries of a deposed leader", []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 1), commit(1, 1),
		propose(1, "lost"), // never replicated
		elect(2, 2, 3), replicate(2, 1, 2), propose(2, "b"), replicate(2, 1, 3), replicate(2, 3, 3), commit(2, 3),
		replicate(2, 1, 3),
	}},
	// Figure 8: an entry of term 2 is committed in term 4 while a stale leader of term 3,
	// which lacks it, still believes it leads.
	{"figure 8", []op{
		elect(1, 2, 2), propose(1, "x"), replicate(1, 2, 2),
		elect(5, 3, 3, 4), // 5 leads term 3 without 1@t2... and keeps leading
		elect(1, 4, 2, 3), replicate(1, 3, 2), propose(1, "y"), replicate(1, 2, 4), replicate(1, 3, 4),
		commit(1, 4), replicate(1, 2, 4),
	}},
	{"crash, restart, re-apply from the start", []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 2), commit(1, 2), replicate(1, 2, 2),
		crash(2), restart(2, 2, nil), replicate(1, 2, 2),
		crash(1), restart(1, 2, nil), elect(2, 2, 1), replicate(2, 1, 3), commit(2, 3), replicate(2, 1, 3),
	}},
	{"follower rewrites its committed prefix with itself", []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 2), commit(1, 2), replicate(1, 2, 2),
		edit(2, func(v *node.View) node.Output { return node.Output{Entries: write(v, 1, v.Log...)} }),
	}},
	{"vote granted twice to the same candidate", []op{
		grant(2, 1, 1), grant(2, 1, 1), elect(1, 1),
	}},
}

func TestLegalHistoriesPass(t *testing.T) {
	for _, tc := range legalHistories {
		t.Run(tc.name, func(t *testing.T) { requireLegal(t, tc.ops) })
	}
}

// violations are hand-built histories that each break one check, named.
var violations = []struct {
	name  string
	check string
	ops   []op
}{
	{"two leaders in one term", ElectionSafety, []op{elect(1, 1, 2), elect(3, 1)}},

	{"leader overwrites its entry", LeaderAppendOnly, []op{
		elect(1, 1, 2), propose(1, "a"),
		edit(1, func(v *node.View) node.Output { return node.Output{Entries: write(v, 2, cmd(2, 1, "b"))} }),
	}},
	{"leader deletes an entry", LeaderAppendOnly, []op{
		elect(1, 1, 2), propose(1, "a"),
		edit(1, func(v *node.View) node.Output { v.Log = v.Log[:1]; return node.Output{} }),
	}},

	{"two entries at one index and term", LogMatching, []op{
		elect(1, 1, 2), edit(3, func(v *node.View) node.Output {
			setTerm(v, 1)
			return node.Output{Entries: write(v, 1, cmd(1, 1, "x"))}
		}),
	}},
	{"same index and term, different predecessor", LogMatching, []op{
		elect(1, 1, 2), elect(1, 2, 2),
		edit(3, func(v *node.View) node.Output {
			setTerm(v, 2)
			return node.Output{Entries: write(v, 1, cmd(1, 2, "y"), noop(2, 2))}
		}),
	}},

	{"new leader lacks a committed entry", LeaderCompleteness, []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 2), commit(1, 2), elect(3, 2, 4, 5),
	}},
	{"entry committed in a lower term than a live leader that lacks it", LeaderCompleteness, []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 2), elect(3, 2, 4, 5), commit(1, 2),
	}},

	{"nodes commit different entries at one index", CommitAgreement, []op{
		elect(1, 1, 2), propose(1, "a"), commit(1, 2),
		edit(3, func(v *node.View) node.Output {
			setTerm(v, 2)
			v.CommitIndex = 2
			return node.Output{Entries: write(v, 1, noop(1, 1), cmd(2, 2, "b"))}
		}),
	}},
	{"node overwrites an entry it committed", CommitAgreement, []op{
		elect(1, 1, 2), propose(1, "a"), commit(1, 2),
		edit(1, func(v *node.View) node.Output {
			setTerm(v, 3)
			return node.Output{Entries: write(v, 2, cmd(2, 3, "c"))}
		}),
	}},
	{"leader commits an earlier term's entry by counting replicas", CurrentTermCommit, []op{
		elect(1, 1, 2), propose(1, "a"), replicate(1, 2, 2), elect(1, 2, 2, 3), replicate(1, 3, 2), commit(1, 2),
	}},
	{"commit index past the log", CommitAgreement, []op{
		elect(1, 1, 2), edit(1, func(v *node.View) node.Output { v.CommitIndex = 2; return node.Output{} }),
	}},

	{"applies out of order", StateMachineSafety, []op{
		elect(1, 1, 2), propose(1, "a"),
		edit(1, func(v *node.View) node.Output {
			v.CommitIndex, v.AppliedIndex = 2, 2
			return node.Output{Apply: v.Log[1:2]}
		}),
	}},
	{"applies twice", StateMachineSafety, []op{
		elect(1, 1, 2), commit(1, 1),
		edit(1, func(v *node.View) node.Output { return node.Output{Apply: v.Log[0:1]} }),
	}},
	{"applies an uncommitted entry", StateMachineSafety, []op{
		elect(1, 1, 2), edit(1, func(v *node.View) node.Output { return node.Output{Apply: v.Log[0:1]} }),
	}},
	{"applies something else than it committed", StateMachineSafety, []op{
		elect(1, 1, 2), edit(1, func(v *node.View) node.Output {
			v.CommitIndex, v.AppliedIndex = 1, 1
			return node.Output{Apply: []node.Entry{cmd(1, 1, "z")}}
		}),
	}},
	{"applied index above commit index", StateMachineSafety, []op{
		elect(1, 1, 2), edit(1, func(v *node.View) node.Output { v.AppliedIndex = 1; return node.Output{} }),
	}},

	{"commit index goes back", MonotonicIndexes, []op{
		elect(1, 1, 2), commit(1, 1), edit(1, func(v *node.View) node.Output { v.CommitIndex = 0; return node.Output{} }),
	}},
	{"applied index goes back", MonotonicIndexes, []op{
		elect(1, 1, 2), commit(1, 1), edit(1, func(v *node.View) node.Output { v.AppliedIndex = 0; return node.Output{} }),
	}},
	{"term goes back", MonotonicIndexes, []op{
		grant(2, 1, 3), edit(2, func(v *node.View) node.Output { v.Term = 2; return node.Output{} }),
	}},

	{"grants two candidates", OneVotePerTerm, []op{grant(2, 1, 1), grant(2, 3, 1)}},
	{"candidate grants another", OneVotePerTerm, []op{elect(1, 1), grant(1, 3, 1)}},
	{"forgets its vote across a restart", OneVotePerTerm, []op{
		grant(2, 1, 1), crash(2), restart(2, 0, func(v *node.View) { v.Vote = node.None }), grant(2, 3, 1),
	}},
	{"vote in the view changes", OneVotePerTerm, []op{
		grant(2, 1, 1), edit(2, func(v *node.View) node.Output { v.Vote = 3; return node.Output{} }),
	}},

	{"log grows without a write", LogWrite, []op{
		elect(1, 1, 2), edit(2, func(v *node.View) node.Output { v.Log = []node.Entry{noop(1, 1)}; return node.Output{} }),
	}},
	{"write leaves a gap", LogWrite, []op{
		edit(2, func(v *node.View) node.Output {
			setTerm(v, 1)
			return node.Output{Entries: write(v, 1, noop(1, 1), noop(3, 1))}
		}),
	}},
	{"entry from a future term", LogWrite, []op{
		edit(2, func(v *node.View) node.Output { return node.Output{Entries: write(v, 1, noop(1, 1))} }),
	}},
	{"restored log is corrupt", LogWrite, []op{
		elect(1, 1, 2), crash(1), restart(1, 1, func(v *node.View) { v.Log = []node.Entry{noop(2, 1)} }),
	}},
}

func TestViolationsFire(t *testing.T) {
	for _, tc := range violations {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(5)
			wantViolation(t, h.run(tc.ops...), tc.check)
		})
	}
}

func TestViolationError(t *testing.T) {
	tests := []struct {
		v    Violation
		want string
	}{
		{Violation{Check: ElectionSafety, Rule: "§5.2", Time: 1234 * time.Millisecond, Nodes: []node.ID{1, 3}, Term: 4, Detail: "both leaders"},
			"Election Safety (§5.2) violated at 1.234s, term 4, nodes 1 and 3: both leaders"},
		{Violation{Check: LogMatching, Rule: "§5.3", Time: time.Second, Nodes: []node.ID{2}, Term: 1, Index: 7, Detail: "x"},
			"Log Matching (§5.3) violated at 1s, term 1, index 7, node 2: x"},
		{Violation{Check: OneVotePerTerm, Rule: "§5.2", Nodes: []node.ID{2, 1, 3}, Detail: "y"},
			"One vote per term (§5.2) violated at 0s, nodes 2, 1 and 3: y"},
	}
	for _, tc := range tests {
		if got := tc.v.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestLeadersAndCommitted(t *testing.T) {
	h := newHarness(3)
	if x := h.run(elect(2, 3, 1), propose(2, "a"), commit(2, 2), elect(3, 1)); x != nil {
		t.Fatal(x)
	}
	ls := h.c.Leaders()
	if len(ls) != 2 || ls[0].Term != 1 || ls[0].ID != 3 || ls[1].Term != 3 || ls[1].ID != 2 {
		t.Fatalf("Leaders() = %+v, want term 1 node 3, term 3 node 2", ls)
	}
	e1, ok1 := h.c.CommittedEntry(1)
	e2, ok2 := h.c.CommittedEntry(2)
	if h.c.CommittedLen() != 2 || !ok1 || !ok2 || !e1.SameAs(noop(1, 3)) || !e2.SameAs(cmd(2, 3, "a")) {
		t.Fatalf("CommittedLen() = %d, entries %v %v", h.c.CommittedLen(), e1, e2)
	}
	if _, ok := h.c.CommittedEntry(3); ok {
		t.Fatal("CommittedEntry(3) found an entry past the ledger")
	}
	if ls[0].First != 0 || ls[0].Last != 0 || ls[1].First != 1 || ls[1].Last != 2 {
		t.Fatalf("Leaders() = %+v, want term 1 to hold no committed entry, term 3 committed 1..2", ls)
	}
}
