package scenarios

import (
	"fmt"
	"time"

	"raftsim/linearizability"
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

// failoverBound is how long a healthy majority may take to elect a new leader after the
// old one is lost. It allows for several split votes: one election round is at most the
// 300 ms timeout plus a few 10 ms message delays.
const failoverBound = 2 * time.Second

// requireLinearizable is the common part of the client scenarios' assertions.
func requireLinearizable(o *Outcome) error {
	if v := o.Linearizability.Verdict; v != linearizability.Linearizable {
		return fmt.Errorf("the history of %d operations is %v, want linearizable", o.Linearizability.Checked, v)
	}
	return nil
}

// requireLeader returns the current leader, or fails the run (the scenario's setup needs
// one) and returns false.
func requireLeader(w *sim.World) (node.ID, bool) {
	l := w.Leader()
	if l == node.None {
		w.Failf("leader elected", "the scenario needs a leader at %v and there is none\n%s", w.Now(), w.Describe())
	}
	return l, l != node.None
}

func contains(ids []node.ID, id node.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// scripted configures a run whose schedule the script forces: every message takes exactly
// 5 ms, election timeouts are too long to fire on their own (only World.Campaign elects
// anyone), and there are no clients (only the script writes).
func scripted(c *sim.Config, d time.Duration) {
	reliable(c)
	c.Net.DelayMin, c.Net.DelayMax = ms(5), ms(5)
	c.Node.ElectionTimeoutMin, c.Node.ElectionTimeoutMax = ms(1000), ms(2000)
	c.Clients.Count = 0
	c.Duration = d
}

// castOf lets the seed choose which of five servers plays which role in a scripted
// scenario.
func castOf(w *sim.World) [5]node.ID {
	var cast [5]node.ID
	for i, p := range w.Random().Perm(5) {
		cast[i] = node.ID(p + 1)
	}
	return cast
}

// Step watching: the helpers of the scenarios that look at every step with
// World.BeforeSend.

// peerState is what a scenario remembers of a node after its latest step.
type peerState struct {
	role   node.Role
	term   node.Term
	vote   node.ID
	leader node.ID
}

// stepWatch remembers every node's state after its previous step, so that a BeforeSend
// hook can compare a step's result with what came before it.
type stepWatch struct{ prev []peerState }

func newStepWatch(w *sim.World) *stepWatch {
	s := &stepWatch{prev: make([]peerState, w.Nodes()+1)}
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		v := w.View(id)
		s.update(id, &v)
	}
	return s
}

func (s *stepWatch) update(id node.ID, v *node.View) {
	s.prev[id] = peerState{role: v.Role, term: v.Term, vote: v.Vote, leader: v.Leader}
}

// voteKey names a (node, term) pair: a candidate's campaign, or a voter's vote.
type voteKey struct {
	id   node.ID
	term node.Term
}

// logPos is the position of a log's last entry, as a RequestVote carries it.
type logPos struct {
	index node.Index
	term  node.Term
}

// lastPos is the position of v's last entry.
func lastPos(v *node.View) logPos {
	t, _ := v.TermAt(v.LastIndex())
	return logPos{index: v.LastIndex(), term: t}
}

// atLeastAsUpToDate is the comparison of §5.4.1: the later last term wins; with equal last
// terms, the longer log.
func (p logPos) atLeastAsUpToDate(o logPos) bool {
	return p.term > o.term || (p.term == o.term && p.index >= o.index)
}

// firstProblem keeps the first problem a hook found, for the assertion to report.
type firstProblem struct{ text string }

func (f *firstProblem) setf(w *sim.World, format string, args ...any) {
	if f.text == "" {
		f.text = fmt.Sprintf("at %v: ", w.Now()) + fmt.Sprintf(format, args...)
	}
}

func (f *firstProblem) err() error {
	if f.text == "" {
		return nil
	}
	return fmt.Errorf("%s", f.text)
}
