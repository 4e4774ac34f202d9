package node

import (
	"testing"
	"time"
)

// The hot path does not allocate: heartbeats, AppendEntries without new entries, their
// responses, and View.
func TestHotPathDoesNotAllocate(t *testing.T) {
	l, _ := makeLeader(t, 5, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	f := follower(t, 2, 5, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	now := l.heartbeatDue
	hb := l.Step(now, Input{Kind: InputWake}).Messages[0]
	hb.Entries = nil
	hb.PrevLogIndex, hb.PrevLogTerm = 3, 1
	resp := Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Success: true, MatchIndex: 4}
	deliver(l, now, resp)
	tests := []struct {
		name string
		f    func()
	}{
		{"leader heartbeat", func() {
			now += testHeartbeatInterval
			l.Step(now, Input{Kind: InputWake})
		}},
		{"follower heartbeat", func() { deliver(f, now, hb) }},
		{"leader response", func() { deliver(l, now, resp) }},
		{"early wake", func() { f.Step(now, Input{Kind: InputWake}) }},
		{"view", func() { _ = l.View() }},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(100, tt.f); a != 0 {
			t.Errorf("%s: %v allocations per step", tt.name, a)
		}
	}
}

// BenchmarkCluster measures steps per second of a 5-server cluster on a perfect network,
// replicating a stream of proposals (one proposal, then all messages delivered).
func BenchmarkCluster(b *testing.B) {
	c := newCluster(b, 5, 1)
	l := c.electLeader()
	steps := 0
	b.ReportAllocs()
	for b.Loop() {
		c.step(l, Input{Kind: InputPropose, Data: "v"})
		steps++
		for len(c.queue) > 0 {
			m := c.queue[0]
			c.queue = c.queue[1:]
			c.step(m.To, Input{Kind: InputMessage, Message: m})
			steps++
		}
		if c.now += time.Millisecond; c.now >= c.node(l).heartbeatDue {
			c.step(l, Input{Kind: InputWake})
		}
		if len(c.ledger) > 1<<16 { // keep memory bounded across b.N
			c.ledger = c.ledger[:0:0]
		}
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkStep measures single steps on the hot path: a follower handling a heartbeat
// and a leader handling its acknowledgement.
func BenchmarkStep(b *testing.B) {
	l, _ := makeLeader(b, 5, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	f := follower(b, 2, 5, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	hb := Message{Type: MsgApp, From: 1, To: 2, Term: l.term, PrevLogIndex: 3, PrevLogTerm: 1}
	resp := Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Success: true, MatchIndex: 4}
	b.Run("follower heartbeat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			deliver(f, 0, hb)
		}
	})
	b.Run("leader response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			deliver(l, 0, resp)
		}
	})
}
