package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"raftsim/node"
	"raftsim/sim/check"
	"raftsim/sim/schedule"
)

// A host has two clocks, as a real machine does (Linux's CLOCK_MONOTONIC and
// CLOCK_REALTIME; Go's time.Time carries a reading of each):
//
//   - the monotonic clock, a piecewise linear function of virtual time that runs at its
//     rate (drift, SetClockRate) and is never stepped, so it never goes backwards;
//   - the wall clock, the monotonic reading plus an offset: it starts at wallEpoch and is
//     stepped, forward or backward, by JumpClock (an NTP step, an operator setting the
//     date). It runs at the monotonic clock's rate: both count the same oscillator.
//
// The server's timers read one of them: the monotonic clock (the default, and what a
// correct server does: etcd and every Go program measure timeouts with time.Since, which
// uses the monotonic reading), or, for the servers of Clocks.WallClockServers, the wall
// clock (a server that times its lease on the date; kept so that a scenario can show
// what that costs). A wall-clock step moves what a monotonic-clock server reads not at
// all.

// wallEpoch is the wall clock's reading at virtual time 0: far from zero, like a date,
// so that it can be stepped back. A step that would take it to zero or below is refused.
const wallEpoch = 1000 * time.Hour

// clock is a host's clocks (see above). Since the virtual time since, the monotonic
// clock reads base + (now - since) * rate; a rate change starts a new piece at the
// current reading, so it is continuous. The wall clock reads that plus wall.
type clock struct {
	base  time.Duration // the monotonic reading at since
	since time.Duration // virtual time at which the current piece began
	rate  float64       // local seconds per virtual second, > 0
	wall  time.Duration // the wall clock's offset from the monotonic clock
	// nodeWall: the server's timers read the wall clock (Clocks.WallClockServers).
	nodeWall bool
}

// newClock returns the clocks of server id's host for the configuration c: the
// monotonic clock reads 0 at virtual time 0, the wall clock wallEpoch. The rate is 1+d
// with d drawn uniformly from [-DriftMax, DriftMax] from the node's own stream; with
// Adversarial it is 1+DriftMax (no one leads yet; see World.adversary) and nothing is
// drawn.
func newClock(c *Clocks, id node.ID, seed uint64) clock {
	k := clock{rate: 1, wall: wallEpoch, nodeWall: slices.Contains(c.WallClockServers, id)}
	switch {
	case c.Adversarial:
		k.rate = 1 + c.DriftMax
	case c.DriftMax > 0:
		rng := rand.New(rand.NewPCG(seed, 3))
		// d = (2u-1)*driftMax, written so that nothing can be fused into a multiply-add:
		// the explicit float64 conversion rounds the product before the addition (the Go
		// spec, "Floating-point operators"), and u-0.5 (exact) replaces 2u-1, which the
		// compiler turns into u+u and fuses with the scaling inside Float64. With GOAMD64=v3
		// or on arm64 a fused form rounds once and gives another rate in about 1 seed of 200,
		// so another trace on another machine. .ci/run checks that the tree has no fused op.
		u := float64(rng.Float64()) // the conversion keeps Float64's inlined scaling unfused too
		d := float64((u - 0.5) * float64(2*c.DriftMax))
		k.rate = 1 + d
	}
	return k
}

// at is the monotonic reading at virtual time now (now >= c.since).
func (c *clock) at(now time.Duration) time.Duration {
	d := now - c.since
	if c.rate == 1 {
		return c.base + d
	}
	return c.base + time.Duration(math.Floor(float64(float64(d)*c.rate)))
}

// wallAt is the wall clock's reading at virtual time now.
func (c *clock) wallAt(now time.Duration) time.Duration { return c.at(now) + c.wall }

// offset is what the server's clock reads above the monotonic clock.
func (c *clock) offset() time.Duration {
	if c.nodeWall {
		return c.wall
	}
	return 0
}

// read is the reading of the clock the server's timers use, at virtual time now.
func (c *clock) read(now time.Duration) time.Duration { return c.at(now) + c.offset() }

