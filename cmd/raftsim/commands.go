package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"raftsim/scenarios"
	"raftsim/sim"
)

func cmdList(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("list", "raftsim list", stderr)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tANSWERS\tWHAT IT SHOWS")
	for _, s := range scenarios.All() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Questions, s.Summary)
	}
	tw.Flush()
	return exitOK
}

// seedFlags are the -scenario/-seed/-seeds flags shared by run and replay.
type seedFlags struct {
	scenario string
	seed     string
	seeds    int
	seedsSet bool // -seeds was given (so that -seeds 0 is an error, not "one seed")
	parallel int
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "raftsim run -scenario NAME (-seed N | -seeds N) [-parallel P] [-v]", stderr)
	var f seedFlags
	fs.StringVar(&f.scenario, "scenario", "", "scenario to run (see 'raftsim list')")
	fs.StringVar(&f.seed, "seed", "", "run this one seed (a positive integer)")
	fs.IntVar(&f.seeds, "seeds", 0, "run seeds 1..N")
	fs.IntVar(&f.parallel, "parallel", runtime.GOMAXPROCS(0), "seeds to run at once with -seeds")
	verbose := fs.Bool("v", false, "tell the story of each run (its timeline)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fs.Visit(func(fl *flag.Flag) { f.seedsSet = f.seedsSet || fl.Name == "seeds" })
	sc, seeds, err := f.resolve()
	if err != nil {
		fmt.Fprintf(stderr, "raftsim run: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	if len(seeds) == 1 {
		o := scenarios.Run(sc, seeds[0], scenarios.Options{})
		if *verbose {
			writeStory(stdout, &o)
		}
		return report(stdout, &o)
	}
	return runMany(stdout, sc, seeds, f.parallel, *verbose)
}

// resolve checks the flags and returns the scenario and the seeds to run.
func (f *seedFlags) resolve() (scenarios.Scenario, []uint64, error) {
	if f.scenario == "" {
		return scenarios.Scenario{}, nil, fmt.Errorf("-scenario is required; valid scenarios: %s", strings.Join(scenarios.Names(), ", "))
	}
	sc, err := scenarios.Lookup(f.scenario)
	if err != nil {
		return sc, nil, err
	}
	switch {
	case f.seed != "" && f.seedsSet:
		return sc, nil, fmt.Errorf("give -seed N or -seeds N, not both")
	case f.seed != "":
		n, err := parseSeed(f.seed)
		if err != nil {
			return sc, nil, err
		}
		return sc, []uint64{n}, nil
	case f.seedsSet && f.seeds <= 0:
		return sc, nil, fmt.Errorf("-seeds must be a positive number of seeds, got %d", f.seeds)
	case f.seeds > 0:
		if f.parallel < 1 {
			return sc, nil, fmt.Errorf("-parallel must be at least 1, got %d", f.parallel)
		}
		seeds := make([]uint64, f.seeds)
		for i := range seeds {
			seeds[i] = uint64(i + 1)
		}
		return sc, seeds, nil
	}
	return sc, []uint64{1}, nil
}

// report prints one run's summary (ending with its trace line, or with the replay
// command if it failed) and returns the exit status.
func report(w io.Writer, o *scenarios.Outcome) int {
	if o.Err != nil {
		fmt.Fprintf(w, "scenario %s seed %d: %v\n", o.Scenario, o.Seed, o.Err)
		return exitUsage
	}
	verdict := "ok: every check held"
	if o.Failed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "scenario %s seed %d: %s\n", o.Scenario, o.Seed, verdict)
	fmt.Fprintf(w, "  %s\n", countsLine(&o.Result))
	fmt.Fprintf(w, "trace: %016x\n", o.TraceHash)
	if o.Failed() {
		fmt.Fprintf(w, "%s\n", scenarios.Report(o))
		return exitFailed
	}
	return exitOK
}

func countsLine(r *sim.Result) string {
	c := r.Counts
	return fmt.Sprintf("virtual time %v, %d events, %d messages sent (%d delivered, %d dropped), %d elections, %d leaders, %d entries committed, %d/%d proposals accepted, %d crashes",
		r.VirtualTime, c.Events, c.MessagesSent, c.MessagesDelivered, c.MessagesDropped, c.Elections, c.Leaders,
		c.Commits, c.ProposalsAccepted, c.Proposals, c.Crashes)
}

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", "raftsim replay -scenario NAME -seed N -trace FILE", stderr)
	var f seedFlags
	fs.StringVar(&f.scenario, "scenario", "", "scenario to replay (see 'raftsim list')")
	fs.StringVar(&f.seed, "seed", "", "seed to replay (a positive integer)")
	file := fs.String("trace", "", "file to write the event trace to, one line per event ('-' for standard output)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if f.seed == "" || *file == "" {
		fmt.Fprintln(stderr, "raftsim replay: -scenario, -seed and -trace are required")
		fs.Usage()
		return exitUsage
	}
	sc, seeds, err := f.resolve()
	if err != nil {
		fmt.Fprintf(stderr, "raftsim replay: %v\n", err)
		return exitUsage
	}
	out := stdout
	var fh *os.File
	if *file != "-" {
		fh, err = os.Create(*file)
		if err != nil {
			fmt.Fprintf(stderr, "raftsim replay: %v\n", err)
			return exitUsage
		}
		out = fh
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	o := scenarios.Run(sc, seeds[0], scenarios.Options{Trace: func(line string) {
		bw.WriteString(line)
		bw.WriteByte('\n')
	}})
	err = bw.Flush()
	if fh != nil {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftsim replay: writing the trace: %v\n", err)
		return exitUsage
	}
	if *file != "-" {
		fmt.Fprintf(stdout, "wrote %d events to %s\n", o.Counts.Events, *file)
	}
	return report(stdout, &o)
}
