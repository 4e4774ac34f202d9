package check

import (
	"strings"
	"testing"

	"raftsim/node"
	"raftsim/node/kv"
)

func TestExactlyOnce(t *testing.T) {
	type step struct {
		id    node.ID
		cmds  []node.AppliedCommand
		crash bool // crash and restart id before the step
	}
	ac := func(i node.Index, c kv.ClientID, seq uint64, o kv.Outcome) node.AppliedCommand {
		return node.AppliedCommand{Index: i, Client: c, Seq: seq, Outcome: o}
	}
	tests := []struct {
		name  string
		steps []step
		want  []string // substrings of the violation; nil: none
	}{
		{"in order", []step{{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied), ac(2, 2, 1, kv.Applied), ac(3, 1, 2, kv.Applied)}, false}}, nil},
		{"duplicates and stale are fine", []step{{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied), ac(2, 1, 1, kv.Duplicate),
			ac(3, 1, 3, kv.Applied), ac(4, 1, 2, kv.Stale), ac(5, 1, 3, kv.Duplicate)}, false}}, nil},
		{"gaps are fine (a client gave up)", []step{{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied), ac(2, 1, 5, kv.Applied)}, false}}, nil},
		{"each node has its own record", []step{{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied)}, false},
			{2, []node.AppliedCommand{ac(1, 1, 1, kv.Applied)}, false}}, nil},
		{"a restarted node applies again", []step{{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied)}, false},
			{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied)}, true}}, nil},
		{"applied twice in one step", []step{{1, []node.AppliedCommand{ac(1, 1, 1, kv.Applied), ac(2, 1, 1, kv.Applied)}, false}},
			[]string{"Exactly-once", "thesis §6.3", "index 2", "node 1", "client 1", "#1", "a second time"}},
		{"applied twice across steps", []step{{3, []node.AppliedCommand{ac(4, 2, 7, kv.Applied)}, false},
			{3, []node.AppliedCommand{ac(9, 2, 7, kv.Applied)}, false}},
			[]string{"Exactly-once", "index 9", "node 3", "client 2", "#7"}},
		{"applied out of order", []step{{1, []node.AppliedCommand{ac(1, 1, 2, kv.Applied), ac(2, 1, 1, kv.Applied)}, false}},
			[]string{"Exactly-once", "index 2", "#1", "after its later command #2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(3)
			var got *Violation
			for _, s := range tt.steps {
				v := node.View{ID: s.id}
				if s.crash {
					c.Crash(0, s.id)
					if x := c.Restart(0, s.id, &v); x != nil {
						t.Fatalf("restart: %v", x)
					}
				}
				if got = c.Step(0, s.id, &node.Output{Commands: s.cmds}, &v); got != nil {
					break
				}
			}
			if tt.want == nil {
				if got != nil {
					t.Fatalf("unexpected violation: %v", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("no violation, want one mentioning %q", tt.want)
			}
			if got.Check != ExactlyOnce {
				t.Fatalf("check %q, want %q: %v", got.Check, ExactlyOnce, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("violation %q does not mention %q", got.Error(), w)
				}
			}
		})
	}
}
