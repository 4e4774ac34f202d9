package scenarios

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// This file holds the scenarios about terms and elections (SEED-QUESTIONS E1-E3, E6-E8,
// E10, E11, Raft §5.2): who becomes leader, when, and how the others learn of it. Most of
// them watch the servers' steps with World.BeforeSend, which sees each step's output after
// its durable write and before its messages leave.

func leaderCrash() Scenario {
	return Scenario{
		Name:      "leader-crash",
		Summary:   "the leader crashes; a new leader of a higher term is elected in time; the old one returns and steps down",
		Questions: "E1",
		Configure: func(c *sim.Config) {
			c.Duration = 7 * time.Second
			c.Clients.Stop = ms(6000)
		},
		Script: func(w *sim.World) Assertion {
			var old node.ID
			var oldTerm node.Term
			var commitsAtCrash int
			w.At(2*time.Second, "crash the leader", func(w *sim.World) {
				var ok bool
				if old, ok = requireLeader(w); !ok {
					return
				}
				oldTerm = w.View(old).Term
				commitsAtCrash = w.CommittedLen()
				w.Note("crashing leader %d of term %d", old, oldTerm)
				w.Crash(old)
			})
			expectWithin(w, 2*time.Second, 2*time.Second+failoverBound, "new leader after crash",
				func(w *sim.World) bool { l := w.Leader(); return l != node.None && w.View(l).Term > oldTerm },
				func(w *sim.World) string { return fmt.Sprintf("no leader of a term above %d", oldTerm) }, nil)
			w.At(4500*time.Millisecond, "restart the old leader", func(w *sim.World) { w.Restart(old) })
			expectWithin(w, 4500*time.Millisecond, 4500*time.Millisecond+failoverBound, "old leader steps down",
				func(w *sim.World) bool {
					v := w.View(old)
					return v.Role == node.Follower && v.Term > oldTerm && v.Leader != node.None
				},
				func(w *sim.World) string { return fmt.Sprintf("node %d has not followed a newer leader", old) },
				func(w *sim.World) {
					v := w.View(old)
					w.Note("node %d is back as a follower of node %d in term %d", old, v.Leader, v.Term)
				})
			return func(w *sim.World, o *Outcome) error {
				if w.CommittedLen() <= commitsAtCrash {
					return fmt.Errorf("no entry committed after the crash (%d before, %d at the end)", commitsAtCrash, w.CommittedLen())
				}
				if !converged(w, o) {
					return fmt.Errorf("the cluster did not converge after the old leader returned:\n%s", w.Describe())
				}
				return nil
			}
		},
	}
}

func majorityLoss() Scenario {
	return majorityLossScenario("majority-loss",
		"5 nodes, the leader and 2 more crash: no leader and no commit while they are down, terms keep rising; after restarts the cluster recovers",
		func(c *sim.Config) {})
}

func majorityLossPreVote() Scenario {
	return majorityLossScenario("majority-loss-prevote",
		"as majority-loss, with PreVote on: the two survivors can never win a pre-vote, so their terms stay put; after restarts the cluster recovers",
		func(c *sim.Config) { c.Node.PreVote = true })
}

// majorityLossScenario is majority-loss with the given node options. Its answer depends
// on PreVote (E10): without it the two survivors keep raising their terms; with it they
// never do, since they can never win a pre-vote.
func majorityLossScenario(name, summary string, options func(c *sim.Config)) Scenario {
	const down, up = 2 * time.Second, 6 * time.Second
	return Scenario{
		Name:      name,
		Summary:   summary,
		Questions: "E10",
		Configure: func(c *sim.Config) {
			reliable(c)
			options(c)
			c.Duration = 10 * time.Second
			c.Clients.Stop = ms(9000)
		},
		Script: func(w *sim.World) Assertion {
			var victims []node.ID
			var commits int
			var term node.Term
			w.At(down, "crash the leader and two followers", func(w *sim.World) {
				l, ok := requireLeader(w)
				if !ok {
					return
				}
				victims = []node.ID{l, node.ID(int(l)%5 + 1), node.ID((int(l)+1)%5 + 1)}
				for _, id := range victims {
					w.Crash(id)
				}
			})
			// In-flight messages may still finish a commit for a few milliseconds.
			w.At(down+ms(500), "record commits and term", func(w *sim.World) {
				commits, term = w.CommittedLen(), w.MaxTerm()
			})
			holdDuring(w, down+ms(500), up, "no leader and no commit without a majority",
				func(w *sim.World) bool { return !leaderExists(w) && w.CommittedLen() == commits },
				func(w *sim.World) string {
					return fmt.Sprintf("leader %d, ledger %d (was %d)", w.Leader(), w.CommittedLen(), commits)
				})
			if w.Config().Node.PreVote {
				holdDuring(w, down+ms(500), up, "terms stay put with PreVote",
					func(w *sim.World) bool { return w.MaxTerm() == term },
					func(w *sim.World) string { return fmt.Sprintf("max term %d, was %d", w.MaxTerm(), term) })
			} else {
				w.At(up-ms(1), "terms kept rising", func(w *sim.World) {
					if w.MaxTerm() <= term+1 {
						w.Failf("terms keep rising", "max term %d at %v, %d at %v: the survivors should keep campaigning", term, down+ms(500), w.MaxTerm(), w.Now())
					}
				})
			}
			w.At(up, "restart the crashed nodes", func(w *sim.World) {
				for _, id := range victims {
					w.Restart(id)
				}
			})
			expectWithin(w, up, up+failoverBound, "recovery after restarts",
				func(w *sim.World) bool { return leaderExists(w) && w.CommittedLen() > commits },
				func(w *sim.World) string { return "no leader committing after the restarts" }, nil)
			return func(w *sim.World, o *Outcome) error {
				if !converged(w, o) {
					return fmt.Errorf("the cluster did not converge after recovery:\n%s", w.Describe())
				}
				return nil
			}
		},
	}
}

