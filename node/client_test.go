package node

import (
	"testing"
	"time"

	"raftsim/node/kv"
)

// request is a client input.
func request(client kv.ClientID, seq uint64, op kv.Op, key, value string) Input {
	return Input{Kind: InputClient, Request: kv.Command{Client: client, Seq: seq, Op: op, Key: key, Value: value}}
}

// lastReply returns the cluster's replies to (client, seq), failing unless there is one.
func (c *cluster) replyTo(client kv.ClientID, seq uint64) Reply {
	c.t.Helper()
	var found []Reply
	for _, r := range c.replies {
		if r.Client == client && r.Seq == seq {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("want exactly one reply to client %d seq %d, got %v", client, seq, found)
	}
	return found[0]
}

// committedCluster is a 3-server cluster with a leader whose no-op is applied everywhere.
func committedCluster(t *testing.T, tweak func(*Config)) (*cluster, ID) {
	c := newClusterWith(t, 3, 7, tweak)
	l := c.electLeader()
	c.run(100, func() bool {
		for _, n := range c.nodes {
			if n.View().AppliedIndex < c.node(l).termStart {
				return false
			}
		}
		return true
	})
	return c, l
}

// Thesis §6.3: a write goes through the log, is answered once applied, and a retry of it
// (same client and sequence number) is answered with the first result without taking
// effect again, even when the retry reaches the log as a second entry.
func TestWritesAreAppliedExactlyOnce_6_3(t *testing.T) {
	c, l := committedCluster(t, nil)
	c.step(l, request(1, 1, kv.OpAppend, "x", "a"))
	c.deliverAll()
	if r := c.replyTo(1, 1); r.Status != ReplyOK || r.Value != "a" {
		t.Fatalf("reply %+v, want ok \"a\"", r)
	}
	last := c.node(l).log.lastIndex()
	c.replies = nil
	c.step(l, request(1, 1, kv.OpAppend, "x", "a")) // retry after it applied
	if r := c.replyTo(1, 1); r.Status != ReplyOK || r.Value != "a" || c.node(l).log.lastIndex() != last {
		t.Fatalf("retry: reply %+v, log %d (was %d): want the stored result and no new entry", r, c.node(l).log.lastIndex(), last)
	}

	// A retry that reaches the log twice (the entry of an earlier leader plus a new one)
	// takes effect once: the second apply is a duplicate.
	n := c.node(l)
	c.drop = func(Message) bool { return true }
	c.step(l, request(2, 1, kv.OpAppend, "x", "b"))
	n.waiters = n.waiters[:0] // as if a new leader, which does not know it is in the log
	c.replies = nil
	c.step(l, request(2, 1, kv.OpAppend, "x", "b"))
	if n.log.lastIndex() != last+2 {
		t.Fatalf("log has %d entries, want the command twice after %d", n.log.lastIndex(), last)
	}
	c.drop = nil
	c.now += testHeartbeatInterval
	c.step(l, Input{Kind: InputWake})
	c.deliverAll()
	if r := c.replyTo(2, 1); r.Status != ReplyOK || r.Value != "ab" {
		t.Fatalf("reply %+v, want ok \"ab\"", r)
	}
	c.now += testHeartbeatInterval
	c.step(l, Input{Kind: InputWake}) // carries the commit index to the followers
	c.deliverAll()
	for _, node := range c.nodes {
		if got := node.store.Get("x"); got != "ab" {
			t.Fatalf("server %d has x = %q, want \"ab\": the append took effect twice or not at all", node.id, got)
		}
	}
}

// Thesis §6.2: a server that is not the leader answers with the leader it knows.
func TestFollowerRedirectsToLeader_6_2(t *testing.T) {
	c, l := committedCluster(t, nil)
	f := ID(1)
	if f == l {
		f = 2
	}
	c.step(f, request(1, 1, kv.OpPut, "x", "v"))
	if r := c.replyTo(1, 1); r.Status != ReplyNotLeader || r.Leader != l {
		t.Fatalf("reply %+v, want not-leader with hint %d", r, l)
	}
}

// Thesis §6.4: with ReadIndex, a read is answered only after a majority acknowledged a
// broadcast sent after it arrived; a leader cut off from the majority never answers.
func TestReadIndexConfirmsLeadership_6_4(t *testing.T) {
	c, l := committedCluster(t, nil)
	c.step(l, request(1, 1, kv.OpPut, "x", "v"))
	c.deliverAll()
	c.replies = nil
	c.step(l, request(2, 1, kv.OpGet, "x", ""))
	if len(c.replies) != 0 {
		t.Fatalf("read answered before confirming leadership: %v", c.replies)
	}
	c.deliverAll()
	if r := c.replyTo(2, 1); r.Status != ReplyOK || r.Value != "v" {
		t.Fatalf("reply %+v, want ok \"v\"", r)
	}

	// Cut the leader off: reads wait forever (until it steps down).
	c.drop = func(m Message) bool { return m.From == l || m.To == l }
	c.replies = nil
	c.step(l, request(2, 2, kv.OpGet, "x", ""))
	for range 3 {
		c.now += testHeartbeatInterval
		c.step(l, Input{Kind: InputWake})
		c.deliverAll()
	}
	if len(c.replies) != 0 {
		t.Fatalf("a partitioned leader answered a read: %v", c.replies)
	}
}

// Thesis §6.4: a new leader answers reads only once it has committed an entry of its term.
func TestReadIndexWaitsForNoOp_6_4(t *testing.T) {
	n, _ := makeLeader(t, 3, DurableState{HardState: HardState{Term: 2}, Log: logOf(1, 2)})
	now := n.electionDeadline
	out := n.Step(now, request(1, 1, kv.OpGet, "x", ""))
	round := out.Messages[0].Round
	// Both followers acknowledge the round but do not yet hold the no-op.
	for _, id := range []ID{2, 3} {
		out = deliver(n, now, Message{Type: MsgAppResp, From: id, To: 1, Term: n.term, Success: true, MatchIndex: 2, Round: round})
		if len(out.Replies) != 0 {
			t.Fatalf("read answered before the no-op committed: %v", out.Replies)
		}
	}
	out = deliver(n, now, Message{Type: MsgAppResp, From: 2, To: 1, Term: n.term, Success: true, MatchIndex: 3, Round: round})
	if len(out.Replies) != 1 || out.Replies[0].Status != ReplyOK {
		t.Fatalf("replies %v once the no-op committed, want the read answered", out.Replies)
	}
}

// Thesis §6.4.1: with a lease, the leader answers at once while a majority acknowledged
// it within the lease; after the lease runs out it falls back to a round of heartbeats.
func TestLeaseReads_6_4_1(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.ReadMode, cfg.CheckQuorum = ReadLease, true })
	c.replies = nil
	c.step(l, request(1, 1, kv.OpGet, "x", ""))
	if r := c.replyTo(1, 1); r.Status != ReplyOK {
		t.Fatalf("reply %+v within the lease, want ok at once", r)
	}
	c.drop = func(m Message) bool { return m.From == l || m.To == l }
	c.now += c.node(l).leaseDuration + time.Millisecond
	c.replies = nil
	c.step(l, request(1, 2, kv.OpGet, "x", ""))
	c.deliverAll()
	if len(c.replies) != 0 {
		t.Fatalf("read answered after the lease expired, with no majority: %v", c.replies)
	}
}

