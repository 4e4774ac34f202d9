package node

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"raftsim/node/kv"
)

// The node's contract asks for a local clock that does not go back; a host that times its
// server on a wall clock may break it (an NTP step). These tests pin what the node does
// then: it never panics or breaks its own invariants, its timers fire late rather than
// early, and its lease, which only its clock measures, lasts as much longer as the clock
// went back. That last point is why leases must be timed on a monotonic clock (thesis
// §6.4.1 assumes bounded drift, and a step is not drift).

// TestLeaseReadReported: Output.LeaseRead names the lease's term exactly in the step that
// accepts a read under the lease, and is 0 in every other step: a write, a read that
// needs a round of heartbeats (ReadIndex, or an expired lease), and the step answering it.
func TestLeaseReadReported(t *testing.T) {
	for _, mode := range []ReadMode{ReadIndex, ReadLease} {
		t.Run(mode.String(), func(t *testing.T) {
			c, l := committedCluster(t, func(cfg *Config) { cfg.ReadMode, cfg.CheckQuorum = mode, true })
			term := c.node(l).term
			want := Term(0)
			if mode == ReadLease {
				want = term
			}
			if out := c.step(l, request(1, 1, kv.OpGet, "x", "")); out.LeaseRead != want {
				t.Fatalf("a read within the lease: LeaseRead %d, want %d", out.LeaseRead, want)
			}
			if out := c.step(l, request(1, 2, kv.OpPut, "x", "v")); out.LeaseRead != 0 {
				t.Fatalf("a write: LeaseRead %d, want 0", out.LeaseRead)
			}
			c.deliverAll()
			c.drop = func(m Message) bool { return m.From == l || m.To == l }
			c.now += c.node(l).leaseDuration + time.Millisecond
			if out := c.step(l, request(1, 3, kv.OpGet, "x", "")); out.LeaseRead != 0 {
				t.Fatalf("a read after the lease ran out: LeaseRead %d, want 0", out.LeaseRead)
			}
		})
	}
}

// TestLeaseOnClockSteppedBack: a cut-off lease leader whose clock is stepped back by a
// second after its lease ran out accepts reads under that lease again, for about a
// second more (it cannot tell), without panicking; its heartbeat timer fires only once
// its clock has caught up, and then CheckQuorum makes it step down.
func TestLeaseOnClockSteppedBack(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.ReadMode, cfg.CheckQuorum = ReadLease, true })
	n := c.node(l)
	c.drop = func(m Message) bool { return m.From == l || m.To == l }
	c.now += n.leaseDuration + time.Millisecond
	if n.now = c.now; n.leaseValid() {
		t.Fatal("the lease still holds after leaseDuration")
	}
	heartbeat := n.heartbeatDue
	c.now -= time.Second // an NTP step, on a clock the node should not have used
	out := c.step(l, request(1, 2, kv.OpGet, "x", ""))
	if out.LeaseRead != n.term || len(out.Replies) == 0 || out.Replies[len(out.Replies)-1].Status != ReplyOK {
		t.Fatalf("after the clock went back: LeaseRead %d, replies %v; want the read accepted under the old lease", out.LeaseRead, out.Replies)
	}
	if out.WakeAt != heartbeat || out.WakeAt <= c.now {
		t.Fatalf("WakeAt %v after the clock went back to %v, want the heartbeat still due at %v", out.WakeAt, c.now, heartbeat)
	}
	if out := c.step(l, Input{Kind: InputWake}); len(out.Messages) != 0 || n.role != Leader {
		t.Fatalf("an early wake sent %v (role %v): want nothing until the clock reaches the heartbeat", out.Messages, n.role)
	}
	for i := 0; n.role == Leader; i++ {
		if i > 200 {
			t.Fatal("the leader never stepped down once its clock caught up")
		}
		c.now += testHeartbeatInterval
		c.step(l, Input{Kind: InputWake})
	}
	if c.now < heartbeat {
		t.Fatalf("stepped down at %v, before its clock reached the heartbeat due at %v", c.now, heartbeat)
	}
}

// TestClockGoesBackProperty: random inputs to one node, as in TestRandomInputsProperty,
// with its clock sometimes stepped back by up to two seconds: the node never panics, and
// its term, commit index, votes, log and wake-ups keep their rules.
func TestClockGoesBackProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{1, 3, 5}).Draw(t, "size")
		cfg := testConfig(1, size, rapid.Uint64().Draw(t, "seed"))
		cfg.ReadMode = rapid.SampledFrom([]ReadMode{ReadIndex, ReadLease, ReadLocal}).Draw(t, "read mode")
		cfg.CheckQuorum = cfg.ReadMode == ReadLease || rapid.Bool().Draw(t, "check quorum")
		n := mustNew(t, cfg, DurableState{})
		f := &fuzzer{t: t, n: n, size: size, now: time.Hour}
		f.step(Input{Kind: InputWake})
		for i := range rapid.IntRange(50, 300).Draw(t, "steps") {
			if i == 10 || rapid.IntRange(0, 5).Draw(t, "step back") == 0 {
				f.now -= time.Duration(rapid.IntRange(1, 2000).Draw(t, "back ms")) * time.Millisecond
			}
			f.step(f.input())
		}
	})
}
