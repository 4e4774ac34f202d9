package main

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"raftsim/scenarios"
)

// maxSweep is the most seeds `raftsim run -seeds N` runs (scenarios.MaxSweep).
const maxSweep = scenarios.MaxSweep

// maxParallel bounds -parallel: each seed running at once holds a whole simulated world.
const maxParallel = 1024

// textFlag is a flag's text as given, checked after parsing so that every error message
// is raftsim's own; set says whether the flag was given (an empty value given is an
// error, not "no flag").
type textFlag struct {
	value string
	set   bool
}

func (t *textFlag) String() string {
	if t == nil {
		return ""
	}
	return t.value
}

func (t *textFlag) Set(s string) error {
	t.value, t.set = s, true
	return nil
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

// Set accepts what strconv.ParseBool accepts (true, false, 1, 0, t, f...).
func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	b.set, b.value = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// cmdArgs are the flags of run and replay, as given.
type cmdArgs struct {
	scenario, seed, seeds, parallel, reads, html, trace textFlag
	seedTimeout                                         textFlag
	checkQuorum, preVote                                optionalBool
	verbose                                             optionalBool
	schedule, scheduleOut                               textFlag
	explore                                             exploreArgs
	shrink                                              shrinkArgs
}

// declareScenario declares -scenario and -seed; what is the verb ("run", "replay"), and
// seedDefault what -seed defaults to, in words.
func (a *cmdArgs) declareScenario(fs *flag.FlagSet, what, seedDefault string) {
	fs.Var(&a.scenario, "scenario", what+" the scenario called `NAME` (see 'raftsim list'); required")
	fs.Var(&a.seed, "seed", fmt.Sprintf("%s seed `N`, 1..%d%s", what, uint64(scenarios.MaxSeed), seedDefault))
}

// declareOptions declares the node option overrides and the visualization directory.
func (a *cmdArgs) declareOptions(fs *flag.FlagSet) {
	fs.Var(&a.reads, "reads", "`MODE` of reads: readindex, lease (turns CheckQuorum on) or local (unsafe); default: the scenario's")
	fs.Var(&a.checkQuorum, "checkquorum", "turn CheckQuorum on or off: -checkquorum=true or -checkquorum=false (default: the scenario's)")
	fs.Var(&a.preVote, "prevote", "turn PreVote on or off: -prevote=true or -prevote=false (default: the scenario's)")
	a.html.value = "."
	fs.Var(&a.html, "html", "write the HTML visualization of a non-linearizable history into `DIR`, an existing, writable directory (checked before the run if given)")
}

// declareRun declares run's flags.
func (a *cmdArgs) declareRun(fs *flag.FlagSet) {
	a.declareScenario(fs, "run", " (default 1)")
	fs.Var(&a.seeds, "seeds", fmt.Sprintf("run seeds 1..`N` in parallel, N from 1 to %d (instead of -seed)", maxSweep))
	a.parallel.value = strconv.Itoa(min(runtime.GOMAXPROCS(0), maxParallel))
	fs.Var(&a.parallel, "parallel", fmt.Sprintf("with -seeds, run up to `P` seeds at once, 1..%d", maxParallel))
	fs.Var(&a.seedTimeout, "seed-timeout", "with -seeds, abort a seed still running after `D` of wall-clock time, e.g. 30s or 5m (default: the scenario's virtual duration, at least 1m)")
	fs.Var(&a.verbose, "v", "tell the story of each run (its timeline)")
	fs.Var(&a.scheduleOut, "schedule-out", "write the run as a timed schedule to `FILE` ('-' for standard output): every fault with its time, every client operation, every packet not delivered once after the network's minimum delay; 'raftsim replay -schedule FILE' replays it exactly (one -seed only)")
	a.declareOptions(fs)
}

// declareReplay declares replay's flags.
func (a *cmdArgs) declareReplay(fs *flag.FlagSet) {
	a.declareScenario(fs, "replay", "; required unless -schedule")
	fs.Var(&a.trace, "trace", "write the event trace to `FILE` ('-' for standard output), in an existing, writable directory; required unless -schedule")
	fs.Var(&a.schedule, "schedule", "replay the schedule file `FILE` (a model checker's counterexample, say) instead of a scenario's seed")
	fs.Var(&a.verbose, "v", "with -schedule, tell the story of the run (its timeline)")
	a.declareOptions(fs)
}

// parseArgs parses a command's flags. It returns false, with the exit status, when the
// command is done: help was asked for (printed to stdout, like 'raftsim help'), or the
// flags did not parse (one line on stderr).
func (c *cli) parseArgs(cmd *command, args []string) (*cmdArgs, int, bool) {
	fs, a := cmd.flagSet()
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		cmd.printHelp(c.stdout)
		return nil, exitOK, false
	case err != nil:
		return nil, c.usageError("raftsim "+cmd.name, flagError(fs, cmd.name, err)), false
	case fs.NArg() > 0:
		return nil, c.usageError("raftsim "+cmd.name, strayArgs(fs, cmd.name)), false
	}
	return a, exitOK, true
}

