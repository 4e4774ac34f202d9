package check

import (
	"fmt"
	"time"

	"raftsim/node"
)

// This file holds Stability (Ongaro's thesis §9.6 PreVote, §6.2 and §4.2.3 CheckQuorum): a
// server that cannot hear the leader, but reaches a majority, must not change the leader
// or the term of the servers that still hear it. PreVote and CheckQuorum keep that
// promise by one rule each, which a server that hears from its leader applies to a
// disruptor's requests, and Stability checks exactly those rules, from what each server
// received and when by its own clock, so that it needs no threshold and fires on no
// correct run, idle or loaded, lossy or not:
//
//   - PreVote: a server in contact with its leader grants no pre-vote, and a leader grants
//     none. Without pre-votes from a majority a cut-off server never raises its term.
//   - CheckQuorum: a follower in contact with its leader does not move to the higher term
//     of a RequestVote that is not a leadership transfer (it ignores it). The cut-off
//     server's own term may grow; the servers that hear the leader keep theirs.
//
// A server is in contact with its leader while it believes in a leader (View.Leader) and
// received an AppendEntries or snapshot chunk of its current term from that leader less
// than ElectionTimeoutMin ago by its own clock (node: leaderContact). The leader's own
// side of CheckQuorum (a leader in lease ignores RequestVotes) depends on acknowledgements
// it received, which this check leaves to Leader Quorum; the simulator adds the outcome of
// a leadership transfer (sim, stability.go: the target takes office, or the leader aborts).

// Stability is the check's name.
const Stability = "Stability"

// StabilityRules are the server options Stability needs.
type StabilityRules struct {
	PreVote, CheckQuorum bool
	ElectionTimeoutMin   time.Duration
}

// StabilityWatch checks Stability's rules. Create it with NewStabilityWatch and feed it
// every step of every server.
type StabilityWatch struct {
	rules   StabilityRules
	servers []follower // indexed by ID
	judged  int
}

// Judged is how many requests the rules applied to so far: pre-votes (PreVote on) and
// RequestVotes of a higher term (CheckQuorum on) that reached a server in contact with
// its leader, or a leader. It measures how much a run exercised the check.
func (st *StabilityWatch) Judged() int { return st.judged }

// follower is what StabilityWatch knows of one server: its state after its last step and
// its last contact with the leader it believed in.
type follower struct {
	life   uint64
	term   node.Term
	role   node.Role
	leader node.ID
	// contact: the last AppendEntries or snapshot chunk from contactFrom in contactTerm,
	// received at local time contactAt (contactOK: there was one in this life).
	contactOK   bool
	contactFrom node.ID
	contactTerm node.Term
	contactAt   time.Duration
}

// NewStabilityWatch returns the Stability check of servers 1..servers.
func NewStabilityWatch(servers int, rules StabilityRules) *StabilityWatch {
	return &StabilityWatch{rules: rules, servers: make([]follower, servers+1)}
}

// inContact reports whether f, at local time local, hears from the leader it believes in.
func (f *follower) inContact(local, etMin time.Duration) bool {
	return f.leader != node.None && f.contactOK && f.contactFrom == f.leader && f.contactTerm == f.term &&
		local-f.contactAt < etMin
}

// Step judges one step of server s.ID. describe, if not nil, says
// how the sender of a request stands to the receiver's leader (the simulator: "cut off
// from leader 3, reaches 4 of 5 voters"), for the report. It returns the first violation.
func (st *StabilityWatch) Step(s *StepInfo, describe func(sender, leader node.ID) string) *Violation {
	if s.ID < 1 || int(s.ID) >= len(st.servers) {
		panic(fmt.Sprintf("check: StabilityWatch.Step for unknown server %d", s.ID))
	}
	f := &st.servers[s.ID]
	if f.life != s.Life {
		*f = follower{life: s.Life}
	}
	x := st.judge(f, s, describe)
	v := s.View
	if in := s.In; in.Kind == node.InputMessage && (in.Message.Type == node.MsgApp || in.Message.Type == node.MsgSnap) &&
		v.Role == node.Follower && v.Leader == in.Message.From && v.Term == in.Message.Term {
		f.contactOK, f.contactFrom, f.contactTerm, f.contactAt = true, in.Message.From, in.Message.Term, s.Local
	}
	f.term, f.role, f.leader = v.Term, v.Role, v.Leader
	return x
}

// judge applies the rules to a step of the server whose state before it is f.
func (st *StabilityWatch) judge(f *follower, s *StepInfo, describe func(sender, leader node.ID) string) *Violation {
	in := s.In
	if in.Kind != node.InputMessage {
		return nil
	}
	m := &in.Message
	why := func() string {
		if describe == nil {
			return ""
		}
		return "; " + describe(m.From, f.leader)
	}
	since := s.Local - f.contactAt
	inContact := f.inContact(s.Local, st.rules.ElectionTimeoutMin)
	if (m.Type == node.MsgPreVote && st.rules.PreVote && (f.role == node.Leader || inContact)) ||
		(m.Type == node.MsgVote && st.rules.CheckQuorum && !m.Transfer && m.Term > f.term && f.role != node.Leader && inContact) {
		st.judged++
	}
	switch {
	case m.Type == node.MsgPreVote && st.rules.PreVote && (f.role == node.Leader || f.inContact(s.Local, st.rules.ElectionTimeoutMin)):
		for k := range s.Out.Messages {
			r := &s.Out.Messages[k]
			if r.Type != node.MsgPreVoteResp || !r.Success || r.To != m.From {
				continue
			}
			if f.role == node.Leader {
				return violation(Stability, s.Now, f.term, 0, ids(s.ID, m.From),
					"leader %d of term %d granted node %d a pre-vote for term %d (thesis §9.6: a server that hears from a leader grants none)%s",
					s.ID, f.term, m.From, m.Term, why())
			}
			return violation(Stability, s.Now, f.term, 0, ids(s.ID, m.From),
				"node %d granted node %d a pre-vote for term %d %v after hearing from its leader %d of term %d (thesis §9.6: a server that heard from its leader within ElectionTimeoutMin %v grants none)%s",
				s.ID, m.From, m.Term, since, f.leader, f.term, st.rules.ElectionTimeoutMin, why())
		}
	case m.Type == node.MsgVote && st.rules.CheckQuorum && !m.Transfer && m.Term > f.term && s.View.Term > f.term &&
		f.role != node.Leader && f.inContact(s.Local, st.rules.ElectionTimeoutMin):
		return violation(Stability, s.Now, s.View.Term, 0, ids(s.ID, m.From),
			"node %d moved from term %d to term %d on node %d's RequestVote %v after hearing from its leader %d (thesis §6.2: with CheckQuorum a server that heard from its leader within ElectionTimeoutMin %v ignores it)%s",
			s.ID, f.term, s.View.Term, m.From, since, f.leader, st.rules.ElectionTimeoutMin, why())
	}
	return nil
}
