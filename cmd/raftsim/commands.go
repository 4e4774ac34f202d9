package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"raftsim/linearizability"
	"raftsim/scenarios"
	"raftsim/sim"
	"raftsim/sim/explore"
	"raftsim/sim/schedule"
)

// command is one of raftsim's commands.
type command struct {
	name     string
	synopsis string // the usage line, after "usage: "
	about    string // what the command does, for its help
	// declare declares the command's flags on fs into a (nil: no flags).
	declare func(a *cmdArgs, fs *flag.FlagSet)
	// check turns the parsed flags into a job, or says what is wrong with them (nil:
	// the command is cheap and runs at once, see list).
	check func(c *cli, a *cmdArgs) (*job, error)
	// now runs a command that needs no job (list).
	now func(c *cli) int
}

// commands are raftsim's commands, in the order help lists them.
var commands = []*command{
	{
		name:     "list",
		synopsis: "raftsim list",
		about:    "Lists the scenarios, the questions about Raft each answers, and what each shows.",
		now:      cmdList,
	},
	{
		name:     "run",
		synopsis: "raftsim run -scenario NAME [-seed N | -seeds N] [-parallel P] [-seed-timeout D] [-v] [-reads MODE] [-prevote=BOOL] [-checkquorum=BOOL] [-html DIR]",
		about: `Runs one seed of a scenario (-seed N, default 1) and reports its verdict and trace hash,
or a sweep of seeds 1..N (-seeds N) in parallel, one line per seed in seed order, then every
failure with the command that replays it.`,
		declare: (*cmdArgs).declareRun,
		check:   checkRun,
	},
	{
		name:     "replay",
		synopsis: "raftsim replay -scenario NAME -seed N -trace FILE [-reads MODE] [-prevote=BOOL] [-checkquorum=BOOL] [-html DIR]\n       raftsim replay -schedule FILE [-trace FILE] [-v] [-html DIR]",
		about: `Runs one seed of a scenario, exactly as run does, and writes every event of it to FILE
('-' for standard output), then reports the verdict.
With -schedule, runs a schedule file (a counterexample of 'raftsim explore', say) through the
simulator with every check, and says whether it came to what the schedule expects.`,
		declare: (*cmdArgs).declareReplay,
		check:   checkReplay,
	},
	{
		name:     "shrink",
		synopsis: "raftsim shrink (-scenario NAME [-seed N] [-reads MODE] [-prevote=BOOL] [-checkquorum=BOOL] | -schedule FILE) [-out FILE | -regression NAME -why TEXT] [-max-runs N] [-check-budget D]",
		about: `Shrinks a failing run: searches for a smaller timed schedule that fails the same check
(for a scenario's own assertion, the same assertion): the run ends earlier, with fewer servers
and clients, fewer faults, fewer client operations, and packets that were dropped, duplicated
or delayed delivered plainly instead, by delta debugging. The run is a scenario's seed
(exported as 'raftsim run -schedule-out' does) or a timed schedule file. It prints the sizes
before and after and the time taken, writes the smallest failing schedule (-out, default
raftsim-NAME-SEED.shrunk.schedule; or, with -regression, testdata/schedules/NAME.schedule with
-why as the line saying what it shows, for 'go test ./scenarios' to replay) and the command
that replays it. Shrinking is deterministic: the same input gives the same schedule.
Exit status: 0 shrunk and written; 2 bad usage, or a run that fails no check (nothing to
shrink); 3 the run's history check was inconclusive.`,
		declare: (*cmdArgs).declareShrink,
		check:   checkShrink,
	},
	{
		name: "explore",
		synopsis: "raftsim explore [-nodes N] [-depth N] [-crashes N] [-restarts N] [-drops N] [-dups N] [-ops N] [-retries N] [-admin N] " +
			"[-max-term T] [-mode bfs|dfs|walk] [-walks N] [-symmetry] [-independence] [-workers N] [-max-states N] [-for D] [-liveness K] [-schedule-out FILE]",
		about: `Model-checks the raftsim node: explores every state of a small cluster reachable within the
bounds (every interleaving of deliveries, drops, duplicates, timer firings, crashes, restarts
and client operations; time is abstract, any armed timer may fire next), with every check of
the simulator after every transition and the linearizability of each path's history at its
end. Progress goes to stderr. Exit status: 0 the bounded space was exhausted and every check
held; 1 a check failed (the counterexample, a shortest one with -mode bfs, is written as a
schedule file that 'raftsim replay -schedule FILE' runs in the simulator); 2 bad usage;
3 inconclusive: a budget (-for, -max-states) ran out first, or random walks found nothing.`,
		declare: (*cmdArgs).declareExplore,
		check:   checkExplore,
	},
}

