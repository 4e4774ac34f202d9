package sim

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

func mustNew(t testing.TB, cfg Config) *World {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

// reliableConfig is DefaultConfig with a lossless network whose delay is at most 10 ms.
func reliableConfig() Config {
	c := DefaultConfig()
	c.Net.LossProbability = 0
	c.Net.DuplicateProbability = 0
	c.Net.TailProbability = 0
	c.Net.ReorderProbability = 0
	return c
}

func runConfig(t testing.TB, cfg Config) Result {
	t.Helper()
	return mustNew(t, cfg).Run()
}

func TestWorldSameSeedSameRun(t *testing.T) {
	a, b := runConfig(t, DefaultConfig()), runConfig(t, DefaultConfig())
	if a.Failure != nil {
		t.Fatalf("default run failed: %v", a.Failure)
	}
	if a.TraceHash != b.TraceHash {
		t.Errorf("same seed, different trace hashes: %016x and %016x", a.TraceHash, b.TraceHash)
	}
	if a.Counts != b.Counts {
		t.Errorf("same seed, different counts:\n%+v\n%+v", a.Counts, b.Counts)
	}
	if a.VirtualTime != b.VirtualTime || len(a.Timeline) != len(b.Timeline) {
		t.Errorf("same seed, different ends: %v/%d happenings and %v/%d", a.VirtualTime, len(a.Timeline), b.VirtualTime, len(b.Timeline))
	}
	for i := range min(len(a.Timeline), len(b.Timeline)) {
		if a.Timeline[i] != b.Timeline[i] {
			t.Errorf("timelines differ at %d: %+v vs %+v", i, a.Timeline[i], b.Timeline[i])
			break
		}
	}
}

func TestWorldDifferentSeedsDifferentRuns(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 6; seed++ {
		cfg := DefaultConfig()
		cfg.Seed = seed
		cfg.Duration = 3 * time.Second
		r := runConfig(t, cfg)
		if r.Failure != nil {
			t.Fatalf("seed %d failed: %v", seed, r.Failure)
		}
		if r.Seed != seed {
			t.Errorf("Result.Seed = %d, want %d", r.Seed, seed)
		}
		if prev, dup := seen[r.TraceHash]; dup {
			t.Errorf("seeds %d and %d have the same trace hash %016x", prev, seed, r.TraceHash)
		}
		seen[r.TraceHash] = seed
	}
}

func TestWorldDefaultRun(t *testing.T) {
	cfg := DefaultConfig()
	w := mustNew(t, cfg)
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("default run failed: %v\n%s", r.Failure, w.Describe())
	}
	if r.VirtualTime != cfg.Duration {
		t.Errorf("VirtualTime = %v, want the deadline %v", r.VirtualTime, cfg.Duration)
	}
	if r.Scenario != cfg.Scenario || r.Seed != cfg.Seed {
		t.Errorf("result names scenario %q seed %d, want %q seed %d", r.Scenario, r.Seed, cfg.Scenario, cfg.Seed)
	}
	if w.Leader() == node.None || len(w.LeaderHistory()) == 0 {
		t.Errorf("no leader at the end (history %v):\n%s", w.LeaderHistory(), w.Describe())
	}
	c := r.Counts
	t.Logf("counts: %+v", c)
	checks := []struct {
		what string
		ok   bool
	}{
		{"events > 0", c.Events > 0},
		{"messages sent > 0", c.MessagesSent > 0},
		{"messages delivered > 0", c.MessagesDelivered > 0},
		{"delivered <= 2 * sent (at most one duplicate each)", c.MessagesDelivered <= 2*c.MessagesSent},
		{"elections >= 1", c.Elections >= 1},
		{"leaders >= 1", c.Leaders >= 1},
		{"leaders <= elections", c.Leaders <= c.Elections},
		{"commits > 0", c.Commits > 0},
		{"no proposals (the proposer is off)", c.Proposals == 0 && c.ProposalsAccepted == 0},
		{"client ops > 0", c.ClientOps > 0},
		{"most client ops answered", c.ClientOK > c.ClientOps*9/10},
		{"every client op answered or unknown", c.ClientOK+c.ClientUnknown == c.ClientOps},
		{"history holds every op", uint64(len(r.History)) == c.ClientOps},
		{"applied >= commits", c.Applied >= c.Commits},
		{"applied <= nodes * commits (no crashes)", c.Applied <= uint64(cfg.Nodes)*c.Commits},
		{"no crashes", c.Crashes == 0 && c.Restarts == 0},
		{"no rejected inputs", c.Rejected == 0},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("implausible counts: want %s: %+v", ch.what, c)
		}
	}
	if got := w.Counts(); got != c {
		t.Errorf("World.Counts() after the run = %+v, Result.Counts = %+v", got, c)
	}
	if uint64(w.CommittedLen()) != c.Commits {
		t.Errorf("CommittedLen() = %d, Counts.Commits = %d", w.CommittedLen(), c.Commits)
	}
	var leaders int
	for _, h := range r.Timeline {
		if h.Kind == HappenLeader && strings.Contains(h.Text, "became leader") {
			leaders++
			if h.Node == node.None || h.Term == 0 {
				t.Errorf("bad leader happening %+v", h)
			}
		}
	}
	if uint64(leaders) != c.Leaders {
		t.Errorf("%d leader happenings on the timeline, Counts.Leaders = %d", leaders, c.Leaders)
	}
}

