package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"raftsim/scenarios"
	"raftsim/sim/schedule"
)

// This file holds run -schedule-out (a seeded run exported as a timed schedule) and the
// shrink command.

// regressionDir is where shrink -regression writes, relative to the repository's root.
var regressionDir = filepath.Join("testdata", "schedules")

// regressionName is what a -regression name may be: it becomes a file name.
var regressionName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// shrinkArgs are shrink's own flags.
type shrinkArgs struct {
	out, regression, why, maxRuns, checkBudget textFlag
}

// declareShrink declares shrink's flags.
func (a *cmdArgs) declareShrink(fs *flag.FlagSet) {
	a.declareScenario(fs, "shrink", " (default 1)")
	fs.Var(&a.schedule, "schedule", "shrink the timed schedule file `FILE` (an exported or shrunk run) instead of a scenario's seed")
	s := &a.shrink
	fs.Var(&s.out, "out", "write the shrunk schedule to `FILE` ('-' for standard output; default raftsim-NAME-SEED.shrunk.schedule)")
	fs.Var(&s.regression, "regression", "write the shrunk schedule to testdata/schedules/`NAME`.schedule (run from the repository's root), a regression case 'go test ./scenarios' replays; needs -why")
	fs.Var(&s.why, "why", "with -regression, the one line `TEXT` saying what the case shows")
	fs.Var(&s.maxRuns, "max-runs", fmt.Sprintf("replay at most `N` candidate schedules (default %d); a bound on replays keeps the result the same on every machine", scenarios.DefaultShrinkRuns))
	fs.Var(&s.checkBudget, "check-budget", fmt.Sprintf("give each replay's linearizability check at most `D` of wall-clock time (default %v)", scenarios.DefaultCheckBudget))
	fs.Var(&a.reads, "reads", "`MODE` of reads: readindex, lease (turns CheckQuorum on) or local (unsafe); default: the scenario's")
	fs.Var(&a.checkQuorum, "checkquorum", "turn CheckQuorum on or off: -checkquorum=true or -checkquorum=false (default: the scenario's)")
	fs.Var(&a.preVote, "prevote", "turn PreVote on or off: -prevote=true or -prevote=false (default: the scenario's)")
}

// checkShrink checks shrink's flags and reads the schedule, before anything runs.
func checkShrink(c *cli, a *cmdArgs) (*job, error) {
	j := &job{kind: jobShrink}
	s := &a.shrink
	switch {
	case a.schedule.set && (a.scenario.set || a.seed.set || a.reads.set || a.preVote.set || a.checkQuorum.set):
		return nil, errors.New("-schedule states its own scenario, seed and options: it takes no -scenario, -seed, -reads, -prevote or -checkquorum")
	case !a.schedule.set && !a.scenario.set:
		return nil, errors.New("give -scenario NAME (and -seed N) or -schedule FILE (see 'raftsim help shrink')")
	case s.regression.set && s.out.set:
		return nil, errors.New("-out and -regression both say where to write: give one")
	case s.regression.set != s.why.set:
		return nil, errors.New("-regression NAME and -why TEXT go together: a regression case says what it shows")
	}
	if err := checkShrinkSource(c, a, j); err != nil {
		return nil, err
	}
	if err := checkShrinkBounds(s, j); err != nil {
		return nil, err
	}
	return j, checkShrinkOut(s, j)
}

// checkShrinkSource reads what to shrink: a schedule file, or a scenario's seed.
func checkShrinkSource(c *cli, a *cmdArgs, j *job) error {
	if a.schedule.set {
		sch, err := readSchedule(a.schedule.value)
		if err != nil {
			return err
		}
		if sch.Version != schedule.VersionTimed {
			return fmt.Errorf("-schedule %q is a version %d schedule; shrink takes a timed one (version %d: 'raftsim run -schedule-out' writes it), and a model checker's counterexample is already a shortest one",
				a.schedule.value, sch.Version, schedule.VersionTimed)
		}
		if _, _, _, err := scenarios.TimedConfig(sch); err != nil {
			return fmt.Errorf("%s: %v", a.schedule.value, err)
		}
		j.schedule, j.scheduleFile = sch, a.schedule.value
		return nil
	}
	return c.checkJob(a, j)
}

// checkShrinkBounds reads -max-runs and -check-budget.
func checkShrinkBounds(s *shrinkArgs, j *job) error {
	if s.maxRuns.set {
		n, err := strconv.Atoi(s.maxRuns.value)
		if err != nil || n < 1 || n > 1_000_000 {
			return fmt.Errorf("-max-runs %q: want how many replays the search may make, 1..1000000", shortText(s.maxRuns.value))
		}
		j.shrink.MaxRuns = n
	}
	if s.checkBudget.set {
		d, err := time.ParseDuration(s.checkBudget.value)
		if err != nil || d <= 0 {
			return fmt.Errorf("-check-budget %q: want a positive duration such as 5s", shortText(s.checkBudget.value))
		}
		j.shrink.Options.CheckBudget = d
	}
	return nil
}

