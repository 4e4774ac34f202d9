package node

import (
	"testing"
	"time"
)

// §5.3: responses that arrive late, twice or out of order never move a follower's
// progress back.
func TestReorderedResponsesDoNotMoveProgressBack_5_3(t *testing.T) {
	l, _ := makeLeader(t, 3, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	ok := func(match Index) {
		deliver(l, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Success: true, MatchIndex: match})
	}
	ok(4)
	ok(2) // an older acknowledgement, delayed
	ok(4) // a duplicate
	if l.match[1] != 4 || l.next[1] != 5 {
		t.Fatalf("match %d next %d, want 4 and 5", l.match[1], l.next[1])
	}
	// A rejection from before the follower caught up is stale too.
	out := deliver(l, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, ConflictIndex: 2})
	if l.next[1] != 5 || len(out.Messages) != 0 {
		t.Fatalf("stale rejection moved next to %d and sent %v", l.next[1], out.Messages)
	}
	if l.stats.Rejected != 0 {
		t.Fatal("stale responses counted as malformed")
	}
}

// §5.3: a leader bounds the entries per AppendEntries and streams a long log to a
// follower that is behind, one batch per acknowledgement.
func TestEntriesPerMessageBounded_5_3(t *testing.T) {
	cfg := testConfig(1, 3, 1)
	cfg.MaxEntriesPerMessage = 3
	n := mustNew(t, cfg, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)})
	n.Step(0, Input{Kind: InputWake})
	n.Step(n.electionDeadline, Input{Kind: InputWake})
	deliver(n, 0, Message{Type: MsgVoteResp, From: 2, To: 1, Term: 2, Success: true})
	// The first AppendEntries carries just the no-op (nextIndex is lastIndex+1); the
	// follower is empty, so it rejects and the leader starts over from index 1.
	out := deliver(n, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: 2, ConflictIndex: 1})
	for {
		m := only(t, out, MsgApp)
		if len(m.Entries) > 3 || len(m.Entries) == 0 {
			t.Fatalf("AppendEntries with %d entries", len(m.Entries))
		}
		last := m.PrevLogIndex + Index(len(m.Entries))
		out = deliver(n, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: 2, Success: true, MatchIndex: last})
		if last == 11 {
			if len(out.Messages) != 0 || n.commit != 11 {
				t.Fatalf("after the last batch: messages %v commit %d", out.Messages, n.commit)
			}
			return
		}
	}
}

// §5.3: a lost AppendEntries is recovered by the next heartbeat: the follower rejects
// the heartbeat (its log is too short), and the leader resends from the hint.
func TestLostAppendRecoveredByHeartbeat_5_3(t *testing.T) {
	c := newCluster(t, 3, 5)
	l := c.electLeader()
	c.deliverAll()
	lost := l%3 + 1
	c.drop = func(m Message) bool { return m.To == lost && m.Type == MsgApp }
	c.step(l, Input{Kind: InputPropose, Data: "x"})
	c.step(l, Input{Kind: InputPropose, Data: "y"})
	c.deliverAll()
	c.drop = nil
	if c.node(lost).log.lastIndex() == c.node(l).log.lastIndex() {
		t.Fatal("the follower got the entries despite the loss")
	}
	before := c.now
	c.run(5, func() bool { return c.node(lost).log.lastIndex() == c.node(l).log.lastIndex() })
	if c.now-before > testHeartbeatInterval {
		t.Fatalf("recovery took %v, want one heartbeat", c.now-before)
	}
}

// A heartbeat is sent every HeartbeatInterval, and an early wake does not send one.
func TestHeartbeatInterval(t *testing.T) {
	l, out := makeLeader(t, 3, DurableState{})
	now := l.electionDeadline // the time makeLeader elected it
	if out.WakeAt != now+testHeartbeatInterval {
		t.Fatalf("leader WakeAt %v, want %v", out.WakeAt, now+testHeartbeatInterval)
	}
	if o := l.Step(now+testHeartbeatInterval-time.Nanosecond, Input{Kind: InputWake}); len(o.Messages) != 0 || o.WakeAt != out.WakeAt {
		t.Fatalf("early wake sent %v, WakeAt %v", o.Messages, o.WakeAt)
	}
	o := l.Step(now+testHeartbeatInterval, Input{Kind: InputWake})
	if len(o.Messages) != 2 || o.Messages[0].Type != MsgApp || o.WakeAt != now+2*testHeartbeatInterval {
		t.Fatalf("heartbeat: %v, WakeAt %v", o.Messages, o.WakeAt)
	}
}
