package node

import (
	"testing"

	"pgregory.net/rapid"

	"raftsim/node/kv"
)

func withPreVote(cfg *Config) { cfg.PreVote = true }

// Thesis §9.6: with PreVote, a server that cannot reach a majority keeps timing out
// without raising its term, so it cannot disrupt anyone when it returns.
func TestPreVoteCutOffServerKeepsItsTerm_9_6(t *testing.T) {
	c, l := committedCluster(t, withPreVote)
	cut := ID(1)
	if cut == l {
		cut = 2
	}
	term := c.node(cut).term
	c.drop = func(m Message) bool { return m.To == cut || m.From == cut }
	for range 20 {
		c.timeout(cut)
		c.deliverAll()
	}
	if n := c.node(cut); n.term != term || n.stats.PreVotes == 0 || n.stats.Elections != 0 {
		t.Fatalf("cut-off server: term %d (was %d), %d pre-votes, %d elections", n.term, term, n.stats.PreVotes, n.stats.Elections)
	}
	c.drop = nil
	c.run(100, func() bool { return c.node(cut).leader == l })
	if c.node(l).role != Leader || c.node(l).term != term {
		t.Fatalf("the returning server disrupted leader %d (role %v term %d)", l, c.node(l).role, c.node(l).term)
	}
}

// Thesis §9.6: a pre-vote is denied while the voter hears from a leader, and granting one
// changes neither the voter's term nor its vote; an election after a won pre-vote raises
// the term by exactly one.
func TestPreVoteRules_9_6(t *testing.T) {
	c, l := committedCluster(t, withPreVote)
	f := ID(1)
	if f == l {
		f = 2
	}
	n := c.node(f)
	m := msg(MsgPreVote, 3, f, n.term+1)
	m.LastLogIndex, m.LastLogTerm = 100, n.term
	if r := only(t, c.step(f, Input{Kind: InputMessage, Message: m}), MsgPreVoteResp); r.Success {
		t.Fatalf("pre-vote granted while hearing from leader %d", l)
	}
	c.now += testElectionTimeoutMin
	term, vote := n.term, n.vote
	if r := only(t, c.step(f, Input{Kind: InputMessage, Message: m}), MsgPreVoteResp); !r.Success || r.Term != term+1 {
		t.Fatalf("pre-vote after the leader went quiet: %v, want granted in term %d", r, term+1)
	}
	if n.term != term || n.vote != vote {
		t.Fatalf("granting a pre-vote moved term %d->%d vote %d->%d", term, n.term, vote, n.vote)
	}

	c2 := newClusterWith(t, 3, 5, withPreVote)
	l2 := c2.electLeader()
	if got := c2.node(l2).term; got != 1 {
		t.Fatalf("first leader in term %d, want 1: the pre-vote round must not raise the term", got)
	}
}

// Thesis §3.10: the leader brings the target up to date, refuses new writes meanwhile,
// and sends TimeoutNow; the target wins the next term at once, even with CheckQuorum on.
func TestLeaderTransfer_3_10(t *testing.T) {
	c, l := committedCluster(t, func(cfg *Config) { cfg.CheckQuorum, cfg.PreVote = true, true })
	target := ID(1)
	if target == l {
		target = 2
	}
	term := c.node(l).term
	c.step(l, Input{Kind: InputTransfer, Target: target})
	c.replies = nil
	c.step(l, request(1, 1, kv.OpPut, "x", "v"))
	if r := c.replyTo(1, 1); r.Status != ReplyBusy && c.node(l).role == Leader {
		t.Fatalf("write during the transfer: %+v, want busy", r)
	}
	c.deliverAll()
	if c.node(target).role != Leader || c.node(target).term != term+1 {
		t.Fatalf("target %d: role %v term %d, want leader of term %d", target, c.node(target).role, c.node(target).term, term+1)
	}
	if s := c.node(l).stats; s.TransfersStarted != 1 || s.TransfersCompleted != 1 {
		t.Fatalf("old leader stats %+v", s)
	}
}

// Thesis §3.10: a transfer that does not complete within an election timeout is aborted,
// and the leader takes writes again.
func TestLeaderTransferAborts_3_10(t *testing.T) {
	c, l := committedCluster(t, nil)
	target := ID(1)
	if target == l {
		target = 2
	}
	c.drop = func(m Message) bool { return m.To == target || m.From == target }
	c.step(l, Input{Kind: InputTransfer, Target: target})
	start := c.now
	for c.node(l).transferTarget != None {
		if c.now-start > 2*testElectionTimeoutMax {
			t.Fatal("the transfer never aborted")
		}
		c.now += testHeartbeatInterval
		c.step(l, Input{Kind: InputWake})
		c.deliverAll()
	}
	if n := c.node(l); n.role != Leader || n.stats.TransfersAborted != 1 {
		t.Fatalf("after the abort: role %v, stats %+v", n.role, n.stats)
	}
	c.replies = nil
	c.step(l, request(1, 1, kv.OpPut, "x", "v"))
	if len(c.replies) != 0 {
		t.Fatalf("write after the abort answered at once: %v (want it appended)", c.replies)
	}
}

// The whole-cluster fuzz with PreVote, CheckQuorum and random leadership transfers.
func TestClusterRandomFaultsWithPreVoteProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := newClusterWith(t, 5, rapid.Uint64().Draw(t, "seed"), func(cfg *Config) {
			cfg.PreVote, cfg.CheckQuorum = true, rapid.Bool().Draw(t, "checkquorum")
		})
		boots := uint64(1000)
		for range rapid.IntRange(200, 600).Draw(t, "actions") {
			if l := c.leader(); l != None && rapid.IntRange(0, 30).Draw(t, "transfer?") == 0 {
				c.step(l, Input{Kind: InputTransfer, Target: ID(rapid.IntRange(1, 5).Draw(t, "target"))})
			}
			c.randomAction(t, &boots)
		}
		c.checkSafety()
		c.queue = nil
		l := c.electLeader()
		p := c.step(l, Input{Kind: InputPropose, Data: "final"})
		c.run(200, func() bool { return c.node(l).commit >= p.Proposal.Index || c.node(l).role != Leader })
		c.checkSafety()
	})
}

// Thesis §3.10: TimeoutNow is sent again with every heartbeat of a transfer, so a lost one
// does not stall the transfer until it aborts.
func TestTimeoutNowResentAfterLoss_3_10(t *testing.T) {
	c, l := committedCluster(t, nil)
	target := ID(1)
	if target == l {
		target = 2
	}
	lost := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgTimeoutNow && lost == 0 {
			lost++
			return true
		}
		return false
	}
	term := c.node(l).term
	c.step(l, Input{Kind: InputTransfer, Target: target})
	c.deliverAll()
	c.now += testHeartbeatInterval
	c.step(l, Input{Kind: InputWake})
	c.deliverAll()
	if lost != 1 || c.node(target).role != Leader || c.node(target).term != term+1 {
		t.Fatalf("after losing TimeoutNow once: target role %v term %d (lost %d)", c.node(target).role, c.node(target).term, lost)
	}
}
