package main

import (
	"fmt"
	"io"
	"sync"

	"raftsim/linearizability"
	"raftsim/scenarios"
)

// runMany runs seeds on up to parallel goroutines (each run is single-threaded and
// independent, so parallelism never changes a result) and prints one line per seed in
// seed order, then the failures in full, then a summary. It returns the exit status.
func runMany(w, stderr io.Writer, sc scenarios.Scenario, seeds []uint64, f *seedFlags, verbose bool) int {
	parallel := f.parallel
	outcomes := make([]scenarios.Outcome, len(seeds))
	done := make([]chan struct{}, len(seeds))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for g := 0; g < parallel && g < len(seeds); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outcomes[i] = scenarios.Run(sc, seeds[i], f.options())
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
	var failed, inconclusive []int
	violations := 0
	for i := range seeds {
		<-done[i] // print in seed order as results arrive
		o := &outcomes[i]
		status := "ok"
		switch {
		case o.Failed():
			status = "FAILED"
			failed = append(failed, i)
			visualize(stderr, o, f.htmlDir)
		case o.Inconclusive():
			status = "INCONCLUSIVE"
			inconclusive = append(inconclusive, i)
		case o.ViolationExpected && o.Linearizability.Verdict == linearizability.NotLinearizable:
			status = "ok (violation found, as expected)"
			violations++
		}
		fmt.Fprintf(w, "trace: %016x  seed %d  %s  (%d events, %d commits, %d client ops)\n",
			o.TraceHash, o.Seed, status, o.Counts.Events, o.Counts.Commits, o.Counts.ClientOps)
		if verbose {
			writeStory(w, o)
		}
	}
	wg.Wait()
	fmt.Fprintf(w, "\nscenario %s%s: %d seeds, %d passed, %d failed, %d inconclusive\n",
		sc.Name, f.options().Overrides.Flags(), len(seeds), len(seeds)-len(failed)-len(inconclusive), len(failed), len(inconclusive))
	if violations > 0 {
		fmt.Fprintf(w, "expected linearizability violations found in %d of %d seeds\n", violations, len(seeds))
	}
	for _, i := range append(failed, inconclusive...) {
		fmt.Fprintf(w, "\n%s\n", scenarios.Report(&outcomes[i]))
	}
	switch {
	case len(failed) > 0:
		return exitFailed
	case len(inconclusive) > 0:
		return exitInconclusive
	}
	return exitOK
}
