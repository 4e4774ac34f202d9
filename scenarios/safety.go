package scenarios

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// This file holds the scenarios about safety (SEED-QUESTIONS S1, S2, E4, E5, Raft §5.4):
// the Figure 8 schedule, the vote restriction, and a deposed leader that still believes it
// leads.

// figure8 replays the schedule of Figure 8 of the Raft paper (§5.4.2) with five servers
// S1..S5, forcing the elections with World.Campaign and fixing every message delay at
// 5 ms so that the schedule is exact:
//
//	(a) S1 leads term 1 and replicates entry "a" at index 2 to S2 only.
//	(b) S1 crashes; S5 wins term 2 with the votes of S3 and S4, is cut off at once, and
//	    appends its no-op and entry "b" (indexes 2 and 3, term 2) locally.
//	(c) S5 crashes; S1 restarts and wins term 3. With one entry per AppendEntries, "a"
//	    (term 1) reaches a majority (S1-S4) before S1's own no-op of term 3 does. S1 must
//	    not commit "a" by counting replicas. S1 crashes right then.
//	(d) S5 restarts and wins term 4 with the votes of S3 and S4 (its last term, 2, beats
//	    their 1), and overwrites "a" everywhere with its own entries.
//
// The seed chooses which servers play S1..S5.
//
// The answer it asserts: an entry of an earlier term stored on a majority is not
// committed by counting (otherwise the checks would find a committed entry lost in (d)),
// and it can indeed be overwritten later.
func figure8() Scenario {
	return Scenario{
		Name:      "figure-8",
		Summary:   "the Figure 8 schedule: an old-term entry on a majority is not committed by counting, and is later overwritten",
		Questions: "S1",
		Configure: func(c *sim.Config) {
			scripted(c, 3*time.Second)
			c.Node.MaxEntriesPerMessage = 1
		},
		Script: figure8Script,
	}
}

func figure8Script(w *sim.World) Assertion {
	cast := castOf(w)
	s1, s2, s3, s4, s5 := cast[0], cast[1], cast[2], cast[3], cast[4]
	f := &figure8State{s1: s1, s5: s5}
	w.At(ms(100), "(a) S1 campaigns", func(w *sim.World) { w.Campaign(s1) })
	w.At(ms(300), "(a) S1 reaches only S2", func(w *sim.World) {
		w.Partition([]node.ID{s1, s2})
		f.propose(w, s1, "a", 1)
	})
	w.At(ms(400), "(b) S1 crashes; S5 campaigns", func(w *sim.World) {
		w.Crash(s1)
		w.Partition([]node.ID{s3, s4, s5})
		w.Campaign(s5)
	})
	// Votes arrive at 405 ms, answers at 410 ms: S5 is leader and its first
	// AppendEntries would arrive at 415 ms. Cut it off in between.
	w.At(ms(412), "(b) S5 is cut off and appends b", func(w *sim.World) {
		w.Isolate(s5)
		f.propose(w, s5, "b", 2)
	})
	w.At(ms(500), "(c) S5 crashes; S1 restarts and campaigns", func(w *sim.World) {
		w.Crash(s5)
		w.Heal()
		w.Restart(s1)
		w.Campaign(s1) // term 2: S3 and S4 already voted for S5, so this one fails
	})
	w.At(ms(520), "(c) S1 campaigns again", func(w *sim.World) { w.Campaign(s1) })
	w.At(ms(521), "(c) watch a reach a majority", f.watch)
	w.At(time.Second, "S1 restarts", func(w *sim.World) { w.Restart(s1) })
	w.Note("cast: S1..S5 are nodes %v", cast)
	return f.assert
}

// figure8State is what the figure-8 script learns while it runs.
type figure8State struct {
	s1, s5    node.ID       // the servers playing S1 and S5
	a, b      node.Proposal // where "a" and "b" were appended
	seenTrap  bool          // "a" held by a majority while nobody had committed it
	trapNotes string
}

