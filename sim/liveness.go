package sim

import (
	"math"
	"time"

	"raftsim/node"
	"raftsim/sim/check"
)

// Liveness while Healthy (check.HealthyLiveness), the world's side: after every event the
// world knows which servers are healthy, and the rule (check.LivenessWatch) fails a run in
// which some majority has been healthy for a warm-up and yet no leader has been in office
// for the bound since. It runs in every seeded run (not in schedule mode, whose time is
// abstract), during the faults, not only after a final heal.
//
// Healthy, precisely (chosen so that a correct server passes on every seed; each bound is
// named below):
//
//   - The network: LossProbability at most healthMaxLoss (5%, churn's), TailProbability
//     at most healthMaxTail (2%, churn's; the tail's length does not matter: a late vote
//     is stale, never harmful), and a round trip of ordinary messages, 2*(DelayMax +
//     DelayMax if ReorderProbability > 0), at most half the minimum election timeout, so
//     that a candidate hears its votes before its timer fires. Duplication is harmless.
//   - A server: up, not paused, its clock running at a rate within healthMaxDrift (10%)
//     of real time, and not stalled by a backward clock jump (a clock that jumped back by
//     d fires its timers d late: the server counts as paused until it has caught up). A
//     forward jump restarts the healthy period of the sets holding the server.
//   - A set M of healthy servers is healthy if it can elect a leader on its own
//     (check.HealthyMajorities): every member votes in its configuration in force by its
//     log, M holds a majority of every member's configuration (of each majority, while
//     joint), all members reach each other both ways, and, with PreVote on and
//     CheckQuorum off, no healthy leader outside M reaches a member of M (such a leader,
//     cut off from a majority, never steps down, and the members it reaches refuse
//     pre-votes: the cluster stays leaderless by design, not by a bug).
//
// A leader is in office when a healthy server leads and reaches, both ways, a majority of
// its configuration in force (check.LeaderInOffice): a leader stranded with a minority
// does not count. The warm-up is twice the largest election timeout on the slowest
// healthy clock: long enough for a stranded leader to step down (CheckQuorum), for
// followers to stop ignoring votes (the lease) and to time out. The bound is
// failoverRounds election rounds, each the largest timeout on the slowest healthy clock
// plus the longest healthy round trip (ElectionTimeoutMin/2): 3.27 s for the standard
// timeouts of 150-300 ms. It is wider than the scenarios' 2 s failover bound, which is
// for one failure on a reliable network: measured over seeds 1..3000 of churn and of
// swarm (6655 healthy stretches without a leader, past the warm-up), the wait past the
// later of the warm-up's end and the last leader's leaving office was over 500 ms in
// 3.8% of them, over 900 ms in 0.24%, at most 1.55 s (churn seed 2522: five servers,
// three healthy, one of them behind, two candidates splitting the vote for 1.5 s on a
// 5% lossy network), and falls off by e^-6.7 per second beyond: at 3.27 s, about 10^-10
// per stretch, so no false alarm in any sweep we run, while a cluster that cannot elect
// at all (a timer that never fires, votes never counted) fails within seconds.
//
// Cost: the world looks at the hosts only when something happened (a happening on the
// timeline: a fault, a leader, a configuration change) or every healthPoll of virtual
// time (O(servers): pauses ending, clocks, configurations learned); it enumerates the
// subsets of the healthy voters (at most 2^12) only when one of those changed.
const (
	healthMaxLoss  = 0.05
	healthMaxTail  = 0.02
	healthMaxDrift = 0.1
	healthPoll     = 10 * time.Millisecond
	failoverRounds = 8
	// jumpTolerance is how far a clock may stray from its sampled line before it counts as
	// a jump (the clock rounds to whole nanoseconds).
	jumpTolerance = time.Microsecond
)

