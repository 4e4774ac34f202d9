package main

import (
	"fmt"
	"io"
	"sync"

	"raftsim/scenarios"
)

// runMany runs seeds on up to parallel goroutines (each run is single-threaded and
// independent, so parallelism never changes a result) and prints one line per seed in
// seed order, then the failures in full, then a summary. It returns the exit status.
func runMany(w io.Writer, sc scenarios.Scenario, seeds []uint64, parallel int, verbose bool) int {
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
				outcomes[i] = scenarios.Run(sc, seeds[i], scenarios.Options{})
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
	var failed []int
	for i := range seeds {
		<-done[i] // print in seed order as results arrive
		o := &outcomes[i]
		status := "ok"
		if o.Failed() {
			status = "FAILED"
			failed = append(failed, i)
		}
		fmt.Fprintf(w, "trace: %016x  seed %d  %s  (%d events, %d commits)\n", o.TraceHash, o.Seed, status, o.Counts.Events, o.Counts.Commits)
		if verbose {
			writeStory(w, o)
		}
	}
	wg.Wait()
	fmt.Fprintf(w, "\nscenario %s: %d seeds, %d passed, %d failed\n", sc.Name, len(seeds), len(seeds)-len(failed), len(failed))
	if len(failed) == 0 {
		return exitOK
	}
	for _, i := range failed {
		fmt.Fprintf(w, "\n%s\n", scenarios.Report(&outcomes[i]))
	}
	return exitFailed
}
