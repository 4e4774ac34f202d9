package scenarios

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// churn timings: faults for churnFaultsEnd, then everything heals and the cluster must
// make progress and converge.
const (
	churnFaultsEnd = 30 * time.Second
	churnEnd       = 36 * time.Second
)

func churn() Scenario {
	return Scenario{
		Name:      "churn",
		Summary:   "lossy, duplicating, reordering network with random crashes, restarts and partitions for 30 s; then it heals and the cluster must recover",
		Questions: "R3, E1, E5",
		Configure: func(c *sim.Config) {
			c.Duration = churnEnd
			c.Clients.Stop = churnEnd - time.Second
			// Clients persevere: a given-up write has an unknown outcome, and many of them
			// on one key make the linearizability check exponential.
			c.Clients.GiveUpAfter = 10 * time.Second
			c.Net.LossProbability = 0.05
			c.Net.DuplicateProbability = 0.05
			c.Net.ReorderProbability = 0.1
			c.Net.TailProbability = 0.02
		},
		Script: func(w *sim.World) Assertion {
			n := &nemesis{}
			w.At(time.Second, "nemesis", n.act)
			var commitsAtHeal int
			w.At(churnFaultsEnd, "heal everything", func(w *sim.World) {
				w.Heal()
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					w.Restart(id)
				}
				commitsAtHeal = w.CommittedLen()
			})
			expectWithin(w, churnFaultsEnd, churnFaultsEnd+failoverBound, "progress after healing",
				func(w *sim.World) bool { return leaderExists(w) && w.CommittedLen() > commitsAtHeal },
				func(w *sim.World) string { return "no leader committing new entries after the faults healed" }, nil)
			return func(w *sim.World, o *Outcome) error {
				if n.crashes == 0 || n.partitions == 0 {
					return fmt.Errorf("the nemesis injected %d crashes and %d partitions; the scenario needs both", n.crashes, n.partitions)
				}
				if !converged(w, o) {
					return fmt.Errorf("the cluster did not converge after healing:\n%s", w.Describe())
				}
				return nil
			}
		},
	}
}

// nemesis injects a random fault roughly every second until churnFaultsEnd, drawing only
// from the world's fault stream.
type nemesis struct {
	crashes, partitions int
}

func (n *nemesis) act(w *sim.World) {
	if w.Now() >= churnFaultsEnd {
		return
	}
	r := w.FaultRandom()
	id := node.ID(r.IntN(w.Nodes()) + 1)
	switch r.IntN(6) {
	case 0, 1:
		if w.Up(id) {
			n.crashes++
			w.Crash(id)
		} else {
			w.Restart(id)
		}
	case 2:
		w.Restart(id)
	case 3:
		n.partitions++
		var side []node.ID
		for x := node.ID(1); int(x) <= w.Nodes(); x++ {
			if r.IntN(2) == 0 {
				side = append(side, x)
			}
		}
		w.Partition(side)
	case 4:
		n.partitions++
		w.Isolate(id)
	case 5:
		w.Heal()
	}
	next := 500*time.Millisecond + time.Duration(r.Int64N(int64(time.Second)))
	w.At(w.Now()+next, "nemesis", n.act)
}
