package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim/check"
)

// hookServer wraps a real raftsim node and lets a test tamper with its outputs and views:
// a deliberately broken Raft implementation, to see the simulator's checks fire.
type hookServer struct {
	n      *node.Node
	onStep func(now time.Duration, in node.Input, out *node.Output)
	onView func(v node.View) node.View
}

func (s *hookServer) Step(now time.Duration, in node.Input) node.Output {
	out := s.n.Step(now, in)
	if s.onStep != nil {
		s.onStep(now, in, &out)
	}
	return out
}

func (s *hookServer) View() node.View {
	v := s.n.View()
	if s.onView != nil {
		v = s.onView(v)
	}
	return v
}

// hooked returns a NewServer that wraps every server with the given hooks.
func hooked(onStep func(id node.ID, now time.Duration, in node.Input, out *node.Output), onView func(v node.View) node.View) func(node.Config, node.DurableState) (Server, error) {
	return func(c node.Config, d node.DurableState) (Server, error) {
		n, err := node.New(c, d)
		if err != nil {
			return nil, err
		}
		s := &hookServer{n: n, onView: onView}
		if onStep != nil {
			s.onStep = func(now time.Duration, in node.Input, out *node.Output) { onStep(c.ID, now, in, out) }
		}
		return s, nil
	}
}

// checkStopped checks that a failed run stopped at its failure, well before the deadline.
func checkStopped(t *testing.T, cfg Config, r Result) {
	t.Helper()
	if r.Failure == nil {
		t.Fatalf("run did not fail (counts %+v)", r.Counts)
	}
	if r.VirtualTime >= cfg.Duration {
		t.Errorf("failed run went on to %v (deadline %v)", r.VirtualTime, cfg.Duration)
	}
	if r.Failure.Time != r.VirtualTime {
		t.Errorf("failure at %v, but the run stopped at %v", r.Failure.Time, r.VirtualTime)
	}
	if r.Scenario != cfg.Scenario || r.Seed != cfg.Seed {
		t.Errorf("failed result names scenario %q seed %d, want %q seed %d", r.Scenario, r.Seed, cfg.Scenario, cfg.Seed)
	}
	if !strings.Contains(r.Failure.Error(), r.Failure.Check) {
		t.Errorf("Failure.Error() %q does not name the check %q", r.Failure.Error(), r.Failure.Check)
	}
}

// TestDurableStateCheck runs servers that forget, once, to report part of a step's state
// as durable: the host's persistence check must catch it at that very step.
func TestDurableStateCheck(t *testing.T) {
	tests := []struct {
		name   string
		forget func(out *node.Output) bool // tampers with out, reports whether it did
		detail string
	}{
		{"hard state", func(out *node.Output) bool {
			if !out.HardStateChanged {
				return false
			}
			out.HardStateChanged = false
			return true
		}, "disk has term 0"},
		{"entries", func(out *node.Output) bool {
			if len(out.Entries) == 0 {
				return false
			}
			out.Entries = nil
			return true
		}, "disk log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			var forgotAt time.Duration = -1
			var forgotBy node.ID
			cfg.NewServer = hooked(func(id node.ID, now time.Duration, in node.Input, out *node.Output) {
				if forgotAt < 0 && tt.forget(out) {
					forgotAt, forgotBy = now, id
				}
			}, nil)
			r := runConfig(t, cfg)
			checkStopped(t, cfg, r)
			f := r.Failure
			if f.Check != "Durable State" {
				t.Fatalf("failure %v, want the Durable State check", f)
			}
			if f.Time != forgotAt || !slices.Equal(f.Nodes, []node.ID{forgotBy}) {
				t.Errorf("failure at %v on nodes %v, want at %v on node %d (the step that forgot)", f.Time, f.Nodes, forgotAt, forgotBy)
			}
			if f.Rule == "" || !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("failure rule %q detail %q, want a rule and a detail mentioning %q", f.Rule, f.Detail, tt.detail)
			}
			if !slices.Contains(CheckNames(), f.Check) {
				t.Errorf("CheckNames() %v lacks %q", CheckNames(), f.Check)
			}
		})
	}
}

