package scenarios

import (
	"fmt"
	"time"

	"raftsim/sim"
	"raftsim/sim/nemesis"
)

// standard is the fixed workload of DESIGN.md's performance budget, so that benchmark
// figures compare across changes: 5 nodes; heartbeat 50 ms, election timeout 150-300 ms;
// delay 1-10 ms with a 1% tail to 100 ms, 1% loss, 1% duplication; a crash or a
// partition every 2 virtual seconds, healed after 1; a proposal every 5-15 ms until 9.5 s; 10 s.
// Do not change it without saying so next to the benchmark figures it invalidates.
func standard() Scenario {
	return Scenario{
		Name:      "standard",
		Summary:   "the benchmark workload: lossy network, a crash or partition every 2 s healed after 1 s; the cluster converges at the end",
		Questions: "R2, E1",
		Configure: func(c *sim.Config) {
			c.Duration = 10 * time.Second
			// Quiet for the last half second, so that convergence can be asserted.
			c.Clients.Stop = 9500 * time.Millisecond
		},
		Script: func(w *sim.World) Assertion {
			mustNemesis(standardNemesis()).Start(w, nil)
			return func(w *sim.World, o *Outcome) error {
				if o.Counts.Commits < 200 {
					return fmt.Errorf("only %d entries committed in 10 s", o.Counts.Commits)
				}
				// Last heal at 9 s: a leader must be back and everyone caught up by 10 s.
				if !converged(w, o) {
					return fmt.Errorf("the cluster did not converge after the last heal:\n%s", w.Describe())
				}
				return nil
			}
		},
	}
}

// standardNemesis is standard's configuration of the nemesis: at 2, 4, 6 and 8 s a crash
// of a random server or a partition cutting a random pair of servers off, each healed
// (links up, every server restarted) one second later.
func standardNemesis() nemesis.Options {
	var mix nemesis.Mix
	mix[nemesis.Crash], mix[nemesis.PairPartition] = 1, 1
	return nemesis.Options{
		Mix:   mix,
		Start: 2 * time.Second, End: 10 * time.Second,
		Period: 2 * time.Second, HealAfter: time.Second,
		Label: "fault", HealLabel: "heal",
	}
}
