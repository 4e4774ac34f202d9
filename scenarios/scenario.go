// Package scenarios holds raftsim's named scenarios: each sets up a cluster, a workload and
// a schedule of faults, runs it in the simulator and asserts its own answer to a question
// about Raft (see SEED-QUESTIONS.md), on top of the safety checks that every run has.
//
// The go test entry points live here too: `go test ./scenarios` runs every scenario over a
// few seeds; -seed N runs seed N only and -seeds N runs seeds 1..N.
//
// Every run is checked three ways: the safety checks after every event (inside the
// simulator), the scenario's own assertion, and the clients' history for linearizability
// (package linearizability, with porcupine). The history check runs after the simulation
// with a wall-clock budget, outside the deterministic core: its verdict is not part of the
// trace hash, and a check that runs out of time is inconclusive, never a pass.
//
// The scenarios are grouped by topic, one file each: elections.go, replication.go,
// safety.go (with Raft's Figure 8), clients.go, clockjump.go (leases and clock steps),
// compaction.go and membership.go; the randomized ones are churn.go, standard.go (the
// benchmark workload) and swarm.go, each a configuration of the one fault generator
// (package sim/nemesis).
// probe.go holds what scripts share: polling probes, step watching, common assertions.
//
// Determinism: a scenario's script may draw randomness only from the world's streams
// (World.Random, World.FaultRandom); it runs inside the simulator's single goroutine.
//
// Imports: sim, sim/schedule, sim/nemesis, node, node/kv, linearizability and the standard library. No I/O: callers
// write the visualization (WriteVisualization takes an io.Writer).
package scenarios

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/sim"
)

// Scenario is a named, seeded experiment with its own assertion.
type Scenario struct {
	// Name is the scenario's identifier on the command line.
	Name string
	// Summary is one line for `raftsim list`.
	Summary string
	// Questions names the questions of SEED-QUESTIONS.md the scenario answers (e.g. "E1").
	Questions string
	// Configure adjusts the standard configuration (sim.DefaultConfig) for this scenario.
	// It must be deterministic and must not change the seed; it may read it (c.Seed is
	// set before it runs), as swarm testing does to choose its faults.
	Configure func(c *sim.Config)
	// Script schedules the scenario's faults and probes on a fresh world, before the run,
	// and returns the assertion to check on the finished run. Probes that find a broken
	// expectation during the run fail it with World.Failf.
	Script func(w *sim.World) Assertion
	// ExpectsViolations, if set, says for a configuration that the scenario's point is a
	// non-linearizable history (an unsafe read mode, say): a NotLinearizable verdict then
	// does not fail the run by itself, and the assertion judges it.
	ExpectsViolations func(c *sim.Config) bool
}

// Assertion checks a finished run (that no safety check failed is already known, and the
// history's linearizability verdict is in o). It returns an error that says what was
// expected and what happened.
type Assertion func(w *sim.World, o *Outcome) error

