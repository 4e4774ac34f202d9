package nemesis

import (
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// testConfig is a reliable cluster of voters voters and spares spares, two clients, for d.
func testConfig(voters, spares int, d time.Duration) sim.Config {
	c := sim.DefaultConfig()
	c.Seed = 11
	c.Nodes, c.Spares = voters, spares
	c.Net.LossProbability, c.Net.DuplicateProbability, c.Net.TailProbability = 0, 0, 0
	c.Clients.Count = 2
	c.Duration = d
	return c
}

// only is a mix with kinds ks on, weight 1 each.
func only(ks ...Kind) Mix {
	var m Mix
	for _, k := range ks {
		m[k] = 1
	}
	return m
}

// randomTicks are options ticking every 100-200 ms from 500 ms until end.
func randomTicks(m Mix, end time.Duration) Options {
	return Options{Mix: m, Start: 500 * time.Millisecond, End: end, GapMin: 100 * time.Millisecond, GapMax: 200 * time.Millisecond,
		Label: "nemesis", HealLabel: "heal", FinalHealLabel: "heal everything",
		PauseMin: 50 * time.Millisecond, PauseMax: 300 * time.Millisecond, ClockDrift: 0.01, ClockJumpMax: 200 * time.Millisecond,
		Net: NetChoices{Loss: []float64{0.1}, Duplicate: []float64{0.05}}}
}

// run runs a world of cfg with a nemesis of o and returns both and the result; a failed
// safety check fails the test.
func run(t *testing.T, cfg sim.Config, o Options) (*Nemesis, *sim.World, sim.Result) {
	t.Helper()
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.Start(w, nil)
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v\n%s", r.Failure, w.Describe())
	}
	return n, w, r
}

// happenings returns the timeline entries of kind k.
func happenings(r sim.Result, k sim.HappeningKind) []sim.Happening {
	var out []sim.Happening
	for _, h := range r.Timeline {
		if h.Kind == k {
			out = append(out, h)
		}
	}
	return out
}

func hasText(r sim.Result, k sim.HappeningKind, s string) bool {
	return slices.ContainsFunc(happenings(r, k), func(h sim.Happening) bool { return strings.Contains(h.Text, s) })
}

// TestMixPick: one draw in [0, Total) walks the weights in Kind order, so churn's mix maps
// IntN(6) as churn always did: 0-1 crash, 2 restart, 3 partition, 4 isolate, 5 heal.
func TestMixPick(t *testing.T) {
	var churn Mix
	churn[Crash], churn[Restart], churn[Partition], churn[Isolate], churn[Heal] = 2, 1, 1, 1, 1
	var standard Mix
	standard[Crash], standard[PairPartition] = 1, 1
	tests := []struct {
		name string
		mix  Mix
		want []Kind // want[v] is the kind for draw v
	}{
		{"churn", churn, []Kind{Crash, Crash, Restart, Partition, Isolate, Heal}},
		{"standard", standard, []Kind{Crash, PairPartition}},
		{"last kind", only(Transfer), []Kind{Transfer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mix.Total() != len(tt.want) {
				t.Fatalf("Total() = %d, want %d", tt.mix.Total(), len(tt.want))
			}
			for v, want := range tt.want {
				if got := tt.mix.pick(v); got != want {
					t.Errorf("pick(%d) = %v, want %v", v, got, want)
				}
			}
		})
	}
	if got := churn.String(); got != "crash×2 restart×1 partition×1 isolate×1 heal×1" {
		t.Errorf("String() = %q", got)
	}
	var none Mix
	if none.String() != "none" {
		t.Errorf("an empty mix prints %q, want none", none.String())
	}
}