func (f *figure8State) propose(w *sim.World, id node.ID, data string, wantTerm node.Term) {
	p := w.Propose(id, data)
	if !p.Accepted || p.Term != wantTerm {
		w.Failf("figure-8 schedule", "node %d did not append %q in term %d: %+v\n%s", id, data, wantTerm, p, w.Describe())
		return
	}
	if data == "a" {
		f.a = p
	} else {
		f.b = p
	}
}

// watch polls every millisecond for the moment of Figure 8 (c): "a" stored on a
// majority. It then checks that nobody has committed it, crashes S1 and lets S5 win.
func (f *figure8State) watch(w *sim.World) {
	holders, maxCommit := 0, node.Index(0)
	for id := node.ID(1); id <= 5; id++ {
		v := w.View(id)
		if holds(v, f.a.Index, f.a.Term) {
			holders++
		}
		if w.Up(id) && v.CommitIndex > maxCommit {
			maxCommit = v.CommitIndex
		}
	}
	if holders < 3 {
		if w.Now() > ms(700) {
			w.Failf("figure-8 schedule", "entry a never reached a majority under S1 in term 3\n%s", w.Describe())
			return
		}
		w.At(w.Now()+time.Millisecond, "(c) watch", f.watch)
		return
	}
	f.seenTrap = maxCommit < f.a.Index
	f.trapNotes = fmt.Sprintf("a held by %d servers, highest commit index %d, S1 in term %d", holders, maxCommit, w.View(f.s1).Term)
	w.Note("Figure 8 (c): %s", f.trapNotes)
	w.Crash(f.s1)
	w.Restart(f.s5)
	w.Campaign(f.s5) // term 3: S2-S4 voted for S1 in term 3, so this one fails
	w.At(w.Now()+ms(20), "(d) S5 campaigns again", func(w *sim.World) { w.Campaign(f.s5) })
}

func (f *figure8State) assert(w *sim.World, o *Outcome) error {
	if !f.seenTrap {
		return fmt.Errorf("at Figure 8 (c) the old-term entry was already committed: %s", f.trapNotes)
	}
	if e, ok := w.CommittedEntry(f.a.Index); !ok || !e.SameAs(node.Entry{Index: f.a.Index, Term: 2, Kind: node.EntryNoOp}) {
		return fmt.Errorf("index %d should end up holding S5's term-2 no-op, committed; ledger there: %v (known: %v)", f.a.Index, e, ok)
	}
	if e, ok := w.CommittedEntry(f.b.Index); !ok || e.Data != "b" {
		return fmt.Errorf("S5's entry b should be committed at index %d; ledger there: %v (known: %v)", f.b.Index, e, ok)
	}
	for id := node.ID(1); id <= 5; id++ {
		if holds(w.View(id), f.a.Index, f.a.Term) {
			return fmt.Errorf("node %d still holds entry a, which S5 should have overwritten\n%s", id, w.Describe())
		}
	}
	if l := w.LeaderHistory(); len(l) == 0 || l[len(l)-1].ID != f.s5 {
		return fmt.Errorf("S5 should lead the last term; leaders: %+v", l)
	}
	return nil
}

// holds reports whether v's log has an entry of term t at index i.
func holds(v node.View, i node.Index, t node.Term) bool {
	got, ok := v.TermAt(i)
	return ok && i > 0 && got == t
}

// ---------------------------------------------------------------------------------------
// E4, S2: whom a server votes for.

// voteRules checks every vote answer of a run against §5.2 and §5.4.1: a grant only to a
// candidate whose log is at least as up-to-date as the voter's, at most one candidate per
// voter and term, and (first come, first served) a grant to the first such candidate that
// asks a voter who has not voted in the term. It learns each campaign's last entry from the
// candidate's RequestVotes.
type voteRules struct {
	reqs  map[voteKey]logPos // (candidate, term) -> the last entry its RequestVotes carry
	voted map[voteKey]node.ID
	prob  firstProblem
}

func newVoteRules() *voteRules {
	return &voteRules{reqs: map[voteKey]logPos{}, voted: map[voteKey]node.ID{}}
}

