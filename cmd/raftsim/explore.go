package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/sim/explore"
)

// exploreArgs are explore's flags, as given.
type exploreArgs struct {
	nodes, clients, depth, crashes, restarts, drops, dups, ops, retries, admin, maxTerm textFlag
	mode, walks, workers, maxStates, budget, liveness, livenessEvery, seed              textFlag
	reads, scheduleOut                                                                  textFlag
	symmetry, independence, preVote, checkQuorum                                        optionalBool
}

// intFlag is one of explore's integer flags: its name, its value as given, its bounds
// and where the checked value goes.
type intFlag struct {
	name   string
	text   *textFlag
	lo, hi int
	dst    *int
}

func (a *cmdArgs) declareExplore(fs *flag.FlagSet) {
	e := &a.explore
	d := explore.DefaultOptions()
	for _, f := range []struct {
		v     *textFlag
		name  string
		value int
		usage string
	}{
		{&e.nodes, "nodes", d.Nodes, "`N` servers, all voters, 1..9"},
		{&e.clients, "clients", d.Clients, "`N` clients sharing the -ops operations, 1..9"},
		{&e.depth, "depth", d.Depth, "at most `N` transitions per path, 1..1000"},
		{&e.crashes, "crashes", d.Crashes, "at most `N` crashes per path"},
		{&e.restarts, "restarts", d.Restarts, "at most `N` restarts per path"},
		{&e.drops, "drops", d.Drops, "at most `N` dropped packets per path"},
		{&e.dups, "dups", d.Dups, "at most `N` duplicated packets per path"},
		{&e.ops, "ops", d.Ops, "`N` client operations per path (puts and gets of one key, alternating)"},
		{&e.retries, "retries", d.Retries, "at most `N` client retries per path"},
		{&e.admin, "admin", d.Admin, "at most `N` leadership transfers per path"},
		{&e.maxTerm, "max-term", d.MaxTerm, "no server goes beyond term `T`"},
		{&e.walks, "walks", 1000, "with -mode walk, take `N` random walks"},
		{&e.workers, "workers", 0, "use `N` goroutines (0: one per CPU); results do not depend on it"},
		{&e.maxStates, "max-states", 0, "stop after `N` distinct states (0: no limit); the verdict is then inconclusive"},
		{&e.liveness, "liveness", 0, "check that a leader is elected and operations complete within `K` fault-free transitions (0: off)"},
		{&e.livenessEvery, "liveness-every", 1, "with -liveness, check from one explored state in `N`"},
	} {
		f.v.value = strconv.Itoa(f.value)
		fs.Var(f.v, f.name, f.usage)
	}
	e.mode.value = "bfs"
	fs.Var(&e.mode, "mode", "search `MODE`: bfs (shortest counterexamples), dfs (little memory) or walk (seeded random walks)")
	e.seed.value = "1"
	fs.Var(&e.seed, "seed", "root `SEED` of the servers' timer streams (and of the walks)")
	fs.Var(&e.budget, "for", "stop after `D` of wall-clock time, e.g. 60s (default: no limit); the verdict is then inconclusive")
	fs.Var(&e.reads, "reads", "`MODE` of reads: readindex (default) or local (unsafe); lease reads need bounded clocks, which abstract time has not")
	fs.Var(&e.preVote, "prevote", "turn PreVote on: -prevote=true")
	fs.Var(&e.checkQuorum, "checkquorum", "turn CheckQuorum on: -checkquorum=true")
	fs.Var(&e.symmetry, "symmetry", "count states equal up to renaming the servers once")
	fs.Var(&e.independence, "independence", "explore one order of deliveries to different servers (bfs only)")
	fs.Var(&e.scheduleOut, "schedule-out", "write a counterexample's schedule to `FILE` (default raftsim-explore.schedule)")
}