// TestKindTable: every kind has a distinct name and an action (the table is complete).
func TestKindTable(t *testing.T) {
	seen := map[string]bool{}
	for k := Kind(0); k < NumKinds; k++ {
		e := kinds()[k]
		if e.name == "" || e.act == nil {
			t.Errorf("kind %d has no table entry (name %q)", k, e.name)
		}
		if seen[e.name] {
			t.Errorf("two kinds are named %q", e.name)
		}
		seen[e.name] = true
		if k.String() != e.name {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), e.name)
		}
	}
	if s := NumKinds.String(); !strings.Contains(s, "kind(") {
		t.Errorf("an unknown kind prints %q", s)
	}
	if !AddServer.Operator() || !Transfer.Operator() || Crash.Operator() || NetRates.Operator() {
		t.Error("Operator() does not mark exactly the membership and transfer kinds")
	}
}

func TestValidate(t *testing.T) {
	good := randomTicks(only(Crash, Pause, ClockRate, ClockJump), 2*time.Second)
	tests := []struct {
		name    string
		change  func(o *Options)
		wantErr string // "" for valid
	}{
		{"good", func(o *Options) {}, ""},
		{"negative weight", func(o *Options) { o.Mix[Heal] = -1 }, "negative"},
		{"both modes", func(o *Options) { o.Period = time.Second }, "choose one mode"},
		{"zero gap", func(o *Options) { o.GapMin = 0 }, "GapMin"},
		{"gaps reversed", func(o *Options) { o.GapMin = 3 * time.Second }, "GapMin"},
		{"end before start", func(o *Options) { o.End = 100 * time.Millisecond }, "Start <= End"},
		{"pause without duration", func(o *Options) { o.PauseMin = 0 }, "PauseMin"},
		{"clock rate without bound", func(o *Options) { o.ClockDrift = 0 }, "ClockDrift"},
		{"clock jump without bound", func(o *Options) { o.ClockJumpMax = 0 }, "ClockJumpMax"},
		{"rate above 1", func(o *Options) { o.Net.Loss = []float64{1.5} }, "[0, 1]"},
		{"negative quiet", func(o *Options) { o.AdminQuiet = -1 }, "AdminQuiet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			o.Net.Loss = slices.Clone(o.Net.Loss)
			tt.change(&o)
			_, err := New(o)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestKindsTakeEffect runs each kind alone and checks what it did to the world.
func TestKindsTakeEffect(t *testing.T) {
	const end = 4 * time.Second
	tests := []struct {
		name   string
		mix    Mix
		spares int
		check  func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result)
	}{
		{"crash", only(Crash), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			// A crash of a crashed victim restarts it: both happen.
			if r.Counts.Crashes == 0 || r.Counts.Crashes != uint64(n.Count(Crash)) || n.Count(Restart) == 0 {
				t.Errorf("crashes %d (counted %d), restarts counted %d", r.Counts.Crashes, n.Count(Crash), n.Count(Restart))
			}
		}},
		{"restart", only(Crash, Restart), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			if n.Count(Restart) == 0 || len(happenings(r, sim.HappenRestart)) != n.Count(Restart) {
				t.Errorf("restarts counted %d, on the timeline %d", n.Count(Restart), len(happenings(r, sim.HappenRestart)))
			}
		}},
		{"partition", only(Partition), 0, wantText(Partition, sim.HappenNetwork, "partition: {")},
		{"pair-partition", only(PairPartition), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			for _, h := range happenings(r, sim.HappenNetwork) {
				// "partition: {a b} | {the other three}"
				if g := strings.Fields(strings.Trim(strings.Split(strings.TrimPrefix(h.Text, "partition: "), " | ")[0], "{}")); len(g) != 2 || g[0] == g[1] {
					t.Errorf("%q: want a pair of distinct servers cut off", h.Text)
				}
			}
			wantText(PairPartition, sim.HappenNetwork, "partition: {")(t, n, w, r)
		}},
		{"isolate", only(Isolate), 0, wantText(Isolate, sim.HappenNetwork, "isolate: cut:")},
		{"one-way", only(OneWay), 0, wantText(OneWay, sim.HappenNetwork, "->")},
		{"bridge", only(Bridge), 0, wantText(Bridge, sim.HappenNetwork, "bridge: cut:")},
		{"heal", only(Heal), 0, wantText(Heal, sim.HappenHeal, "all links up")},
		{"pause", only(Pause), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			ps := happenings(r, sim.HappenPause)
			if n.Count(Pause) == 0 || len(ps) != n.Count(Pause) {
				t.Fatalf("pauses counted %d, on the timeline %d", n.Count(Pause), len(ps))
			}
			for _, p := range ps {
				if d := p.Until - p.Time; d < 50*time.Millisecond || d >= 300*time.Millisecond {
					t.Errorf("a pause of %v, want [50ms, 300ms)", d)
				}
			}
		}},
		{"clock-rate", only(ClockRate), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			changed := 0
			for id := node.ID(1); int(id) <= w.Nodes(); id++ {
				rate := w.ClockRate(id)
				if rate <= 0.99 || rate >= 1.01 {
					t.Errorf("node %d's clock runs at %v, outside the bound 1±0.01", id, rate)
				}
				if rate != 1 {
					changed++
				}
			}
			if changed == 0 || n.Count(ClockRate) == 0 {
				t.Errorf("no clock rate changed (%d ticks counted)", n.Count(ClockRate))
			}
		}},
		{"clock-jump", only(ClockJump), 0, wantText(ClockJump, sim.HappenClock, "wall clock stepped")},
		{"net-rates", only(NetRates), 0, wantText(NetRates, sim.HappenNetConfig, "loss 10%, duplication 5%")},
		{"add-server", only(AddServer), 2, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			if got := r.FinalConfig.Voters; !slices.Equal(got, []node.ID{1, 2, 3, 4, 5}) || n.Count(AddServer) != 2 || n.ChangesDone() != 2 {
				t.Errorf("final voters %v after %d requests (%d done), want both spares added", got, n.Count(AddServer), n.ChangesDone())
			}
		}},
		{"remove-server", only(RemoveServer), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			if got := r.FinalConfig.Voters; len(got) != 1 || n.ChangesDone() != 2 {
				t.Errorf("final voters %v after %d changes, want one voter left of three", got, n.ChangesDone())
			}
		}},
		{"remove-leader", only(RemoveLeader), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			if n.Count(RemoveLeader) == 0 || n.ChangesDone() == 0 || len(r.FinalConfig.Voters) >= 3 {
				t.Errorf("%d leader removals requested, %d done, final voters %v", n.Count(RemoveLeader), n.ChangesDone(), r.FinalConfig.Voters)
			}
		}},
		{"re-add-server", only(RemoveServer, ReAddServer), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			if n.Count(ReAddServer) == 0 {
				t.Errorf("no removed server re-added (%d removals)", n.Count(RemoveServer))
			}
		}},
		{"transfer", only(Transfer), 0, func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
			if n.Count(Transfer) == 0 || r.Counts.TransfersCompleted == 0 {
				t.Errorf("%d transfers asked, %d completed", n.Count(Transfer), r.Counts.TransfersCompleted)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(3, tt.spares, end)
			if tt.mix[ClockRate] > 0 {
				cfg.Node.MaxClockDrift = 0.01
			}
			n, w, r := run(t, cfg, randomTicks(tt.mix, end))
			tt.check(t, n, w, r)
			for k, c := range n.Counts() {
				if c > 0 && tt.mix[k] == 0 && !(Kind(k) == Restart && tt.mix[Crash] > 0) {
					t.Errorf("%v counted %d times, but it is off", Kind(k), c)
				}
			}
		})
	}
}

