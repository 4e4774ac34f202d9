package scenarios

import (
	"testing"
	"time"

	"raftsim/linearizability"
	"raftsim/sim"
	"raftsim/sim/schedule"
)

// BenchmarkStandard runs the standard scenario (see standard) with every check on, the
// history check included, and reports simulated events per wall-clock second and virtual
// time per wall time. Compare figures with:
//
//	go test ./scenarios -run '^$' -bench Standard -count 6 | benchstat
func BenchmarkStandard(b *testing.B) {
	sc := mustLookup(b, "standard")
	var events uint64
	var virtual time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o := Run(sc, uint64(i+1), Options{})
		if o.Failed() || o.Inconclusive() {
			b.Fatal(Report(&o))
		}
		events += o.Counts.Events
		virtual += o.VirtualTime
	}
	reportSpeed(b, events, virtual)
}

// BenchmarkStandardSimulation is BenchmarkStandard without the history check: the
// simulator with its per-event safety checks alone.
func BenchmarkStandardSimulation(b *testing.B) {
	sc := mustLookup(b, "standard")
	var events uint64
	var virtual time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res := simulate(b, sc, uint64(i+1))
		events += res.Counts.Events
		virtual += res.VirtualTime
	}
	reportSpeed(b, events, virtual)
}

// BenchmarkStandardSnapshots is BenchmarkStandardSimulation with log compaction on: a
// snapshot every 100 applied entries (written at the next event), the rest unchanged. It
// shows what snapshots cost the simulator (taking, saving, installing, and the checks of
// snapshots and of the state machine).
func BenchmarkStandardSnapshots(b *testing.B) {
	sc := mustLookup(b, "standard")
	var events, saved uint64
	var virtual time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res := simulateWith(b, sc, uint64(i+1), func(c *sim.Config) { c.Node.SnapshotThreshold = 100 })
		events += res.Counts.Events
		virtual += res.VirtualTime
		saved += res.Counts.SnapshotsSaved
	}
	reportSpeed(b, events, virtual)
	b.ReportMetric(float64(saved)/float64(b.N), "snapshots/run")
}

// BenchmarkStandardHistoryCheck is the linearizability check of standard runs' histories
// alone (the histories are made before the timer starts), to compare with
// BenchmarkStandardSimulation: the check must cost well under the simulation.
func BenchmarkStandardHistoryCheck(b *testing.B) {
	sc := mustLookup(b, "standard")
	const histories = 8
	var hs [histories][]linearizability.Op
	for k := range hs {
		hs[k] = simulate(b, sc, uint64(k+1)).History
	}
	ops := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h := hs[i%histories]
		res, err := linearizability.Check(h, DefaultCheckBudget)
		if err != nil || res.Verdict != linearizability.Linearizable {
			b.Fatalf("history %d: %v %v", i%histories, res, err)
		}
		ops += len(h)
	}
	b.ReportMetric(float64(ops)/float64(b.N), "ops/history")
}

func mustLookup(b *testing.B, name string) Scenario {
	sc, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

// simulate runs a scenario's simulation only: no history check, no assertion.
func simulate(b *testing.B, sc Scenario, seed uint64) sim.Result {
	return simulateWith(b, sc, seed, nil)
}

// simulateWith is simulate with the configuration changed by change (if not nil).
func simulateWith(b *testing.B, sc Scenario, seed uint64, change func(*sim.Config)) sim.Result {
	cfg := sc.Config(seed)
	if change != nil {
		change(&cfg)
	}
	w, err := sim.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	sc.Script(w)
	res := w.Run()
	if res.Failure != nil {
		b.Fatal(res.Failure)
	}
	return res
}

func reportSpeed(b *testing.B, events uint64, virtual time.Duration) {
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/secs, "events/s")
	b.ReportMetric(virtual.Seconds()/secs, "x-realtime")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}

// BenchmarkStandardRecorded is BenchmarkStandardSimulation recording the run as a timed
// schedule (sim.Config.Record), and BenchmarkStandardReplayed replaying that recording
// (sim.Config.Replay): what export and replay cost the simulator.
func BenchmarkStandardRecorded(b *testing.B) {
	sc := mustLookup(b, "standard")
	var events uint64
	var virtual time.Duration
	lines := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var n int
		res := simulateWith(b, sc, uint64(i+1), func(c *sim.Config) { c.Record = func(schedule.Action) { n++ } })
		events += res.Counts.Events
		virtual += res.VirtualTime
		lines += n
	}
	reportSpeed(b, events, virtual)
	b.ReportMetric(float64(lines)/float64(b.N), "lines/run")
}

func BenchmarkStandardReplayed(b *testing.B) {
	sc := mustLookup(b, "standard")
	const runs = 8
	var schedules [runs]*schedule.Schedule
	for i := range schedules {
		_, schedules[i] = Export(sc, uint64(i+1), Options{skipHistory: true})
	}
	var events uint64
	var virtual time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := schedules[i%runs]
		res := simulateWith(b, sc, s.Seed, func(c *sim.Config) { c.Replay = s })
		events += res.Counts.Events
		virtual += res.VirtualTime
	}
	reportSpeed(b, events, virtual)
}
