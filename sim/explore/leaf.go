package explore

import (
	"fmt"
	"strings"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
)

// linBudget bounds one linearizability check of a path's history. The histories of a
// bounded search hold a handful of operations and take microseconds; a check that runs
// out of budget makes the search's verdict inconclusive, never a pass.
const linBudget = 10 * time.Second

// leafChecker runs the end-of-path checks of one worker: the checker's from-scratch
// cross-check (check.Checker.Final) and the linearizability of the path's history, the
// latter remembered per history, since many paths end with the same one.
type leafChecker struct {
	md      *model
	h       hasher
	verdict map[fp128]linearizability.Verdict // looked up, never ranged over
	views   []node.View
	// inconclusive counts histories whose check ran out of budget.
	inconclusive int
	checks       int
}

func newLeafChecker(md *model) *leafChecker {
	return &leafChecker{md: md, verdict: make(map[fp128]linearizability.Verdict)}
}

// check runs the end-of-path checks on s, the last state of a path.
func (l *leafChecker) check(s *state) *Failure {
	l.views = l.views[:0]
	for _, m := range s.hosts {
		l.views = append(l.views, m.view)
	}
	if v := s.chk.Final(now(s.depth), l.views); v != nil {
		return &Failure{Check: v.Check, Rule: v.Rule, Nodes: v.Nodes, Term: v.Term, Detail: v.Detail, Depth: s.depth}
	}
	return l.linearizable(s)
}

// checkHistory checks the path's client history (unknown outcomes returned after its
// last stamp).
func checkHistory(s *state) linearizability.Result {
	ops := make([]linearizability.Op, len(s.hist))
	copy(ops, s.hist)
	for i := range ops {
		if ops[i].Unknown {
			ops[i].Return = s.stamp + 1
		}
	}
	res, err := linearizability.Check(ops, linBudget)
	if err != nil {
		panic(fmt.Sprintf("explore: invariant broken: the search built a malformed history: %v", err))
	}
	return res
}

func (l *leafChecker) linearizable(s *state) *Failure {
	completed := 0
	for i := range s.hist {
		if !s.hist[i].Unknown {
			completed++
		}
	}
	if completed == 0 {
		return nil // only unknown outcomes: every history of them is linearizable
	}
	l.h.buf = l.h.buf[:0]
	for i := range s.hist {
		op := &s.hist[i]
		l.h.u64(uint64(op.Client)<<8 | uint64(op.Kind)<<1 | b2u(op.Unknown))
		l.h.u64(uint64(op.Call)<<32 | uint64(op.Return))
		l.h.str(op.Value)
		l.h.str(op.Output)
	}
	key := hash128(l.h.buf)
	v, ok := l.verdict[key]
	if !ok {
		l.checks++
		v = checkHistory(s).Verdict
		l.verdict[key] = v
	}
	switch v {
	case linearizability.Inconclusive:
		l.inconclusive++
	case linearizability.Linearizable:
	default:
		detail := fmt.Sprintf("the clients' history (%d operations, %d completed) has no legal linearization", len(s.hist), completed)
		if e := checkHistory(s).Explanation; e != nil { // checked again, once: the cache keeps verdicts only
			detail += "; " + strings.TrimSuffix(e.Text(), "\n")
		}
		return &Failure{Check: "Linearizability", Depth: s.depth, Detail: detail}
	}
	return nil
}

// liveness runs the bounded liveness check from s: with faults turned off (the crashed
// servers restarted, nothing dropped or duplicated, no term bound), the fair schedule
// (fairNext) must elect a leader and complete every
// outstanding client operation within md.opt.Liveness transitions. It returns the
// failure and the actions taken from s.
func (md *model) liveness(s *state) (*Failure, []action) {
	var path []action
	cur := s
	retried := false // a retry since the last timer fired
	var fired uint64 // without a leader: the servers whose timers fired this round
	take := func(a action) *Failure {
		path = append(path, a)
		next, fail, _ := md.applyWith(cur, a, false)
		if fail == nil {
			cur = next
		}
		return fail
	}
	for i, m := range s.hosts {
		if !m.unit.Up() {
			if fail := take(action{kind: actRestart, a: uint8(i + 1)}); fail != nil {
				return fail, path
			}
		}
	}
	for steps := 0; !livenessDone(cur); steps++ {
		if steps >= md.opt.Liveness {
			return &Failure{Check: "Liveness", Depth: cur.depth,
				Detail: fmt.Sprintf("with faults off, no leader was elected or a client operation did not complete within %d transitions of a fair schedule (%s)",
					md.opt.Liveness, describeLiveness(cur))}, path
		}
		a := fairNext(cur, retried, fired)
		retried = (retried || a.kind == actRetry) && a.kind != actFire
		if a.kind == actFire {
			if fired |= 1 << a.a; leaderOf(cur) != 0 || allFired(cur, fired) {
				fired = 0
			}
		}
		if fail := take(a); fail != nil {
			return fail, path
		}
	}
	return nil, path
}

