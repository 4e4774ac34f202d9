package nemesis

import (
	"math/rand/v2"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// This file holds the actions of the network, process and clock kinds (see kinds).

func (n *Nemesis) crash(w *sim.World, r *rand.Rand, id node.ID) {
	switch {
	case w.Up(id):
		n.count(Crash)
		w.Crash(id)
	case !n.decommissioned(id):
		n.count(Restart)
		w.Restart(id)
	}
}

func (n *Nemesis) restart(w *sim.World, r *rand.Rand, id node.ID) {
	if !w.Up(id) && !n.decommissioned(id) {
		n.count(Restart)
		w.Restart(id)
	}
}

func (n *Nemesis) partition(w *sim.World, r *rand.Rand, id node.ID) {
	n.count(Partition)
	var side []node.ID
	for x := node.ID(1); int(x) <= w.Nodes(); x++ {
		if r.IntN(2) == 0 {
			side = append(side, x)
		}
	}
	w.Partition(side)
}

func (n *Nemesis) pairPartition(w *sim.World, r *rand.Rand, id node.ID) {
	if w.Nodes() < 2 {
		return
	}
	n.count(PairPartition)
	w.Partition([]node.ID{id, other(r, w.Nodes(), id)})
}

func (n *Nemesis) isolate(w *sim.World, r *rand.Rand, id node.ID) {
	n.count(Isolate)
	w.Isolate(id)
}

func (n *Nemesis) oneWay(w *sim.World, r *rand.Rand, id node.ID) {
	if w.Nodes() < 2 {
		return
	}
	n.count(OneWay)
	w.CutOneWay(id, other(r, w.Nodes(), id))
}

func (n *Nemesis) bridge(w *sim.World, r *rand.Rand, id node.ID) {
	if w.Nodes() < 3 {
		return
	}
	n.count(Bridge)
	b := other(r, w.Nodes(), id)
	w.Bridge(id, b, third(r, w.Nodes(), id, b))
}

func (n *Nemesis) heal(w *sim.World, r *rand.Rand, id node.ID) {
	n.count(Heal)
	w.Heal()
}

func (n *Nemesis) pause(w *sim.World, r *rand.Rand, id node.ID) {
	d := n.opts.PauseMin
	if span := n.opts.PauseMax - n.opts.PauseMin; span > 0 {
		d += time.Duration(r.Int64N(int64(span)))
	}
	if !w.Up(id) || w.Paused(id) {
		return
	}
	n.count(Pause)
	w.Pause(id, d)
}

// clockSteps is how finely a ClockRate tick divides (-ClockDrift, ClockDrift): the rate is
// 1 + k*ClockDrift/clockSteps for an integer k with |k| < clockSteps, so that it stays
// strictly inside the bound whatever the rounding.
const clockSteps = 1000

func (n *Nemesis) clockRate(w *sim.World, r *rand.Rand, id node.ID) {
	k := r.IntN(2*clockSteps-1) - (clockSteps - 1)
	step := n.opts.ClockDrift / clockSteps
	// The explicit conversion rounds the product before the addition, so that no machine
	// fuses them into one multiply-add (see .ci/no-fused-float).
	rate := 1 + float64(float64(k)*step)
	n.count(ClockRate)
	w.SetClockRate(id, rate)
}

func (n *Nemesis) clockJump(w *sim.World, r *rand.Rand, id node.ID) {
	// A step of the wall clock, forward or back (an NTP step): servers that time on the
	// monotonic clock must not notice it.
	by := 1 + time.Duration(r.Int64N(int64(n.opts.ClockJumpMax)))
	if r.IntN(2) == 0 {
		by = -by
	}
	n.count(ClockJump)
	w.JumpClock(id, by)
}

func (n *Nemesis) netRates(w *sim.World, r *rand.Rand, id node.ID) {
	cfg := w.Config().Net
	c := &n.opts.Net
	draw := func(p *float64, from []float64) {
		if len(from) > 0 {
			*p = from[r.IntN(len(from))]
		}
	}
	draw(&cfg.LossProbability, c.Loss)
	draw(&cfg.DuplicateProbability, c.Duplicate)
	draw(&cfg.ReorderProbability, c.Reorder)
	draw(&cfg.TailProbability, c.Tail)
	if err := w.SetNetwork(cfg); err != nil {
		// The rates are probabilities (Validate), so the run's own delays refuse them
		// (a tail without a TailMax): a configuration bug of the scenario.
		panic("nemesis: the network refuses the rates of Options.Net with the run's delays: " + err.Error())
	}
	n.netChanged = true
	n.count(NetRates)
}

// other draws a server of 1..servers other than id (servers >= 2).
func other(r *rand.Rand, servers int, id node.ID) node.ID {
	return node.ID((int(id)+r.IntN(servers-1))%servers + 1)
}

// third draws a server of 1..servers other than a and b (a != b, servers >= 3).
func third(r *rand.Rand, servers int, a, b node.ID) node.ID {
	k := r.IntN(servers - 2)
	for x := node.ID(1); ; x++ {
		if x == a || x == b {
			continue
		}
		if k == 0 {
			return x
		}
		k--
	}
}