// liveness is the world's side of Liveness while Healthy.
type liveness struct {
	on       bool
	watch    check.LivenessWatch
	seen     int           // happenings seen (timeline length plus those dropped)
	nextPoll time.Duration // the next virtual time to look at the hosts without a happening

	// Per host (index: ID-1): what the last look saw, to notice a change.
	usable, leader, confOK []bool
	conf                   []node.Configuration
	jumped                 []bool          // a forward clock jump since the last recompute
	stallUntil             []time.Duration // a backward jump's stall ends
	clockT, clockLocal     []time.Duration // the clock's sample: local reading at virtual time
	clockRate              []float64
	sets                   []healthySet // the healthy sets and since when
	spare                  []healthySet // the other buffer of sets
	masks                  []uint64     // a buffer for the healthy sets' masks
	cs                     check.ClusterState
}

// healthySet is a healthy set of servers (bit mask over IDs) and the start of its
// current healthy period.
type healthySet struct {
	mask  uint64
	since time.Duration
}

// initLiveness sets up Liveness while Healthy; it is off in schedule mode and for
// clusters beyond 63 servers.
func (w *World) initLiveness() {
	l := &w.oracles.live
	n := len(w.hosts)
	if w.sched != nil || n > 63 {
		return
	}
	l.on = true
	slow := float64(w.cfg.Node.ElectionTimeoutMax) / (1 - healthMaxDrift)
	l.watch.Warmup = 2 * time.Duration(slow)
	l.watch.Bound = failoverRounds * (time.Duration(slow) + w.cfg.Node.ElectionTimeoutMin/2)
	l.usable, l.leader, l.confOK, l.jumped = make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
	l.conf, l.stallUntil = make([]node.Configuration, n), make([]time.Duration, n)
	l.clockT, l.clockLocal, l.clockRate = make([]time.Duration, n), make([]time.Duration, n), make([]float64, n)
	for i, h := range w.hosts {
		l.clockT[i], l.clockLocal[i], l.clockRate[i] = w.now, h.clock.at(w.now), h.clock.rate
	}
	l.cs = check.ClusterState{
		Usable: make([]bool, n+1), Leader: make([]bool, n+1),
		Conf: make([]node.Configuration, n+1), ConfOK: make([]bool, n+1),
		Link:        func(a, b node.ID) bool { return w.net.Connected(int(a), int(b)) },
		LeadersHold: w.cfg.Node.PreVote && !w.cfg.Node.CheckQuorum,
	}
	l.seen = -1 // look at the first event
}

// afterEvent runs the world-side checks that depend on time and on the world after an
// event: Liveness while Healthy and the deadline of Transfer Outcome. The run loop calls
// it after every event, and once more at the end of the run.
func (w *World) afterEvent() {
	l := &w.oracles.live
	if !l.on || w.stopped {
		return
	}
	if n := len(w.timeline) + w.timelineDropped; n != l.seen || w.now >= l.nextPoll {
		w.recheckHealth(n != l.seen)
		l.seen = n
	}
	if x := l.watch.Check(w.now); x != nil {
		w.failWith(x)
		return
	}
	if x := w.oracles.transfer.Check(w.now); x != nil {
		w.failWith(x)
	}
}

// recheckHealth looks at the hosts and, if anything that health depends on changed (or
// happened says a happening may have changed the network or the roles), recomputes the
// healthy sets and tells the rule.
func (w *World) recheckHealth(happened bool) {
	l := &w.oracles.live
	changed := happened
	l.nextPoll = w.now + healthPoll
	for i, h := range w.hosts {
		if w.sampleClock(i, h) {
			changed = true
		}
		usable := h.up && h.pausedUntil <= w.now && l.stallUntil[i] <= w.now && w.clockHealthy(h)
		leader := h.up && h.lastView.Role == node.Leader
		conf, ok := w.check.ConfigInForce(h.id)
		if usable != l.usable[i] || leader != l.leader[i] || ok != l.confOK[i] || !sameConfig(&conf, &l.conf[i]) {
			changed = true
			l.usable[i], l.leader[i], l.confOK[i], l.conf[i] = usable, leader, ok, conf
		}
		for _, t := range [2]time.Duration{h.pausedUntil, l.stallUntil[i]} {
			if t > w.now && t < l.nextPoll {
				l.nextPoll = t
			}
		}
	}
	if happened {
		if t := &w.oracles.transfer; t.Judged() {
			if from, term := t.Leader(); !w.transferPerfect(from, term, false) {
				t.Unhealthy()
			}
		}
	}
	if changed {
		w.recomputeHealth()
	}
}

