package check

import (
	"testing"

	"raftsim/node"
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
