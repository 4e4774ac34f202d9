package main

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"raftsim/linearizability"
	"raftsim/scenarios"
)

// minSeedTimeout is the least wall-clock time a seed of a sweep gets by default: a
// healthy run of any scenario takes well under a second here, so a seed still running
// after a minute is a runaway that the Work Bound check did not catch, or a machine far
// too loaded to trust.
const minSeedTimeout = time.Minute

// seedTimeout is the wall-clock limit of a seed of sc: the -seed-timeout flag, or by
// default the run's virtual duration (a run slower than real time is thousands of times
// slower than it should be), at least minSeedTimeout.
func seedTimeout(sc scenarios.Scenario, seed uint64, flagValue time.Duration) time.Duration {
	if flagValue > 0 {
		return flagValue
	}
	return max(minSeedTimeout, sc.Config(seed).Duration)
}

// wallClockLimit returns a sim.Config.Interrupt that answers true once limit has passed
// since the call. It reads the wall clock, which is why it lives here, outside the
// deterministic core: it can only stop a run, never change what the run did.
func wallClockLimit(limit time.Duration) func() bool {
	deadline := time.Now().Add(limit)
	return func() bool { return time.Now().After(deadline) }
}

// abortReport says that a seed was cut short by its wall-clock limit, and ends with the
// command that replays it, like scenarios.Report does for a failure.
func abortReport(o *scenarios.Outcome, limit time.Duration) string {
	return fmt.Sprintf("scenario %s seed %d%s aborted: wall-clock limit %v (trace %016x of the prefix run, virtual time %v, %d events):\n"+
		"  not a check failure and not a pass: the run did not finish in time (a runaway the Work Bound check missed, or an overloaded machine; see -seed-timeout)\n"+
		"replay: %s",
		o.Scenario, o.Seed, o.Overrides.Flags(), limit, o.TraceHash, o.VirtualTime, o.Counts.Events,
		scenarios.ReplayCommand(o.Scenario, o.Seed, o.Overrides))
}

// runMany runs seeds on up to parallel goroutines (each run is single-threaded and
// independent, so parallelism never changes a result) and prints one line per seed in
// seed order, then the failures in full, then a summary. Each seed gets a wall-clock limit
// (seedTimeout); a seed that reaches it is reported as aborted, and the sweep goes on.
// It returns the exit status: exitFailed if a seed failed, else exitInconclusive if one
// was aborted or inconclusive.
func runMany(w, stderr io.Writer, sc scenarios.Scenario, seeds []uint64, f *seedFlags, verbose bool) int {
	t := sweep{limits: make([]time.Duration, len(seeds)), outcomes: make([]scenarios.Outcome, len(seeds))}
	for i, seed := range seeds {
		t.limits[i] = seedTimeout(sc, seed, f.seedTimeout)
	}
	done, wait := t.start(sc, seeds, f)
	for i := range seeds {
		<-done[i] // print in seed order as results arrive
		o := &t.outcomes[i]
		status := t.tally(i)
		if status == "FAILED" {
			visualize(stderr, o, f.htmlDir)
		}
		fmt.Fprintf(w, "trace: %016x  seed %d  %s  (%d events, %d commits, %d client ops)\n",
			o.TraceHash, o.Seed, status, o.Counts.Events, o.Counts.Commits, o.Counts.ClientOps)
		if verbose {
			writeStory(w, o)
		}
	}
	wait()
	return t.summarize(w, sc, f)
}

// sweep holds a sweep's outcomes, their wall-clock limits, and the tally by verdict
// (indexes into outcomes).
type sweep struct {
	limits                      []time.Duration
	outcomes                    []scenarios.Outcome
	failed, inconclusive, abort []int
	violations                  int
}

// start runs the seeds on up to f.parallel goroutines; done[i] is closed when outcome i
// is in, and wait returns once every goroutine has ended.
func (t *sweep) start(sc scenarios.Scenario, seeds []uint64, f *seedFlags) (done []chan struct{}, wait func()) {
	done = make([]chan struct{}, len(seeds))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for g := 0; g < f.parallel && g < len(seeds); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				opts := f.options()
				opts.Interrupt = wallClockLimit(t.limits[i])
				t.outcomes[i] = scenarios.Run(sc, seeds[i], opts)
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range seeds {
			next <- i
		}
		close(next)
	}()
	return done, wg.Wait
}

// tally counts outcome i by its verdict and returns the status its line shows.
func (t *sweep) tally(i int) string {
	o := &t.outcomes[i]
	switch {
	case o.Interrupted:
		t.abort = append(t.abort, i)
		return fmt.Sprintf("ABORTED (wall-clock limit %v)", t.limits[i])
	case o.Failed():
		t.failed = append(t.failed, i)
		return "FAILED"
	case o.Inconclusive():
		t.inconclusive = append(t.inconclusive, i)
		return "INCONCLUSIVE"
	case o.ViolationExpected && o.Linearizability.Verdict == linearizability.NotLinearizable:
		t.violations++
		return "ok (violation found, as expected)"
	}
	return "ok"
}

// summarize prints the summary line, then every failure, inconclusive and aborted seed in
// full, and returns the exit status.
func (t *sweep) summarize(w io.Writer, sc scenarios.Scenario, f *seedFlags) int {
	n := len(t.outcomes)
	abortedText := ""
	if len(t.abort) > 0 {
		abortedText = fmt.Sprintf(", %d aborted (wall-clock limit)", len(t.abort))
	}
	fmt.Fprintf(w, "\nscenario %s%s: %d seeds, %d passed, %d failed, %d inconclusive%s\n",
		sc.Name, f.options().Overrides.Flags(), n, n-len(t.failed)-len(t.inconclusive)-len(t.abort),
		len(t.failed), len(t.inconclusive), abortedText)
	if t.violations > 0 {
		fmt.Fprintf(w, "expected linearizability violations found in %d of %d seeds\n", t.violations, n)
	}
	for _, i := range append(t.failed, t.inconclusive...) {
		fmt.Fprintf(w, "\n%s\n", scenarios.Report(&t.outcomes[i]))
	}
	for _, i := range t.abort {
		fmt.Fprintf(w, "\n%s\n", abortReport(&t.outcomes[i], t.limits[i]))
	}
	switch {
	case len(t.failed) > 0:
		return exitFailed
	case len(t.inconclusive) > 0 || len(t.abort) > 0:
		return exitInconclusive
	}
	return exitOK
}

// runAtOnce runs run(0..n-1) on up to GOMAXPROCS goroutines and returns when all have
// returned: shrink's replays of one batch (scenarios.ShrinkOptions.Parallel), which read
// nothing another changes.
func runAtOnce(n int, run func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(n, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				run(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