// step checks one step of node id, whose state before the step was p; it reports each
// vote answer the step sends to fn (granted or not).
func (r *voteRules) step(w *sim.World, id node.ID, p peerState, v *node.View, out *node.Output,
	fn func(m *node.Message)) {
	for i := range out.Messages {
		m := &out.Messages[i]
		switch m.Type {
		case node.MsgVote:
			r.reqs[voteKey{id, m.Term}] = logPos{index: m.LastLogIndex, term: m.LastLogTerm}
		case node.MsgVoteResp:
			req, asked := r.reqs[voteKey{m.To, m.Term}]
			mine := lastPos(v)
			upToDate := asked && req.atLeastAsUpToDate(mine)
			if m.Success {
				if !upToDate {
					r.prob.setf(w, "node %d (last entry %d@t%d) granted its vote in term %d to node %d, whose log ends at %d@t%d (asked: %v)",
						id, mine.index, mine.term, m.Term, m.To, req.index, req.term, asked)
				}
				if was, ok := r.voted[voteKey{id, m.Term}]; ok && was != m.To {
					r.prob.setf(w, "node %d granted its vote in term %d to node %d and to node %d", id, m.Term, was, m.To)
				}
				r.voted[voteKey{id, m.Term}] = m.To
			} else if asked && p.term <= m.Term {
				before := p.vote
				if p.term < m.Term {
					before = node.None // a new term: no vote yet
				}
				if (before == node.None || before == m.To) && upToDate {
					r.prob.setf(w, "node %d had not voted for another in term %d, yet refused node %d, whose log (%d@t%d) is at least as up-to-date as its own (%d@t%d)",
						id, m.Term, m.To, req.index, req.term, mine.index, mine.term)
				}
			}
			if fn != nil {
				fn(m)
			}
		}
	}
}

// voteRestriction cuts a follower off while the others commit entries, then heals and
// forces it to campaign at once: its term is the highest (it kept campaigning alone), so
// every server moves to its term, but its log is behind theirs and none grants it a vote.
// A server with the full log wins a later term.
func voteRestriction() Scenario {
	return Scenario{
		Name:      "vote-restriction",
		Summary:   "a follower cut off while entries commit comes back and is forced to campaign with the highest term: every server moves to its term but none grants it a vote (its log is behind); a server with every committed entry wins; every vote of the run is first come first served, one per term, only for an up-to-date log",
		Questions: "E4, S2",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 4 * time.Second
			c.Clients.Stop = 3500 * time.Millisecond
		},
		Script: func(w *sim.World) Assertion {
			s := &voteRestrictionRun{watch: newStepWatch(w), rules: newVoteRules(), refusedBy: make([]bool, w.Nodes()+1)}
			return s.script(w)
		},
	}
}

// Vote-restriction timings: a follower is cut off at restrictionCut and comes back at
// restrictionHeal.
const restrictionCut, restrictionHeal = 1 * time.Second, 2500 * time.Millisecond

// voteRestrictionRun is what the vote-restriction script learns while it runs.
type voteRestrictionRun struct {
	watch           *stepWatch
	rules           *voteRules
	stale           node.ID // the follower cut off
	healed          time.Duration
	committedAtHeal int
	staleTerm       node.Term // the forced campaign's term (0: it never became a candidate)
	grantedBehind   int       // votes and pre-votes granted to the stale follower while behind
	asked           int       // vote and pre-vote requests it sent after the heal
	refusedBy       []bool    // the voters that refused the forced campaign, in its term
	leaderAfter     node.ID   // the first leader of a term above staleTerm
	leaderAfterTerm node.Term
	heldAll         bool // leaderAfter held every entry committed before the heal
}