// ---------------------------------------------------------------------------------------
// E2: terms and stale requests.

// staleTerm cuts the leader off; the majority elects a leader of a newer term. Then the
// old leader's links come back except the one from the new leader, so that the only way
// it can learn of the newer term is the refusal of its own stale AppendEntries. It must
// step down to exactly that term, knowing no leader yet; once it hears the new leader, it
// follows it.
func staleTerm() Scenario {
	return Scenario{
		Name:      "stale-term",
		Summary:   "a leader cut off while the majority moves to a newer term comes back: its AppendEntries of the stale term are refused with the newer term, it steps down to that term and follows the new leader; no node's term ever decreases",
		Questions: "E2",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 3500 * time.Millisecond
			c.Clients.Stop = 3 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			s := &staleTermRun{watch: newStepWatch(w)}
			return s.script(w)
		},
	}
}

// Stale-term timings: the leader is cut off at staleTermCut, and reconnected (except from
// the new leader) at staleTermReconnect.
const staleTermCut, staleTermReconnect = 1 * time.Second, 2500 * time.Millisecond

// staleTermRun is what the stale-term script learns while it runs.
type staleTermRun struct {
	watch            *stepWatch
	old, next        node.ID   // the cut-off leader, the majority's new leader
	oldTerm, newTerm node.Term // their terms
	reconnected      time.Duration
	staleApps        int            // AppendEntries of the old term sent after the reconnection
	refusals         []staleRefusal // answers refusing them with a newer term
	down             staleStepDown  // the old leader's first step into a newer term
	prob             firstProblem
}

// staleRefusal is a server refusing the old leader's AppendEntries with a newer term.
type staleRefusal struct {
	from node.ID
	term node.Term
	at   time.Duration
}

// staleStepDown is the old leader's state after its first step into a newer term (at 0:
// none yet).
type staleStepDown struct {
	at     time.Duration
	term   node.Term
	role   node.Role
	leader node.ID
}

func (s *staleTermRun) script(w *sim.World) Assertion {
	w.BeforeSend(s.onStep)
	w.At(staleTermCut, "cut off the leader", s.cut)
	w.At(staleTermReconnect, "reconnect the old leader, except from the new one", s.reconnect)
	expectWithin(w, staleTermReconnect, staleTermReconnect+500*time.Millisecond, "the old leader learns the newer term",
		func(w *sim.World) bool { return w.View(s.old).Term > s.oldTerm },
		func(w *sim.World) string {
			return fmt.Sprintf("node %d is still in term %d", s.old, w.View(s.old).Term)
		},
		func(w *sim.World) {
			w.Note("node %d stepped down to term %d; the link from the new leader comes back", s.old, w.View(s.old).Term)
			w.Heal()
		})
	expectWithin(w, staleTermReconnect, staleTermReconnect+time.Second, "the old leader follows the new leader",
		func(w *sim.World) bool {
			v := w.View(s.old)
			return v.Role == node.Follower && v.Term == s.newTerm && v.Leader == s.next
		},
		func(w *sim.World) string {
			v := w.View(s.old)
			return fmt.Sprintf("node %d is %v of term %d following %d; want a follower of node %d in term %d", s.old, v.Role, v.Term, v.Leader, s.next, s.newTerm)
		}, nil)
	return s.assert
}