// flagError rewrites an error of package flag (an unknown flag, a flag without its
// value, a bad boolean) to say what is valid.
func flagError(fs *flag.FlagSet, cmd string, err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "flag provided but not defined") {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, "-"+f.Name) })
		if len(names) == 0 {
			return fmt.Sprintf("%s; %s takes no flags", msg, cmd)
		}
		return fmt.Sprintf("%s; %s's flags are %s (see 'raftsim help %s')", msg, cmd, strings.Join(names, ", "), cmd)
	}
	return fmt.Sprintf("%s (see 'raftsim help %s')", msg, cmd)
}

// strayArgs describes the arguments left after the flags. The common cause is a boolean
// flag's value written as a separate argument (-prevote false), which package flag reads
// as -prevote and a stray "false".
func strayArgs(fs *flag.FlagSet, cmd string) string {
	first := fs.Arg(0)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return fmt.Sprintf("unexpected argument %q: %s takes no arguments", first, cmd)
	}
	if _, err := strconv.ParseBool(first); err == nil {
		return fmt.Sprintf("unexpected argument %q: a boolean flag takes its value after '=', as in -prevote=%s", first, first)
	}
	if strings.HasPrefix(first, "-") && first != "-" {
		return fmt.Sprintf("unexpected argument %q after a non-flag argument: %s takes flags only (see 'raftsim help %s')", first, cmd, cmd)
	}
	return fmt.Sprintf("unexpected argument %q: %s takes flags only (see 'raftsim help %s')", first, cmd, cmd)
}

// seedFlags are the checked flags shared by run and replay: what runMany and the single
// runs read.
type seedFlags struct {
	parallel    int
	seedTimeout time.Duration // 0: the default of seedTimeout
	overrides   scenarios.Overrides
	htmlDir     string
}

// options builds the scenario options from the flags.
func (f *seedFlags) options() scenarios.Options {
	return scenarios.Options{Overrides: f.overrides}
}

// overrides builds the node option overrides; a given -reads must name a mode.
func (a *cmdArgs) overrides() (scenarios.Overrides, error) {
	ov := scenarios.Overrides{Reads: a.reads.value}
	if a.reads.set && a.reads.value == "" {
		return ov, errors.New("-reads needs a mode: readindex, lease or local")
	}
	if a.checkQuorum.set {
		v := a.checkQuorum.value
		ov.CheckQuorum = &v
	}
	if a.preVote.set {
		v := a.preVote.value
		ov.PreVote = &v
	}
	return ov, ov.Validate()
}

// parseParallel parses -parallel.
func parseParallel(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxParallel {
		return 0, fmt.Errorf("-parallel %q: want how many seeds to run at once, 1..%d", shortText(s), maxParallel)
	}
	return n, nil
}

// shortText cuts a long argument to a length an error message can quote.
func shortText(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// checkJob checks what run and replay share, in the order of the usage line: the
// scenario, the seeds, the node options against every seed's configuration, and the
// -html directory (only if given: the default, ".", is needed only for a failure, and
// a write error then is reported without changing the verdict).
func (c *cli) checkJob(a *cmdArgs, j *job) error {
	sc, err := lookupScenario(a.scenario)
	if err != nil {
		return err
	}
	j.sc = sc
	j.seeds, err = scenarios.SeedFlags{Seed: a.seed.value, SeedSet: a.seed.set, Seeds: a.seeds.value, SeedsSet: a.seeds.set}.Select(c.maxSweep)
	if err != nil {
		return err
	}
	if j.seeds == nil {
		j.seeds = []uint64{1}
	}
	if j.flags.parallel, err = parseParallel(a.parallel.value); a.parallel.set && err != nil {
		return err
	}
	if j.flags.seedTimeout, err = parseSeedTimeout(a.seedTimeout); err != nil {
		return err
	}
	if j.flags.overrides, err = a.overrides(); err != nil {
		return err
	}
	for _, seed := range j.seeds {
		if err := j.flags.overrides.Check(sc, seed); err != nil {
			return fmt.Errorf("scenario %s seed %d%s: %w", sc.Name, seed, j.flags.overrides.Flags(), err)
		}
	}
	j.flags.htmlDir = a.html.value
	if a.html.set {
		return checkDir("-html", a.html.value)
	}
	return nil
}

// parseSeedTimeout reads -seed-timeout: a positive duration (0 when not given).
func parseSeedTimeout(t textFlag) (time.Duration, error) {
	if !t.set {
		return 0, nil
	}
	d, err := time.ParseDuration(t.value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("-seed-timeout %q: want a positive duration such as 30s or 5m", t.value)
	}
	return d, nil
}