// virtualAt is the earliest virtual time, not before now, at which the server's clock
// (read) reads at least local. It rounds up, so a wake-up computed from it is never early
// on that clock.
func (c *clock) virtualAt(local, now time.Duration) time.Duration {
	return c.monoVirtualAt(local-c.offset(), now)
}

// monoVirtualAt is virtualAt for the monotonic clock.
func (c *clock) monoVirtualAt(local, now time.Duration) time.Duration {
	if local <= c.at(now) {
		return now
	}
	if c.rate == 1 {
		return c.since + (local - c.base)
	}
	v := c.since + time.Duration(math.Ceil(float64(local-c.base)/c.rate))
	for c.at(v) < local { // float rounding: at most a step or two
		v++
	}
	for v > now && c.at(v-1) >= local {
		v--
	}
	return max(v, now)
}

// setRate starts a new piece at virtual time now with the given rate.
func (c *clock) setRate(now time.Duration, rate float64) {
	c.base, c.since, c.rate = c.at(now), now, rate
}

// jump steps the wall clock by d (either sign); the monotonic clock does not move.
func (c *clock) jump(d time.Duration) { c.wall += d }

// local is what h's server reads on its clock now.
func (w *World) local(h *machine) time.Duration {
	if w.sched != nil {
		return w.sched.local[h.id-1] // abstract time: moved only by the schedule's fire actions
	}
	return h.clock.read(w.now)
}

// LocalTime is what node id's timers read on its clock now: its monotonic clock, or its
// wall clock if it is one of Clocks.WallClockServers.
func (w *World) LocalTime(id node.ID) time.Duration { return w.local(w.host(id)) }

// WallTime is node id's wall clock reading now (wallEpoch at virtual time 0, plus its
// rate's progress and the steps of JumpClock).
func (w *World) WallTime(id node.ID) time.Duration { return w.host(id).clock.wallAt(w.now) }

// ClockRate is node id's current clock rate (local seconds per virtual second).
func (w *World) ClockRate(id node.ID) float64 { return w.host(id).clock.rate }

// SetClockRate makes node id's clocks run at rate (local seconds per virtual second) from
// now on; the readings stay continuous. rate must be positive (and finite). It is a fault,
// recorded on the timeline. A rate outside [1-DriftMax, 1+DriftMax] takes the clocks
// beyond the bound the run's leases may rely on (see World.checkLease).
func (w *World) SetClockRate(id node.ID, rate float64) {
	h := w.host(id)
	if !(rate > 0) || math.IsInf(rate, 1) {
		panic(fmt.Sprintf("sim: SetClockRate(%d, %v): the rate must be positive and finite", id, rate))
	}
	if !w.admit(schedule.Action{Kind: schedule.ActionClockRate, Node: id, Rate: rate}) {
		return
	}
	h.clock.setRate(w.now, rate)
	w.hash.word(math.Float64bits(rate))
	text := fmt.Sprintf("node %d's clock now runs at rate %.4f", id, rate)
	if d := w.cfg.Clocks.DriftMax; rate < 1-d || rate > 1+d {
		w.leaveBound(text)
	}
	w.faultEvent(HappenClock, id, text)
	w.rescheduleWake(h)
}

// JumpClock steps node id's wall clock by by, forward (by > 0) or backward (by < 0), as
// an NTP step or an operator setting the date would. The monotonic clock does not move,
// so a server reading it (the default; see Clocks.WallClockServers) sees nothing; a
// server reading the wall clock sees its clock jump, and backwards too: the node accepts
// that (its timers then fire late, never early, and it never panics on it), but its lease
// then promises nothing, and the jump takes the clocks beyond the lease's bound (see
// World.checkLease). It is a fault, recorded on the timeline. A jump of 0, or one that
// would take the wall clock to zero or below (more than about wallEpoch back), is a
// scenario bug and panics.
func (w *World) JumpClock(id node.ID, by time.Duration) {
	h := w.host(id)
	if by == 0 || h.clock.wallAt(w.now)+by <= 0 {
		panic(fmt.Sprintf("sim: JumpClock(%d, %v): a jump must be nonzero and leave the wall clock (now %v) above zero", id, by, h.clock.wallAt(w.now)))
	}
	if !w.admit(schedule.Action{Kind: schedule.ActionClockJump, Node: id, Duration: by}) {
		return
	}
	h.clock.jump(by)
	w.hash.word(uint64(by))
	dir := "forward"
	if by < 0 {
		dir = "back"
	}
	text := fmt.Sprintf("node %d's wall clock stepped %s by %v", id, dir, max(by, -by))
	if h.clock.nodeWall {
		text += " (its timers read it)"
		w.leaveBound(text)
	}
	w.faultEvent(HappenClock, id, text)
	if h.clock.nodeWall {
		w.rescheduleWake(h)
	}
}