// TestWorldIdleIsCheap runs a cluster with no workload: with no periodic ticks, the only
// events are the leader's heartbeats and their acks (and the leader's own wake-ups), so a
// virtual second costs at most about nodes * 2 * (1 s / heartbeat) events.
func TestWorldIdleIsCheap(t *testing.T) {
	for _, nodes := range []int{1, 3, 5} {
		cfg := DefaultConfig()
		cfg.Nodes = nodes
		cfg.Clients = Clients{}
		r := runConfig(t, cfg)
		if r.Failure != nil {
			t.Fatalf("%d nodes: idle run failed: %v", nodes, r.Failure)
		}
		perSecond := float64(r.Counts.Events) / cfg.Duration.Seconds()
		beats := float64(time.Second / cfg.Node.HeartbeatInterval)
		bound := float64(nodes)*2*beats + 20
		t.Logf("%d nodes idle: %.0f events per virtual second (bound %.0f)", nodes, perSecond, bound)
		if perSecond > bound {
			t.Errorf("%d idle nodes cost %.0f events per virtual second, want at most %.0f: is something ticking?", nodes, perSecond, bound)
		}
		if r.Counts.Proposals != 0 {
			t.Errorf("workload off, but %d proposals", r.Counts.Proposals)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string // substrings of the error; none: valid
	}{
		{"default", func(c *Config) {}, nil},
		{"one node", func(c *Config) { c.Nodes = 1 }, nil},
		{"64 nodes", func(c *Config) { c.Nodes = 64 }, nil},
		{"workload off", func(c *Config) { c.Load = Workload{} }, nil},
		{"fixed workload interval", func(c *Config) { c.Load.IntervalMin, c.Load.IntervalMax = time.Millisecond, time.Millisecond }, nil},
		{"zero nodes", func(c *Config) { c.Nodes = 0 }, []string{"Nodes", "got 0"}},
		{"negative nodes", func(c *Config) { c.Nodes = -3 }, []string{"Nodes", "got -3"}},
		{"too many nodes", func(c *Config) { c.Nodes = 65 }, []string{"Nodes", "64", "got 65"}},
		{"zero duration", func(c *Config) { c.Duration = 0 }, []string{"Duration", "positive"}},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, []string{"Duration", "positive", "-1s"}},
		{"workload max below min", func(c *Config) { c.Load.IntervalMin, c.Load.IntervalMax = 10*time.Millisecond, time.Millisecond },
			[]string{"workload", "IntervalMin <= IntervalMax"}},
		{"workload negative min", func(c *Config) { c.Load.IntervalMin = -time.Millisecond }, []string{"workload", "0 <= IntervalMin"}},
		{"workload zero min", func(c *Config) { c.Load.IntervalMin, c.Load.IntervalMax = 0, time.Millisecond }, []string{"workload", "IntervalMin must be positive"}},
		{"no clients", func(c *Config) { c.Clients = Clients{} }, nil},
		{"negative clients", func(c *Config) { c.Clients.Count = -1 }, []string{"Clients.Count", "got -1"}},
		{"too many clients", func(c *Config) { c.Clients.Count = 1001 }, []string{"Clients.Count", "1000"}},
		{"clients without keys", func(c *Config) { c.Clients.Keys = 0 }, []string{"Clients.Keys", "positive"}},
		{"negative weight", func(c *Config) { c.Clients.PutWeight = -1 }, []string{"weights", "negative"}},
		{"all weights zero", func(c *Config) { c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 0, 0, 0 }, []string{"weights", "all zero"}},
		{"only gets", func(c *Config) { c.Clients.PutWeight, c.Clients.AppendWeight = 0, 0 }, nil},
		{"zero request timeout", func(c *Config) { c.Clients.RequestTimeout = 0 }, []string{"RequestTimeout", "positive"}},
		{"give up before one attempt", func(c *Config) { c.Clients.GiveUpAfter = time.Millisecond }, []string{"GiveUpAfter", "RequestTimeout"}},
		{"clients negative start", func(c *Config) { c.Clients.Start = -1 }, []string{"Clients.Start", "negative"}},
		{"clients stop before start", func(c *Config) { c.Clients.Start, c.Clients.Stop = 2*time.Second, time.Second }, []string{"Stop", "before Start"}},
		{"drift 5%", func(c *Config) { c.Clocks.DriftMax = 0.05 }, nil},
		{"drift negative", func(c *Config) { c.Clocks.DriftMax = -0.1 }, []string{"DriftMax", "[0, 1)"}},
		{"drift 100%", func(c *Config) { c.Clocks.DriftMax = 1 }, []string{"DriftMax"}},
		{"lease without check-quorum", func(c *Config) { c.Node.ReadMode = node.ReadLease }, []string{"ReadLease", "CheckQuorum"}},
		{"lease with check-quorum", func(c *Config) {
			c.Node.ReadMode, c.Node.CheckQuorum, c.Node.MaxClockDrift = node.ReadLease, true, 0.01
		}, nil},
		{"network delays reversed", func(c *Config) { c.Net.DelayMin, c.Net.DelayMax = 20*time.Millisecond, 10*time.Millisecond },
			[]string{"DelayMin", "DelayMax"}},
		{"network negative delay", func(c *Config) { c.Net.DelayMin = -1 }, []string{"DelayMin", "negative"}},
		{"network loss above 1", func(c *Config) { c.Net.LossProbability = 1.5 }, []string{"LossProbability", "[0, 1]"}},
		{"node heartbeat zero", func(c *Config) { c.Node.HeartbeatInterval = 0 }, []string{"HeartbeatInterval", "positive"}},
		{"node election timeout below heartbeat", func(c *Config) { c.Node.ElectionTimeoutMin = 50 * time.Millisecond },
			[]string{"ElectionTimeoutMin", "HeartbeatInterval"}},
		{"node election timeout range empty", func(c *Config) { c.Node.ElectionTimeoutMax = c.Node.ElectionTimeoutMin },
			[]string{"ElectionTimeoutMax", "ElectionTimeoutMin"}},
		{"node negative batch", func(c *Config) { c.Node.MaxEntriesPerMessage = -1 }, []string{"MaxEntriesPerMessage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			_, newErr := New(c)
			if tt.want == nil {
				if err != nil || newErr != nil {
					t.Fatalf("Validate = %v, New = %v; want both nil", err, newErr)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted a bad config; want an error mentioning %q", tt.want)
			}
			if newErr == nil || newErr.Error() != err.Error() {
				t.Errorf("New error %v differs from Validate error %v", newErr, err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestConfigValidateWorkloadStart: a negative Workload.Start is accepted today, and the
// proposer's first event then sits before time 0, so virtual time runs backwards (from
// the boot at 0 to Start) and servers are stepped with negative clock readings.
func TestConfigValidateWorkloadStart(t *testing.T) {
	c := DefaultConfig()
	c.Load.Start = -time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Start") {
		t.Errorf("Validate = %v, want an error about the workload's Start", err)
	}
	// What happens if it is accepted: time goes backwards.
	c.Duration = time.Second
	var last time.Duration
	c.Trace = func(line string) {
		d, err := time.ParseDuration(strings.Fields(line)[0])
		if err == nil && d < last {
			t.Fatalf("virtual time went back from %v: %q", last, line)
		}
		last = d
	}
	if w, err := New(c); err == nil {
		w.Run()
	}
}

// traceLine is the shape of every trace line: a right-aligned virtual time with
// microseconds, then the node (or blanks) and the text.
var traceLine = regexp.MustCompile(`^ *[0-9]+\.[0-9]{6}s ([nc][0-9 ]{2}|   ) .*\S`)

// faultyConfig is a default run shortened to 4 s, with every kind of fault scheduled, so
// that tracing is compared on the fault paths too.
func faultyWorld(t *testing.T, trace func(string)) *World {
	cfg := DefaultConfig()
	cfg.Duration = 4 * time.Second
	cfg.Load = Workload{IntervalMin: 5 * time.Millisecond, IntervalMax: 15 * time.Millisecond}
	cfg.Trace = trace
	w := mustNew(t, cfg)
	w.At(500*time.Millisecond, "crash 2", func(w *World) { w.Crash(2) })
	w.At(time.Second, "restart 2", func(w *World) { w.Restart(2) })
	w.At(1500*time.Millisecond, "partition", func(w *World) { w.Partition([]node.ID{1, 2}) })
	w.At(2*time.Second, "heal", func(w *World) { w.Heal() })
	w.At(2500*time.Millisecond, "campaign 3", func(w *World) { w.Campaign(3) })
	return w
}

func TestTrace(t *testing.T) {
	var lines []string
	traced := faultyWorld(t, func(s string) { lines = append(lines, s) }).Run()
	plain := faultyWorld(t, nil).Run()
	if traced.Failure != nil || plain.Failure != nil {
		t.Fatalf("runs failed: traced %v, plain %v", traced.Failure, plain.Failure)
	}
	if traced.TraceHash != plain.TraceHash || traced.Counts != plain.Counts {
		t.Errorf("tracing changed the run: hash %016x vs %016x, counts\n%+v\n%+v",
			traced.TraceHash, plain.TraceHash, traced.Counts, plain.Counts)
	}
	if uint64(len(lines)) < traced.Counts.Events {
		t.Errorf("%d trace lines for %d events; want at least one per event", len(lines), traced.Counts.Events)
	}
	for i, l := range lines {
		if !traceLine.MatchString(l) {
			t.Fatalf("trace line %d does not start with a virtual time: %q", i, l)
		}
		if strings.Contains(l, "\n") {
			t.Fatalf("trace line %d spans lines: %q", i, l)
		}
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{" wake", " recv App ", " send Vote ", "fault: node 2 crashed", "fault: node 2 restarted",
		"fault: partition", "fault: healed", "action crash 2", "campaign (forced)", "-> leader", `propose "w1"`,
		"c1  invoke c1#1", "request c1#1", "   reply c", " ok c", "c2  request c2#"} {
		if !strings.Contains(all, want) {
			t.Errorf("trace has no line containing %q", want)
		}
	}
	// Times never go backwards.
	var last time.Duration
	for i, l := range lines {
		d, err := time.ParseDuration(strings.Fields(l)[0])
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if d < last {
			t.Fatalf("line %d goes back in time (%v after %v): %q", i, d, last, l)
		}
		last = d
	}
}

func TestFmtTime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                 "0.000000s",
		123456 * time.Microsecond:         "0.123456s",
		time.Second + 999:                 "1.000000s",
		12*time.Second + time.Millisecond: "12.001000s",
	} {
		if got := fmtTime(d); got != want {
			t.Errorf("fmtTime(%v) = %q, want %q", d, got, want)
		}
	}
}

// BenchmarkWorldDefault runs sim.DefaultConfig (5 nodes, the standard network faults,
// the built-in workload, every check on, 10 virtual seconds) and reports simulated
// events per wall-clock second.
func BenchmarkWorldDefault(b *testing.B) {
	var events uint64
	var virtual time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cfg := DefaultConfig()
		cfg.Seed = uint64(i + 1)
		r := mustNew(b, cfg).Run()
		if r.Failure != nil {
			b.Fatalf("seed %d: %v", cfg.Seed, r.Failure)
		}
		events += r.Counts.Events
		virtual += r.VirtualTime
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/secs, "events/s")
	b.ReportMetric(virtual.Seconds()/secs, "x-realtime")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}