// All returns every scenario, sorted by name.
func All() []Scenario {
	all := []Scenario{
		happyPath(),
		leaderCrash(),
		minorityPartition(),
		majorityLoss(),
		figure8(),
		churn(),
		standard(),
		leaderMoves(),
		crashAtEachStep(),
		retryAfterCommit(),
		staleRead(),
		leaseBeyondDrift(),
		clockJump(),
		pausedLeader(),
		swarm(),
		addServer(),
		removeServer(),
		replaceLeader(),
		addServerSlow(),
		addServerAfterCompaction(),
		removedServerDisrupts(),
		partialPartition(),
		majorityLossPreVote(),
		leaderTransfer(),
		snapshotBasic(),
		snapshotInstallSlowFollower(),
		restartAfterSnapshot(),
		snapshotDedup(),
		longRunBoundedMemory(),
		staleTerm(),
		electionBasics(),
		voteRestriction(),
		staleLeaderPartitioned(),
		splitVote(),
		timeoutTooShort(),
		voteSurvivesCrash(),
		slowFollower(),
		followerApply(),
		duplicationOnly(),
		generated(),
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Names returns every scenario's name, sorted.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	return names
}

// Lookup finds a scenario by name. The error lists the valid names.
func Lookup(name string) (Scenario, error) {
	for _, s := range All() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q; valid scenarios: %s", name, strings.Join(Names(), ", "))
}

// Options tune one run.
type Options struct {
	// Trace, if not nil, receives one line per event (see sim.Config.Trace). It does not
	// change the run.
	Trace func(line string)
	// Overrides change the scenario's node options (and so the run).
	Overrides Overrides
	// CheckBudget bounds the wall time of the linearizability check (0:
	// DefaultCheckBudget).
	CheckBudget time.Duration
	// Interrupt, if not nil, can stop the run from outside (see sim.Config.Interrupt); an
	// interrupted run is returned as it stopped (Outcome.Interrupted), unchecked.
	Interrupt func() bool
	// NewServer, if not nil, replaces the servers (sim.Config.NewServer): a test plants a
	// bug through it, or an adapter drives another Raft implementation.
	NewServer func(cfg node.Config, d node.DurableState) (sim.Server, error)

	// skipHistory leaves the history check out (the shrinker, when the failure it keeps
	// is a check that fails during the run, so the verdict cannot matter).
	skipHistory bool
}

// DefaultCheckBudget is the linearizability check's default wall-clock budget. A
// standard run's history checks in milliseconds; the budget is for pathological ones.
const DefaultCheckBudget = 20 * time.Second

// Outcome is a finished scenario run.
type Outcome struct {
	sim.Result
	// Overrides are the node option overrides the run used (for its replay command).
	Overrides Overrides
	// Linearizability is the verdict on the clients' history (zero if the run failed a
	// safety check first, or had no clients).
	Linearizability linearizability.Result
	// ViolationExpected: the scenario expects this configuration's history not to be
	// linearizable (see Scenario.ExpectsViolations).
	ViolationExpected bool
	// Assertion is the scenario's own verdict, checked only when every safety check held
	// (nil: the answer was as expected).
	Assertion error
	// Err is a setup error (an invalid configuration); the run did not happen.
	Err error
	// Visualization is the path of the history's HTML visualization, if a caller wrote
	// one (see WriteVisualization); Report mentions it.
	Visualization string
	// Replay, if not empty, is the command that replays the run (a schedule's replay);
	// otherwise Report gives ReplayCommand's.
	Replay string

	// settled is how many entries were committed settleTime before the end (see
	// converged).
	settled int
}

// Failed reports whether the run broke a check, its assertion, or could not start.
func (o *Outcome) Failed() bool {
	return o.Err != nil || o.Failure != nil || o.Assertion != nil || o.unexpectedViolation()
}

func (o *Outcome) unexpectedViolation() bool {
	return o.Linearizability.Verdict == linearizability.NotLinearizable && !o.ViolationExpected
}

// Inconclusive reports whether the history check ran out of time. An inconclusive run
// is not a pass; the tool exits with status 3 for it.
func (o *Outcome) Inconclusive() bool {
	return o.Linearizability.Verdict == linearizability.Inconclusive
}

// Problem describes what went wrong in one line plus detail, or "" if nothing did.
func (o *Outcome) Problem() string {
	switch {
	case o.Err != nil:
		return "setup: " + o.Err.Error()
	case o.Failure != nil:
		return o.Failure.Error()
	case o.unexpectedViolation():
		msg := fmt.Sprintf("Linearizability failed: the clients' history (%d operations) has no legal linearization", o.Linearizability.Checked)
		if e := o.Linearizability.Explanation; e != nil {
			msg += "; " + strings.TrimSuffix(e.Text(), "\n")
		}
		return msg
	case o.Assertion != nil:
		return "scenario assertion failed: " + o.Assertion.Error()
	case o.Inconclusive():
		return fmt.Sprintf("Linearizability inconclusive: the check ran out of its %v budget", o.Linearizability.Elapsed.Round(time.Millisecond))
	}
	return ""
}

// Config returns the scenario's configuration for a seed.
func (s Scenario) Config(seed uint64) sim.Config {
	c := sim.DefaultConfig()
	c.Scenario, c.Seed = s.Name, seed
	if s.Configure != nil {
		s.Configure(&c)
	}
	if c.Seed != seed {
		panic("scenarios: " + s.Name + ": Configure changed the seed")
	}
	return c
}

// Run runs the scenario with one seed, then checks the clients' history and the
// scenario's assertion.
func Run(s Scenario, seed uint64, opts Options) Outcome {
	cfg := s.Config(seed)
	out := Outcome{Result: sim.Result{Scenario: s.Name, Seed: seed}, Overrides: opts.Overrides}
	if err := opts.Overrides.Apply(&cfg); err != nil {
		out.Err = err
		return out
	}
	return runConfigured(s, cfg, opts, out)
}

// runConfigured is Run once the configuration is settled (a seeded run's, or a timed
// schedule's replay, with Config.Record or Config.Replay set): the world, the script, the
// run, the history check and the assertion. out holds what the caller knows of the
// outcome already.
func runConfigured(s Scenario, cfg sim.Config, opts Options, out Outcome) Outcome {
	cfg.Trace, cfg.Interrupt = opts.Trace, opts.Interrupt
	if opts.NewServer != nil {
		cfg.NewServer = opts.NewServer
	}
	out.ViolationExpected = s.ExpectsViolations != nil && s.ExpectsViolations(&cfg)
	w, err := sim.New(cfg)
	if err != nil {
		out.Err = err
		return out
	}
	assert := s.Script(w)
	w.At(cfg.Duration-settleTime, "settle mark", func(w *sim.World) { out.settled = w.CommittedLen() })
	out.Result = w.Run()
	if out.Failure != nil || out.Interrupted {
		return out
	}
	if !opts.skipHistory && !out.checkHistory(opts) {
		return out
	}
	if assert != nil {
		out.Assertion = assert(w, &out)
	}
	return out
}

// checkHistory checks the run's client history for linearizability within opts'
// budget. It reports false, with Err set, if the history is malformed: the simulator
// recorded a history the checker refuses, a simulator bug.
func (out *Outcome) checkHistory(opts Options) bool {
	if len(out.History) == 0 {
		return true
	}
	budget := opts.CheckBudget
	if budget == 0 {
		budget = DefaultCheckBudget
	}
	var err error
	if out.Linearizability, err = linearizability.Check(out.History, budget); err != nil {
		out.Err = fmt.Errorf("the recorded history is malformed: %w", err)
		return false
	}
	return true
}

// WriteVisualization writes the run's history as porcupine's HTML visualization, with the
// run's faults and leaders as annotations. The outcome must have a checked history.
func WriteVisualization(o *Outcome, w io.Writer) error {
	if o.Linearizability.Verdict == 0 {
		return fmt.Errorf("scenario %s seed %d has no checked history to visualize", o.Scenario, o.Seed)
	}
	return o.Linearizability.WriteHTML(w, o.Annotations)
}

// ReplayCommand is the command that replays a scenario run with a full event trace.
func ReplayCommand(name string, seed uint64, ov Overrides) string {
	return fmt.Sprintf("go run ./cmd/raftsim replay -scenario %s -seed %d%s -trace %s-%d.trace", name, seed, ov.Flags(), name, seed)
}

// Report formats a failed outcome for a person: what failed, where, the history's
// visualization if one was written, and the command that replays it (always last).
func Report(o *Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s seed %d%s failed (trace %016x, virtual time %v):\n  %s\n",
		o.Scenario, o.Seed, o.Overrides.Flags(), o.TraceHash, o.VirtualTime, o.Problem())
	if o.Visualization != "" {
		fmt.Fprintf(&b, "history visualization: %s\n", o.Visualization)
	}
	replay := o.Replay
	if replay == "" {
		replay = ReplayCommand(o.Scenario, o.Seed, o.Overrides)
	}
	fmt.Fprintf(&b, "replay: %s", replay)
	return b.String()
}

// ms is a shorthand for scenario timings.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }
