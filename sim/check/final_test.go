package check

import (
	"slices"
	"testing"

	"raftsim/node"
	"raftsim/node/kv"
)

// TestFinalCatches feeds Final hand-built views, each breaking one property, with the
// checker's records built by a short history where the property needs them.
func TestFinalCatches(t *testing.T) {
	leader := func(t node.Term, log ...node.Entry) node.View {
		return node.View{Term: t, Role: node.Leader, Log: log}
	}
	follower := func(t node.Term, commit node.Index, log ...node.Entry) node.View {
		return node.View{Term: t, Log: log, CommitIndex: commit}
	}
	tests := []struct {
		name    string
		history []op
		views   map[node.ID]node.View // replaces the harness's view of these nodes
		check   string
	}{
		{"two leaders in one term", nil,
			map[node.ID]node.View{1: leader(2), 2: leader(2)}, ElectionSafety},
		{"leader other than the one on record", []op{elect(1, 1, 2)},
			map[node.ID]node.View{1: follower(1, 0), 3: leader(1)}, ElectionSafety},
		{"malformed log", nil,
			map[node.ID]node.View{1: follower(1, 0, noop(2, 1))}, LogWrite},
		{"same index and term, different prefix", nil,
			map[node.ID]node.View{
				1: follower(2, 0, cmd(1, 1, "a"), noop(2, 2)),
				2: follower(2, 0, cmd(1, 1, "b"), noop(2, 2)),
			}, LogMatching},
		{"different committed entries", nil,
			map[node.ID]node.View{1: follower(1, 1, noop(1, 1)), 2: follower(2, 1, noop(1, 2))}, CommitAgreement},
		{"commit index past the log", nil,
			map[node.ID]node.View{1: follower(1, 1)}, CommitAgreement},
		{"committed entry differs from the ledger", []op{elect(1, 1, 2), commit(1, 1)},
			map[node.ID]node.View{1: follower(2, 1, noop(1, 2))}, CommitAgreement},
		{"leader lacks an entry another node committed in an earlier term", nil,
			map[node.ID]node.View{1: follower(1, 1, noop(1, 1)), 2: leader(2)}, LeaderCompleteness},
		{"leader lacks a ledger entry of an earlier term", []op{elect(1, 1, 2), commit(1, 1), crash(1)},
			map[node.ID]node.View{1: {}, 3: leader(2, noop(1, 2))}, LeaderCompleteness},
		{"applied index above commit index", nil,
			map[node.ID]node.View{1: {Term: 1, Log: []node.Entry{noop(1, 1)}, AppliedIndex: 1}}, StateMachineSafety},
		{"vote differs from the record", []op{grant(2, 1, 1)},
			map[node.ID]node.View{2: {Term: 1, Vote: 3}}, OneVotePerTerm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(3)
			if x := h.run(tc.history...); x != nil {
				t.Fatalf("history: %v", x)
			}
			for id := node.ID(1); id <= 3; id++ {
				if v, ok := tc.views[id]; ok {
					v.ID = id
					h.views[id] = v
				}
			}
			wantViolation(t, h.final(), tc.check)
		})
	}
}

// TestFinalCatchesWithSnapshots runs a legal history with snapshots, then breaks one
// node's view so that one property fails; Final must report it.
func TestFinalCatchesWithSnapshots(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(h *harness)
		check string
	}{
		{"log position off the snapshot offset", func(h *harness) {
			v := &h.views[2]
			v.Log = append([]node.Entry{noop(1, 1)}, v.Log...)
		}, LogWrite},
		{"snapshot position differs from the snapshot", func(h *harness) { editSnapshot(&h.views[2], func(s *node.Snapshot) { s.Term = 2 }) }, SnapshotSafety},
		{"snapshot data differs from the state at its index", func(h *harness) {
			editSnapshot(&h.views[2], func(s *node.Snapshot) { s.Data = kv.NewStore().Encode() })
		}, SnapshotSafety},
		{"snapshot term differs from the committed one", func(h *harness) {
			v := &h.views[2]
			v.Term, v.SnapshotTerm = 3, 3
			editSnapshot(v, func(s *node.Snapshot) { s.Term = 3 })
			v.Log, v.CommitIndex, v.AppliedIndex = nil, 5, 5
		}, SnapshotSafety},
		{"commit index below the snapshot", func(h *harness) { h.views[2].CommitIndex = 1 }, MonotonicIndexes},
		{"a log differs from what another's snapshot covers", func(h *harness) {
			v := &h.views[3] // holds 1..5 uncommitted; 1 and 2 compacted up to 5
			v.Log = append(slices.Clone(v.Log[:2]), cmd(3, 1, "other"), v.Log[3], v.Log[4])
		}, LogMatching},
		{"state machine differs from the reference", func(h *harness) {
			h.views[2].Store.Apply(kv.Command{Client: 7, Seq: 1, Op: kv.OpPut, Key: "z", Value: "z"})
		}, StateMachineSafety},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(3)
			if x := h.run(cat(snapBase(), clientLoad(5, 2), []op{replicate(1, 2, 7), commit(1, 7), replicate(1, 2, 7)})...); x != nil {
				t.Fatalf("history: %v", x)
			}
			if x := h.final(); x != nil {
				t.Fatalf("Final before the edit: %v", x)
			}
			tc.edit(h)
			wantViolation(t, h.final(), tc.check)
		})
	}
}