// TestPanicIsAFailure runs a server that panics in Step: the run ends with a "panic"
// failure naming the panic's message, and the test goes on.
func TestPanicIsAFailure(t *testing.T) {
	cfg := DefaultConfig()
	const when = 1234 * time.Millisecond
	cfg.NewServer = hooked(func(id node.ID, now time.Duration, in node.Input, out *node.Output) {
		if id == 3 && now >= when {
			panic("raft: invariant broken: the test says so")
		}
	}, nil)
	r := runConfig(t, cfg)
	checkStopped(t, cfg, r)
	if r.Failure.Check != "panic" {
		t.Fatalf("failure %v, want a panic", r.Failure)
	}
	if !strings.Contains(r.Failure.Detail, "raft: invariant broken: the test says so") {
		t.Errorf("panic failure does not name the panic's message: %q", r.Failure.Detail)
	}
	if r.Failure.Time < when || r.Failure.Time > when+100*time.Millisecond {
		t.Errorf("panic reported at %v, want soon after %v", r.Failure.Time, when)
	}
	if r.Counts.Events == 0 || r.TraceHash == 0 {
		t.Errorf("panic result lost the run's counts or hash: %+v %016x", r.Counts, r.TraceHash)
	}
	// A panic is deterministic like everything else.
	r2 := runConfig(t, cfg)
	if r2.TraceHash != r.TraceHash || r2.Failure == nil || r2.Failure.Time != r.Failure.Time {
		t.Errorf("a panicking run is not reproducible: %016x at %v, then %016x (%v)", r.TraceHash, r.Failure.Time, r2.TraceHash, r2.Failure)
	}
}

// TestSafetyViolationSurfaces runs servers whose View lies: a follower that knows a leader
// claims to be leader of that leader's term. Election Safety must fire with both nodes.
func TestSafetyViolationSurfaces(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NewServer = hooked(nil, func(v node.View) node.View {
		if v.Role == node.Follower && v.Leader != node.None && v.Leader != v.ID {
			v.Role = node.Leader
		}
		return v
	})
	r := runConfig(t, cfg)
	checkStopped(t, cfg, r)
	f := r.Failure
	if f.Check != "Election Safety" {
		t.Fatalf("failure %v, want Election Safety", f)
	}
	if f.Rule != "§5.2" || f.Term == 0 || len(f.Nodes) != 2 || f.Nodes[0] == f.Nodes[1] {
		t.Errorf("failure %+v, want rule §5.2, a term and two distinct nodes", f)
	}
	if !slices.ContainsFunc(r.Timeline, func(h Happening) bool { return h.Kind == HappenLeader && h.Term == f.Term }) {
		t.Errorf("no leader of term %d on the timeline: %+v", f.Term, r.Timeline)
	}
	if !strings.Contains(f.Error(), "Election Safety (§5.2) failed at") {
		t.Errorf("Failure.Error() = %q", f.Error())
	}
}

// TestFailfStopsTheRun: a scenario probe's failure stops the run after the current event,
// and later actions do not run.
func TestFailfStopsTheRun(t *testing.T) {
	cfg := DefaultConfig()
	w := mustNew(t, cfg)
	w.At(2*time.Second, "probe", func(w *World) {
		w.Failf("my probe", "expected %d, got %d", 1, 2)
		w.Failf("second", "only the first failure is kept")
	})
	ran := false
	w.At(3*time.Second, "later", func(w *World) { ran = true })
	r := w.Run()
	checkStopped(t, cfg, r)
	if r.Failure.Check != "my probe" || r.Failure.Detail != "expected 1, got 2" || r.VirtualTime != 2*time.Second {
		t.Errorf("failure %+v at %v, want the probe's at 2s", r.Failure, r.VirtualTime)
	}
	if ran {
		t.Error("an action after the failure ran")
	}
}

// TestStopEndsTheRun: Stop ends the run without a failure, at the current event's time.
func TestStopEndsTheRun(t *testing.T) {
	cfg := DefaultConfig()
	w := mustNew(t, cfg)
	w.At(1500*time.Millisecond, "stop", func(w *World) { w.Stop() })
	r := w.Run()
	if r.Failure != nil || r.VirtualTime != 1500*time.Millisecond {
		t.Errorf("Stop: failure %v at %v, want none at 1.5s", r.Failure, r.VirtualTime)
	}
}