// ReadLocal answers from local state with no check, so a deposed leader that has not
// noticed serves a stale read: the unsafety the read modes exist to prevent.
func TestLocalReadsAreStale(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.ReadMode = ReadLocal })
	c.drop = func(m Message) bool { return m.From == l || m.To == l }
	c.replies = nil
	c.step(l, request(1, 1, kv.OpGet, "x", ""))
	if r := c.replyTo(1, 1); r.Status != ReplyOK {
		t.Fatalf("local read: %+v, want an immediate answer even when cut off", r)
	}
}

// CheckQuorum (thesis §6.2): a leader that hears from no majority for an election
// timeout steps down, answering its waiting clients with not-leader; a follower that
// heard from the leader within the minimum election timeout ignores a RequestVote.
func TestCheckQuorum(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.CheckQuorum = true })
	c.drop = func(m Message) bool { return m.From == l || m.To == l }
	c.step(l, request(1, 1, kv.OpPut, "x", "v"))
	c.replies = nil
	for i := 0; c.node(l).role == Leader; i++ {
		if i > 100 {
			t.Fatal("leader without a majority never stepped down")
		}
		c.now += testHeartbeatInterval
		c.step(l, Input{Kind: InputWake})
	}
	if r := c.replyTo(1, 1); r.Status != ReplyNotLeader {
		t.Fatalf("waiting write got %+v, want not-leader", r)
	}

	c2, l2 := committedCluster(t, func(cfg *Config) { cfg.CheckQuorum = true })
	f := ID(1)
	if f == l2 {
		f = 2
	}
	n := c2.node(f)
	term := n.term
	m := msg(MsgVote, 3, f, term+5)
	m.LastLogIndex, m.LastLogTerm = 100, term
	out := c2.step(f, Input{Kind: InputMessage, Message: m})
	if n.term != term || len(out.Messages) != 0 || n.stats.VotesIgnored != 1 {
		t.Fatalf("follower in lease: term %d (was %d), sent %v: want the vote request ignored", n.term, term, out.Messages)
	}
}

// A leader bounds its queue of pending requests; invalid requests are refused and
// counted.
func TestPendingBoundAndInvalidRequests(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.MaxPendingRequests = 2 })
	c.drop = func(Message) bool { return true } // nothing commits
	c.step(l, request(1, 1, kv.OpPut, "a", "1"))
	c.step(l, request(2, 1, kv.OpGet, "a", ""))
	c.replies = nil
	c.step(l, request(3, 1, kv.OpPut, "a", "3"))
	if r := c.replyTo(3, 1); r.Status != ReplyBusy {
		t.Fatalf("third pending request: %+v, want busy", r)
	}
	before := c.node(l).stats.Rejected
	c.step(l, request(0, 1, kv.OpPut, "a", "1"))
	if r := c.replyTo(0, 1); r.Status != ReplyInvalid || c.node(l).stats.Rejected != before+1 {
		t.Fatalf("client 0: %+v, want invalid and counted", r)
	}
}
