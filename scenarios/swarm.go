package scenarios

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/sim"
	"raftsim/sim/nemesis"
)

// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): instead of every fault at a
// fixed strength in every run, each seed chooses which faults are on and how strong they
// are, so that rare combinations (heavy duplication with tiny snapshots, a lossy network
// with pauses and PreVote off, the leader removed while its clock jumps...) get explored
// across a sweep. The choice (swarmPlan) comes from the seed alone, through its own
// stream, so a failing seed replays exactly; the run's timeline opens with it.
//
// A seed picks the cluster (1, 3, 5 or 7 voters, and up to two spares when it changes the
// membership), the network's rates (and whether they change during the run), the node's
// options (PreVote, CheckQuorum, lease reads, snapshots, batches), the clients, and the
// nemesis's mix: crashes, restarts, partitions of every shape, pauses, clock drift, clock
// rate changes and jumps (never with lease reads: a follower's clock jumping forward
// breaks the lease's promise), membership changes (adding a spare, removing a follower,
// removing the leader, re-adding a removed server) and leadership transfers, all on one
// timeline so that they interleave. A seed with neither PreVote nor CheckQuorum shuts
// removed servers down (nemesis.Options.Decommission), which is what keeps such a cluster
// live (thesis §4.2.3); the other seeds choose.
//
// After swarmFaultsEnd everything heals (links, crashed servers, the network's rates back
// to the seed's), and the cluster must make progress at once, finish the membership change
// it was in, and converge, as the final configuration, once the load stops (caughtUp).

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

// swarmPlan is what one seed chose: the configuration's choices (applied by apply) and
// the nemesis's options.
type swarmPlan struct {
	voters, spares           int
	loss, dup, reorder, tail float64
	preVote, checkQuorum     bool
	lease                    bool
	snapshots, chunk, batch  int
	clients, keys            int
	drift                    float64 // the clocks' initial drift bound (0: perfect clocks)
	nem                      nemesis.Options
}

// swarmRates are the network rates a seed chooses among, for the whole run and for the
// nemesis's rate changes.
func swarmRates() nemesis.NetChoices {
	return nemesis.NetChoices{
		Loss:      []float64{0, 0.01, 0.05, 0.2},
		Duplicate: []float64{0, 0.01, 0.1},
		Reorder:   []float64{0, 0.1, 0.5},
		Tail:      []float64{0, 0.01, 0.1},
	}
}

// swarmDrift is the clock drift bound of the seeds that drift or change clock rates:
// within the lease's bound (the servers' MaxClockDrift is set to it).
const swarmDrift = 0.02

// planFor draws seed's plan from a stream of its own: a function of the seed alone.
func planFor(seed uint64) swarmPlan {
	r := rand.New(rand.NewPCG(seed, 0x5ea4a3d))
	rates := swarmRates()
	pickF := func(xs []float64) float64 { return xs[r.IntN(len(xs))] }
	p := swarmPlan{
		loss: pickF(rates.Loss), dup: pickF(rates.Duplicate), reorder: pickF(rates.Reorder), tail: pickF(rates.Tail),
		preVote: r.IntN(2) == 0, checkQuorum: r.IntN(2) == 0,
	}
	p.lease = p.checkQuorum && r.IntN(2) == 0
	p.snapshots = []int{0, 5, 30, 200}[r.IntN(4)]
	p.chunk = []int{64, 256, 4096}[r.IntN(3)]
	p.batch = []int{4, 16, 64}[r.IntN(3)]
	p.clients, p.keys = 1+r.IntN(8), 1+r.IntN(10)
	p.voters = []int{1, 3, 5, 7}[r.IntN(4)]
	if r.IntN(2) == 0 {
		p.drift = swarmDrift
	}
	p.nem = swarmNemesis(r, &p)
	return p
}

