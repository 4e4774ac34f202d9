package node

import (
	"testing"
	"time"
)

// asyncConfig is testConfig on an asynchronous disk.
func asyncConfig(id ID, size int) Config {
	c := testConfig(id, size, uint64(id))
	c.AsyncStorage = true
	return c
}

// msgsOf returns the messages of out of type t.
func msgsOf(out Output, t MsgType) []Message {
	var ms []Message
	for _, m := range out.Messages {
		if m.Type == t {
			ms = append(ms, m)
		}
	}
	return ms
}

// A vote is granted only once it is durable (Figure 2: "respond to RPCs only after
// updating stable storage"): on an asynchronous disk the VoteResp waits for the write of
// the new term and vote, and leaves with the InputDurable that reports it.
func TestAsyncVoteLeavesOnlyWhenDurable(t *testing.T) {
	n := mustNew(t, asyncConfig(2, 3), DurableState{})
	n.Step(0, Input{Kind: InputWake})
	out := n.Step(time.Millisecond, Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 1, To: 2, Term: 1}})
	if !out.HardStateChanged || out.Write != 1 {
		t.Fatalf("granting a vote: HardStateChanged %v, Write %d; want a write numbered 1", out.HardStateChanged, out.Write)
	}
	if got := msgsOf(out, MsgVoteResp); len(got) != 0 {
		t.Fatalf("the vote left before it was durable: %v", got)
	}
	if v := n.View(); v.Vote != 1 || v.DurableHardState != (HardState{}) {
		t.Fatalf("view: vote %d, durable %+v; want vote 1, nothing durable yet", v.Vote, v.DurableHardState)
	}
	out = n.Step(2*time.Millisecond, Input{Kind: InputDurable, Write: 1})
	got := msgsOf(out, MsgVoteResp)
	if len(got) != 1 || !got[0].Success || got[0].Term != 1 {
		t.Fatalf("after the write is durable: VoteResps %v; want one grant in term 1", got)
	}
	if v := n.View(); v.DurableHardState != (HardState{Term: 1, Vote: 1}) {
		t.Fatalf("durable hard state %+v, want term 1 vote 1", v.DurableHardState)
	}
	// Nothing pending now: a repeated request is answered at once.
	out = n.Step(3*time.Millisecond, Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 1, To: 2, Term: 1}})
	if got := msgsOf(out, MsgVoteResp); len(got) != 1 || out.Write != 0 {
		t.Fatalf("a repeated vote with nothing pending: VoteResps %v, Write %d; want one at once, no write", got, out.Write)
	}
}

// A candidate counts its own vote only once it is durable: a single-voter cluster takes
// office after the write of its term and vote, not before.
func TestAsyncCandidateCountsItselfWhenDurable(t *testing.T) {
	n := mustNew(t, asyncConfig(1, 1), DurableState{})
	n.Step(0, Input{Kind: InputWake})
	out := n.Step(time.Millisecond, Input{Kind: InputCampaign})
	if n.View().Role != Candidate || out.Write != 1 {
		t.Fatalf("after campaigning: role %v, write %d; want a candidate with write 1", n.View().Role, out.Write)
	}
	n.Step(2*time.Millisecond, Input{Kind: InputDurable, Write: 1})
	if n.View().Role != Leader {
		t.Fatalf("after its vote is durable the single voter is %v, want leader", n.View().Role)
	}
}

// A leader counts its own log toward a commit only up to its durable index (§5.3 with
// asynchronous writes): a follower's acknowledgement alone is not a majority of three.
func TestAsyncLeaderCountsOnlyDurableEntries(t *testing.T) {
	n := mustNew(t, asyncConfig(1, 3), DurableState{})
	n.Step(0, Input{Kind: InputWake})
	out := n.Step(time.Millisecond, Input{Kind: InputCampaign})
	n.Step(2*time.Millisecond, Input{Kind: InputDurable, Write: out.Write})
	out = n.Step(3*time.Millisecond, Input{Kind: InputMessage, Message: Message{Type: MsgVoteResp, From: 2, To: 1, Term: 1, Success: true}})
	if n.View().Role != Leader || len(out.Entries) != 1 {
		t.Fatalf("role %v with %d entries written; want a leader that wrote its no-op", n.View().Role, len(out.Entries))
	}
	noopWrite := out.Write
	// Node 2 acknowledges the no-op; node 1's copy is not durable yet.
	n.Step(4*time.Millisecond, Input{Kind: InputMessage, Message: Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Success: true, MatchIndex: 1, Round: 1}})
	if c := n.View().CommitIndex; c != 0 {
		t.Fatalf("commit index %d with the leader's own entry not durable; want 0", c)
	}
	n.Step(5*time.Millisecond, Input{Kind: InputDurable, Write: noopWrite})
	if c := n.View().CommitIndex; c != 1 {
		t.Fatalf("commit index %d once the leader's entry is durable; want 1", c)
	}
}

// An acknowledgement of entries waits for them to be durable, and a truncation lowers
// the durable index to where the logs part.
func TestAsyncAppendAckAndTruncation(t *testing.T) {
	n := mustNew(t, asyncConfig(2, 3), DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	n.Step(0, Input{Kind: InputWake})
	app := Message{Type: MsgApp, From: 3, To: 2, Term: 2, PrevLogIndex: 1, PrevLogTerm: 1,
		Entries: []Entry{{Index: 2, Term: 2, Data: "x"}}, Round: 1}
	out := n.Step(time.Millisecond, Input{Kind: InputMessage, Message: app})
	if got := msgsOf(out, MsgAppResp); len(got) != 0 {
		t.Fatalf("acknowledged before durable: %v", got)
	}
	if v := n.View(); v.DurableIndex != 1 || v.LastIndex() != 2 {
		t.Fatalf("after the truncating append: durable index %d, last %d; want 1 and 2", v.DurableIndex, v.LastIndex())
	}
	out = n.Step(2*time.Millisecond, Input{Kind: InputDurable, Write: out.Write})
	got := msgsOf(out, MsgAppResp)
	if len(got) != 1 || !got[0].Success || got[0].MatchIndex != 2 {
		t.Fatalf("after the write: AppResps %v; want one success at match 2", got)
	}
	if v := n.View(); v.DurableIndex != 2 {
		t.Fatalf("durable index %d after the write, want 2", v.DurableIndex)
	}
	// The host reports a write the node never made: rejected, nothing changes.
	before := n.Stats().Rejected
	n.Step(3*time.Millisecond, Input{Kind: InputDurable, Write: 99})
	if n.Stats().Rejected != before+1 {
		t.Fatal("an InputDurable for a write never made was not rejected")
	}
}

// A synchronous node rejects InputDurable and never numbers its writes.
func TestSyncIgnoresDurable(t *testing.T) {
	n := mustNew(t, testConfig(1, 1, 1), DurableState{})
	n.Step(0, Input{Kind: InputWake})
	if out := n.Step(time.Millisecond, Input{Kind: InputCampaign}); out.Write != 0 || n.View().Role != Leader {
		t.Fatalf("synchronous single voter: write %d, role %v; want 0 and leader at once", out.Write, n.View().Role)
	}
	n.Step(2*time.Millisecond, Input{Kind: InputDurable, Write: 1})
	if n.Stats().Rejected != 1 {
		t.Fatal("a synchronous node accepted InputDurable")
	}
}
