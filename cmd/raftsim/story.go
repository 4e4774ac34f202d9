package main

import (
	"fmt"
	"io"
	"strings"

	"raftsim/scenarios"
	"raftsim/sim"
)

// cmdTour is raftsim with no arguments: a newcomer's first contact. It runs the default
// scenario with seed 1 and tells what happened, then how to go further.
func cmdTour(stdout, stderr io.Writer) int {
	sc, err := scenarios.Lookup(defaultScenario)
	if err != nil {
		fmt.Fprintf(stderr, "raftsim: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "raftsim simulates a Raft cluster deterministically: a virtual clock, a faulty network,\n")
	fmt.Fprintf(stdout, "crashes, and Raft's safety properties checked after every event.\n\n")
	fmt.Fprintf(stdout, "Running scenario %q with seed 1:\n  %s.\n\n", sc.Name, sc.Summary)
	o := scenarios.Run(sc, 1, scenarios.Options{})
	writeStory(stdout, &o)
	fmt.Fprintf(stdout, "\nChecks run after every event:\n  %s.\n", strings.Join(sim.CheckNames(), ", "))
	fmt.Fprintf(stdout, "At the end of the run: a from-scratch cross-check of those, the clients' history for\nlinearizability (porcupine), and the scenario's own answer.\n\n")
	code := report(stdout, &o)
	fmt.Fprintf(stdout, `
Go further:
  go run ./cmd/raftsim list                                  the scenarios, one per question about Raft
  go run ./cmd/raftsim run -scenario figure-8 -seed 1 -v     one run, with its story
  go run ./cmd/raftsim run -scenario churn -seeds 100        a hundred seeds in parallel
  go run ./cmd/raftsim run -scenario swarm -seeds 10000      swarm testing: each seed picks its faults
  go run ./cmd/raftsim replay -scenario %s -seed 1 -trace trace.txt
                                                             every event of this run, to read
  go test ./...                                              the whole test suite
`, sc.Name)
	return code
}

// writeStory tells a run's timeline in words.
func writeStory(w io.Writer, o *scenarios.Outcome) {
	fmt.Fprintf(w, "What happened (virtual time):\n")
	for _, h := range o.Timeline {
		fmt.Fprintf(w, "  %8.3fs  %s\n", h.Time.Seconds(), h.Text)
	}
	if o.TimelineDropped > 0 {
		fmt.Fprintf(w, "  ... and %d more happenings\n", o.TimelineDropped)
	}
	if len(o.Terms) > 0 {
		fmt.Fprintf(w, "Terms with a leader, and the committed entries created in each:\n")
	}
	for _, t := range o.Terms {
		entries := "none committed"
		if t.First != 0 {
			entries = fmt.Sprintf("entries %d..%d committed", t.First, t.Last)
		}
		fmt.Fprintf(w, "  term %-3d node %d, in office from %.3fs: %s\n", t.Term, t.Leader, t.Since.Seconds(), entries)
	}
	c := o.Counts
	fmt.Fprintf(w, "In %v of virtual time: %d elections, %d leaders took office, %d entries committed, %d messages sent.\n",
		o.VirtualTime, c.Elections, c.Leaders, c.Commits, c.MessagesSent)
	if o.Failure == nil && o.Assertion == nil && o.Err == nil {
		fmt.Fprintf(w, "The scenario's own assertion held.\n")
	}
}
