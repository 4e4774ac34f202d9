package node

import (
	"testing"

	"raftsim/node/kv"
)

// TestTransferEndsLease (thesis §3.10, §6.4.1): once a leader has sent MsgTimeoutNow, the
// target's vote requests carry the transfer flag, which followers answer within their
// lease; so the leader accepts no more reads under its lease for the rest of its term,
// also after the transfer was aborted (a delayed TimeoutNow may still start the
// election). Its reads then go through a round of heartbeats, and are still answered.
func TestTransferEndsLease(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.ReadMode, cfg.CheckQuorum = ReadLease, true })
	n := c.node(l)
	target := ID(1)
	if target == l {
		target = 2
	}
	if out := c.step(l, request(1, 1, kv.OpGet, "x", "")); out.LeaseRead != n.term {
		t.Fatalf("before the transfer: LeaseRead %d, want %d", out.LeaseRead, n.term)
	}
	c.drop = func(m Message) bool { return m.To == target || m.From == target }
	if out := c.step(l, Input{Kind: InputTransfer, Target: target}); !n.timeoutNowSent || len(out.Messages) == 0 {
		t.Fatalf("transfer to an up-to-date target sent %v: want MsgTimeoutNow at once", out.Messages)
	}
	if out := c.step(l, request(1, 2, kv.OpGet, "x", "")); out.LeaseRead != 0 || len(out.Replies) != 0 {
		t.Fatalf("after TimeoutNow: LeaseRead %d, replies %v; want no lease read", out.LeaseRead, out.Replies)
	}
	start := c.now
	for n.transferTarget != None {
		if c.now-start > 2*testElectionTimeoutMax {
			t.Fatal("the transfer never aborted")
		}
		c.now += testHeartbeatInterval
		c.step(l, Input{Kind: InputWake})
		c.deliverAll()
	}
	if n.role != Leader || n.stats.TransfersAborted != 1 {
		t.Fatalf("after the abort: role %v, stats %+v", n.role, n.stats)
	}
	c.replies = nil
	if out := c.step(l, request(1, 3, kv.OpGet, "x", "")); out.LeaseRead != 0 {
		t.Fatalf("after the abort: LeaseRead %d, want 0 for the rest of term %d", out.LeaseRead, n.term)
	}
	c.deliverAll()
	if r := c.replyTo(1, 3); r.Status != ReplyOK {
		t.Fatalf("read after the abort: %+v, want it answered through ReadIndex", r)
	}
}
