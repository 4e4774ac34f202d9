package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"raftsim/linearizability"
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

// seedFlags are the -scenario/-seed/-seeds flags shared by run and replay, with the node
// option overrides.
type seedFlags struct {
	scenario    string
	seed        string
	seeds       int
	seedsSet    bool // -seeds was given (so that -seeds 0 is an error, not "one seed")
	parallel    int
	seedTimeout time.Duration // -seed-timeout (see addSweepFlags)
	reads       string
	checkQuorum optionalBool
	preVote     optionalBool
	htmlDir     string
}

// optionalBool is a boolean flag that remembers whether it was given.
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	b.set, b.value = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// addOptionFlags declares the node option overrides and the visualization directory.
func (f *seedFlags) addOptionFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.reads, "reads", "", "read mode: readindex, lease (turns CheckQuorum on) or local (unsafe); default: the scenario's")
	fs.Var(&f.checkQuorum, "checkquorum", "turn CheckQuorum on or off (default: the scenario's)")
	fs.Var(&f.preVote, "prevote", "turn PreVote on or off (default: the scenario's)")
	fs.StringVar(&f.htmlDir, "html", ".", "directory for the HTML visualization of a non-linearizable history")
}

// options builds the scenario options from the flags.
func (f *seedFlags) options() scenarios.Options {
	o := scenarios.Options{Overrides: scenarios.Overrides{Reads: f.reads}}
	if f.checkQuorum.set {
		v := f.checkQuorum.value
		o.Overrides.CheckQuorum = &v
	}
	if f.preVote.set {
		v := f.preVote.value
		o.Overrides.PreVote = &v
	}
	return o
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "raftsim run -scenario NAME (-seed N | -seeds N) [-reads MODE] [-prevote=BOOL] [-checkquorum=BOOL] [-parallel P] [-seed-timeout D] [-v] [-html DIR]", stderr)
	var f seedFlags
	fs.StringVar(&f.scenario, "scenario", "", "scenario to run (see 'raftsim list')")
	fs.StringVar(&f.seed, "seed", "", "run this one seed (a positive integer)")
	fs.IntVar(&f.seeds, "seeds", 0, "run seeds 1..N")
	fs.IntVar(&f.parallel, "parallel", runtime.GOMAXPROCS(0), "seeds to run at once with -seeds")
	f.addSweepFlags(fs)
	verbose := fs.Bool("v", false, "tell the story of each run (its timeline)")
	f.addOptionFlags(fs)
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
		o := scenarios.Run(sc, seeds[0], f.options())
		if *verbose {
			writeStory(stdout, &o)
		}
		visualize(stderr, &o, f.htmlDir)
		return report(stdout, &o)
	}
	return runMany(stdout, stderr, sc, seeds, &f, *verbose)
}

// visualize writes the HTML visualization of a non-linearizable history into dir and
// records its path in the outcome (Report prints it). A failure to write is reported on
// stderr and does not change the run's verdict.
func visualize(stderr io.Writer, o *scenarios.Outcome, dir string) {
	if o.Linearizability.Verdict != linearizability.NotLinearizable {
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("raftsim-%s-%d.html", o.Scenario, o.Seed))
	fh, err := os.Create(path)
	if err == nil {
		err = scenarios.WriteVisualization(o, fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "raftsim: writing the history visualization: %v\n", err)
		return
	}
	o.Visualization = path
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
// command if it failed or was inconclusive) and returns the exit status.
func report(w io.Writer, o *scenarios.Outcome) int {
	if o.Err != nil {
		fmt.Fprintf(w, "scenario %s seed %d: %v\n", o.Scenario, o.Seed, o.Err)
		return exitUsage
	}
	fmt.Fprintf(w, "scenario %s seed %d%s: %s\n", o.Scenario, o.Seed, o.Overrides.Flags(), verdict(o))
	fmt.Fprintf(w, "  %s\n", countsLine(&o.Result))
	if v := o.Linearizability; v.Verdict != 0 {
		fmt.Fprintf(w, "  history: %v\n", v)
	}
	fmt.Fprintf(w, "trace: %016x\n", o.TraceHash)
	switch {
	case o.Failed():
		fmt.Fprintf(w, "%s\n", scenarios.Report(o))
		return exitFailed
	case o.Inconclusive():
		fmt.Fprintf(w, "%s\n", scenarios.Report(o))
		return exitInconclusive
	}
	if o.Visualization != "" {
		fmt.Fprintf(w, "history visualization: %s\n", o.Visualization)
	}
	return exitOK
}

// verdict is a run's one-word result.
func verdict(o *scenarios.Outcome) string {
	switch {
	case o.Failed():
		return "FAILED"
	case o.Inconclusive():
		return "INCONCLUSIVE"
	case o.ViolationExpected:
		return "ok: every check held, and the expected linearizability violation was found"
	}
	return "ok: every check held"
}

func countsLine(r *sim.Result) string {
	c := r.Counts
	line := fmt.Sprintf("virtual time %v, %d events, %d messages sent (%d delivered, %d dropped), %d elections, %d leaders, %d entries committed, %d client ops (%d ok, %d unknown, %d retries), %d crashes",
		r.VirtualTime, c.Events, c.MessagesSent, c.MessagesDelivered, c.MessagesDropped, c.Elections, c.Leaders,
		c.Commits, c.ClientOps, c.ClientOK, c.ClientUnknown, c.ClientRetries, c.Crashes)
	if c.SnapshotsTaken > 0 || c.SnapshotsInstalled > 0 {
		line += fmt.Sprintf("\n  snapshots: %d taken (%d saved, %d lost in crashes), %d installed from a leader (%d chunks sent); longest log kept %d entries after a snapshot",
			c.SnapshotsTaken, c.SnapshotsSaved, c.SnapshotsLost, c.SnapshotsInstalled, c.SnapshotChunksSent, c.MaxRetainedLog)
	}
	return line
}

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", "raftsim replay -scenario NAME -seed N -trace FILE [-reads MODE] [-prevote=BOOL] [-checkquorum=BOOL] [-html DIR]", stderr)
	var f seedFlags
	fs.StringVar(&f.scenario, "scenario", "", "scenario to replay (see 'raftsim list')")
	fs.StringVar(&f.seed, "seed", "", "seed to replay (a positive integer)")
	file := fs.String("trace", "", "file to write the event trace to, one line per event ('-' for standard output)")
	f.addOptionFlags(fs)
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
	opts := f.options()
	opts.Trace = func(line string) {
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	o := scenarios.Run(sc, seeds[0], opts)
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
	visualize(stderr, &o, f.htmlDir)
	return report(stdout, &o)
}