// wantText checks that kind k took effect and left happenings of kind hk whose text
// contains s, one per count.
func wantText(k Kind, hk sim.HappeningKind, s string) func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
	return func(t *testing.T, n *Nemesis, w *sim.World, r sim.Result) {
		hs := happenings(r, hk)
		if n.Count(k) == 0 || len(hs) != n.Count(k) || !hasText(r, hk, s) {
			t.Errorf("%v counted %d times, %d %v happenings, want as many, with %q", k, n.Count(k), len(hs), hk, s)
		}
	}
}

// TestNeverRemovesTheLastVoter: in a one-voter cluster no removal is ever requested
// (the server would answer ReplyInvalid).
func TestNeverRemovesTheLastVoter(t *testing.T) {
	n, _, r := run(t, testConfig(1, 0, 3*time.Second), randomTicks(only(RemoveServer, RemoveLeader, Transfer), 3*time.Second))
	if r.Counts.AdminRequests != 0 || n.Count(RemoveServer)+n.Count(RemoveLeader)+n.Count(Transfer) != 0 {
		t.Fatalf("%d admin requests, counts %s: nothing can be removed or transferred to in a one-voter cluster", r.Counts.AdminRequests, n.Summary())
	}
}

// TestDecommission: with Decommission a removed server is shut down, stays down through
// crashes' restarts and the final heal, and comes back when it is re-added; without it,
// the final heal restarts it.
func TestDecommission(t *testing.T) {
	for _, decommission := range []bool{true, false} {
		o := randomTicks(only(RemoveServer), 2*time.Second)
		o.Mix[Crash] = 1
		o.FinalHeal, o.Decommission = true, decommission
		cfg := testConfig(3, 0, 3*time.Second)
		n, w, r := run(t, cfg, o)
		if n.ChangesDone() == 0 {
			t.Fatalf("decommission %v: no removal completed: %s", decommission, n.Summary())
		}
		for id := node.ID(1); int(id) <= w.Nodes(); id++ {
			removed := !r.FinalConfig.IsMember(id)
			if up := w.Up(id); up != (!removed || !decommission) {
				t.Errorf("decommission %v: node %d (removed %v) up %v at the end", decommission, id, removed, up)
			}
		}
	}
	o := randomTicks(only(RemoveServer, ReAddServer), 4*time.Second)
	o.Decommission = true
	n, _, r := run(t, testConfig(3, 0, 5*time.Second), o)
	if n.Count(ReAddServer) == 0 || r.Counts.Restarts == 0 {
		t.Fatalf("re-adds %d, restarts %d: a decommissioned server must be restarted to be re-added", n.Count(ReAddServer), r.Counts.Restarts)
	}
}

