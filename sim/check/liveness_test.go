package check

import (
	"slices"
	"testing"
	"time"

	"raftsim/node"
)

// cluster builds a ClusterState of n servers, all usable, in configuration c, fully
// connected except the cut links (a->b one way each).
func cluster(n int, c node.Configuration, cut ...[2]node.ID) *ClusterState {
	cs := &ClusterState{
		Usable: make([]bool, n+1), Leader: make([]bool, n+1),
		Conf: make([]node.Configuration, n+1), ConfOK: make([]bool, n+1),
	}
	for id := 1; id <= n; id++ {
		cs.Usable[id], cs.Conf[id], cs.ConfOK[id] = true, c, true
	}
	cs.Link = func(a, b node.ID) bool { return !slices.Contains(cut, [2]node.ID{a, b}) }
	return cs
}

// both cuts a and b apart in both directions.
func both(a, b node.ID) [][2]node.ID { return [][2]node.ID{{a, b}, {b, a}} }

func mask(ids ...node.ID) uint64 {
	var m uint64
	for _, id := range ids {
		m |= 1 << id
	}
	return m
}

func TestHealthyMajorities(t *testing.T) {
	five := conf(set(1, 2, 3, 4, 5), nil)
	partition := slices.Concat(both(1, 3), both(1, 4), both(1, 5), both(2, 3), both(2, 4), both(2, 5))
	tests := []struct {
		name    string
		cs      *ClusterState
		has     []uint64
		hasNot  []uint64
		healthy bool
	}{
		{"all connected", cluster(5, five), []uint64{mask(1, 2, 3), mask(1, 2, 3, 4, 5)}, []uint64{mask(1, 2)}, true},
		{"partition {1 2} | {3 4 5}", cluster(5, five, partition...), []uint64{mask(3, 4, 5)}, []uint64{mask(1, 2, 3)}, true},
		{"a one-way cut breaks mutual connection", cluster(3, conf(set(1, 2, 3), nil), [2]node.ID{1, 2}, [2]node.ID{1, 3}),
			[]uint64{mask(2, 3)}, []uint64{mask(1, 2), mask(1, 2, 3)}, true},
		{"joint: a set must hold a majority of both", cluster(5, conf(set(1, 4, 5), set(1, 2, 3))),
			[]uint64{mask(1, 2, 4)}, []uint64{mask(1, 4, 5), mask(1, 2, 3)}, true},
		{"no majority connected", cluster(3, conf(set(1, 2, 3), nil), slices.Concat(both(1, 2), both(1, 3), both(2, 3))...), nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HealthyMajorities(tt.cs)
			if (len(got) > 0) != tt.healthy {
				t.Fatalf("healthy sets %b, want healthy %v", got, tt.healthy)
			}
			for _, m := range tt.has {
				if !slices.Contains(got, m) {
					t.Errorf("set %b missing from %b", m, got)
				}
			}
			for _, m := range tt.hasNot {
				if slices.Contains(got, m) {
					t.Errorf("set %b wrongly healthy", m)
				}
			}
		})
	}
	t.Run("a leader stranded with node 1 holds it with PreVote on and CheckQuorum off", func(t *testing.T) {
		cs := cluster(5, five, slices.Concat(both(5, 2), both(5, 3), both(5, 4))...)
		cs.Leader[5] = true
		if got := HealthyMajorities(cs); !slices.Contains(got, mask(1, 2, 3)) {
			t.Fatalf("without LeadersHold: %b", got)
		}
		cs.LeadersHold = true
		got := HealthyMajorities(cs)
		if slices.Contains(got, mask(1, 2, 3)) || !slices.Contains(got, mask(2, 3, 4)) {
			t.Fatalf("with LeadersHold: %b, want {2 3 4} and not {1 2 3}", got)
		}
	})
	t.Run("a server that is not a voter of its own configuration is no member", func(t *testing.T) {
		cs := cluster(3, conf(set(1, 2, 3), nil))
		cs.Conf[3] = conf(set(1, 2), nil)
		if got := HealthyMajorities(cs); slices.Contains(got, mask(1, 3)) || !slices.Contains(got, mask(1, 2)) {
			t.Fatalf("%b", got)
		}
	})
}