// checkExplore turns explore's flags into options.
func checkExplore(c *cli, a *cmdArgs) (*job, error) {
	e := &a.explore
	o := explore.DefaultOptions()
	j := &job{kind: jobExplore, scheduleOut: "raftsim-explore.schedule"}
	for _, f := range []intFlag{
		{"nodes", &e.nodes, 1, 9, &o.Nodes}, {"clients", &e.clients, 1, 9, &o.Clients}, {"depth", &e.depth, 1, 1000, &o.Depth},
		{"crashes", &e.crashes, 0, 1000, &o.Crashes}, {"restarts", &e.restarts, 0, 1000, &o.Restarts},
		{"drops", &e.drops, 0, 1000, &o.Drops}, {"dups", &e.dups, 0, 1000, &o.Dups}, {"ops", &e.ops, 0, 1000, &o.Ops},
		{"retries", &e.retries, 0, 1000, &o.Retries}, {"admin", &e.admin, 0, 1000, &o.Admin}, {"max-term", &e.maxTerm, 1, 1000, &o.MaxTerm},
		{"walks", &e.walks, 1, 100_000_000, &o.Walks}, {"workers", &e.workers, 0, 1024, &o.Workers},
		{"max-states", &e.maxStates, 0, 1 << 40, &o.MaxStates}, {"liveness", &e.liveness, 0, 100_000, &o.Liveness},
		{"liveness-every", &e.livenessEvery, 1, 1 << 30, &o.LivenessEvery},
	} {
		n, err := strconv.Atoi(f.text.value)
		if err != nil || n < f.lo || n > f.hi {
			return nil, fmt.Errorf("-%s %q: want a whole number in %d..%d", f.name, shortText(f.text.value), f.lo, f.hi)
		}
		*f.dst = n
	}
	var err error
	if o.Mode, err = explore.ParseMode(e.mode.value); err != nil {
		return nil, fmt.Errorf("-mode: %v", err)
	}
	if o.Seed, err = strconv.ParseUint(e.seed.value, 10, 64); err != nil || o.Seed == 0 {
		return nil, fmt.Errorf("-seed %q: want a seed in 1..%d", shortText(e.seed.value), uint64(1<<64-1))
	}
	if e.budget.set {
		if j.budget, err = time.ParseDuration(e.budget.value); err != nil || j.budget <= 0 {
			return nil, fmt.Errorf("-for %q: want a positive duration such as 60s or 5m", shortText(e.budget.value))
		}
	}
	switch e.reads.value {
	case "", "readindex":
	case "local":
		o.Node.ReadMode = node.ReadLocal
	default:
		return nil, fmt.Errorf("-reads %q: want readindex or local (lease reads need bounded clock drift, which abstract time does not model)", shortText(e.reads.value))
	}
	o.Node.PreVote, o.Node.CheckQuorum = e.preVote.value, e.checkQuorum.value
	o.Symmetry, o.Independence = e.symmetry.value, e.independence.value
	if o.Independence && o.Mode != explore.BFS {
		return nil, fmt.Errorf("-independence works with -mode bfs only (got -mode %s)", o.Mode)
	}
	if o.Mode != explore.Walk && e.walks.set {
		return nil, fmt.Errorf("-walks is for -mode walk (got -mode %s)", o.Mode)
	}
	if o.Mode != explore.Walk {
		o.Walks = 0
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if e.scheduleOut.set {
		j.scheduleOut = e.scheduleOut.value
	}
	if err := checkOutFile("-schedule-out", j.scheduleOut); err != nil {
		return nil, err
	}
	j.explore = o
	return j, nil
}

// memoryLimit is the garbage collector's soft memory limit during a search.
const memoryLimit = 2 << 30

// exploreJob runs a search: live progress on stderr, the summary on stdout, the
// counterexample in a schedule file.
func exploreJob(c *cli, j *job) int {
	o := j.explore
	// A search allocates fast and keeps little besides its visited set: trade memory
	// headroom for less GC time, but keep the heap near memoryLimit while the live data
	// fits under it (a soft limit: a bigger search goes on, collecting more often).
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(memoryLimit)
	start := time.Now()
	p := &progress{w: c.stderr, start: start, last: start}
	o.Progress = p.show
	if j.budget > 0 {
		o.Interrupt = func() bool { return time.Since(start) > j.budget }
	}
	fmt.Fprintf(c.stdout, "explore: %s\n", describeSearch(&o))
	r, err := explore.Explore(o)
	if err != nil {
		return c.usageError("raftsim explore", err.Error())
	}
	elapsed := time.Since(start)
	st := &r.Stats
	rate := float64(st.Distinct) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(c.stdout, "  %d distinct states, %d transitions, deepest level %d, %s, %.0f distinct states/s, visited set %s\n",
		st.Distinct, st.States, st.Depth, elapsed.Round(time.Millisecond), rate, mib(uint64(st.VisitedBytes)))
	switch r.Verdict {
	case explore.Exhausted:
		fmt.Fprintf(c.stdout, "exhausted: every state within the bounds was explored and every check held (%d paths ended, %d successors beyond -max-term not taken)\n",
			st.Leaves, st.Pruned)
		return exitOK
	case explore.Violation:
		return reportViolation(c, j, r)
	}
	if o.Mode == explore.Walk && st.Walks == o.Walks {
		fmt.Fprintf(c.stdout, "INCONCLUSIVE: %d random walks found no violation; walks sample the space, they do not exhaust it, so this is not a pass\n", st.Walks)
		return exitInconclusive
	}
	why := "the -for budget ran out"
	switch {
	case o.MaxStates > 0 && st.Distinct >= o.MaxStates:
		why = "-max-states was reached"
	case j.budget == 0 || elapsed < j.budget:
		why = "a linearizability check ran out of time"
	}
	fmt.Fprintf(c.stdout, "INCONCLUSIVE: %s before the bounded space was exhausted; this is not a pass\n", why)
	return exitInconclusive
}

func reportViolation(c *cli, j *job, r *explore.Result) int {
	fmt.Fprintf(c.stdout, "VIOLATION: %v\n", r.Failure)
	fmt.Fprintf(c.stdout, "counterexample (%d actions):\n", len(r.Path))
	for i, s := range r.Path {
		fmt.Fprintf(c.stdout, "  %3d  %s\n", i+1, s.String())
	}
	text := r.Schedule(&j.explore).Format()
	if j.scheduleOut == "-" {
		c.stdout.Write(text)
	} else if err := os.WriteFile(j.scheduleOut, text, 0o644); err != nil {
		fmt.Fprintf(c.stderr, "raftsim explore: writing the schedule: %v\n", err)
	} else {
		fmt.Fprintf(c.stdout, "schedule: %s\n", j.scheduleOut)
	}
	name := j.scheduleOut
	if name == "-" {
		name = "FILE"
	}
	fmt.Fprintf(c.stdout, "replay: go run ./cmd/raftsim replay -schedule %s -trace %s.trace\n", name, strings.TrimSuffix(name, ".schedule"))
	return exitFailed
}

func describeSearch(o *explore.Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes, %d client(s), depth %d, ops %d, crashes %d, restarts %d, drops %d, dups %d, retries %d, transfers %d, highest term %d; %s",
		o.Nodes, o.Clients, o.Depth, o.Ops, o.Crashes, o.Restarts, o.Drops, o.Dups, o.Retries, o.Admin, o.MaxTerm, o.Mode)
	if o.Mode == explore.Walk {
		fmt.Fprintf(&b, " (%d walks)", o.Walks)
	}
	if o.Symmetry {
		b.WriteString(", symmetry")
	}
	if o.Independence {
		b.WriteString(", independence")
	}
	w := o.Workers
	switch {
	case o.Mode == explore.DFS:
		w = 1 // depth-first search is single-threaded
	case w == 0:
		w = runtime.GOMAXPROCS(0)
	}
	fmt.Fprintf(&b, ", %d worker(s)", w)
	return b.String()
}

// progress prints a search's progress on stderr, at most once a second.
type progress struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func (p *progress) show(st explore.Stats) {
	now := time.Now()
	if now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	el := now.Sub(p.start)
	fmt.Fprintf(p.w, "explore: %v: depth %d, %d distinct states (%d transitions), %.0f states/s, frontier %d, memory %s\n",
		el.Round(time.Second), st.Depth, st.Distinct, st.States, float64(st.Distinct)/el.Seconds(), st.Frontier, mib(ms.HeapInuse))
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
