package check

import (
	"fmt"
	"math/bits"
	"time"

	"raftsim/node"
)

// This file holds the rules of two checks the simulator runs with its knowledge of the
// world (which servers are up, which links are cut, how the network and clocks behave;
// package sim, liveness.go and stability.go): Liveness while Healthy and Transfer
// Outcome. The world decides what is healthy; the rules here decide, from that, whether
// a run broke the promise, and are tested on hand-built histories.

// Check names of the world-side rules.
const (
	// HealthyLiveness: whenever a majority has been healthy (up, unpaused and mutually
	// connected over a network within the health bounds, see sim) for a warm-up, the
	// cluster is never without a leader in office for longer than a bound (§5.2, §9:
	// randomized timeouts elect a leader; thesis §9.6, §6.2).
	HealthyLiveness = "Liveness while Healthy"
	// TransferOutcome: a leadership transfer under healthy conditions ends with its target
	// in office, or with the leader aborting it (thesis §3.10).
	TransferOutcome = "Transfer Outcome"
)

// maxHealthServers bounds the servers HealthyMajorities enumerates subsets of (2^k sets).
const maxHealthServers = 12

// ClusterState is the world at one instant, as the liveness rules judge it. Servers are
// 1..len(Usable)-1 (slot 0 unused).
type ClusterState struct {
	// Usable[id]: server id is up, not paused and its clock works within the health
	// bounds.
	Usable []bool
	// Link reports whether a message from a to b is delivered (no cut).
	Link func(a, b node.ID) bool
	// Conf[id] is server id's configuration in force by its log; ConfOK[id] whether it
	// is known.
	Conf   []node.Configuration
	ConfOK []bool
	// Leader[id]: server id is in the Leader role.
	Leader []bool
	// LeadersHold: a leader outside a healthy set can keep members of it from electing
	// another (PreVote on, CheckQuorum off: a server that hears from a leader refuses
	// pre-votes, and a leader cut off from a majority never steps down), so no usable
	// leader outside the set may reach a member of it.
	LeadersHold bool
}

// votes reports whether id is a voter of its own configuration in force (it can campaign).
func (cs *ClusterState) votes(id node.ID) bool {
	return cs.ConfOK[id] && cs.Conf[id].IsVoter(id)
}

// both reports whether a and b reach each other.
func (cs *ClusterState) both(a, b node.ID) bool { return cs.Link(a, b) && cs.Link(b, a) }

// HealthyMajorities returns, as bit masks over server IDs (bit id), every set M of usable
// servers that can elect a leader on its own: each member votes in its configuration in
// force, M holds a majority of the voters (of each majority, while joint) of every
// member's configuration, every two members reach each other, and, with LeadersHold, no
// usable leader outside M reaches a member. Among such servers, the one with the most
// up-to-date log can collect the votes of all the others. It enumerates the subsets of
// the usable voters: at most maxHealthServers of them are considered (more: none is
// healthy, so the check is silent for larger clusters).
func HealthyMajorities(cs *ClusterState) []uint64 { return AppendHealthyMajorities(nil, cs) }

// AppendHealthyMajorities is HealthyMajorities appending to out, ascending by mask.
func AppendHealthyMajorities(out []uint64, cs *ClusterState) []uint64 {
	var buf [maxHealthServers]node.ID
	cand := buf[:0]
	for id := 1; id < len(cs.Usable); id++ {
		if cs.Usable[id] && cs.votes(node.ID(id)) {
			if len(cand) == maxHealthServers || id >= 64 {
				return out
			}
			cand = append(cand, node.ID(id))
		}
	}
	if len(cand) == 0 {
		return out
	}
	for sub := uint64(1); sub < 1<<len(cand); sub++ {
		var mask uint64
		for k, id := range cand {
			if sub&(1<<k) != 0 {
				mask |= 1 << id
			}
		}
		if cs.healthy(mask) {
			out = append(out, mask)
		}
	}
	return out
}

// healthy reports whether the set mask can elect a leader on its own (HealthyMajorities).
func (cs *ClusterState) healthy(mask uint64) bool {
	in := func(id node.ID) bool { return mask&(1<<id) != 0 }
	for m := mask; m != 0; m &= m - 1 {
		a := node.ID(bits.TrailingZeros64(m))
		if !quorumOf(&cs.Conf[a], in) {
			return false
		}
		for r := m & (m - 1); r != 0; r &= r - 1 {
			if !cs.both(a, node.ID(bits.TrailingZeros64(r))) {
				return false
			}
		}
	}
	if !cs.LeadersHold {
		return true
	}
	for id := 1; id < len(cs.Usable); id++ {
		l := node.ID(id)
		if !cs.Usable[id] || !cs.Leader[id] || in(l) {
			continue
		}
		for m := mask; m != 0; m &= m - 1 {
			if cs.Link(l, node.ID(bits.TrailingZeros64(m))) {
				return false
			}
		}
	}
	return true
}

// LeaderInOffice returns a usable leader that reaches, both ways, a majority of its own
// configuration in force (each majority, while joint; itself included if it votes): a
// leader that can do its work. A leader cut off with a minority does not count. None if
// there is none.
func LeaderInOffice(cs *ClusterState) node.ID {
	for id := 1; id < len(cs.Usable); id++ {
		l := node.ID(id)
		if !cs.Usable[id] || !cs.Leader[id] || !cs.ConfOK[id] {
			continue
		}
		if quorumOf(&cs.Conf[id], func(p node.ID) bool {
			return p == l || (int(p) < len(cs.Usable) && p > 0 && cs.Usable[p] && cs.both(l, p))
		}) {
			return l
		}
	}
	return node.None
}