// lookupCommand returns the command called name, or nil.
func lookupCommand(name string) *command {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

// commandNames lists the commands for an error message.
func commandNames() string {
	names := make([]string, 0, len(commands)+1)
	for _, cmd := range commands {
		names = append(names, cmd.name)
	}
	return strings.Join(append(names, "help"), ", ")
}

// flagSet makes the command's flag set, silent: raftsim prints its own errors and help.
func (cmd *command) flagSet() (*flag.FlagSet, *cmdArgs) {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	a := &cmdArgs{}
	if cmd.declare != nil {
		cmd.declare(a, fs)
	}
	return fs, a
}

// printHelp prints the command's usage line, what it does and its flags.
func (cmd *command) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", cmd.synopsis, cmd.about)
	fs, _ := cmd.flagSet()
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		fmt.Fprintf(w, "\n%s takes no flags.\n", cmd.name)
		return
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// run parses and checks the command's arguments, then runs it: nothing runs unless every
// flag is valid.
func (cmd *command) run(c *cli, args []string) int {
	a, code, ok := c.parseArgs(cmd, args)
	if !ok {
		return code
	}
	if cmd.now != nil {
		return cmd.now(c)
	}
	j, err := cmd.check(c, a)
	if err != nil {
		return c.usageError("raftsim "+cmd.name, err.Error())
	}
	return c.start(c, j)
}

// Job kinds.
const (
	jobTour     = "tour"
	jobRun      = "run"
	jobReplay   = "replay"
	jobExplore  = "explore"
	jobSchedule = "schedule"
	jobShrink   = "shrink"
)

// job is a checked request to run seeds: every usage error has been found before it
// exists.
type job struct {
	kind    string // jobTour, jobRun or jobReplay
	sc      scenarios.Scenario
	seeds   []uint64 // one, or a sweep's 1..N
	flags   seedFlags
	verbose bool   // run -v
	trace   string // replay: the trace file, "-" for standard output
	// explore: the search, its wall-clock budget (0: none) and where its counterexample goes.
	explore     explore.Options
	budget      time.Duration
	scheduleOut string
	// replay -schedule: the schedule and its file.
	schedule     *schedule.Schedule
	scheduleFile string
	// shrink: the search's options, and the line a regression case says it shows.
	shrink scenarios.ShrinkOptions
	why    string
}

// startJob runs a job and returns the exit status.
func startJob(c *cli, j *job) int {
	switch j.kind {
	case jobTour:
		return cmdTour(c.stdout, c.stderr)
	case jobRun:
		return runJob(c, j)
	case jobReplay:
		return replayJob(c, j)
	case jobExplore:
		return exploreJob(c, j)
	case jobSchedule:
		return replayScheduleJob(c, j)
	case jobShrink:
		return shrinkJob(c, j)
	}
	panic("raftsim: job of unknown kind " + j.kind)
}

func cmdList(c *cli) int {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tANSWERS\tWHAT IT SHOWS")
	for _, s := range scenarios.All() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Questions, s.Summary)
	}
	tw.Flush()
	return exitOK
}

// checkRun checks run's flags.
func checkRun(c *cli, a *cmdArgs) (*job, error) {
	j := &job{kind: jobRun, verbose: a.verbose.value}
	if err := c.checkJob(a, j); err != nil {
		return nil, err
	}
	if a.scheduleOut.set {
		if len(j.seeds) > 1 {
			return nil, errors.New("-schedule-out writes one run: give one -seed, not -seeds")
		}
		if err := checkOutFile("-schedule-out", a.scheduleOut.value); err != nil {
			return nil, err
		}
		j.scheduleOut = a.scheduleOut.value
	}
	return j, nil
}

// runJob runs one seed, or a sweep.
func runJob(c *cli, j *job) int {
	if len(j.seeds) > 1 {
		return runMany(c.stdout, c.stderr, j.sc, j.seeds, &j.flags, j.verbose)
	}
	if j.scheduleOut != "" {
		return exportJob(c, j)
	}
	o := scenarios.Run(j.sc, j.seeds[0], j.flags.options())
	if j.verbose {
		writeStory(c.stdout, &o)
	}
	visualize(c.stderr, &o, j.flags.htmlDir)
	return report(c.stdout, &o)
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
		if e := v.Explanation; e != nil && o.ViolationExpected { // otherwise the failure report has it
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(strings.TrimSuffix(e.Text(), "\n"), "\n", "\n  "))
		}
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

// checkReplay checks replay's flags: those of run, and -seed and -trace are required.
func checkReplay(c *cli, a *cmdArgs) (*job, error) {
	if a.schedule.set {
		return checkScheduleReplay(a)
	}
	if a.verbose.set {
		return nil, errors.New("-v is for -schedule replays; a scenario replay writes its full trace (-trace)")
	}
	if !a.scenario.set || !a.seed.set || !a.trace.set {
		var missing []string
		for _, f := range []struct {
			name string
			set  bool
		}{{"-scenario", a.scenario.set}, {"-seed", a.seed.set}, {"-trace", a.trace.set}} {
			if !f.set {
				missing = append(missing, f.name)
			}
		}
		return nil, fmt.Errorf("-scenario, -seed and -trace are required; missing %s (see 'raftsim help replay')", strings.Join(missing, ", "))
	}
	j := &job{kind: jobReplay, trace: a.trace.value}
	if err := c.checkJob(a, j); err != nil {
		return nil, err
	}
	if err := checkTraceFile(a.trace.value); err != nil {
		return nil, err
	}
	return j, nil
}

// replayJob runs one seed and writes its trace.
func replayJob(c *cli, j *job) int {
	out := c.stdout
	var fh *os.File
	if j.trace != "-" {
		var err error
		fh, err = os.Create(j.trace)
		if err != nil {
			return c.usageError("raftsim replay", err.Error())
		}
		out = fh
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	opts := j.flags.options()
	opts.Trace = func(line string) {
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	o := scenarios.Run(j.sc, j.seeds[0], opts)
	err := bw.Flush()
	if fh != nil {
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return c.usageError("raftsim replay", "writing the trace: "+err.Error())
	}
	if j.trace != "-" {
		fmt.Fprintf(c.stdout, "wrote %d events to %s\n", o.Counts.Events, j.trace)
	}
	visualize(c.stderr, &o, j.flags.htmlDir)
	return report(c.stdout, &o)
}