// TestAdminQuiet: a membership change is requested only AdminQuiet after the previous
// one completed, and never while one is pending.
func TestAdminQuiet(t *testing.T) {
	const quiet = 700 * time.Millisecond
	o := randomTicks(only(AddServer, RemoveServer), 6*time.Second)
	o.AdminQuiet = quiet
	n, _, r := run(t, testConfig(3, 2, 6*time.Second), o)
	var lastDone time.Duration
	pending := false
	for _, h := range happenings(r, sim.HappenAdmin) {
		switch {
		case strings.HasSuffix(h.Text, "requested"):
			if pending {
				t.Errorf("%v: %q while another request is pending", h.Time, h.Text)
			}
			if lastDone > 0 && h.Time-lastDone < quiet {
				t.Errorf("%v: %q only %v after the previous change completed, want at least %v", h.Time, h.Text, h.Time-lastDone, quiet)
			}
			pending = true
		case strings.Contains(h.Text, " done after "):
			pending, lastDone = false, h.Time
		}
	}
	if n.ChangesDone() < 2 {
		t.Fatalf("only %d changes completed: the test shows nothing", n.ChangesDone())
	}
}

// TestPeriodicMode: standard's shape: a fault at Start, Start+Period... before End, each
// healed HealAfter later (links up, servers restarted).
func TestPeriodicMode(t *testing.T) {
	o := Options{Mix: only(Crash), Start: time.Second, End: 4 * time.Second, Period: time.Second, HealAfter: 500 * time.Millisecond,
		Label: "fault", HealLabel: "heal"}
	n, _, r := run(t, testConfig(3, 0, 5*time.Second), o)
	var crashes, restarts []time.Duration
	for _, h := range happenings(r, sim.HappenCrash) {
		crashes = append(crashes, h.Time)
	}
	for _, h := range happenings(r, sim.HappenRestart) {
		restarts = append(restarts, h.Time)
	}
	wantCrashes := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	wantRestarts := []time.Duration{1500 * time.Millisecond, 2500 * time.Millisecond, 3500 * time.Millisecond}
	if !slices.Equal(crashes, wantCrashes) || !slices.Equal(restarts, wantRestarts) || n.Count(Crash) != 3 {
		t.Fatalf("crashes at %v, restarts at %v (%d counted), want %v and %v", crashes, restarts, n.Count(Crash), wantCrashes, wantRestarts)
	}
	if got := len(happenings(r, sim.HappenHeal)); got != 3 {
		t.Errorf("%d heals, want one per fault", got)
	}
}