// LivenessWatch applies Liveness while Healthy: the world tells it, whenever something
// changes, whether some majority is healthy and since when, and whether a leader is in
// office; Check fails a run once a healthy period has lasted Warmup and no leader has
// been in office for Bound since the later of the warm-up's end and the last time one
// was.
type LivenessWatch struct {
	Warmup, Bound time.Duration

	healthy  bool
	since    time.Duration // start of the current healthy period
	led      bool
	ledUntil time.Duration // when the last leader left office (while !led)
	set      uint64        // the oldest healthy set, for reports
	episodes int
}

// Episodes is how many times a deadline started to run after the first warm-up (a healthy
// majority without a leader in office, other than at boot): how much a run exercised the
// check.
func (l *LivenessWatch) Episodes() int { return l.episodes }

// Observe records the world at virtual time now: healthy, and the start of the oldest
// healthy set's healthy period (since) and that set (set); and whether a leader is in
// office (led).
func (l *LivenessWatch) Observe(now time.Duration, healthy bool, since time.Duration, set uint64, led bool) {
	if l.led && !led {
		l.ledUntil = now
	}
	_, had := l.Deadline()
	l.healthy, l.since, l.set, l.led = healthy, since, set, led
	if _, has := l.Deadline(); has && !had && now > l.Warmup {
		l.episodes++ // not the boot, which starts every run without a leader
	}
}

// Deadline is the virtual time after which the run fails if nothing changes, and false if
// there is none (no healthy majority, or a leader in office).
func (l *LivenessWatch) Deadline() (time.Duration, bool) {
	if !l.healthy || l.led {
		return 0, false
	}
	return max(l.ledUntil, l.since+l.Warmup) + l.Bound, true
}

// Check returns a violation if the deadline has passed at virtual time now.
func (l *LivenessWatch) Check(now time.Duration) *Violation {
	d, ok := l.Deadline()
	if !ok || now <= d {
		return nil
	}
	var members []node.ID
	for m := l.set; m != 0; m &= m - 1 {
		members = append(members, node.ID(bits.TrailingZeros64(m)))
	}
	return violation(HealthyLiveness, now, 0, 0, members,
		"no leader in office since %v although servers %v have been healthy (up, unpaused, mutually connected, a majority of their configurations) since %v: the bound is %v after the later of that plus the warm-up %v and the last leader's leaving office",
		max(l.ledUntil, l.since), members, l.since, l.Bound, l.Warmup)
}

// TransferWatch applies Transfer Outcome to one leadership transfer at a time: the first
// server to take office in a term after the transfer's must be the target, and within
// Bound of the transferring leader's leaving office by moving to a newer term. A transfer the leader aborts (it
// leads on in its term) is a legal end, and so is one during which the world stopped
// being healthy (Unhealthy), which the check then no longer judges.
type TransferWatch struct {
	Bound time.Duration

	active   bool
	from, to node.ID
	term     node.Term
	stepped  bool
	at       time.Duration // when the leader left office
	verdicts int
}

// Verdicts is how many transfers were judged to their end (the target in office, or a
// violation): how much a run exercised the check.
func (t *TransferWatch) Verdicts() int { return t.verdicts }

// Started records that leader from, in term, began transferring leadership to to.
func (t *TransferWatch) Started(from, to node.ID, term node.Term) {
	*t = TransferWatch{Bound: t.Bound, verdicts: t.verdicts, active: true, from: from, to: to, term: term}
}

// Ended records that leader from stopped transferring while it still leads term (an
// abort): the transfer ended legally.
func (t *TransferWatch) Ended(from node.ID, term node.Term) {
	if t.active && !t.stepped && t.from == from && t.term == term {
		t.active = false
	}
}

// SteppedDown records that server from left office at virtual time now, moving to term.
func (t *TransferWatch) SteppedDown(now time.Duration, from node.ID, term node.Term) {
	if t.active && !t.stepped && t.from == from && term > t.term {
		t.stepped, t.at = true, now
	}
}

// Unhealthy stops judging the transfer under way.
func (t *TransferWatch) Unhealthy() { t.active = false }

// Judged reports whether a transfer is being judged.
func (t *TransferWatch) Judged() bool { return t.active }

// Leader is the leader and term of the transfer being judged.
func (t *TransferWatch) Leader() (node.ID, node.Term) { return t.from, t.term }

// TookOffice records that id took office in term at virtual time now (the target may do
// so before the old leader hears of it), and returns a violation if id, in a term after
// the transfer's, is not its target.
func (t *TransferWatch) TookOffice(now time.Duration, id node.ID, term node.Term) *Violation {
	if !t.active || term <= t.term {
		return nil
	}
	t.active = false
	t.verdicts++
	if id == t.to {
		return nil
	}
	return violation(TransferOutcome, now, term, 0, ids(t.to, id, t.from),
		"leader %d of term %d was transferring leadership to node %d, but node %d took office in term %d (thesis §3.10: the target, whose log is up to date, wins unless the transfer aborts)",
		t.from, t.term, t.to, id, term)
}

// Check returns a violation if the target has not taken office within Bound of the
// leader's leaving office, at virtual time now.
func (t *TransferWatch) Check(now time.Duration) *Violation {
	if !t.active || !t.stepped || now <= t.at+t.Bound {
		return nil
	}
	t.active, t.verdicts = false, t.verdicts+1
	return violation(TransferOutcome, now, t.term, 0, ids(t.to, t.from),
		"leader %d of term %d left office at %v transferring leadership to node %d, and no server took office within %v (thesis §3.10)",
		t.from, t.term, t.at, t.to, t.Bound)
}

// String describes the transfer under way, for traces.
func (t *TransferWatch) String() string {
	if !t.active {
		return "no transfer judged"
	}
	return fmt.Sprintf("transfer %d->%d in term %d (left office: %v at %v)", t.from, t.to, t.term, t.stepped, t.at)
}
