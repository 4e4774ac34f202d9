package check

import (
	"testing"
	"time"

	"raftsim/node"
)

// TestStabilityRules feeds Stability (thesis §9.6, §6.2) a follower, node 2, that hears
// from its leader, node 1 of term 1, at local time 100 ms, and then answers a request of
// node 3, which cannot hear the leader.
func TestStabilityRules(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	rules := StabilityRules{PreVote: true, CheckQuorum: true, ElectionTimeoutMin: ms(150)}
	preVote := node.Input{Kind: node.InputMessage, Message: node.Message{Type: node.MsgPreVote, From: 3, To: 2, Term: 2}}
	grant := node.Output{Messages: []node.Message{{Type: node.MsgPreVoteResp, From: 2, To: 3, Term: 2, Success: true}}}
	refuse := node.Output{Messages: []node.Message{{Type: node.MsgPreVoteResp, From: 2, To: 3, Term: 1}}}
	vote := func(transfer bool) node.Input {
		return node.Input{Kind: node.InputMessage, Message: node.Message{Type: node.MsgVote, From: 3, To: 2, Term: 2, Transfer: transfer}}
	}
	follower := func(term node.Term) node.View { return node.View{ID: 2, Term: term, Role: node.Follower, Leader: 1} }
	tests := []struct {
		name  string
		rules StabilityRules
		at    time.Duration
		in    node.Input
		out   node.Output
		after node.View
		fires bool
	}{
		{"a pre-vote granted 50 ms after hearing the leader", rules, ms(150), preVote, grant, follower(1), true},
		{"a pre-vote refused", rules, ms(150), preVote, refuse, follower(1), false},
		{"a pre-vote granted once the leader is silent for the election timeout", rules, ms(250), preVote, grant, follower(1), false},
		{"a pre-vote granted with PreVote off: not this check's", StabilityRules{ElectionTimeoutMin: ms(150)}, ms(150), preVote, grant, follower(1), false},
		{"a RequestVote's term taken 50 ms after hearing the leader", rules, ms(150), vote(false), node.Output{}, node.View{ID: 2, Term: 2}, true},
		{"a RequestVote ignored", rules, ms(150), vote(false), node.Output{}, follower(1), false},
		{"a leadership transfer's RequestVote answered", rules, ms(150), vote(true), node.Output{}, node.View{ID: 2, Term: 2}, false},
		{"a RequestVote's term taken after the leader fell silent", rules, ms(260), vote(false), node.Output{}, node.View{ID: 2, Term: 2}, false},
		{"a RequestVote's term taken with CheckQuorum off: not this check's", StabilityRules{PreVote: true, ElectionTimeoutMin: ms(150)}, ms(150), vote(false), node.Output{}, node.View{ID: 2, Term: 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := NewStabilityWatch(3, tt.rules)
			app := node.Input{Kind: node.InputMessage, Message: node.Message{Type: node.MsgApp, From: 1, To: 2, Term: 1}}
			v := follower(1)
			s := StepInfo{Now: ms(100), Local: ms(100), Life: 1, ID: 2, In: &app, Out: &node.Output{}, View: &v}
			if x := st.Step(&s, nil); x != nil {
				t.Fatal(x)
			}
			s = StepInfo{Now: tt.at, Local: tt.at, Life: 1, ID: 2, In: &tt.in, Out: &tt.out, View: &tt.after}
			x := st.Step(&s, func(sender, leader node.ID) string { return "node 3 is cut off from leader 1" })
			if tt.fires {
				wantViolation(t, x, Stability)
			} else if x != nil {
				t.Fatal(x)
			}
		})
	}
	t.Run("a leader grants a pre-vote", func(t *testing.T) {
		st := NewStabilityWatch(3, rules)
		v := node.View{ID: 1, Term: 1, Role: node.Leader, Leader: 1}
		wake := node.Input{Kind: node.InputWake}
		s := StepInfo{Now: ms(100), Local: ms(100), Life: 1, ID: 1, In: &wake, Out: &node.Output{}, View: &v}
		if x := st.Step(&s, nil); x != nil {
			t.Fatal(x)
		}
		in := preVote
		in.Message.To = 1
		out := node.Output{Messages: []node.Message{{Type: node.MsgPreVoteResp, From: 1, To: 3, Term: 2, Success: true}}}
		s = StepInfo{Now: ms(500), Local: ms(500), Life: 1, ID: 1, In: &in, Out: &out, View: &v}
		wantViolation(t, st.Step(&s, nil), Stability)
	})
	t.Run("a restart forgets the contact", func(t *testing.T) {
		st := NewStabilityWatch(3, rules)
		app := node.Input{Kind: node.InputMessage, Message: node.Message{Type: node.MsgApp, From: 1, To: 2, Term: 1}}
		v := follower(1)
		s := StepInfo{Now: ms(100), Local: ms(100), Life: 1, ID: 2, In: &app, Out: &node.Output{}, View: &v}
		st.Step(&s, nil)
		// A new life believes in leader 1 (say, from a hand-built view) without contact.
		s = StepInfo{Now: ms(120), Local: ms(120), Life: 2, ID: 2, In: &node.Input{Kind: node.InputWake}, Out: &node.Output{}, View: &v}
		st.Step(&s, nil)
		s = StepInfo{Now: ms(130), Local: ms(130), Life: 2, ID: 2, In: &preVote, Out: &grant, View: &v}
		if x := st.Step(&s, nil); x != nil {
			t.Fatalf("contact of an earlier life counted: %v", x)
		}
	})
}