// onStep watches every step: terms only grow; after the reconnection it counts the old
// leader's stale AppendEntries and their refusals, and records its step down.
func (s *staleTermRun) onStep(w *sim.World, id node.ID, out *node.Output) {
	v := w.View(id)
	if v.Term < s.watch.prev[id].term {
		s.prob.setf(w, "node %d's term went down from %d to %d", id, s.watch.prev[id].term, v.Term)
	}
	s.watch.update(id, &v)
	if s.reconnected == 0 {
		return
	}
	for i := range out.Messages {
		m := &out.Messages[i]
		switch {
		case id == s.old && m.Type == node.MsgApp && m.Term == s.oldTerm:
			s.staleApps++
		case m.Type == node.MsgAppResp && m.To == s.old && !m.Success && m.Term > s.oldTerm:
			if len(s.refusals) == 0 {
				w.Note("node %d refuses node %d's AppendEntries of term %d, answering with its term %d", id, s.old, s.oldTerm, m.Term)
			}
			s.refusals = append(s.refusals, staleRefusal{from: id, term: m.Term, at: w.Now()})
		}
	}
	if id == s.old && s.down.at == 0 && v.Term > s.oldTerm {
		s.down = staleStepDown{at: w.Now(), term: v.Term, role: v.Role, leader: v.Leader}
	}
}

func (s *staleTermRun) cut(w *sim.World) {
	var ok bool
	if s.old, ok = requireLeader(w); ok {
		s.oldTerm = w.View(s.old).Term
		w.Note("leader %d of term %d is cut off", s.old, s.oldTerm)
		w.Isolate(s.old)
	}
}

func (s *staleTermRun) reconnect(w *sim.World) {
	s.next = w.Leader()
	if s.next == node.None || s.next == s.old || w.View(s.next).Term <= s.oldTerm {
		w.Failf("new leader elected", "no leader of a term above %d by %v\n%s", s.oldTerm, w.Now(), w.Describe())
		return
	}
	s.newTerm = w.View(s.next).Term
	w.Heal()
	w.CutOneWay(s.next, s.old)
	s.reconnected = w.Now()
	w.Note("node %d (still leader of term %d) is reconnected; the majority is in term %d under node %d, whose messages cannot reach it yet",
		s.old, s.oldTerm, s.newTerm, s.next)
}

func (s *staleTermRun) assert(w *sim.World, o *Outcome) error {
	if w.Config().Node.CheckQuorum {
		return fmt.Errorf("this scenario shows plain §5 Raft: with CheckQuorum on the cut-off leader steps down by itself and sends no stale AppendEntries (run it without -checkquorum or -reads lease)")
	}
	if err := s.prob.err(); err != nil {
		return fmt.Errorf("terms must only grow: %v", err)
	}
	if err := s.assertRefused(); err != nil {
		return err
	}
	if err := s.assertSteppedDown(); err != nil {
		return err
	}
	if l := w.Leader(); l != s.next || w.View(l).Term != s.newTerm {
		return fmt.Errorf("leader at the end is %d, want node %d of term %d (the returning leader must not disturb it)", l, s.next, s.newTerm)
	}
	return requireSettled(w, o, "the cluster did not converge after the old leader returned")
}

// assertRefused: the old leader sent AppendEntries of its stale term, and they were refused
// with the majority's term.
func (s *staleTermRun) assertRefused() error {
	if s.staleApps == 0 {
		return fmt.Errorf("node %d sent no AppendEntries of its stale term %d after it was reconnected", s.old, s.oldTerm)
	}
	if len(s.refusals) == 0 {
		return fmt.Errorf("no server refused node %d's AppendEntries of term %d with its newer term", s.old, s.oldTerm)
	}
	for _, r := range s.refusals {
		if r.term != s.newTerm {
			return fmt.Errorf("node %d refused node %d's stale AppendEntries with term %d, want the majority's term %d", r.from, s.old, r.term, s.newTerm)
		}
	}
	return nil
}