func TestBootErrors(t *testing.T) {
	boom := errors.New("disk unreadable")
	t.Run("at New", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
			if c.ID == 2 {
				return nil, boom
			}
			return node.New(c, d)
		}
		_, err := New(cfg)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "node 2") {
			t.Errorf("New = %v, want an error naming node 2 and wrapping %v", err, boom)
		}
	})
	t.Run("at Restart", func(t *testing.T) {
		cfg := DefaultConfig()
		lives := 0
		cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
			if c.ID == 4 {
				lives++
				if lives > 1 {
					return nil, boom
				}
			}
			return node.New(c, d)
		}
		w := mustNew(t, cfg)
		w.At(time.Second, "crash", func(w *World) { w.Crash(4) })
		w.At(2*time.Second, "restart", func(w *World) { w.Restart(4) })
		r := w.Run()
		checkStopped(t, cfg, r)
		if r.Failure.Check != "Restart" || !strings.Contains(r.Failure.Detail, boom.Error()) || r.VirtualTime != 2*time.Second {
			t.Errorf("failure %+v, want a Restart failure at 2s naming %q", r.Failure, boom)
		}
	})
}

func TestUnknownNodePanics(t *testing.T) {
	w := mustNew(t, DefaultConfig())
	for _, id := range []node.ID{0, -1, 6} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Crash(%d) in a 5-node cluster did not panic", id)
				}
			}()
			w.Crash(id)
		}()
	}
}

// TestPanicAtBootIsAFailure: a server that panics on its very first step (the boot wake
// that New gives every server) must not crash the caller either; DESIGN.md: the simulator
// recovers a server's panic and reports it as a failed run.
func TestPanicAtBootIsAFailure(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NewServer = hooked(func(id node.ID, now time.Duration, in node.Input, out *node.Output) {
		if id == 2 {
			panic("adapter: invariant broken at boot")
		}
	}, nil)
	var (
		w   *World
		err error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("New panicked: %v", r)
			}
		}()
		w, err = New(cfg)
	}()
	if err != nil {
		if !strings.Contains(err.Error(), "invariant broken at boot") {
			t.Errorf("New error %q does not name the panic", err)
		}
		return
	}
	r := w.Run()
	if r.Failure == nil || r.Failure.Check != "panic" || !strings.Contains(r.Failure.Detail, "invariant broken at boot") {
		t.Errorf("failure %v, want the boot panic", r.Failure)
	}
}

// TestFirstFailureIsKept: World.fail keeps only the first failure, but a panic later in
// the same event replaces it.
func TestFirstFailureIsKept(t *testing.T) {
	w := mustNew(t, DefaultConfig())
	w.At(time.Second, "probe", func(w *World) {
		w.Failf("probe", "the first failure")
		panic("a consequence of the first failure")
	})
	r := w.Run()
	if r.Failure == nil || r.Failure.Check != "probe" {
		t.Errorf("failure %v, want the first one (probe)", r.Failure)
	}
}

// planted is a raftsim node with a planted bug: edit rewrites its configuration at boot,
// before (if not nil) may replace a step (skip: the node does not see the input), after
// rewrites a step's output, view rewrites its views.
type planted struct {
	n      *node.Node
	before func(n *node.Node, in node.Input) (out node.Output, skip bool)
	after  func(n *node.Node, in node.Input, out *node.Output)
	view   func(v node.View) node.View
}

func (p *planted) Step(now time.Duration, in node.Input) node.Output {
	if p.before != nil {
		if out, skip := p.before(p.n, in); skip {
			return out
		}
	}
	out := p.n.Step(now, in)
	if p.after != nil {
		p.after(p.n, in, &out)
	}
	return out
}

func (p *planted) View() node.View {
	if p.view != nil {
		return p.view(p.n.View())
	}
	return p.n.View()
}

