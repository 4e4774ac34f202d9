package scenarios

import (
	"fmt"

	"time"

	"raftsim/node"
	"raftsim/sim"
)

// pollEvery is how often probes look at the cluster. Probes are simulator actions, so they
// cost events; 10 ms is well below every timeout the scenarios use.
const pollEvery = 10 * time.Millisecond

// expectWithin fails the run with check name unless cond holds at some poll in
// [start, deadline]. onMet (optional) runs once, at the first poll where cond holds.
func expectWithin(w *sim.World, start, deadline time.Duration, name string,
	cond func(w *sim.World) bool, describe func(w *sim.World) string, onMet func(w *sim.World)) {
	var poll func(w *sim.World)
	poll = func(w *sim.World) {
		if cond(w) {
			if onMet != nil {
				onMet(w)
			}
			return
		}
		if w.Now() >= deadline {
			w.Failf(name, "not met by %v: %s\n%s", deadline, describe(w), w.Describe())
			return
		}
		w.At(w.Now()+pollEvery, name, poll)
	}
	w.At(start, name, poll)
}

// holdDuring fails the run with check name if cond is false at any poll in [start, end].
func holdDuring(w *sim.World, start, end time.Duration, name string,
	cond func(w *sim.World) bool, describe func(w *sim.World) string) {
	var poll func(w *sim.World)
	poll = func(w *sim.World) {
		if !cond(w) {
			w.Failf(name, "broken at %v: %s\n%s", w.Now(), describe(w), w.Describe())
			return
		}
		if w.Now()+pollEvery <= end {
			w.At(w.Now()+pollEvery, name, poll)
		}
	}
	w.At(start, name, poll)
}

// reliable makes the network lossless and free of duplicates and long delays, keeping
// the standard 1-10 ms delay (which still reorders).
func reliable(c *sim.Config) {
	c.Net.LossProbability = 0
	c.Net.DuplicateProbability = 0
	c.Net.TailProbability = 0
	c.Net.ReorderProbability = 0
}

// settleTime is how long before the end of a run the entries committed by then must have
// reached every live member: a few heartbeats, a long-tail delay and a lost message's
// retransmission. Entries committed in the last instants of a run (a retried write can
// commit at any moment) have not had the time to reach everyone, and are not required to.
const settleTime = 500 * time.Millisecond

// converged reports, at the end of a run, whether every live member of the configuration
// in force has committed and applied every entry committed settleTime before the end, and
// applied everything it has committed.
func converged(w *sim.World, o *Outcome) bool {
	conf := w.Configuration()
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if !w.Up(id) || !conf.IsMember(id) {
			continue
		}
		v := w.View(id)
		if int(v.CommitIndex) < o.settled || v.AppliedIndex != v.CommitIndex {
			return false
		}
	}
	return o.settled > 0
}

// requireSettled is the usual end of a scenario's assertion: the cluster converged (see
// converged; failure says what did not happen) and the history is linearizable.
func requireSettled(w *sim.World, o *Outcome, failure string) error {
	if !converged(w, o) {
		return fmt.Errorf("%s:\n%s", failure, w.Describe())
	}
	return requireLinearizable(o)
}

// leaderExists reports whether some live node is leader.
func leaderExists(w *sim.World) bool { return w.Leader() != node.None }

// lastView returns node id's view as an addressable value, for View's pointer methods.
func lastView(w *sim.World, id node.ID) *node.View {
	v := w.View(id)
	return &v
}
