package host

import (
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

func newNode(cfg node.Config, d node.DurableState) (Server, error) { return node.New(cfg, d) }

func soloConfig() node.Config {
	return node.Config{ID: 1, Peers: []node.ID{1}, ElectionTimeoutMin: 150 * time.Millisecond,
		ElectionTimeoutMax: 300 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond, MaxEntriesPerMessage: 8, Seed: 7}
}

// bootLeader boots a one-server cluster and lets it elect itself and commit its no-op.
func bootLeader(t *testing.T) *Host {
	t.Helper()
	h := New(1)
	if _, p, err := h.Boot(newNode, soloConfig()); err != nil || p != nil {
		t.Fatalf("Boot: %v %v", err, p)
	}
	out, _, p := h.Step(0, node.Input{Kind: node.InputWake})
	if p != nil {
		t.Fatal(p)
	}
	out, v, p := h.Step(out.WakeAt, node.Input{Kind: node.InputWake})
	if p != nil || v.Role != node.Leader {
		t.Fatalf("after the election timeout: role %v, problem %v", v.Role, p)
	}
	return h
}

// TestStepWritesDisk: a step's durable part is on the disk when Step returns (Figure 2).
func TestStepWritesDisk(t *testing.T) {
	h := bootLeader(t)
	v := h.Server().View()
	d := h.Disk()
	if d.HardState().Term != v.Term || d.HardState().Vote != 1 || d.LastIndex() != v.LastIndex() || d.LastIndex() == 0 {
		t.Errorf("disk term %d vote %d last %d; view term %d last %d", d.HardState().Term, d.HardState().Vote, d.LastIndex(), v.Term, v.LastIndex())
	}
}

// TestCloneIndependent: stepping a clone changes neither the original's server nor its disk.
func TestCloneIndependent(t *testing.T) {
	h := bootLeader(t)
	before := h.Disk().LastIndex()
	c := h.Clone()
	for i := 0; i < 3; i++ {
		if _, _, p := c.Step(time.Second, node.Input{Kind: node.InputPropose, Data: "x"}); p != nil {
			t.Fatal(p)
		}
	}
	if c.Disk().LastIndex() != before+3 || h.Disk().LastIndex() != before || viewLast(h) != before {
		t.Errorf("clone last %d, original disk %d view %d; want %d, %d, %d",
			c.Disk().LastIndex(), h.Disk().LastIndex(), viewLast(h), before+3, before, before)
	}
	// The original appends too: the two logs must not overwrite each other's entries.
	if _, _, p := h.Step(time.Second, node.Input{Kind: node.InputPropose, Data: "y"}); p != nil {
		t.Fatal(p)
	}
	if got := c.Disk().Log()[before].Data; got != "x" {
		t.Errorf("clone's entry %d is %q after the original appended: shared backing array", before+1, got)
	}
	c.Crash()
	if !h.Up() || c.Up() {
		t.Errorf("crashing the clone: original up %v, clone up %v", h.Up(), c.Up())
	}
}

// liar is a server that reports, in its view, state it never asked the host to make
// durable, or a bad state at boot.
type liar struct {
	view node.View
}

func (l *liar) Step(now time.Duration, in node.Input) node.Output { return node.Output{} }
func (l *liar) View() node.View                                   { return l.view }

// TestHostChecksFire feeds each host check a hand-built violation.
func TestHostChecksFire(t *testing.T) {
	cases := []struct {
		name, check, detail string
		view                node.View
		atBoot              bool
	}{
		{"term not durable", DurableCheck, "server has term 3 vote 0 but its disk has term 0", node.View{Term: 3}, false},
		{"log not durable", DurableCheck, "server log has last index 1", node.View{Log: []node.Entry{{Index: 1, Term: 0}}}, false},
		{"snapshot not durable", DurableCheck, "server has a snapshot at 4@t1", node.View{SnapshotIndex: 4, SnapshotTerm: 1}, false},
		{"replays the log at boot", RecoveryCheck, "applied index 2", node.View{AppliedIndex: 2}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := New(1)
			srv := &liar{}
			if tc.atBoot {
				srv.view = tc.view
			}
			_, p, err := h.Boot(func(node.Config, node.DurableState) (Server, error) { return srv, nil }, node.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.atBoot {
				if p != nil {
					t.Fatalf("boot: %v", p)
				}
				srv.view = tc.view
				_, _, p = h.Step(0, node.Input{Kind: node.InputWake})
			}
			if p == nil || p.Check != tc.check || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("problem %+v, want %s containing %q", p, tc.check, tc.detail)
			}
		})
	}
}

// TestSaveLostInCrash: a background snapshot write ended after a crash finds nothing.
func TestSaveLostInCrash(t *testing.T) {
	h := New(1)
	h.saves = append(h.saves, Save{Gen: 1, Snap: node.Snapshot{Index: 1, Term: 1}})
	h.up = true
	if n, last := h.Crash(); n != 1 || last != 1 {
		t.Errorf("Crash lost %d writes (last %d), want 1 (1)", n, last)
	}
	if _, outcome, _ := h.SaveDone(1); outcome != SaveGone {
		t.Errorf("SaveDone after the crash: outcome %v, want SaveGone", outcome)
	}
	mustPanic(t, "stepping a crashed host", func() { h.Step(0, node.Input{Kind: node.InputWake}) })
	mustPanic(t, "crashing a crashed host", func() { h.Crash() })
}

func viewLast(h *Host) node.Index {
	v := h.Server().View()
	return v.LastIndex()
}
