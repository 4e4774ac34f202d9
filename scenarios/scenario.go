// Package scenarios holds raftsim's named scenarios: each sets up a cluster, a workload and
// a schedule of faults, runs it in the simulator and asserts its own answer to a question
// about Raft (see SEED-QUESTIONS.md), on top of the safety checks that every run has.
//
// The go test entry points live here too: `go test ./scenarios` runs every scenario over a
// few seeds; -seed N runs seed N only and -seeds N runs seeds 1..N.
//
// Determinism: a scenario's script may draw randomness only from the world's streams
// (World.Random, World.FaultRandom); it runs inside the simulator's single goroutine.
//
// Imports: sim, node, netsim and the standard library.
package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"time"

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
	// It must be deterministic and must not set the seed.
	Configure func(c *sim.Config)
	// Script schedules the scenario's faults and probes on a fresh world, before the run,
	// and returns the assertion to check on the finished run. Probes that find a broken
	// expectation during the run fail it with World.Failf.
	Script func(w *sim.World) Assertion
}

// Assertion checks a finished run (that no safety check failed is already known). It
// returns an error that says what was expected and what happened.
type Assertion func(w *sim.World, r *sim.Result) error

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

// Options tune one run without changing its outcome (except Trace's cost).
type Options struct {
	// Trace, if not nil, receives one line per event (see sim.Config.Trace).
	Trace func(line string)
}

// Outcome is a finished scenario run.
type Outcome struct {
	sim.Result
	// Assertion is the scenario's own verdict, checked only when every safety check held
	// (nil: the answer was as expected).
	Assertion error
	// Err is a setup error (an invalid configuration); the run did not happen.
	Err error
}

// Failed reports whether the run broke a check, its assertion, or could not start.
func (o *Outcome) Failed() bool { return o.Err != nil || o.Failure != nil || o.Assertion != nil }

// Problem describes what went wrong in one line plus detail, or "" if nothing did.
func (o *Outcome) Problem() string {
	switch {
	case o.Err != nil:
		return "setup: " + o.Err.Error()
	case o.Failure != nil:
		return o.Failure.Error()
	case o.Assertion != nil:
		return "scenario assertion failed: " + o.Assertion.Error()
	}
	return ""
}

// Config returns the scenario's configuration for a seed.
func (s Scenario) Config(seed uint64) sim.Config {
	c := sim.DefaultConfig()
	if s.Configure != nil {
		s.Configure(&c)
	}
	c.Scenario = s.Name
	c.Seed = seed
	return c
}

// Run runs the scenario with one seed.
func Run(s Scenario, seed uint64, opts Options) Outcome {
	cfg := s.Config(seed)
	cfg.Trace = opts.Trace
	w, err := sim.New(cfg)
	if err != nil {
		return Outcome{Result: sim.Result{Scenario: s.Name, Seed: seed}, Err: err}
	}
	assert := s.Script(w)
	res := w.Run()
	out := Outcome{Result: res}
	if res.Failure == nil && assert != nil {
		out.Assertion = assert(w, &res)
	}
	return out
}

// ReplayCommand is the command that replays a scenario run with a full event trace.
func ReplayCommand(name string, seed uint64) string {
	return fmt.Sprintf("go run ./cmd/raftsim replay -scenario %s -seed %d -trace %s-%d.trace", name, seed, name, seed)
}

// Report formats a failed outcome for a person: what failed, where, and the command that
// replays it (always last).
func Report(o *Outcome) string {
	return fmt.Sprintf("scenario %s seed %d failed (trace %016x, virtual time %v):\n  %s\nreplay: %s",
		o.Scenario, o.Seed, o.TraceHash, o.VirtualTime, o.Problem(), ReplayCommand(o.Scenario, o.Seed))
}

// ms is a shorthand for scenario timings.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }
