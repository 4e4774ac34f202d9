package scenarios

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/sim"
	"raftsim/sim/nemesis"
)

// TestSwarmPlanIsAFunctionOfTheSeed: the plan (and so the configuration and the timeline's
// description of it) depends on the seed alone: drawn twice it is the same, and seeds
// differ.
func TestSwarmPlanIsAFunctionOfTheSeed(t *testing.T) {
	sc := swarm()
	distinct := map[string]bool{}
	for seed := uint64(1); seed <= 50; seed++ {
		a, b := planFor(seed), planFor(seed)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two plans\n%+v\n%+v", seed, a, b)
		}
		ca, cb := sc.Config(seed), sc.Config(seed)
		oa, ob := a.nemesisFor(&ca), b.nemesisFor(&cb)
		da, db := a.describe(&ca, &oa), b.describe(&cb, &ob)
		if da != db {
			t.Fatalf("seed %d: two descriptions\n%s\n%s", seed, da, db)
		}
		distinct[da] = true
	}
	if len(distinct) < 45 {
		t.Fatalf("only %d distinct plans in 50 seeds", len(distinct))
	}
}

// TestSwarmPlanChoices: across seeds the plan picks every cluster size, spares exactly
// when it changes the membership, clock jumps only of wall clocks no server times by, always shuts
// removed servers down when neither PreVote nor CheckQuorum is on, and keeps the clocks
// within the servers' drift bound.
func TestSwarmPlanChoices(t *testing.T) {
	sc := swarm()
	sizes := map[int]int{}
	for seed := uint64(1); seed <= 400; seed++ {
		p := planFor(seed)
		c := sc.Config(seed)
		o := p.nemesisFor(&c)
		sizes[c.Nodes]++
		membership := o.Mix[nemesis.AddServer]+o.Mix[nemesis.RemoveServer]+o.Mix[nemesis.RemoveLeader]+o.Mix[nemesis.ReAddServer] > 0
		switch {
		case membership && c.Spares == 0:
			t.Errorf("seed %d: membership changes %v without spares", seed, &o.Mix)
		case c.Spares > 2:
			t.Errorf("seed %d: %d spares, want at most 2", seed, c.Spares)
		case o.Mix[nemesis.ClockJump] > 0 && len(c.Clocks.WallClockServers) > 0:
			t.Errorf("seed %d: clock jumps of servers that time by the wall clock", seed)
		case !c.Node.PreVote && !c.Node.CheckQuorum && !o.Decommission:
			t.Errorf("seed %d: removed servers left running with neither PreVote nor CheckQuorum", seed)
		case (c.Clocks.DriftMax > 0 || o.Mix[nemesis.ClockRate] > 0) && (c.Node.MaxClockDrift < c.Clocks.DriftMax || c.Node.MaxClockDrift < o.ClockDrift):
			t.Errorf("seed %d: clocks drift up to %v and %v, beyond the servers' bound %v", seed, c.Clocks.DriftMax, o.ClockDrift, c.Node.MaxClockDrift)
		}
		if o.AdminQuiet < c.Net.TailMax+c.Net.DelayMax+o.PauseMax {
			t.Errorf("seed %d: AdminQuiet %v is shorter than a request can stay in flight", seed, o.AdminQuiet)
		}
	}
	for _, n := range []int{1, 3, 5, 7} {
		if sizes[n] == 0 {
			t.Errorf("no seed of 400 picked %d voters (sizes %v)", n, sizes)
		}
	}
}

// swarmRun runs swarm seed (with its assertion and history check) and returns the outcome
// and the run's nemesis.
func swarmRun(seed uint64) (Outcome, *nemesis.Nemesis) {
	var n *nemesis.Nemesis
	sc := swarm()
	sc.Script = func(w *sim.World) Assertion {
		var assert Assertion
		assert, n = swarmScript(w)
		return assert
	}
	o := Run(sc, seed, Options{})
	return o, n
}

// swarmCoverageSeeds is how many seeds TestSwarmCoversEveryKind runs without -seeds.
const swarmCoverageSeeds = 60

// TestSwarmCoversEveryKind runs swarm seeds (1..60, or those of -seed/-seeds) and counts,
// per fault kind, the seeds in which it took effect at least once: every kind must be hit
// by some seed, and the table is logged (go test ./scenarios -run TestSwarmCoversEveryKind
// -seeds 2000 -v gives the sweep's figures). Every seed must also pass.
func TestSwarmCoversEveryKind(t *testing.T) {
	seeds := testSeeds()
	if !testSeedFlags.SeedSet && !testSeedFlags.SeedsSet {
		seeds = seeds[:0]
		for s := uint64(1); s <= swarmCoverageSeeds; s++ {
			seeds = append(seeds, s)
		}
	}
	var hit [nemesis.NumKinds]int
	var changes, changed, transfers int
	for _, seed := range seeds {
		o, n := swarmRun(seed)
		if o.Failed() || o.Inconclusive() {
			t.Fatalf("%s", Report(&o))
		}
		for k, c := range n.Counts() {
			if c > 0 {
				hit[k]++
			}
		}
		if n.ChangesDone() > 0 {
			changed++
			changes += n.ChangesDone()
		}
		if o.Counts.TransfersCompleted > 0 {
			transfers++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seeds hitting each fault kind, of %d swarm seeds:\n", len(seeds))
	for k := nemesis.Kind(0); k < nemesis.NumKinds; k++ {
		fmt.Fprintf(&b, "  %-15v %5d\n", k, hit[k])
	}
	fmt.Fprintf(&b, "  seeds completing a membership change: %d (%d changes); completing a transfer: %d\n", changed, changes, transfers)
	t.Log(b.String())
	for k := nemesis.Kind(0); k < nemesis.NumKinds; k++ {
		if hit[k] == 0 {
			t.Errorf("no seed hit %v", k)
		}
	}
	if changed == 0 || transfers == 0 {
		t.Errorf("no seed completed a membership change (%d) or a transfer (%d)", changed, transfers)
	}
}

// TestCaughtUp: the swarm's convergence condition is false while a member is cut off and
// behind, and true once it has caught up with the leader.
func TestCaughtUp(t *testing.T) {
	cfg := sim.DefaultConfig()
	reliable(&cfg)
	cfg.Nodes, cfg.Duration, cfg.Clients.Stop = 3, 3*time.Second, 2*time.Second
	w, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var cut, healed bool
	w.At(time.Second, "isolate", func(w *sim.World) {
		l := w.Leader()
		w.Isolate(node.ID(int(l)%3 + 1))
	})
	w.At(2*time.Second, "behind", func(w *sim.World) { cut = caughtUp(w) })
	w.At(2*time.Second+time.Millisecond, "heal", func(w *sim.World) { w.Heal() })
	w.At(3*time.Second, "caught up", func(w *sim.World) { healed = caughtUp(w) })
	if r := w.Run(); r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if cut || !healed {
		t.Fatalf("caughtUp: %v with a member cut off for a second under load, %v a second after the heal; want false, true", cut, healed)
	}
}