// bug is a planted bug: how it changes each server.
type bug struct {
	edit   func(c *node.Config)
	before func(n *node.Node, in node.Input) (node.Output, bool)
	after  func(n *node.Node, in node.Input, out *node.Output)
	view   func(v node.View) node.View
}

// newServer returns a NewServer that plants b in every server.
func (b bug) newServer() func(node.Config, node.DurableState) (Server, error) {
	return func(c node.Config, d node.DurableState) (Server, error) {
		if b.edit != nil {
			b.edit(&c)
		}
		n, err := node.New(c, d)
		if err != nil {
			return nil, err
		}
		return &planted{n: n, before: b.before, after: b.after, view: b.view}, nil
	}
}

// fiveVoters is the configuration of servers 1..5.
var fiveVoters = node.Configuration{Voters: []node.ID{1, 2, 3, 4, 5}}

// atLeader runs fn at virtual time t with the leader then and a follower (the leader's
// next server), failing the run if there is no leader.
func atLeader(w *World, t time.Duration, fn func(w *World, leader, follower node.ID)) {
	w.At(t, "planted-bug script", func(w *World) {
		l := w.Leader()
		if l == node.None {
			w.Failf("script", "no leader at %v", w.Now())
			return
		}
		fn(w, l, l%5+1)
	})
}

// TestPlantedBugsCaught runs real clusters whose servers carry one planted bug each:
// the check named must catch it, and the same run without the bug passes.
func TestPlantedBugsCaught(t *testing.T) {
	tests := []struct {
		name   string
		checks []string // the bug may surface as any of these
		config func(c *Config)
		bug    bug
		script func(w *World)
	}{
		{"a server that keeps reporting its bootstrap configuration", []string{check.ConfigInForce},
			func(c *Config) { c.Spares = 1 },
			bug{view: func(v node.View) node.View {
				if v.ID <= 5 {
					v.Config = fiveVoters
				}
				return v
			}},
			func(w *World) { w.At(time.Second, "add", func(w *World) { w.Admin(node.AdminAddServer, 6, nil) }) }},
		{"a server that counts votes and replicas in a smaller configuration than its log's", []string{check.ElectionQuorum, check.CommitQuorum},
			func(c *Config) {
				c.Clients.Count = 0
				c.Load = Workload{IntervalMin: 5 * time.Millisecond, IntervalMax: 20 * time.Millisecond}
			},
			bug{edit: func(c *node.Config) { c.Peers = []node.ID{1, 2, 3} },
				view: func(v node.View) node.View { v.Config, v.Peers = fiveVoters, fiveVoters.Voters; return v }},
			nil},
		{"a leader that confirms reads in a smaller configuration than its log's", []string{check.ReadQuorum},
			func(c *Config) { c.Clients.PutWeight, c.Clients.AppendWeight = 0, 0 },
			bug{edit: func(c *node.Config) { c.Peers = []node.ID{1, 2, 3} },
				view: func(v node.View) node.View { v.Config, v.Peers = fiveVoters, fiveVoters.Voters; return v }},
			nil},
		{"a leader that answers reads without confirming its leadership", []string{check.ReadQuorum},
			nil,
			bug{after: func(n *node.Node, in node.Input, out *node.Output) {
				if in.Kind == node.InputClient && in.Request.Op == kv.OpGet && n.View().Role == node.Leader {
					out.Replies = append(out.Replies, node.Reply{Client: in.Request.Client, Seq: in.Request.Seq, Status: node.ReplyOK,
						Value: n.View().Store.Get(in.Request.Key)})
				}
			}},
			nil},
		{"a leader that forgets CheckQuorum", []string{check.LeaderQuorum},
			func(c *Config) { c.Node.CheckQuorum = true },
			bug{edit: func(c *node.Config) { c.CheckQuorum = false }},
			func(w *World) { atLeader(w, time.Second, func(w *World, l, _ node.ID) { w.Isolate(l) }) }},
		{"a follower that grants pre-votes while it hears its leader", []string{check.Stability},
			func(c *Config) { c.Node.PreVote = true },
			bug{after: func(n *node.Node, in node.Input, out *node.Output) {
				if m := in.Message; in.Kind == node.InputMessage && m.Type == node.MsgPreVote {
					out.Messages = append(out.Messages, node.Message{Type: node.MsgPreVoteResp, From: m.To, To: m.From, Term: m.Term, Success: true})
				}
			}},
			func(w *World) { atLeader(w, time.Second, func(w *World, l, f node.ID) { w.Cut(l, f) }) }},
		{"a follower that takes a disruptor's term while it hears its leader", []string{check.Stability},
			func(c *Config) { c.Node.CheckQuorum = true },
			bug{edit: func(c *node.Config) { c.CheckQuorum = false }},
			func(w *World) { atLeader(w, time.Second, func(w *World, l, f node.ID) { w.Cut(l, f) }) }},
		{"a transfer target that asks only the old leader for its vote", []string{check.TransferOutcome},
			nil,
			bug{after: func(n *node.Node, in node.Input, out *node.Output) {
				if in.Kind != node.InputMessage || in.Message.Type != node.MsgTimeoutNow {
					return
				}
				kept := out.Messages[:0]
				for _, m := range out.Messages {
					if m.Type != node.MsgVote || m.To == in.Message.From {
						kept = append(kept, m)
					}
				}
				out.Messages = kept
			}},
			func(w *World) { atLeader(w, time.Second, func(w *World, l, f node.ID) { w.Transfer(f) }) }},
		{"followers that never time out", []string{check.HealthyLiveness},
			nil,
			bug{before: func(n *node.Node, in node.Input) (node.Output, bool) {
				return node.Output{}, in.Kind == node.InputWake && n.View().Role != node.Leader
			}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := reliableConfig()
			cfg.Duration = 6 * time.Second
			if tt.config != nil {
				tt.config(&cfg)
			}
			run := func(planted bool) Result {
				c := cfg
				if planted {
					c.NewServer = tt.bug.newServer()
				}
				w := mustNew(t, c)
				if tt.script != nil {
					tt.script(w)
				}
				return w.Run()
			}
			if r := run(false); r.Failure != nil {
				t.Fatalf("without the bug: %v", r.Failure)
			}
			r := run(true)
			checkStopped(t, cfg, r)
			if !slices.Contains(tt.checks, r.Failure.Check) {
				t.Fatalf("failure %v, want one of %v", r.Failure, tt.checks)
			}
			if !slices.Contains(CheckNames(), r.Failure.Check) || r.Failure.Rule == "" {
				t.Errorf("check %q is not in CheckNames() %v, or has no rule (%q)", r.Failure.Check, CheckNames(), r.Failure.Rule)
			}
			t.Logf("caught: %v", r.Failure)
		})
	}
}

