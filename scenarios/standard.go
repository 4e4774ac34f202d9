package scenarios

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/sim"
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
			for at := 2 * time.Second; at < 10*time.Second; at += 2 * time.Second {
				w.At(at, "fault", standardFault)
				w.At(at+time.Second, "heal", func(w *sim.World) {
					w.Heal()
					for id := node.ID(1); int(id) <= w.Nodes(); id++ {
						w.Restart(id)
					}
				})
			}
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

// standardFault crashes a random node or partitions a random minority away.
func standardFault(w *sim.World) {
	r := w.FaultRandom()
	id := node.ID(r.IntN(w.Nodes()) + 1)
	if r.IntN(2) == 0 {
		w.Crash(id)
		return
	}
	other := node.ID((int(id)+r.IntN(w.Nodes()-1))%w.Nodes() + 1) // any node but id
	w.Partition([]node.ID{id, other})
}
