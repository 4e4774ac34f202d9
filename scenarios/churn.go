package scenarios

import (
	"fmt"
	"time"

	"raftsim/sim"
	"raftsim/sim/nemesis"
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
			n := mustNemesis(churnNemesis())
			var commitsAtHeal int
			n.Start(w, func(w *sim.World) { commitsAtHeal = w.CommittedLen() })
			expectWithin(w, churnFaultsEnd, churnFaultsEnd+failoverBound, "progress after healing",
				func(w *sim.World) bool { return leaderExists(w) && w.CommittedLen() > commitsAtHeal },
				func(w *sim.World) string { return "no leader committing new entries after the faults healed" }, nil)
			return func(w *sim.World, o *Outcome) error {
				crashes, partitions := n.Count(nemesis.Crash), n.Count(nemesis.Partition)+n.Count(nemesis.Isolate)
				if crashes == 0 || partitions == 0 {
					return fmt.Errorf("the nemesis injected %d crashes and %d partitions; the scenario needs both", crashes, partitions)
				}
				if !converged(w, o) {
					return fmt.Errorf("the cluster did not converge after healing:\n%s", w.Describe())
				}
				return nil
			}
		},
	}
}

// churnNemesis is churn's configuration of the nemesis: from 1 s until churnFaultsEnd, a
// fault every 0.5-1.5 s: a crash (twice as often as the others; a crashed victim is
// restarted instead), a restart, a random partition, an isolated server, or a heal; at
// churnFaultsEnd everything heals.
func churnNemesis() nemesis.Options {
	var mix nemesis.Mix
	mix[nemesis.Crash], mix[nemesis.Restart], mix[nemesis.Partition], mix[nemesis.Isolate], mix[nemesis.Heal] = 2, 1, 1, 1, 1
	return nemesis.Options{
		Mix:   mix,
		Start: time.Second, End: churnFaultsEnd,
		GapMin: 500 * time.Millisecond, GapMax: 1500 * time.Millisecond,
		FinalHeal: true,
		Label:     "nemesis", FinalHealLabel: "heal everything",
	}
}

// mustNemesis builds a nemesis from a scenario's own options, which are valid by
// construction (the scenarios' tests run every configuration).
func mustNemesis(o nemesis.Options) *nemesis.Nemesis {
	n, err := nemesis.New(o)
	if err != nil {
		panic("scenarios: invariant broken: a scenario's nemesis options are invalid: " + err.Error())
	}
	return n
}