func (s *voteRestrictionRun) script(w *sim.World) Assertion {
	w.BeforeSend(s.onStep)
	w.At(restrictionCut, "cut off a follower", func(w *sim.World) {
		l, ok := requireLeader(w)
		if !ok {
			return
		}
		s.stale = node.ID(int(l)%w.Nodes() + 1)
		w.Note("follower %d is cut off while the others go on committing", s.stale)
		w.Isolate(s.stale)
	})
	w.At(restrictionHeal, "heal; the stale follower campaigns at once", s.heal)
	expectWithin(w, restrictionHeal, restrictionHeal+failoverBound, "a server with the full log leads",
		func(w *sim.World) bool {
			l := w.Leader()
			return l != node.None && (s.staleTerm == 0 || w.View(l).Term > s.staleTerm)
		},
		func(w *sim.World) string { return fmt.Sprintf("no leader of a term above %d", s.staleTerm) },
		s.recordLeader)
	return s.assert
}

// onStep checks every vote of the run against voteRules, and after the heal counts the
// stale follower's requests and the answers to them.
func (s *voteRestrictionRun) onStep(w *sim.World, id node.ID, out *node.Output) {
	v := w.View(id)
	p := s.watch.prev[id]
	s.watch.update(id, &v)
	s.rules.step(w, id, p, &v, out, func(m *node.Message) {
		if s.healed == 0 || m.To != s.stale {
			return
		}
		switch {
		case m.Success && s.behind(w):
			s.grantedBehind++
		case !m.Success && s.staleTerm != 0 && m.Term == s.staleTerm:
			s.refusedBy[id] = true
		}
	})
	if s.healed == 0 {
		return
	}
	for i := range out.Messages {
		m := &out.Messages[i]
		switch {
		case id == s.stale && (m.Type == node.MsgVote || m.Type == node.MsgPreVote):
			s.asked++
		case m.Type == node.MsgPreVoteResp && m.To == s.stale && m.Success && s.behind(w):
			s.grantedBehind++
		}
	}
}

// behind reports whether the stale follower's log lacks entries committed before the heal.
func (s *voteRestrictionRun) behind(w *sim.World) bool {
	return int(lastView(w, s.stale).LastIndex()) < s.committedAtHeal
}

func (s *voteRestrictionRun) heal(w *sim.World) {
	s.committedAtHeal = w.CommittedLen()
	v := w.View(s.stale)
	if int(v.LastIndex()) >= s.committedAtHeal || s.committedAtHeal < 10 {
		w.Failf("stale log", "node %d holds %d entries and %d are committed: the scenario needs it well behind\n%s",
			s.stale, v.LastIndex(), s.committedAtHeal, w.Describe())
		return
	}
	s.healed = w.Now()
	w.Heal()
	w.Campaign(s.stale)
	if v := w.View(s.stale); v.Role == node.Candidate {
		s.staleTerm = v.Term
	}
	w.Note("node %d, %d entries behind, campaigns in term %d (pre-vote: %v)", s.stale, s.committedAtHeal-int(v.LastIndex()), w.View(s.stale).Term, w.Config().Node.PreVote)
}

// recordLeader records the first leader after the forced campaign, and whether it holds
// every entry committed before the heal.
func (s *voteRestrictionRun) recordLeader(w *sim.World) {
	s.leaderAfter = w.Leader()
	v := w.View(s.leaderAfter)
	s.leaderAfterTerm = v.Term
	s.heldAll = int(v.LastIndex()) >= s.committedAtHeal
	for i := node.Index(1); s.heldAll && int(i) <= s.committedAtHeal; i++ {
		e, ok1 := w.CommittedEntry(i)
		f, ok2 := v.EntryAt(i)
		s.heldAll = ok1 && ok2 && e.SameAs(f)
	}
}

func (s *voteRestrictionRun) assert(w *sim.World, o *Outcome) error {
	if err := s.rules.prob.err(); err != nil {
		return err
	}
	if s.grantedBehind > 0 {
		return fmt.Errorf("node %d was granted %d votes while its log lacked committed entries", s.stale, s.grantedBehind)
	}
	if s.asked == 0 {
		return fmt.Errorf("node %d asked no one for a vote after the heal", s.stale)
	}
	if nc := w.Config().Node; !nc.PreVote && !nc.CheckQuorum {
		if err := s.assertAllRefused(w); err != nil {
			return err
		}
	}
	for _, r := range w.LeaderHistory() {
		if r.ID == s.stale && r.Time >= s.healed {
			return fmt.Errorf("node %d, whose log was behind, became leader of term %d", s.stale, r.Term)
		}
	}
	if s.leaderAfter == s.stale || !s.heldAll {
		return fmt.Errorf("the leader after the heal, node %d of term %d, does not hold all %d entries committed before the heal", s.leaderAfter, s.leaderAfterTerm, s.committedAtHeal)
	}
	return requireSettled(w, o, "the cluster did not converge")
}

