package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"raftsim/node"
	"raftsim/sim/schedule"
)

// clock is a host's local clock: a piecewise linear function of virtual time. Since the
// virtual time since, it reads base + (now - since) * rate. A rate change or a jump starts a
// new piece at the current reading, so the clock is continuous (except for forward jumps)
// and never goes backwards.
type clock struct {
	base  time.Duration // the local reading at since
	since time.Duration // virtual time at which the current piece began
	rate  float64       // local seconds per virtual second, > 0
}

// newClock returns a clock reading 0 at virtual time 0, whose rate 1+d has d drawn
// uniformly from [-driftMax, driftMax] from the node's own stream.
func newClock(driftMax float64, seed uint64) clock {
	rate := 1.0
	if driftMax > 0 {
		rng := rand.New(rand.NewPCG(seed, 3))
		// d = (2u-1)*driftMax, written so that nothing can be fused into a multiply-add:
		// the explicit float64 conversion rounds the product before the addition (the Go
		// spec, "Floating-point operators"), and u-0.5 (exact) replaces 2u-1, which the
		// compiler turns into u+u and fuses with the scaling inside Float64. With GOAMD64=v3
		// or on arm64 a fused form rounds once and gives another rate in about 1 seed of 200,
		// so another trace on another machine. .ci/run checks that the tree has no fused op.
		u := float64(rng.Float64()) // the conversion keeps Float64's inlined scaling unfused too
		d := float64((u - 0.5) * float64(2*driftMax))
		rate = 1 + d
	}
	return clock{rate: rate}
}

// at is the local reading at virtual time now (now >= c.since).
func (c *clock) at(now time.Duration) time.Duration {
	d := now - c.since
	if c.rate == 1 {
		return c.base + d
	}
	return c.base + time.Duration(math.Floor(float64(float64(d)*c.rate)))
}

// virtualAt is the earliest virtual time, not before now, at which the clock reads at least
// local. It rounds up, so a wake-up computed from it is never early on the local clock.
func (c *clock) virtualAt(local, now time.Duration) time.Duration {
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

// jump moves the clock forward by d at virtual time now.
func (c *clock) jump(now, d time.Duration) {
	c.base, c.since = c.at(now)+d, now
}

// local is h's local clock reading now.
func (w *World) local(h *machine) time.Duration {
	if w.sched != nil {
		return w.sched.local[h.id-1] // abstract time: moved only by the schedule's fire actions
	}
	return h.clock.at(w.now)
}

// LocalTime is node id's local clock reading now.
func (w *World) LocalTime(id node.ID) time.Duration { return w.local(w.host(id)) }

// ClockRate is node id's current clock rate (local seconds per virtual second).
func (w *World) ClockRate(id node.ID) float64 { return w.host(id).clock.rate }

// SetClockRate makes node id's clock run at rate (local seconds per virtual second) from
// now on; the reading stays continuous. rate must be positive (and finite). It is a fault,
// recorded on the timeline.
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
	w.faultEvent(HappenClock, id, fmt.Sprintf("node %d's clock now runs at rate %.4f", id, rate))
	w.rescheduleWake(h)
}

// JumpClock moves node id's clock forward by by (by >= 0: clocks never go backwards here,
// since the node's contract assumes a monotonic clock). It is a fault, recorded on the
// timeline.
func (w *World) JumpClock(id node.ID, by time.Duration) {
	h := w.host(id)
	if by < 0 {
		panic(fmt.Sprintf("sim: JumpClock(%d, %v): clocks only jump forward", id, by))
	}
	if !w.admit(schedule.Action{Kind: schedule.ActionClockJump, Node: id, Duration: by}) {
		return
	}
	h.clock.jump(w.now, by)
	w.hash.word(uint64(by))
	w.faultEvent(HappenClock, id, fmt.Sprintf("node %d's clock jumped forward by %v", id, by))
	w.rescheduleWake(h)
}