// sampleClock compares host i's clock with the line sampled at the last look and records
// a jump: backward, a stall until the clock has caught up; forward, a restart of the
// healthy periods of the sets holding the host. It reports whether it found one.
func (w *World) sampleClock(i int, h *machine) bool {
	l := &w.oracles.live
	local, rate := h.clock.at(w.now), h.clock.rate
	expected := l.clockLocal[i] + time.Duration(math.Floor(float64(float64(w.now-l.clockT[i])*l.clockRate[i])))
	l.clockT[i], l.clockLocal[i], l.clockRate[i] = w.now, local, rate
	switch d := local - expected; {
	case d < -jumpTolerance:
		l.stallUntil[i] = max(l.stallUntil[i], w.now+time.Duration(math.Ceil(float64(-d)/rate)))
		return true
	case d > jumpTolerance:
		l.jumped[i] = true
		return true
	}
	return false
}

// clockHealthy reports whether h's clock runs within healthMaxDrift of real time.
func (w *World) clockHealthy(h *machine) bool {
	return math.Abs(h.clock.rate-1) <= healthMaxDrift
}

// networkHealthy reports whether the network's fault rates are within the health bounds.
func (w *World) networkHealthy() bool {
	c := w.net.Config()
	base := c.DelayMax
	if c.ReorderProbability > 0 {
		base += max(c.DelayMax, 1)
	}
	return c.LossProbability <= healthMaxLoss && c.TailProbability <= healthMaxTail &&
		4*base <= w.cfg.Node.ElectionTimeoutMin
}

// recomputeHealth recomputes the healthy sets, keeping the start of the healthy period of
// each set that stayed healthy (and none of whose members' clocks jumped forward), and
// tells the rule whether a leader is in office.
func (w *World) recomputeHealth() {
	l := &w.oracles.live
	cs := &l.cs
	for i := range w.hosts {
		cs.Usable[i+1], cs.Leader[i+1], cs.Conf[i+1], cs.ConfOK[i+1] = l.usable[i], l.leader[i], l.conf[i], l.confOK[i]
	}
	var jumped uint64
	for i, j := range l.jumped {
		if j {
			jumped |= 1 << (i + 1)
			l.jumped[i] = false
		}
	}
	masks := l.masks[:0]
	if w.networkHealthy() {
		masks = check.AppendHealthyMajorities(masks, cs)
	}
	l.masks = masks
	old := l.sets
	l.sets, l.spare = l.spare[:0], old // two buffers, swapped at every recompute
	k := 0
	for _, m := range masks { // both lists ascend by mask
		since := w.now
		for k < len(old) && old[k].mask < m {
			k++
		}
		if k < len(old) && old[k].mask == m && m&jumped == 0 {
			since = old[k].since
		}
		l.sets = append(l.sets, healthySet{mask: m, since: since})
	}
	oldest := healthySet{since: w.now}
	for _, s := range l.sets {
		if s.since < oldest.since || oldest.mask == 0 {
			oldest = s
		}
	}
	led := check.LeaderInOffice(cs) != node.None
	l.watch.Observe(w.now, len(l.sets) > 0, oldest.since, oldest.mask, led)
}

// sameConfig reports whether a and b share their slices (a server hands out the same
// configuration until it changes): an O(1) test of "unchanged".
func sameConfig(a, b *node.Configuration) bool {
	same := func(x, y []node.ID) bool { return len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0]) }
	return same(a.Voters, b.Voters) && same(a.Outgoing, b.Outgoing) && same(a.Learners, b.Learners)
}