// assertAllRefused: without PreVote and CheckQuorum the stale follower became a candidate,
// and every other server moved to its term and refused it.
func (s *voteRestrictionRun) assertAllRefused(w *sim.World) error {
	if s.staleTerm == 0 {
		return fmt.Errorf("node %d did not become a candidate when forced to campaign", s.stale)
	}
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if id != s.stale && !s.refusedBy[id] {
			return fmt.Errorf("node %d did not refuse node %d's RequestVote in its term %d; want every other server to move to that term and refuse (the candidate's log is behind)",
				id, s.stale, s.staleTerm)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// E5: two leaders at once?

// staleLeaderPartitioned cuts the leader off from the other servers (clients still reach
// it). The majority elects a leader of a newer term and commits; the old leader still
// believes it leads, in its older term, accepts a write, and commits nothing. Healed, it
// steps down, and its write is overwritten. With CheckQuorum on, it steps down by itself
// within an election timeout instead.
func staleLeaderPartitioned() Scenario {
	return Scenario{
		Name:      "stale-leader-partitioned",
		Summary:   "the leader is cut off from the other servers: the majority elects a leader of a newer term and commits while the old one still believes it leads its older term, accepts a write and commits nothing; healed, it steps down and its write is overwritten",
		Questions: "E5",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 5 * time.Second
			c.Clients.Stop = 4500 * time.Millisecond
		},
		Script: func(w *sim.World) Assertion {
			s := &staleLeaderRun{checkQuorum: w.Config().Node.CheckQuorum}
			return s.script(w)
		},
	}
}

// Stale-leader timings: the leader is cut off during [staleLeaderCut, staleLeaderHeal).
const staleLeaderCut, staleLeaderHeal = 1500 * time.Millisecond, 3500 * time.Millisecond

// staleLeaderMarker is the write proposed to the cut-off leader.
const staleLeaderMarker = "written to a deposed leader"

// staleLeaderRun is what the stale-leader-partitioned script learns while it runs.
type staleLeaderRun struct {
	checkQuorum      bool
	old, next        node.ID // the cut-off leader, the majority's new leader
	oldTerm, newTerm node.Term
	commitAtCut      node.Index // the old leader's commit index at the cut
	ledgerAtCut      int
	proposal         node.Proposal // the old leader's answer to the marker write
}

func (s *staleLeaderRun) script(w *sim.World) Assertion {
	w.At(staleLeaderCut, "cut off the leader from the other servers", s.cut)
	if !s.checkQuorum {
		w.At(staleLeaderCut+500*time.Millisecond, "propose to the old leader", func(w *sim.World) {
			s.proposal = w.Propose(s.old, staleLeaderMarker)
			w.Note("node %d, cut off, accepted a write at index %d of term %d: %v", s.old, s.proposal.Index, s.proposal.Term, s.proposal.Accepted)
		})
	}
	holdDuring(w, staleLeaderCut, staleLeaderHeal, "the cut-off leader commits nothing", s.oldCommitsNothing,
		func(w *sim.World) string {
			v := w.View(s.old)
			return fmt.Sprintf("node %d is %v of term %d with commit index %d (was leader of term %d, commit %d)", s.old, v.Role, v.Term, v.CommitIndex, s.oldTerm, s.commitAtCut)
		})
	if s.checkQuorum {
		bound := w.Config().Node.ElectionTimeoutMax + w.Config().Node.HeartbeatInterval + pollEvery
		expectWithin(w, staleLeaderCut, staleLeaderCut+bound, "CheckQuorum: the cut-off leader steps down by itself",
			func(w *sim.World) bool { return w.View(s.old).Role != node.Leader },
			func(w *sim.World) string { return fmt.Sprintf("node %d still leads", s.old) }, nil)
	}
	expectWithin(w, staleLeaderCut, staleLeaderHeal, "the majority elects a newer leader and commits", s.twoLeaders,
		func(w *sim.World) string {
			return fmt.Sprintf("leader %d, ledger %d (was %d at the cut)", w.Leader(), w.CommittedLen(), s.ledgerAtCut)
		}, s.recordNewLeader)
	w.At(staleLeaderHeal, "heal", func(w *sim.World) { w.Heal() })
	expectWithin(w, staleLeaderHeal, staleLeaderHeal+time.Second, "the old leader steps down to the newer term",
		func(w *sim.World) bool {
			v := w.View(s.old)
			return v.Role == node.Follower && v.Term >= s.newTerm && v.Leader != node.None && v.Leader != s.old
		},
		func(w *sim.World) string {
			v := w.View(s.old)
			return fmt.Sprintf("node %d is %v of term %d following %d", s.old, v.Role, v.Term, v.Leader)
		}, nil)
	return s.assert
}

func (s *staleLeaderRun) cut(w *sim.World) {
	var ok bool
	if s.old, ok = requireLeader(w); !ok {
		return
	}
	v := w.View(s.old)
	s.oldTerm, s.commitAtCut, s.ledgerAtCut = v.Term, v.CommitIndex, w.CommittedLen()
	w.Partition([]node.ID{s.old})
}

// oldCommitsNothing: the cut-off leader's commit index stays put, and (without
// CheckQuorum) it still leads its old term.
func (s *staleLeaderRun) oldCommitsNothing(w *sim.World) bool {
	v := w.View(s.old)
	return v.CommitIndex == s.commitAtCut && (s.checkQuorum || (v.Role == node.Leader && v.Term == s.oldTerm))
}

// twoLeaders: the majority has a leader of a newer term that committed 10 entries, while
// (without CheckQuorum) the old leader still leads.
func (s *staleLeaderRun) twoLeaders(w *sim.World) bool {
	l := w.Leader()
	return l != node.None && l != s.old && w.View(l).Term > s.oldTerm && w.CommittedLen() >= s.ledgerAtCut+10 &&
		(s.checkQuorum || w.View(s.old).Role == node.Leader)
}

func (s *staleLeaderRun) recordNewLeader(w *sim.World) {
	s.next = w.Leader()
	s.newTerm = w.View(s.next).Term
	if !s.checkQuorum {
		w.Note("two nodes believe they lead: node %d in term %d and node %d in term %d", s.old, s.oldTerm, s.next, s.newTerm)
	}
}

func (s *staleLeaderRun) assert(w *sim.World, o *Outcome) error {
	if s.newTerm <= s.oldTerm {
		return fmt.Errorf("no leader of a term above %d was seen while node %d was cut off", s.oldTerm, s.old)
	}
	if !s.checkQuorum {
		if err := s.assertWriteLost(w); err != nil {
			return err
		}
	}
	return requireSettled(w, o, "the cluster did not converge after healing")
}

// assertWriteLost: the deposed leader accepted the write in its old term, and it was
// neither committed nor kept.
func (s *staleLeaderRun) assertWriteLost(w *sim.World) error {
	if !s.proposal.Accepted || s.proposal.Term != s.oldTerm {
		return fmt.Errorf("the cut-off leader %d answered a write with %+v; want it accepted in its old term %d (it still believes it leads)", s.old, s.proposal, s.oldTerm)
	}
	for i := node.Index(1); int(i) <= w.CommittedLen(); i++ {
		if e, ok := w.CommittedEntry(i); ok && e.Data == staleLeaderMarker {
			return fmt.Errorf("the write accepted by the deposed leader %d was committed at index %d", s.old, i)
		}
	}
	if e, ok := lastView(w, s.old).EntryAt(s.proposal.Index); ok && e.Data == staleLeaderMarker {
		return fmt.Errorf("node %d still holds the write it accepted while deposed, at index %d", s.old, s.proposal.Index)
	}
	return nil
}