// TestTransfersJudgedUnderPerfectConditions: on a perfect network, with every combination
// of PreVote and CheckQuorum, leadership moves around the cluster every 400 ms under
// client load; Transfer Outcome judges every transfer (the target takes office) and
// nothing fires on the correct node.
func TestTransfersJudgedUnderPerfectConditions(t *testing.T) {
	for _, combo := range []struct{ preVote, checkQuorum bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("prevote=%v,checkquorum=%v", combo.preVote, combo.checkQuorum), func(t *testing.T) {
			judged := 0
			for seed := uint64(1); seed <= 5; seed++ {
				cfg := reliableConfig()
				cfg.Seed, cfg.Duration = seed, 5*time.Second
				cfg.Node.PreVote, cfg.Node.CheckQuorum = combo.preVote, combo.checkQuorum
				w := mustNew(t, cfg)
				for at := time.Second; at < cfg.Duration; at += 400 * time.Millisecond {
					atLeader(w, at, func(w *World, _, f node.ID) { w.Transfer(f) })
				}
				if r := w.Run(); r.Failure != nil {
					t.Fatalf("seed %d: %v", seed, r.Failure)
				}
				judged += w.OracleCoverage().Transfers
			}
			if judged < 5*9 {
				t.Fatalf("Transfer Outcome judged %d transfers of %d", judged, 5*10)
			}
			t.Logf("%d transfers judged", judged)
		})
	}
}