// swarmNemesis draws the seed's nemesis: which kinds are on (each with a weight of 1-3),
// how often faults come, how strong they are. It sets p.spares when membership changes
// are on.
func swarmNemesis(r *rand.Rand, p *swarmPlan) nemesis.Options {
	o := nemesis.Options{
		Start: 0, End: swarmFaultsEnd, FinalHeal: true,
		Label: "swarm fault", FinalHealLabel: "heal everything",
		PauseMin: 100 * time.Millisecond, PauseMax: 1600 * time.Millisecond,
		ClockDrift: swarmDrift, Net: swarmRates(),
	}
	on := func(k nemesis.Kind, oneIn int) {
		if r.IntN(oneIn) == 0 {
			o.Mix[k] = 1 + r.IntN(3)
		}
	}
	for _, k := range []nemesis.Kind{nemesis.Crash, nemesis.Restart, nemesis.Partition} {
		on(k, 2)
	}
	for _, k := range []nemesis.Kind{nemesis.PairPartition, nemesis.Isolate, nemesis.OneWay, nemesis.Bridge, nemesis.Pause, nemesis.ClockRate, nemesis.NetRates} {
		on(k, 3)
	}
	o.Mix[nemesis.Heal] = 1
	if r.IntN(3) == 0 { // wall-clock steps: the servers time by the monotonic clock, leases too
		o.Mix[nemesis.ClockJump] = 1 + r.IntN(3)
		o.ClockJumpMax = []time.Duration{50 * time.Millisecond, 500 * time.Millisecond, 3 * time.Second}[r.IntN(3)]
	}
	if r.IntN(2) == 0 {
		p.spares = 1 + r.IntN(2)
		for _, k := range []nemesis.Kind{nemesis.AddServer, nemesis.RemoveServer, nemesis.RemoveLeader, nemesis.ReAddServer} {
			on(k, 2)
		}
	}
	on(nemesis.Transfer, 2)
	o.Decommission = r.IntN(2) == 0
	o.GapMin = time.Duration(200+r.IntN(800)) * time.Millisecond
	o.GapMax = o.GapMin + time.Duration(r.IntN(2000))*time.Millisecond
	o.Start = o.GapMin
	return o
}

// apply sets the plan's choices in c.
func (p *swarmPlan) apply(c *sim.Config) {
	c.Nodes, c.Spares = p.voters, p.spares
	c.Net.LossProbability, c.Net.DuplicateProbability = p.loss, p.dup
	c.Net.ReorderProbability, c.Net.TailProbability = p.reorder, p.tail
	c.Node.PreVote, c.Node.CheckQuorum = p.preVote, p.checkQuorum
	if p.lease {
		c.Node.ReadMode = node.ReadLease
	}
	c.Node.SnapshotThreshold, c.Node.SnapshotChunkSize, c.Node.MaxEntriesPerMessage = p.snapshots, p.chunk, p.batch
	c.Clients.Count, c.Clients.Keys = p.clients, p.keys
	c.Clients.GiveUpAfter = 10 * time.Second // few unknown outcomes: keeps the check tractable
	c.Clocks.DriftMax = p.drift
	if p.drift > 0 || p.nem.Mix[nemesis.ClockRate] > 0 {
		c.Node.MaxClockDrift = swarmDrift // within the lease's bound
	}
}

// nemesisFor is the plan's nemesis options adjusted to the run's configuration c (the
// seed's, with any command-line overrides): removed
// servers shut down when neither PreVote nor CheckQuorum protects the cluster from them;
// a new membership change only once every copy of the previous request has left the
// network (the longest delay, with reordering, or a pause that holds a request back).
func (p *swarmPlan) nemesisFor(c *sim.Config) nemesis.Options {
	o := p.nem
	if !c.Node.PreVote && !c.Node.CheckQuorum {
		o.Decommission = true
	}
	o.AdminQuiet = max(c.Net.DelayMax, c.Net.TailMax) + c.Net.DelayMax + o.PauseMax
	return o
}

