package check

import (
	"strings"
	"testing"

	"raftsim/node"
)

// leaseRead: node id, in a step of its own, accepts a read under its lease of term t
// (node.Output.LeaseRead), and the simulator calls Lease for it as it does after a step.
func leaseRead(id node.ID, t node.Term) op {
	return func(h *harness) *Violation {
		out := node.Output{LeaseRead: t}
		if x := h.step(id, func(*node.View) node.Output { return out }); x != nil {
			return x
		}
		return h.c.Lease(h.now, id, out.LeaseRead)
	}
}

// TestLeaseSafety feeds the check histories in which lease reads are and are not safe
// (thesis §6.4.1: a lease read is safe only while no other server can have been elected).
func TestLeaseSafety(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want string // "" if legal; else a part of the violation's text
	}{
		{"leader reads under its lease", []op{
			elect(1, 1, 2, 3), leaseRead(1, 1), leaseRead(1, 1),
		}, ""},
		{"a later leader reads under its own lease", []op{
			elect(1, 1, 2, 3), leaseRead(1, 1), elect(2, 2, 3, 4), leaseRead(2, 2),
		}, ""},
		{"a deposed leader's lease outlives the election of the next", []op{
			elect(1, 1, 2, 3), leaseRead(1, 1), elect(2, 2, 3, 4), leaseRead(1, 1),
		}, "node 2 took office in term 2"},
		{"the first newer leader is named, not the latest", []op{
			elect(1, 1, 2, 3), elect(2, 2, 3, 4), elect(3, 3, 4, 5), leaseRead(1, 1),
		}, "node 2 took office in term 2"},
		{"a stale leader of a middle term", []op{
			elect(1, 1, 2, 3), elect(2, 2, 3, 4), elect(3, 3, 4, 5), leaseRead(2, 2),
		}, "node 3 took office in term 3"},
		{"a lease of a term the node never led", []op{
			elect(1, 1, 2, 3), leaseRead(2, 1),
		}, "not seen leading term 1"},
		{"a lease of a term nobody led", []op{
			elect(1, 1, 2, 3), leaseRead(1, 2),
		}, "not seen leading term 2"},
		{"a restarted leader's old lease", []op{
			elect(1, 1, 2, 3), crash(1), restart(1, 1, nil), elect(4, 2, 2, 5), leaseRead(1, 1),
		}, "node 4 took office in term 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newHarness(5).run(tc.ops...)
			if tc.want == "" {
				if x != nil {
					t.Fatalf("legal history: %v", x)
				}
				return
			}
			wantViolation(t, x, LeaseSafety)
			if !strings.Contains(x.Detail, tc.want) || x.Rule != "thesis §6.4.1" {
				t.Fatalf("violation %v: want %q in the detail and rule thesis §6.4.1", x, tc.want)
			}
		})
	}
}
