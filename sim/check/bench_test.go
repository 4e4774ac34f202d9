package check

import (
	"fmt"
	"testing"

	"raftsim/node"
	"raftsim/node/kv"
)

// benchCluster returns a 5-node harness with a leader (node 1) of term 1 and 100 committed,
// applied entries on every node.
func benchCluster(b *testing.B) *harness {
	h := newHarness(5)
	ops := []op{elect(1, 1, 2, 3)}
	for i := 0; i < 99; i++ {
		ops = append(ops, propose(1, "x"))
	}
	ops = append(ops, commit(1, 100))
	for f := node.ID(2); f <= 5; f++ {
		ops = append(ops, replicate(1, f, 100))
	}
	if x := h.run(ops...); x != nil {
		b.Fatal(x)
	}
	return h
}

// BenchmarkStepHeartbeat measures the per-event cost of a step that changes nothing: a
// follower answering a heartbeat, and the leader sending heartbeats to four followers.
func BenchmarkStepHeartbeat(b *testing.B) {
	b.Run("follower", func(b *testing.B) {
		h := benchCluster(b)
		out := node.Output{Messages: []node.Message{{Type: node.MsgAppResp, From: 2, To: 1, Term: 1, Success: true, MatchIndex: 100}}}
		v := &h.views[2]
		b.ReportAllocs()
		for b.Loop() {
			h.now++
			if x := h.c.Step(h.now, 2, &out, v); x != nil {
				b.Fatal(x)
			}
		}
	})
	b.Run("leader", func(b *testing.B) {
		h := benchCluster(b)
		var out node.Output
		for f := node.ID(2); f <= 5; f++ {
			out.Messages = append(out.Messages, node.Message{Type: node.MsgApp, From: 1, To: f, Term: 1,
				PrevLogIndex: 100, PrevLogTerm: 1, LeaderCommit: 100})
		}
		v := &h.views[1]
		b.ReportAllocs()
		for b.Loop() {
			h.now++
			if x := h.c.Step(h.now, 1, &out, v); x != nil {
				b.Fatal(x)
			}
		}
	})
}

// BenchmarkStepAppend measures the common path under client load, per entry: the leader
// appends an entry, a follower writes it, the leader commits and applies it, and the
// follower learns the commit and applies it (four steps).
func BenchmarkStepAppend(b *testing.B) {
	h := newHarness(5)
	if x := h.run(elect(1, 1, 2, 3), replicate(1, 2, 1)); x != nil {
		b.Fatal(x)
	}
	lv, fv := &h.views[1], &h.views[2]
	b.ReportAllocs()
	for b.Loop() {
		i := lv.LastIndex() + 1
		lv.Log = append(lv.Log, cmd(i, 1, "x")) // no truncation, so plain append is safe
		fv.Log = append(fv.Log, lv.Log[i-1])
		steps := []struct {
			id  node.ID
			v   *node.View
			out node.Output
		}{
			{1, lv, node.Output{Entries: lv.Log[i-1:]}},
			{2, fv, node.Output{Entries: fv.Log[i-1:]}},
			{1, lv, node.Output{}},
			{2, fv, node.Output{}},
		}
		advance(lv, i, &steps[2].out)
		advance(fv, i, &steps[3].out)
		for k := range steps {
			h.now++
			if x := h.c.Step(h.now, steps[k].id, &steps[k].out, steps[k].v); x != nil {
				b.Fatal(x)
			}
		}
	}
}

// smallCluster returns a 3-node harness as a model checker explores it: three terms, 11
// committed and applied entries (client commands of two clients), and node 3 leading term
// 3 with entry 12 on a majority, not yet committed.
func smallCluster(b *testing.B) *harness {
	h := newHarness(3)
	ops := []op{elect(1, 1, 2)}
	for i := range 3 {
		ops = append(ops, proposeKV(1, kv.ClientID(1+i%2), uint64(1+i), "k", "a"))
	}
	ops = append(ops, replicate(1, 2, 4), replicate(1, 3, 4), commit(1, 4), replicate(1, 2, 4), replicate(1, 3, 4),
		elect(2, 2, 3))
	for i := range 3 {
		ops = append(ops, proposeKV(2, kv.ClientID(1+i%2), uint64(4+i), "k", "b"))
	}
	ops = append(ops, replicate(2, 1, 8), replicate(2, 3, 8), commit(2, 8), replicate(2, 1, 8), replicate(2, 3, 8),
		elect(3, 3, 1), proposeKV(3, 1, 7, "j", "c"), proposeKV(3, 2, 8, "k", "c"),
		replicate(3, 1, 11), replicate(3, 2, 11), commit(3, 11), replicate(3, 1, 11), replicate(3, 2, 11),
		proposeKV(3, 1, 9, "j", "d"), replicate(3, 1, 12))
	if x := h.run(ops...); x != nil {
		b.Fatal(x)
	}
	if h.c.CommittedLen() != 11 || len(h.c.Leaders()) != 3 {
		b.Fatalf("committed %d, leaders %v", h.c.CommittedLen(), h.c.Leaders())
	}
	return h
}

// BenchmarkClone measures what a model checker pays per explored transition for the
// checker: a Clone alone, a Clone followed by a step that writes no record (a heartbeat
// answer), one followed by a step that commits and applies an entry (copying the records
// it writes), and AppendRecords into a buffer with room, with and without renaming.
func BenchmarkClone(b *testing.B) {
	h := smallCluster(b)
	b.Run("clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.c.Clone()
		}
	})
	b.Run("clone+heartbeat", func(b *testing.B) {
		out := node.Output{Messages: []node.Message{{Type: node.MsgAppResp, From: 2, To: 3, Term: 3, Success: true, MatchIndex: 11}}}
		v := &h.views[2]
		b.ReportAllocs()
		for b.Loop() {
			if x := h.c.Clone().Step(h.now+1, 2, &out, v); x != nil {
				b.Fatal(x)
			}
		}
	})
	b.Run("clone+commit", func(b *testing.B) {
		v := h.views[3]
		v.Store = v.Store.Clone()
		var out node.Output
		advance(&v, 12, &out)
		b.ReportAllocs()
		for b.Loop() {
			if x := h.c.Clone().Step(h.now+1, 3, &out, &v); x != nil {
				b.Fatal(x)
			}
		}
	})
	for _, perm := range [][]node.ID{nil, {0, 3, 1, 2}} {
		b.Run(fmt.Sprintf("records perm=%v", perm), func(b *testing.B) {
			buf := h.c.AppendRecords(nil, perm)
			b.ReportAllocs()
			for b.Loop() {
				buf = h.c.AppendRecords(buf[:0], perm)
			}
			b.ReportMetric(float64(len(buf)), "bytes")
		})
	}
}
