package check

import (
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// decisionRun drives a Decisions with hand-built steps of a leader, node 1 of a cluster
// of five, in term 1.
type decisionRun struct {
	d    *Decisions
	conf node.Configuration
	x    *Violation
}

func newDecisionRun(rules DecisionRules, conf node.Configuration) *decisionRun {
	return &decisionRun{d: NewDecisions(5, rules), conf: conf}
}

// step feeds one step of node id at local time local (virtual time equal), as leader of
// term 1 unless role says otherwise.
func (r *decisionRun) step(id node.ID, local time.Duration, role node.Role, in node.Input, out node.Output) {
	if r.x != nil {
		return
	}
	v := node.View{ID: id, Term: 1, Role: role, Config: r.conf}
	s := StepInfo{Now: local, Local: local, Life: 1, ID: id, In: &in, Out: &out, View: &v}
	r.x = r.d.Step(&s, r.conf, true)
}

// broadcast: leader 1 sends round to every other server.
func broadcast(round uint64) node.Output {
	var out node.Output
	for to := node.ID(2); to <= 5; to++ {
		out.Messages = append(out.Messages, node.Message{Type: node.MsgApp, From: 1, To: to, Term: 1, Round: round})
	}
	return out
}

// ack: from acknowledges round to leader 1.
func ack(from node.ID, round uint64) node.Input {
	return node.Input{Kind: node.InputMessage, Message: node.Message{Type: node.MsgAppResp, From: from, To: 1, Term: 1, Round: round, Success: true}}
}

func getReq(seq uint64) node.Input {
	return node.Input{Kind: node.InputClient, Request: kv.Command{Client: 1, Seq: seq, Op: kv.OpGet, Key: "k"}}
}

func okReply(seq uint64) node.Output {
	return node.Output{Replies: []node.Reply{{Client: 1, Seq: seq, Status: node.ReplyOK}}}
}

// TestReadQuorum feeds Read Quorum (thesis §6.4) reads answered after acknowledgements of
// various rounds and configurations.
func TestReadQuorum(t *testing.T) {
	five := conf(set(1, 2, 3, 4, 5), nil)
	joint := conf(set(1, 4, 5), set(1, 2, 3))
	wake := node.Input{Kind: node.InputWake}
	tests := []struct {
		name   string
		conf   node.Configuration
		ackers []node.ID // acknowledge round 2, the round after the read
		early  []node.ID // acknowledge round 1, sent before the read arrived
		fires  bool
	}{
		{"a majority acknowledged a round after the read", five, set(2, 3), nil, false},
		{"one follower acknowledged: no majority", five, set(2), nil, true},
		{"acknowledgements of a round sent before the read do not count", five, set(2), set(3, 4), true},
		{"joint: a majority of C(old) only", joint, set(2, 3), nil, true},
		{"joint: a majority of each", joint, set(2, 4), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDecisionRun(DecisionRules{ReadIndex: true}, tt.conf)
			r.step(1, 10*time.Millisecond, node.Leader, wake, broadcast(1)) // takes office
			for _, p := range tt.early {
				r.step(1, 11*time.Millisecond, node.Leader, ack(p, 1), node.Output{})
			}
			r.step(1, 12*time.Millisecond, node.Leader, getReq(7), broadcast(2))
			for _, p := range tt.ackers {
				r.step(1, 13*time.Millisecond, node.Leader, ack(p, 2), node.Output{})
			}
			r.step(1, 14*time.Millisecond, node.Leader, wake, okReply(7))
			if tt.fires {
				wantViolation(t, r.x, ReadQuorum)
			} else if r.x != nil {
				t.Fatal(r.x)
			}
		})
	}
	// A client retried: copies A and B of read 7 wait for rounds 2 and 3; a majority
	// acknowledges round 3 and the leader answers A; copy C arrives (it needs round 4);
	// the next answer is B's, which round 3 confirms (seed 667 of churn once fired here,
	// when an answer was taken for all the copies).
	t.Run("copies of a retried read are answered earliest first", func(t *testing.T) {
		r := newDecisionRun(DecisionRules{ReadIndex: true}, five)
		r.step(1, 10*time.Millisecond, node.Leader, wake, broadcast(1))
		r.step(1, 11*time.Millisecond, node.Leader, getReq(7), broadcast(2))
		r.step(1, 12*time.Millisecond, node.Leader, getReq(7), broadcast(3))
		r.step(1, 13*time.Millisecond, node.Leader, ack(2, 3), node.Output{})
		r.step(1, 14*time.Millisecond, node.Leader, ack(3, 3), okReply(7))
		r.step(1, 15*time.Millisecond, node.Leader, getReq(7), broadcast(4))
		r.step(1, 16*time.Millisecond, node.Leader, wake, okReply(7))
		if r.x != nil {
			t.Fatal(r.x)
		}
		r.step(1, 17*time.Millisecond, node.Leader, wake, okReply(7)) // C, unconfirmed
		wantViolation(t, r.x, ReadQuorum)
	})
	t.Run("not judged in another read mode", func(t *testing.T) {
		r := newDecisionRun(DecisionRules{}, five)
		r.step(1, 10*time.Millisecond, node.Leader, wake, broadcast(1))
		r.step(1, 12*time.Millisecond, node.Leader, getReq(7), okReply(7))
		if r.x != nil {
			t.Fatal(r.x)
		}
	})
}

// TestLeaderQuorum feeds Leader Quorum (thesis §6.2) a leader that stays in office while
// acknowledgements stop.
func TestLeaderQuorum(t *testing.T) {
	rules := DecisionRules{CheckQuorum: true, ElectionTimeoutMax: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond}
	five := conf(set(1, 2, 3, 4, 5), nil)
	wake := node.Input{Kind: node.InputWake}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// run: the leader broadcasts a heartbeat every 50 ms until 1 s; ackers acknowledge
	// each one until ackUntil.
	run := func(ackers []node.ID, ackUntil time.Duration, rules DecisionRules) *Violation {
		r := newDecisionRun(rules, five)
		round := uint64(0)
		for now := ms(10); now <= ms(1000); now += ms(50) {
			round++
			r.step(1, now, node.Leader, wake, broadcast(round))
			if now <= ackUntil {
				for _, p := range ackers {
					r.step(1, now+ms(5), node.Leader, ack(p, round), node.Output{})
				}
			}
		}
		return r.x
	}
	if x := run(set(2, 3), ms(1000), rules); x != nil {
		t.Fatalf("a leader acknowledged by a majority: %v", x)
	}
	if x := run(set(2, 3), ms(400), rules); x != nil && x.Time < ms(400)+rules.ElectionTimeoutMax {
		t.Fatalf("fired at %v, before the window passed: %v", x.Time, x)
	} else {
		wantViolation(t, x, LeaderQuorum)
	}
	wantViolation(t, run(set(2), ms(1000), rules), LeaderQuorum)
	off := rules
	off.CheckQuorum = false
	if x := run(set(2), ms(1000), off); x != nil {
		t.Fatalf("judged with CheckQuorum off: %v", x)
	}
}