// LeaseSafety is the name of the Lease Safety check (check.LeaseSafety), for scenarios.
const LeaseSafety = check.LeaseSafety

// leaseWatch is what the world knows of the run's leases: how many reads were accepted
// under one, whether the clocks have left the bound the leases may rely on, and the Lease
// Safety violations seen since.
type leaseWatch struct {
	beyond   string        // the first clock fault beyond the bound ("" while within it)
	beyondAt time.Duration // when it happened
	first    *Failure      // the first Lease Safety violation after that (recorded, not failed)
}

// leaveBound records that the clocks left the bound (Clocks.DriftMax, monotonic), for
// the reason given, unless they already had.
func (w *World) leaveBound(reason string) {
	if w.leases.beyond == "" {
		w.leases.beyond, w.leases.beyondAt = reason, w.now
	}
}

// checkLease runs the Lease Safety check (check.Checker.Lease) after a step of h that
// accepted a read under its lease of term (node.Output.LeaseRead). Under a schedule's
// abstract time leases mean nothing, and it does not run.
//
// The check is the lease's promise, and the promise holds only while every clock the
// servers read keeps the bound that Clocks sets: a rate within [1-DriftMax, 1+DriftMax],
// never stepped. While it does, a violation fails the run (a lease computed for a
// smaller drift than the clocks have, say, or a lease a server keeps too long). Once a
// scenario has taken a clock beyond it (SetClockRate outside it, JumpClock of a clock a
// server reads), no lease is promised: a violation is counted (Counts.LeaseViolations)
// and the first one kept (Result.LeaseViolation), and the run goes on, so that the
// scenario can assert that the check saw what the clocks did.
func (w *World) checkLease(h *machine, term node.Term) {
	w.counts.LeaseReads++
	if w.sched != nil {
		return
	}
	v := w.check.Lease(w.now, h.id, term)
	if v == nil {
		return
	}
	if w.leases.beyond == "" {
		w.failWith(v)
		return
	}
	w.counts.LeaseViolations++
	if w.leases.first == nil {
		w.leases.first = &Failure{Check: v.Check, Rule: v.Rule, Time: v.Time, Nodes: v.Nodes, Term: v.Term,
			Detail: fmt.Sprintf("%s; expected: the clocks left the lease's bound at %v (%s)", v.Detail, w.leases.beyondAt, w.leases.beyond)}
		w.tracef(h.id, "%s (expected: clocks beyond the bound)", v)
		w.note(HappenNote, h.id, term, fmt.Sprintf("Lease Safety broken, as the clocks allow since %v: %s", w.leases.beyondAt, v.Detail))
	}
}

// adversary sets h's clock rate at the edge of the drift bound (Clocks.Adversarial) for
// the role h's server now has: 1-DriftMax while it leads, so that its lease lasts as long
// as the bound allows in real time, and 1+DriftMax otherwise, so that a follower's
// election timer runs out as early as the bound allows. It is called when h starts or
// stops leading. The rates are within the bound: this is not a fault, and it is neither
// on the timeline nor in the schedule.
func (w *World) adversary(h *machine, leads bool) {
	rate := 1 + w.cfg.Clocks.DriftMax
	if leads {
		rate = 1 - w.cfg.Clocks.DriftMax
	}
	if h.clock.rate != rate {
		h.clock.setRate(w.now, rate)
		w.tracef(h.id, "adversarial clock: rate %.4f", rate)
	}
}