// describe is the plan in words, for the run's timeline.
func (p *swarmPlan) describe(c *sim.Config, o *nemesis.Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "swarm plan: %d voters", c.Nodes)
	if c.Spares > 0 {
		fmt.Fprintf(&b, " and %d spares", c.Spares)
	}
	fmt.Fprintf(&b, "; network loss %v, duplication %v, reordering %v, tail %v; PreVote %v, CheckQuorum %v, reads %v, clock drift up to %v; ",
		c.Net.LossProbability, c.Net.DuplicateProbability, c.Net.ReorderProbability, c.Net.TailProbability,
		onOff(c.Node.PreVote), onOff(c.Node.CheckQuorum), c.Node.ReadMode, c.Clocks.DriftMax)
	snap := "off"
	if c.Node.SnapshotThreshold > 0 {
		snap = fmt.Sprintf("every %d entries in chunks of %d bytes", c.Node.SnapshotThreshold, c.Node.SnapshotChunkSize)
	}
	fmt.Fprintf(&b, "snapshots %s, batches of %d entries; %d clients on %d keys; ", snap, c.Node.MaxEntriesPerMessage, c.Clients.Count, c.Clients.Keys)
	fmt.Fprintf(&b, "faults every %v-%v from %v to %v: %v", o.GapMin, o.GapMax, o.Start, o.End, &o.Mix)
	if o.Mix[nemesis.ClockJump] > 0 {
		fmt.Fprintf(&b, "; clock jumps up to %v", o.ClockJumpMax)
	}
	if o.Decommission {
		b.WriteString("; removed servers are shut down")
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func swarm() Scenario {
	return Scenario{
		Name:      "swarm",
		Summary:   "swarm testing: each seed picks the cluster (1-7 voters, spares), which faults are on (crashes, restarts, partitions, one-way cuts, bridges, pauses, clock drift, rate changes and jumps, network rate changes), which operator actions (adding, removing, removing the leader, re-adding, transfers) and how strong (loss, duplication, reordering, snapshot and batch sizes, PreVote, CheckQuorum, lease reads); after 15 s everything heals: the cluster must make progress at once, finish its membership change and, once the load stops, converge",
		Questions: "all",
		Configure: func(c *sim.Config) {
			p := planFor(c.Seed)
			p.apply(c)
			c.Duration = swarmFaultsEnd + swarmSettle
			c.Clients.Stop = swarmFaultsEnd + swarmLoadAfter
		},
		Script: func(w *sim.World) Assertion {
			assert, _ := swarmScript(w)
			return assert
		},
	}
}

// swarmScript is the swarm's script; it also returns the run's nemesis, whose counts a
// test reads after the run.
func swarmScript(w *sim.World) (Assertion, *nemesis.Nemesis) {
	cfg := w.Config()
	p := planFor(cfg.Seed) // the same plan as Configure's: a function of the seed
	opts := p.nemesisFor(&cfg)
	w.Note("%s", p.describe(&cfg, &opts))
	n := mustNemesis(opts)
	commitsAtHeal, okAtHeal := 0, uint64(0)
	n.Start(w, func(w *sim.World) {
		commitsAtHeal, okAtHeal = w.CommittedLen(), w.Counts().ClientOK
		w.Note("swarm: the nemesis injected %s; everything healed", n.Summary())
	})
	// Progress: a leader, and a new commit or a client operation answered (with few
	// clients, the operations after the heal may all be reads, which commit nothing).
	expectWithin(w, swarmFaultsEnd, swarmFaultsEnd+2*failoverBound, "progress after healing",
		func(w *sim.World) bool {
			return leaderExists(w) && (w.CommittedLen() > commitsAtHeal || w.Counts().ClientOK > okAtHeal)
		},
		func(*sim.World) string { return "no leader committing or answering clients after everything healed" }, nil)
	// Convergence, once the load has stopped: at some moment of the settle period a leader
	// and every live member of its configuration agree on the commit index and have
	// applied it. (Judged at some moment, not at the last instant: with a lossy network
	// and no PreVote, a follower that misses a few heartbeats may depose the leader just
	// before the end, and a member then lacks the last leader's no-op.)
	expectWithin(w, swarmFaultsEnd+swarmLoadAfter, cfg.Duration, "convergence after the load stopped", caughtUp,
		func(*sim.World) string { return "the members never all caught up with a leader once the load stopped" }, nil)
	return func(w *sim.World, o *Outcome) error {
		if w.AdminPending() {
			return fmt.Errorf("a membership change requested before the heal was still pending %v after it (configuration %v):\n%s",
				swarmSettle, o.FinalConfig, w.Describe())
		}
		if c := o.FinalConfig; c.Joint() || len(c.Learners) > 0 {
			return fmt.Errorf("the final configuration %v is still changing, with no change requested", c)
		}
		return requireLinearizable(o)
	}, n
}

// caughtUp reports whether there is a leader and every live member of its configuration
// has committed the leader's commit index and applied everything it committed.
func caughtUp(w *sim.World) bool {
	l := w.Leader()
	if l == node.None {
		return false
	}
	commit := w.View(l).CommitIndex
	conf := w.Configuration()
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if !w.Up(id) || !conf.IsMember(id) {
			continue
		}
		if v := w.View(id); v.CommitIndex != commit || v.AppliedIndex != v.CommitIndex {
			return false
		}
	}
	return commit > 0
}