// livenessDone: some server leads and no client operation is outstanding.
func livenessDone(s *state) bool {
	for _, c := range s.clients {
		if c.op >= 0 {
			return false
		}
	}
	return leaderOf(s) != 0
}

// leaderOf is the live leader of the highest term, or 0.
func leaderOf(s *state) int {
	best, term := 0, node.Term(0)
	for i := range s.hosts {
		if s.leads(i+1) && s.hosts[i].view.Term >= term {
			best, term = i+1, s.hosts[i].view.Term
		}
	}
	return best
}

// fairNext is the fair schedule's next action in s: a schedule of a healthy network and
// healthy timing. Deliver the oldest packet in flight; with nothing in flight, retry an
// outstanding operation at the leader (once per heartbeat: retried says a retry was made
// since the last timer fired, so that a leader answering "busy" gets time to pass); else
// fire the leader's heartbeat timer (followers hear from it and never time out). With no
// leader, fire the armed timers in rounds (fired: the servers fired this round), the
// most up-to-date log first (§5.4.1: the others vote for it; ties: the lowest ID), so that
// every server's clock moves on, as time does on all machines: a follower whose clock
// stood still would believe forever that it heard from a leader just now (PreVote,
// CheckQuorum).
func fairNext(s *state, retried bool, fired uint64) action {
	for _, p := range s.net {
		if p.kind == pkReply || s.hosts[p.to-1].unit.Up() {
			return action{kind: actDeliver, num: p.num}
		}
	}
	if l := leaderOf(s); l != 0 {
		for c := range s.clients {
			if s.clients[c].op >= 0 && !retried {
				return action{kind: actRetry, a: uint8(c + 1), b: uint8(l)}
			}
		}
		return action{kind: actFire, a: uint8(l)}
	}
	for pass := 0; pass < 2; pass++ {
		best := 0
		for i, m := range s.hosts {
			if !m.unit.Up() || m.wakeAt == 0 || fired&(1<<(i+1)) != 0 {
				continue
			}
			if best == 0 || upToDate(&m.view, &s.hosts[best-1].view) {
				best = i + 1
			}
		}
		if best != 0 {
			return action{kind: actFire, a: uint8(best)}
		}
		fired = 0 // every armed timer fired this round: start the next
	}
	panic("explore: invariant broken: a fault-free cluster with nothing in flight has no armed timer")
}

// upToDate reports whether a's log is more up to date than b's (§5.4.1: a later last
// term, or the same last term and a longer log).
func upToDate(a, b *node.View) bool {
	at, bt := lastTerm(a), lastTerm(b)
	return at > bt || (at == bt && a.LastIndex() > b.LastIndex())
}

func describeLiveness(s *state) string {
	pending := 0
	for _, c := range s.clients {
		if c.op >= 0 {
			pending++
		}
	}
	if l := leaderOf(s); l != 0 {
		return fmt.Sprintf("leader n%d, %d operations outstanding", l, pending)
	}
	return fmt.Sprintf("no leader, highest term %d, %d operations outstanding", s.maxTerm(), pending)
}

func lastTerm(v *node.View) node.Term {
	if n := len(v.Log); n > 0 {
		return v.Log[n-1].Term
	}
	return v.SnapshotTerm
}

// allFired reports whether every up server with an armed timer is in fired.
func allFired(s *state, fired uint64) bool {
	for i, m := range s.hosts {
		if m.unit.Up() && m.wakeAt != 0 && fired&(1<<(i+1)) == 0 {
			return false
		}
	}
	return true
}