// TestRandomModeStopsAtEnd: no fault at or after End but the final heal, which brings
// every server up, every link up and the network's rates back.
func TestRandomModeStopsAtEnd(t *testing.T) {
	const end = 2 * time.Second
	o := randomTicks(only(Crash, Partition, NetRates), end)
	o.FinalHeal = true
	healed := false
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sim.New(testConfig(5, 0, 4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n.Start(w, func(w *sim.World) {
		healed = true
		for id := node.ID(1); int(id) <= w.Nodes(); id++ {
			if !w.Up(id) {
				t.Errorf("node %d is down after the final heal", id)
			}
		}
	})
	r := w.Run()
	if r.Failure != nil || !healed {
		t.Fatalf("failure %v, final heal ran %v", r.Failure, healed)
	}
	for _, h := range r.Timeline {
		if h.Time > end || (h.Time == end && h.Kind != sim.HappenHeal && h.Kind != sim.HappenRestart && h.Kind != sim.HappenNetConfig) {
			if h.Kind == sim.HappenCrash || h.Kind == sim.HappenNetwork || (h.Kind == sim.HappenNetConfig && h.Time > end) {
				t.Errorf("%v: %v %q after the nemesis's end %v", h.Time, h.Kind, h.Text, end)
			}
		}
	}
	last := happenings(r, sim.HappenNetConfig)
	if len(last) < 2 || last[len(last)-1].Time != end || !strings.Contains(last[len(last)-1].Text, "loss 0%, duplication 0%") {
		t.Errorf("the network's rates were not restored at the final heal: %v", last)
	}
	if n.Count(Crash) == 0 || n.Count(Partition) == 0 || n.Count(NetRates) == 0 {
		t.Errorf("counts %s: want every kind of the mix", n.Summary())
	}
}

// TestSameSeedSameFaults: the nemesis draws only from the world's fault stream, so two
// runs of one seed inject the same faults (the trace hashes agree), and another seed
// injects others.
func TestSameSeedSameFaults(t *testing.T) {
	o := randomTicks(only(Crash, Restart, Partition, OneWay, Bridge, Pause, ClockJump, Transfer), 3*time.Second)
	cfg := testConfig(5, 0, 3*time.Second)
	a, _, ra := run(t, cfg, o)
	b, _, rb := run(t, cfg, o)
	cfg.Seed++
	_, _, rc := run(t, cfg, o)
	if ra.TraceHash != rb.TraceHash || a.Summary() != b.Summary() {
		t.Fatalf("one seed, two runs: hashes %016x and %016x, faults %s and %s", ra.TraceHash, rb.TraceHash, a.Summary(), b.Summary())
	}
	if rc.TraceHash == ra.TraceHash {
		t.Fatalf("seeds %d and %d gave the same trace", cfg.Seed-1, cfg.Seed)
	}
}

func TestSummary(t *testing.T) {
	n := &Nemesis{}
	if n.Summary() != "nothing" {
		t.Errorf("Summary() = %q, want nothing", n.Summary())
	}
	n.counts[Crash], n.counts[Heal], n.counts[AddServer], n.changesDone = 3, 1, 2, 1
	if got, want := n.Summary(), "crash 3, heal 1, add-server 2 (membership changes completed: 1)"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}