func TestLeaderInOffice(t *testing.T) {
	five := conf(set(1, 2, 3, 4, 5), nil)
	cs := cluster(5, five, slices.Concat(both(1, 3), both(1, 4), both(1, 5))...)
	cs.Leader[1] = true
	if got := LeaderInOffice(cs); got != node.None {
		t.Fatalf("a leader reaching only node 2 of five is in office: %d", got)
	}
	cs.Leader[3] = true
	if got := LeaderInOffice(cs); got != 3 {
		t.Fatalf("LeaderInOffice = %d, want 3", got)
	}
	cs.Usable[3] = false
	if got := LeaderInOffice(cs); got != node.None {
		t.Fatalf("a paused leader is in office: %d", got)
	}
}

// TestLivenessWatch feeds Liveness while Healthy hand-built histories.
func TestLivenessWatch(t *testing.T) {
	s := time.Second
	newWatch := func() *LivenessWatch { return &LivenessWatch{Warmup: 600 * time.Millisecond, Bound: 2 * s} }
	set := mask(1, 2, 3)
	t.Run("healthy without a leader past warm-up and bound", func(t *testing.T) {
		l := newWatch()
		l.Observe(0, true, 0, set, false)
		if x := l.Check(2600 * time.Millisecond); x != nil {
			t.Fatalf("fired at the bound itself: %v", x)
		}
		x := l.Check(2601 * time.Millisecond)
		wantViolation(t, x, HealthyLiveness)
		if !slices.Equal(x.Nodes, []node.ID{1, 2, 3}) {
			t.Errorf("nodes %v, want the healthy set", x.Nodes)
		}
	})
	t.Run("a leader in office resets the clock", func(t *testing.T) {
		l := newWatch()
		l.Observe(0, true, 0, set, false)
		l.Observe(s, true, 0, set, true)
		l.Observe(5*s, true, 0, set, false) // the leader leaves office at 5 s
		if x := l.Check(6 * s); x != nil {
			t.Fatal(x)
		}
		wantViolation(t, l.Check(7*s+1), HealthyLiveness)
	})
	t.Run("not healthy: no judgement", func(t *testing.T) {
		l := newWatch()
		l.Observe(0, false, 0, 0, false)
		if x := l.Check(100 * s); x != nil {
			t.Fatal(x)
		}
		l.Observe(100*s, true, 100*s, set, false) // healthy from 100 s on
		if x := l.Check(102 * s); x != nil {
			t.Fatal(x)
		}
		wantViolation(t, l.Check(103*s), HealthyLiveness)
	})
}

// TestTransferWatch feeds Transfer Outcome (thesis §3.10) hand-built transfers from
// leader 1 to node 2 in term 4.
func TestTransferWatch(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	start := func() *TransferWatch {
		tw := &TransferWatch{Bound: ms(150)}
		tw.Started(1, 2, 4)
		return tw
	}
	t.Run("the target takes office", func(t *testing.T) {
		tw := start()
		tw.SteppedDown(ms(10), 1, 5)
		if x := tw.TookOffice(ms(20), 2, 5); x != nil {
			t.Fatal(x)
		}
		if x := tw.Check(ms(500)); x != nil || tw.Judged() {
			t.Fatalf("%v, judged %v", x, tw.Judged())
		}
	})
	t.Run("the target takes office before the leader hears of it", func(t *testing.T) {
		tw := start()
		if x := tw.TookOffice(ms(20), 2, 5); x != nil {
			t.Fatal(x)
		}
		tw.SteppedDown(ms(25), 1, 5)
		if x := tw.Check(ms(500)); x != nil || tw.Judged() {
			t.Fatalf("%v, judged %v", x, tw.Judged())
		}
	})
	t.Run("another server takes office first", func(t *testing.T) {
		tw := start()
		tw.SteppedDown(ms(10), 1, 5)
		wantViolation(t, tw.TookOffice(ms(20), 3, 6), TransferOutcome)
	})
	t.Run("nobody takes office within the bound", func(t *testing.T) {
		tw := start()
		tw.SteppedDown(ms(10), 1, 5)
		if x := tw.Check(ms(160)); x != nil {
			t.Fatal(x)
		}
		wantViolation(t, tw.Check(ms(161)), TransferOutcome)
	})
	t.Run("an abort is a legal end", func(t *testing.T) {
		tw := start()
		tw.Ended(1, 4)
		if x := tw.TookOffice(ms(500), 3, 6); x != nil || tw.Judged() {
			t.Fatal(x)
		}
	})
	t.Run("unhealthy: no judgement", func(t *testing.T) {
		tw := start()
		tw.SteppedDown(ms(10), 1, 5)
		tw.Unhealthy()
		if x := tw.TookOffice(ms(20), 3, 6); x != nil {
			t.Fatal(x)
		}
	})
}