// assertSteppedDown: the old leader stepped down after a refusal, to the newer term, as a
// follower that knows no leader yet.
func (s *staleTermRun) assertSteppedDown() error {
	d := s.down
	switch {
	case d.at == 0:
		return fmt.Errorf("node %d never left its stale term %d", s.old, s.oldTerm)
	case d.at < s.refusals[0].at:
		return fmt.Errorf("node %d left term %d at %v, before any refusal was sent (first at %v)", s.old, s.oldTerm, d.at, s.refusals[0].at)
	case d.term != s.newTerm || d.role != node.Follower || d.leader != node.None:
		return fmt.Errorf("node %d stepped down to %v of term %d following %d; want a follower of term %d that knows no leader yet (it learned the term from a refusal, not from the new leader)",
			s.old, d.role, d.term, d.leader, s.newTerm)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// E3: what a follower does when its election timer fires.

// candidacy is one node becoming a candidate, as a BeforeSend hook saw it.
type candidacy struct {
	id       node.ID
	term     node.Term
	at       time.Duration
	prevTerm node.Term
	prevRole node.Role
}

func electionBasics() Scenario {
	return Scenario{
		Name:      "election-basics",
		Summary:   "a follower whose election timer fires increments its term, votes for itself (on disk before anything leaves) and sends RequestVote to every other server; the first election, from term 0, is followed step by step; the leader then sends AppendEntries only, empty ones as heartbeats",
		Questions: "E3, E8",
		Configure: func(c *sim.Config) {
			c.Clients.Count = 0
			c.Duration = time.Second
		},
		Script: func(w *sim.World) Assertion {
			e := &electionRun{watch: newStepWatch(w), grants: map[voteKey]int{}}
			w.BeforeSend(e.onStep)
			expectWithin(w, 0, failoverBound, "leader elected", leaderExists,
				func(*sim.World) string { return "no leader" }, nil)
			return e.assert
		},
	}
}

// electionRun is what the election-basics script learns while it runs.
type electionRun struct {
	watch        *stepWatch
	cands        []candidacy
	firstTimeout time.Duration   // when the first follower's election timer fired
	heartbeats   int             // empty AppendEntries sent by leaders
	grants       map[voteKey]int // (candidate, term) -> votes granted to it
	prob         firstProblem
}

func (e *electionRun) onStep(w *sim.World, id node.ID, out *node.Output) {
	v := w.View(id)
	p := e.watch.prev[id]
	e.watch.update(id, &v)
	for i := range out.Messages {
		if m := &out.Messages[i]; m.Type == node.MsgVoteResp && m.Success {
			e.grants[voteKey{m.To, m.Term}]++
		}
	}
	if v.Role == node.Leader {
		e.leaderSent(w, id, out)
	}
	if e.firstTimeout == 0 && p.role == node.Follower && v.Role != node.Follower {
		e.firstTimeout = w.Now()
	}
	if v.Role != node.Candidate || (p.role == node.Candidate && p.term == v.Term) {
		return
	}
	e.cands = append(e.cands, candidacy{id: id, term: v.Term, at: w.Now(), prevTerm: p.term, prevRole: p.role})
	if len(e.cands) == 1 {
		w.Note("node %d's election timer fired: term %d -> %d, votes for itself, sends %d messages", id, p.term, v.Term, len(out.Messages))
	}
	if v.Term != p.term+1 {
		e.prob.setf(w, "node %d became a candidate of term %d from term %d, want term %d", id, v.Term, p.term, p.term+1)
	}
	want := node.HardState{Term: v.Term, Vote: id}
	if v.Vote != id || !out.HardStateChanged || out.HardState != want || w.Disk(id).HardState != want {
		e.prob.setf(w, "candidate %d of term %d: vote %d, step hard state %+v (changed %v), disk %+v; want its own vote, on disk before it sends",
			id, v.Term, v.Vote, out.HardState, out.HardStateChanged, w.Disk(id).HardState)
	}
	e.checkVoteRequests(w, id, &v, out)
}

// leaderSent checks a leader's step (E8): the requests a leader sends are AppendEntries,
// its heartbeats empty ones (it may still answer a RequestVote).
func (e *electionRun) leaderSent(w *sim.World, id node.ID, out *node.Output) {
	for i := range out.Messages {
		m := &out.Messages[i]
		switch {
		case m.Type == node.MsgVoteResp || m.Type == node.MsgPreVoteResp:
		case m.Type != node.MsgApp:
			e.prob.setf(w, "leader %d sent %v: a leader's requests are AppendEntries", id, *m)
		case len(m.Entries) == 0:
			e.heartbeats++
		}
	}
}

// checkVoteRequests checks the step in which id became a candidate: it sends one
// RequestVote of its term with its last entry to every other server, and nothing else.
func (e *electionRun) checkVoteRequests(w *sim.World, id node.ID, v *node.View, out *node.Output) {
	last := lastPos(v)
	for _, peer := range v.Peers {
		if peer == id {
			continue
		}
		asked := false
		for i := range out.Messages {
			m := &out.Messages[i]
			if m.Type == node.MsgVote && m.To == peer && m.Term == v.Term && m.LastLogIndex == last.index && m.LastLogTerm == last.term {
				asked = true
			}
		}
		if !asked {
			e.prob.setf(w, "candidate %d of term %d did not send node %d a RequestVote of its term with its last entry %d@t%d (sent %v)",
				id, v.Term, peer, last.index, last.term, out.Messages)
		}
	}
	if len(out.Messages) != len(v.Peers)-1 {
		e.prob.setf(w, "candidate %d sent %d messages as it started its election, want one RequestVote to each of the %d others",
			id, len(out.Messages), len(v.Peers)-1)
	}
}

func (e *electionRun) assert(w *sim.World, o *Outcome) error {
	if err := e.prob.err(); err != nil {
		return err
	}
	if len(e.cands) == 0 {
		return fmt.Errorf("no node ever became a candidate")
	}
	if err := e.assertFirstCandidacy(w); err != nil {
		return err
	}
	if err := e.assertFirstLeader(w); err != nil {
		return err
	}
	if e.heartbeats == 0 {
		return fmt.Errorf("no leader sent a heartbeat (an empty AppendEntries)")
	}
	return nil
}

// assertFirstCandidacy: the first candidate moved from term 0 to term 1 when its election
// timer fired.
func (e *electionRun) assertFirstCandidacy(w *sim.World) error {
	first := e.cands[0]
	nc := w.Config().Node
	// With PreVote a follower whose timer fires first asks for pre-votes, in its
	// old term, and becomes a candidate once a majority would vote for it.
	from := node.Follower
	if nc.PreVote {
		from = node.PreCandidate
	}
	if first.term != 1 || first.prevTerm != 0 || first.prevRole != from {
		return fmt.Errorf("the first candidate, node %d, went from %v of term %d to term %d; want a %v of term 0 moving to term 1",
			first.id, first.prevRole, first.prevTerm, first.term, from)
	}
	if e.firstTimeout < nc.ElectionTimeoutMin || e.firstTimeout >= nc.ElectionTimeoutMax {
		return fmt.Errorf("the first follower left its role at %v, want when its election timer fired, in [%v, %v) after boot",
			e.firstTimeout, nc.ElectionTimeoutMin, nc.ElectionTimeoutMax)
	}
	return nil
}

// assertFirstLeader: the first leader campaigned in its term and won a majority's votes.
func (e *electionRun) assertFirstLeader(w *sim.World) error {
	leaders := w.LeaderHistory()
	if len(leaders) == 0 {
		return fmt.Errorf("no leader was elected")
	}
	l := leaders[0]
	ran := false
	for _, c := range e.cands {
		ran = ran || (c.id == l.ID && c.term == l.Term)
	}
	majority := w.Nodes()/2 + 1
	if !ran || e.grants[voteKey{l.ID, l.Term}]+1 < majority {
		return fmt.Errorf("the first leader, node %d of term %d, campaigned in that term: %v, and was granted %d votes besides its own; want a candidacy and at least %d",
			l.ID, l.Term, ran, e.grants[voteKey{l.ID, l.Term}], majority-1)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// E6: how losing candidates learn who won.

// splitVote forces the elections with World.Campaign, every message taking exactly 5 ms
// and election timeouts so long that no timer fires. Servers A, B, C are candidates, D, E
// voters (the seed casts them).
//
//	Round 1, term 1: A, B and C campaign at once; A's RequestVote cannot reach E. D hears
//	A first, E hears B first: A and B have two votes each, C one, and 3 are needed. The
//	vote is split: term 1 has no leader.
//	Round 2, term 2: the links are healed and all three campaign again at once, in an
//	order the seed chooses. The voters grant the first request they hear, so the first
//	candidate wins; the two others stay candidates until the winner's first
//	AppendEntries of term 2 arrives, and then follow it.
func splitVote() Scenario {
	return Scenario{
		Name:      "split-vote",
		Summary:   "three candidates at once split the vote (no leader in term 1); three again in term 2, one wins: each losing candidate stays a candidate until the winner's AppendEntries of its own term arrives, and then follows the winner",
		Questions: "E6",
		Configure: func(c *sim.Config) {
			scripted(c, time.Second)
		},
		Script: splitVoteScript,
	}
}

// splitVoteRun is what the split-vote script learns while it runs.
type splitVoteRun struct {
	a, b, c, e node.ID    // candidates A, B, C and voter E
	round2     [3]node.ID // the order of the candidates' second campaigns
	watch      *stepWatch
	candidates map[node.Term][]node.ID
	grants     map[voteKey]int       // (candidate, term) -> votes granted
	learned    map[voteKey]node.ID   // (candidate, term) -> the leader it followed
	movedOn    map[voteKey]node.Term // (candidate, term) -> the higher term it moved to first
	prob       firstProblem
}

func splitVoteScript(w *sim.World) Assertion {
	cast := castOf(w)
	s := &splitVoteRun{a: cast[0], b: cast[1], c: cast[2], e: cast[4]}
	s.round2 = [3]node.ID{s.a, s.b, s.c}
	w.Random().Shuffle(3, func(i, j int) { s.round2[i], s.round2[j] = s.round2[j], s.round2[i] })

	s.watch = newStepWatch(w)
	s.candidates = map[node.Term][]node.ID{}
	s.grants, s.learned, s.movedOn = map[voteKey]int{}, map[voteKey]node.ID{}, map[voteKey]node.Term{}
	w.BeforeSend(s.onStep)
	w.At(ms(50), "A's RequestVote cannot reach E", func(w *sim.World) { w.CutOneWay(s.a, s.e) })
	w.At(ms(100), "round 1: A, B and C campaign at once", func(w *sim.World) {
		w.Campaign(s.a)
		w.Campaign(s.b)
		w.Campaign(s.c)
	})
	w.At(ms(300), "round 2: heal; all three campaign again", s.secondRound)
	return s.assert
}

// onStep counts the votes granted and the candidacies, and watches how each candidate
// leaves its role.
func (s *splitVoteRun) onStep(w *sim.World, id node.ID, out *node.Output) {
	v := w.View(id)
	p := s.watch.prev[id]
	s.watch.update(id, &v)
	for i := range out.Messages {
		if m := &out.Messages[i]; m.Type == node.MsgVoteResp && m.Success {
			s.grants[voteKey{m.To, m.Term}]++
		}
	}
	if v.Role == node.Candidate && !(p.role == node.Candidate && p.term == v.Term) {
		s.candidates[v.Term] = append(s.candidates[v.Term], id)
	}
	if p.role != node.Candidate {
		return
	}
	switch {
	case v.Term > p.term:
		s.movedOn[voteKey{id, p.term}] = v.Term
	case v.Role == node.Follower:
		// A candidate gave up in its own term: only an AppendEntries of that term
		// from its winner may make it (§5.2).
		answered := false
		for i := range out.Messages {
			m := &out.Messages[i]
			answered = answered || (m.Type == node.MsgAppResp && m.To == v.Leader && m.Term == v.Term)
		}
		if v.Leader == node.None || !answered {
			s.prob.setf(w, "candidate %d of term %d became a follower (of %d) in a step that answered no AppendEntries of its term", id, v.Term, v.Leader)
		}
		s.learned[voteKey{id, v.Term}] = v.Leader
		w.Note("candidate %d of term %d heard node %d's AppendEntries of that term: it follows the winner", id, v.Term, v.Leader)
	}
}

func (s *splitVoteRun) secondRound(w *sim.World) {
	if l := w.Leader(); l == node.None {
		w.Note("term 1 has no leader: %d, %d and %d split the votes (%d, %d and %d granted besides their own)",
			s.a, s.b, s.c, s.grants[voteKey{s.a, 1}], s.grants[voteKey{s.b, 1}], s.grants[voteKey{s.c, 1}])
	}
	w.Heal()
	for _, id := range s.round2 {
		w.Campaign(id)
	}
}

func (s *splitVoteRun) assert(w *sim.World, o *Outcome) error {
	if err := s.prob.err(); err != nil {
		return err
	}
	if !w.Config().Node.PreVote {
		if err := s.assertSplit(w); err != nil {
			return err
		}
	}
	if err := s.assertLosersFollowed(w); err != nil {
		return err
	}
	leaders := w.LeaderHistory()
	last := leaders[len(leaders)-1]
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if v := w.View(id); id != last.ID && (v.Role != node.Follower || v.Term != last.Term || v.Leader != last.ID) {
			return fmt.Errorf("node %d is %v of term %d following %d at the end; want a follower of node %d in term %d", id, v.Role, v.Term, v.Leader, last.ID, last.Term)
		}
	}
	return nil
}

// assertSplit: round 1's vote was split, and term 2 has the first leader.
func (s *splitVoteRun) assertSplit(w *sim.World) error {
	leaders := w.LeaderHistory()
	majority := w.Nodes()/2 + 1
	withVotes := 0
	for _, id := range s.candidates[1] {
		if g := s.grants[voteKey{id, 1}]; g > 0 {
			withVotes++
		}
		if s.grants[voteKey{id, 1}]+1 >= majority {
			return fmt.Errorf("candidate %d won a majority in term 1; the vote should have been split", id)
		}
	}
	if len(s.candidates[1]) != 3 || withVotes < 2 {
		return fmt.Errorf("term 1 had candidates %v, %d of them with granted votes; want three candidates splitting the votes", s.candidates[1], withVotes)
	}
	if len(leaders) == 0 || leaders[0].Term != 2 {
		return fmt.Errorf("leaders %v: want none in term 1 (split vote) and one in term 2", leaders)
	}
	return nil
}

// assertLosersFollowed: every losing candidate that stayed in its term followed the
// winner through its AppendEntries, and the script made at least two of them.
func (s *splitVoteRun) assertLosersFollowed(w *sim.World) error {
	losers := 0
	for _, l := range w.LeaderHistory() {
		for _, id := range s.candidates[l.Term] {
			if id == l.ID {
				continue
			}
			if _, moved := s.movedOn[voteKey{id, l.Term}]; moved {
				continue
			}
			if got, ok := s.learned[voteKey{id, l.Term}]; !ok || got != l.ID {
				return fmt.Errorf("losing candidate %d of term %d never became a follower of the winner %d through its AppendEntries (followed %d)", id, l.Term, l.ID, got)
			}
			losers++
		}
	}
	if losers < 2 {
		return fmt.Errorf("%d losing candidates learned of a winner; the script makes two in term 2", losers)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// E7: an election timeout near the message delay.

// Thresholds of timeout-too-short over 2 s. Measured over seeds 1-300: 684-738 elections
// in 147-150 terms, each term but a few with several candidates, no leader, no commit. For
// comparison, the standard timeouts (150-300 ms, heartbeat 50 ms) with the same 10-20 ms
// delays and clients see 1 to 5 elections, one leader and 98 to 147 commits in 3 s.
const (
	tooShortMinElections = 300 // 60 times the standard timeouts' worst case, in less time
	tooShortMaxLeaders   = 2
	tooShortMaxCommits   = 20
)

func timeoutTooShort() Scenario {
	return Scenario{
		Name:      "timeout-too-short",
		Summary:   "election timeouts of 12-15 ms with 10-20 ms message delays: servers time out before the votes come back, nearly every term has several candidates, and 2 s see hundreds of elections, at most a leader or two and almost no commits (standard 150-300 ms timeouts: a handful of elections, a steady leader)",
		Questions: "E7",
		Configure: func(c *sim.Config) {
			c.Net.DelayMin, c.Net.DelayMax = ms(10), ms(20)
			c.Node.ElectionTimeoutMin, c.Node.ElectionTimeoutMax = ms(12), ms(15)
			c.Node.HeartbeatInterval = ms(5)
			c.Duration = 2 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			watch := newStepWatch(w)
			var perTerm []int // candidates per term
			granted := 0
			w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
				v := w.View(id)
				p := watch.prev[id]
				watch.update(id, &v)
				if v.Role == node.Candidate && !(p.role == node.Candidate && p.term == v.Term) {
					for len(perTerm) <= int(v.Term) {
						perTerm = append(perTerm, 0)
					}
					perTerm[v.Term]++
				}
				for i := range out.Messages {
					if m := &out.Messages[i]; m.Type == node.MsgVoteResp && m.Success {
						granted++
					}
				}
			})
			terms, split := 0, 0
			w.At(w.Config().Duration, "count the elections", func(w *sim.World) {
				for _, n := range perTerm {
					if n > 0 {
						terms++
					}
					if n > 1 {
						split++
					}
				}
				c := w.Counts()
				w.Note("%d elections in %d terms (%d of them with several candidates), %d votes granted, %d leaders, %d entries committed",
					c.Elections, terms, split, granted, c.Leaders, c.Commits)
			})
			return func(w *sim.World, o *Outcome) error {
				c := o.Counts
				c.Elections += c.PreVotes // with PreVote, a timeout starts a pre-vote round first
				if c.Elections < tooShortMinElections || c.Leaders > tooShortMaxLeaders || c.Commits > tooShortMaxCommits {
					return fmt.Errorf("%d elections, %d leaders, %d commits in %v; want at least %d elections, at most %d leaders and %d commits",
						c.Elections, c.Leaders, c.Commits, w.Config().Duration, tooShortMinElections, tooShortMaxLeaders, tooShortMaxCommits)
				}
				if !w.Config().Node.PreVote && split*10 < terms*9 {
					return fmt.Errorf("only %d of %d terms had several candidates; want at least 90%% (the elections keep splitting)", split, terms)
				}
				return nil
			}
		},
	}
}

// ---------------------------------------------------------------------------------------
// E11: a vote survives a crash.

// voteSurvivesCrash forces the schedule with World.Campaign, every message taking exactly
// 5 ms and timeouts so long that no timer fires. Servers A, B, V, X, Y (the seed casts
// them):
//
//	A campaigns in term 1; its RequestVote cannot reach B or Y. V and X grant it; V's
//	vote is on its disk before its answer leaves, and V crashes right after. A wins term 1
//	with the votes of V and X.
//	V restarts from its disk. B, which never heard of term 1, campaigns in term 1 too and
//	asks everyone. Y grants it; A and X refuse; V, had it forgotten its vote, would give B
//	the third vote and a second leader of term 1. It refuses.
func voteSurvivesCrash() Scenario {
	return Scenario{
		Name:      "vote-survives-crash",
		Summary:   "a voter crashes right after granting its vote (on disk before the reply left) and restarts; another candidate of the same term, one vote short of winning, asks it and is refused: no second leader in the term",
		Questions: "E11",
		Configure: func(c *sim.Config) {
			scripted(c, time.Second)
		},
		Script: voteSurvivesCrashScript,
	}
}

// voteCrashRun is what the vote-survives-crash script learns while it runs.
type voteCrashRun struct {
	a, b, v, y             node.ID // candidates A and B, the voter V that crashes, Y
	term                   node.Term
	grantedAt, restartedAt time.Duration
	durable                bool // V's vote for A was on its disk when the grant left
	restartedWith          node.HardState
	answer                 *node.Message // V's answer to B
	answeredAt             time.Duration
	voted                  map[voteKey]node.ID // (voter, term) -> candidate (the last granted)
	grantsTo               map[voteKey]int
}

func voteSurvivesCrashScript(w *sim.World) Assertion {
	cast := castOf(w)
	s := &voteCrashRun{a: cast[0], b: cast[1], v: cast[2], y: cast[4],
		voted: map[voteKey]node.ID{}, grantsTo: map[voteKey]int{}}
	w.BeforeSend(s.onStep)
	w.At(ms(50), "A cannot reach B or Y", func(w *sim.World) {
		w.CutOneWay(s.a, s.b)
		w.CutOneWay(s.a, s.y)
	})
	w.At(ms(100), "A campaigns", func(w *sim.World) {
		w.Campaign(s.a)
		s.term = w.View(s.a).Term
	})
	w.At(ms(200), "restart the voter", s.restart)
	w.At(ms(300), "B campaigns", func(w *sim.World) { w.Campaign(s.b) })
	w.At(ms(400), "heal", func(w *sim.World) { w.Heal() })
	return s.assert
}

// onStep watches every vote answer: one vote per voter and term; V crashes right after its
// grant to A leaves; and V's answer to B after its restart is kept.
func (s *voteCrashRun) onStep(w *sim.World, id node.ID, out *node.Output) {
	for i := range out.Messages {
		m := &out.Messages[i]
		if m.Type != node.MsgVoteResp {
			continue
		}
		if m.Success {
			if was, ok := s.voted[voteKey{id, m.Term}]; ok && was != m.To {
				w.Failf("one vote per voter and term", "node %d granted its vote in term %d to %d and to %d", id, m.Term, was, m.To)
			}
			s.voted[voteKey{id, m.Term}] = m.To
			s.grantsTo[voteKey{m.To, m.Term}]++
		}
		if id == s.v && m.Success && m.To == s.a && s.grantedAt == 0 {
			s.grantedAt = w.Now()
			d := w.Disk(s.v).HardState
			s.durable = d.Term == m.Term && d.Vote == s.a
			w.Note("node %d grants its vote in term %d to node %d; its disk already holds term %d vote %d", s.v, m.Term, s.a, d.Term, d.Vote)
			w.At(w.Now(), "crash the voter right after its vote left", func(w *sim.World) { w.Crash(s.v) })
		}
		if id == s.v && m.To == s.b && s.restartedAt > 0 && s.answer == nil {
			c := *m
			s.answer, s.answeredAt = &c, w.Now()
			w.Note("node %d answers node %d's RequestVote of term %d: granted %v", s.v, s.b, m.Term, m.Success)
		}
	}
}

func (s *voteCrashRun) restart(w *sim.World) {
	w.Restart(s.v)
	s.restartedAt = w.Now()
	vv := w.View(s.v)
	s.restartedWith = node.HardState{Term: vv.Term, Vote: vv.Vote}
	w.Note("node %d restarted with term %d and its vote for %d", s.v, vv.Term, vv.Vote)
}

func (s *voteCrashRun) assert(w *sim.World, o *Outcome) error {
	if w.Config().Node.PreVote {
		return fmt.Errorf("this scenario needs PreVote off: with it, B's pre-vote fails before it asks for votes (run it without -prevote)")
	}
	if err := s.assertVoteKept(w); err != nil {
		return err
	}
	leaders := w.LeaderHistory()
	if len(leaders) != 1 || leaders[0].ID != s.a || leaders[0].Term != s.term {
		return fmt.Errorf("leaders %v: want node %d alone, in term %d", leaders, s.a, s.term)
	}
	if err := s.assertRefused(w); err != nil {
		return err
	}
	if l := w.Leader(); l != s.a {
		return fmt.Errorf("leader at the end is %d, want %d", l, s.a)
	}
	return nil
}

// assertVoteKept: V's vote was durable before its grant left, and V restarted with it.
func (s *voteCrashRun) assertVoteKept(w *sim.World) error {
	if s.grantedAt == 0 {
		return fmt.Errorf("node %d never granted its vote to node %d", s.v, s.a)
	}
	if !s.durable {
		return fmt.Errorf("when node %d's vote for %d left, its disk held %+v: the vote must be durable before the reply", s.v, s.a, w.Disk(s.v).HardState)
	}
	if s.restartedWith != (node.HardState{Term: s.term, Vote: s.a}) {
		return fmt.Errorf("node %d restarted with %+v, want term %d and its vote for %d", s.v, s.restartedWith, s.term, s.a)
	}
	return nil
}

// assertRefused: after its restart V refused B, whose campaign its vote would have decided.
func (s *voteCrashRun) assertRefused(w *sim.World) error {
	if s.answer == nil {
		return fmt.Errorf("node %d never answered node %d after its restart", s.v, s.b)
	}
	if s.answer.Term != s.term || s.answer.Success {
		return fmt.Errorf("after its restart node %d answered node %d's RequestVote with %v at %v; want a refusal in term %d", s.v, s.b, *s.answer, s.answeredAt, s.term)
	}
	if got := s.voted[voteKey{s.v, s.term}]; got != s.a {
		return fmt.Errorf("node %d's vote in term %d went to %d, want %d", s.v, s.term, got, s.a)
	}
	if g := s.grantsTo[voteKey{s.b, s.term}]; g+1 != w.Nodes()/2 {
		return fmt.Errorf("node %d got %d votes besides its own in term %d; the script makes it one short of a majority, so that the voter's vote would decide", s.b, g, s.term)
	}
	return nil
}
