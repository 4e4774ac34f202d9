package scenarios

import (
	"math/rand/v2"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): instead of every fault at a
// fixed strength in every run, each seed chooses which faults are on and how strong they
// are, so that rare combinations (heavy duplication with tiny snapshots, a lossy network
// with pauses and PreVote off...) get explored across a sweep. The choice comes from the
// seed alone, through its own stream, so a failing seed replays exactly.

// swarmFaultsEnd is when the swarm's faults stop; the run goes on for swarmSettle so that
// progress and convergence can be asserted.
const (
	swarmFaultsEnd = 15 * time.Second
	swarmSettle    = 8 * time.Second
	// Clients stop swarmLoadAfter the heal: catching up by snapshots can lag behind a
	// sustained load when snapshots are frequent (the leader compacts past a follower
	// faster than a transfer takes), so convergence is judged once the load has stopped.
	swarmLoadAfter = 2 * time.Second
)

// swarmPlan is what one seed turned on.
type swarmPlan struct {
	crashes, partitions, oneWay, bridges, pauses, drift bool
	gapMin, gapMax                                      time.Duration // between faults
}

// planFor draws a seed's plan and options from a stream of its own.
func planFor(c *sim.Config) swarmPlan {
	r := rand.New(rand.NewPCG(c.Seed, 0x5ea4a3d))
	pick := func(xs ...float64) float64 { return xs[r.IntN(len(xs))] }
	c.Net.LossProbability = pick(0, 0.01, 0.05, 0.2)
	c.Net.DuplicateProbability = pick(0, 0.01, 0.1)
	c.Net.ReorderProbability = pick(0, 0.1, 0.5)
	c.Net.TailProbability = pick(0, 0.01, 0.1)
	c.Node.PreVote = r.IntN(2) == 0
	c.Node.CheckQuorum = r.IntN(2) == 0
	if c.Node.CheckQuorum && r.IntN(2) == 0 {
		c.Node.ReadMode = node.ReadLease
	}
	c.Node.SnapshotThreshold = []int{0, 5, 30, 200}[r.IntN(4)]
	c.Node.SnapshotChunkSize = []int{64, 256, 4096}[r.IntN(3)]
	c.Node.MaxEntriesPerMessage = []int{4, 16, 64}[r.IntN(3)]
	c.Clients.Count = 1 + r.IntN(8)
	c.Clients.Keys = 1 + r.IntN(10)
	c.Clients.GiveUpAfter = 10 * time.Second // few unknown outcomes: keeps the check tractable
	p := swarmPlan{
		crashes: r.IntN(2) == 0, partitions: r.IntN(2) == 0, oneWay: r.IntN(3) == 0,
		bridges: r.IntN(3) == 0, pauses: r.IntN(3) == 0, drift: r.IntN(2) == 0,
	}
	if p.drift {
		c.Clocks.DriftMax, c.Node.MaxClockDrift = 0.02, 0.02 // within the lease's bound
	}
	p.gapMin = time.Duration(200+r.IntN(800)) * time.Millisecond
	p.gapMax = p.gapMin + time.Duration(r.IntN(2000))*time.Millisecond
	return p
}

func swarm() Scenario {
	return Scenario{
		Name:      "swarm",
		Summary:   "swarm testing: each seed picks which faults are on (crashes, partitions, one-way cuts, bridges, pauses, clock drift) and how strong (loss, duplication, reordering, snapshot and batch sizes, PreVote, CheckQuorum, lease reads); after 15 s everything heals: the cluster must make progress at once and, once the load stops, converge",
		Questions: "all",
		Configure: func(c *sim.Config) {
			planFor(c)
			c.Duration = swarmFaultsEnd + swarmSettle
			c.Clients.Stop = swarmFaultsEnd + swarmLoadAfter
		},
		Script: func(w *sim.World) Assertion {
			cfg := w.Config()
			p := planFor(&cfg) // the same draws as Configure: the plan is a function of the seed
			w.Note("swarm: loss %.0f%%, dup %.0f%%, reorder %.0f%%, prevote %v, checkquorum %v, reads %v, snapshots every %d, %d clients; faults: %+v",
				float64(cfg.Net.LossProbability*100), float64(cfg.Net.DuplicateProbability*100), float64(cfg.Net.ReorderProbability*100),
				cfg.Node.PreVote, cfg.Node.CheckQuorum, cfg.Node.ReadMode, cfg.Node.SnapshotThreshold, cfg.Clients.Count, p)
			w.At(p.gapMin, "swarm fault", func(w *sim.World) { p.act(w) })
			commitsAtHeal, okAtHeal := 0, uint64(0)
			w.At(swarmFaultsEnd, "heal everything", func(w *sim.World) {
				w.Heal()
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					w.Restart(id)
				}
				commitsAtHeal, okAtHeal = w.CommittedLen(), w.Counts().ClientOK
			})
			// Progress: a leader, and a new commit or a client operation answered (with few
			// clients, the operations after the heal may all be reads, which commit nothing).
			expectWithin(w, swarmFaultsEnd, swarmFaultsEnd+2*failoverBound, "progress after healing",
				func(w *sim.World) bool {
					return leaderExists(w) && (w.CommittedLen() > commitsAtHeal || w.Counts().ClientOK > okAtHeal)
				},
				func(*sim.World) string { return "no leader committing or answering clients after everything healed" }, nil)
			return func(w *sim.World, o *Outcome) error {
				return requireSettled(w, o, "the cluster did not converge after healing")
			}
		},
	}
}

// act injects one of the plan's faults and schedules the next, until swarmFaultsEnd.
func (p swarmPlan) act(w *sim.World) {
	if w.Now() >= swarmFaultsEnd {
		return
	}
	r := w.FaultRandom()
	n := w.Nodes()
	a, b := node.ID(r.IntN(n)+1), node.ID(r.IntN(n)+1)
	switch k := r.IntN(7); {
	case k == 0 && p.crashes:
		if w.Up(a) {
			w.Crash(a)
		} else {
			w.Restart(a)
		}
	case k == 1 && p.partitions:
		var side []node.ID
		for id := node.ID(1); int(id) <= n; id++ {
			if r.IntN(2) == 0 {
				side = append(side, id)
			}
		}
		w.Partition(side)
	case k == 2 && p.oneWay && a != b:
		w.CutOneWay(a, b)
	case k == 3 && p.bridges:
		c := node.ID(r.IntN(n) + 1)
		if a != b && b != c && a != c {
			w.Bridge(a, b, c)
		}
	case k == 4 && p.pauses:
		w.Pause(a, time.Duration(100+r.IntN(1500))*time.Millisecond)
	case k == 5:
		w.Heal()
	case k == 6 && p.crashes:
		w.Restart(a)
	}
	gap := p.gapMin + time.Duration(r.Int64N(int64(p.gapMax-p.gapMin)+1))
	w.At(w.Now()+gap, "swarm fault", func(w *sim.World) { p.act(w) })
}