// checkShrinkOut decides where the shrunk schedule goes and checks it can be written.
func checkShrinkOut(s *shrinkArgs, j *job) error {
	if s.regression.set {
		if !regressionName.MatchString(s.regression.value) {
			return fmt.Errorf("-regression %q: want a name of lower-case letters, digits and dashes (at most 64), such as churn-lost-write", shortText(s.regression.value))
		}
		if strings.TrimSpace(s.why.value) == "" || strings.ContainsFunc(s.why.value, isControl) || len(s.why.value) > 300 {
			return errors.New("-why: want one line (at most 300 bytes) saying what the case shows")
		}
		if err := checkDir("-regression", regressionDir); err != nil {
			return fmt.Errorf("%v (run shrink from the repository's root)", err)
		}
		j.scheduleOut = filepath.Join(regressionDir, s.regression.value+".schedule")
		if _, err := os.Stat(j.scheduleOut); err == nil {
			return fmt.Errorf("-regression: %s already exists; choose another name, or remove it first", j.scheduleOut)
		}
		j.why = strings.TrimSpace(s.why.value)
		return nil
	}
	j.scheduleOut = s.out.value
	if !s.out.set {
		name, seed := j.sc.Name, uint64(0)
		if j.schedule != nil {
			name, seed = j.schedule.Scenario, j.schedule.Seed
		} else {
			seed = j.seeds[0]
		}
		j.scheduleOut = fmt.Sprintf("raftsim-%s-%d.shrunk.schedule", name, seed)
	}
	return checkOutFile("-out", j.scheduleOut)
}

// shrinkJob shrinks and writes the result.
func shrinkJob(c *cli, j *job) int {
	sch := j.schedule
	what := j.scheduleFile
	if sch == nil {
		o, exported := scenarios.Export(j.sc, j.seeds[0], j.flags.options())
		if o.Err != nil {
			return c.usageError("raftsim shrink", o.Err.Error())
		}
		if o.Inconclusive() {
			fmt.Fprintf(c.stdout, "%s\n", scenarios.Report(&o))
			return exitInconclusive
		}
		sch, what = exported, fmt.Sprintf("scenario %s seed %d%s", j.sc.Name, j.seeds[0], o.Overrides.Flags())
	}
	opts := j.shrink
	opts.Parallel = runAtOnce
	pass := ""
	opts.Progress = func(p scenarios.ShrinkProgress) {
		if p.Pass != pass {
			pass = p.Pass
			fmt.Fprintf(c.stderr, "shrink: %5d replays; pass %q; %d faults, %d client operations, %d packets\n", p.Runs, p.Pass, p.Size.Faults, p.Size.ClientOps, p.Size.Packets)
		}
	}
	res, err := scenarios.Shrink(sch, opts)
	if err != nil {
		if errors.Is(err, scenarios.ErrInconclusive) {
			fmt.Fprintf(c.stderr, "raftsim shrink: %s %v\n", what, err)
			return exitInconclusive
		}
		return c.usageError("raftsim shrink", fmt.Sprintf("%s %v", what, err))
	}
	return writeShrunk(c, j, what, &res)
}

// writeShrunk reports a shrink and writes its schedule.
func writeShrunk(c *cli, j *job, what string, res *scenarios.ShrinkResult) int {
	text := res.Shrunk.Format()
	if j.why != "" {
		text = scenarios.RegressionText(res.Shrunk, j.why, "")
	}
	w := c.stdout
	fmt.Fprintf(w, "shrunk %s, which fails %q\n", what, res.Key)
	fmt.Fprintf(w, "  before: %v\n", res.Before)
	fmt.Fprintf(w, "  after:  %v\n", res.After)
	limit := ""
	if res.Exhausted {
		limit = " (the -max-runs limit: a longer search may shrink further)"
	}
	fmt.Fprintf(w, "  %d replays in %v%s\n", res.Runs, res.Elapsed.Round(time.Millisecond), limit)
	if j.scheduleOut == "-" {
		c.stdout.Write(text)
		return exitOK
	}
	if err := os.WriteFile(j.scheduleOut, text, 0o644); err != nil {
		return c.usageError("raftsim shrink", "writing the schedule: "+err.Error())
	}
	fmt.Fprintf(w, "schedule: %s\n", j.scheduleOut)
	fmt.Fprintf(w, "replay: go run ./cmd/raftsim replay -schedule %s -trace %s.trace\n", j.scheduleOut, j.scheduleOut)
	return exitOK
}

// exportJob runs one seed with run -schedule-out: it reports the run as run does and
// writes its timed schedule, whatever the verdict.
func exportJob(c *cli, j *job) int {
	o, sch := scenarios.Export(j.sc, j.seeds[0], j.flags.options())
	if j.verbose {
		writeStory(c.stdout, &o)
	}
	visualize(c.stderr, &o, j.flags.htmlDir)
	if sch != nil {
		text := sch.Format()
		var err error
		if j.scheduleOut == "-" {
			_, err = c.stdout.Write(text)
		} else {
			err = os.WriteFile(j.scheduleOut, text, 0o644)
		}
		if err != nil {
			return c.usageError("raftsim run", "writing the schedule: "+err.Error())
		}
	}
	code := report(c.stdout, &o)
	if sch != nil && j.scheduleOut != "-" {
		z := scenarios.LinesOf(sch)
		fmt.Fprintf(c.stdout, "schedule: %s (%d faults, %d client operations, %d packets not plainly delivered)\n", j.scheduleOut, z.Faults, z.ClientOps, z.Packets)
		fmt.Fprintf(c.stdout, "replay: go run ./cmd/raftsim replay -schedule %s -trace %s.trace\n", j.scheduleOut, j.scheduleOut)
		if o.Failed() {
			fmt.Fprintf(c.stdout, "shrink: go run ./cmd/raftsim shrink -schedule %s\n", j.scheduleOut)
		}
	}
	return code
}
