package scenarios

import (
	"fmt"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/sim"
)

// clock-jump (question C3; thesis §6.4.1): what a lease promises when clocks jump.
//
// A machine has two clocks: a monotonic one, which drifts but is never stepped, and a
// wall clock, which NTP or an operator steps forward and back (sim.JumpClock). A lease is
// a promise about real time, measured on the leader's clock: it holds while clocks drift
// within the bound it was shortened for, and real servers time it on the monotonic clock
// (etcd, and any Go program timing with time.Since). A wall-clock step then changes
// nothing. A server that times its lease on the wall clock is another matter: stepped
// back, it believes its lease holds for that much longer, while the others, whose timers
// never stopped, elect a new leader; it keeps answering reads from its old state.
//
// The run has one such server, node 5 (sim.Clocks.WallClockServers); the others time on
// their monotonic clocks. Every clock runs at an edge of the drift bound, adversarially
// (sim.Clocks.Adversarial): the leader's slow, the others' fast, so that each lease is
// tested at the limit it was computed for.
//
//   - Part (a), a monotonic-clock leader. At 2 s the leader's wall clock is stepped back
//     by 10 s and every other monotonic server's forward by 10 s; at 2.5 s the other way
//     round. Nothing happens: no election, the same leader in the same term, and lease
//     reads go on. At 3 s the leader is cut off with client 1: its lease still runs out
//     on time, before anyone else can be elected (Lease Safety holds, and here, with the
//     clocks within their bound, a violation would fail the run), and it answers no read
//     that client 1 sends once the lease has had the time to run out. Heal at 4 s.
//   - Part (b), a wall-clock leader. At 4.5 s leadership is handed to node 5. At 6 s its
//     wall clock is stepped back by 5 s and it is cut off with client 2. Its heartbeat
//     timer, set on the old reading, now fires 5 s late, and its lease holds 5 s longer;
//     the majority elects a new leader within a few hundred milliseconds, and node 5
//     keeps accepting client 2's reads under its lease. The Lease Safety check catches the
//     first such read, on every seed, whether or not the read happens to return stale
//     data. The step took a clock the servers read beyond the bound, so the check records
//     the violations (sim.Result.LeaseViolation) instead of failing the run, and the
//     assertion requires them. Heal at 12 s.
//
// The leadership transfers (thesis §3.10) test leases too: the target's vote requests
// bypass the followers' leases, so the old leader must stop reading by lease once it has
// sent MsgTimeoutNow. It did not at first, and Lease Safety failed about 1 seed in 100
// here, in the instant between the target taking office and the old leader hearing of
// it (node.Node.leaseValid says how it is fixed).
//
// The history up to part (b) must be linearizable; the whole history may not be (client
// 2's reads may be stale), which ExpectsViolations allows. With -reads readindex no read
// trusts a clock: no lease read at all, and the whole history is linearizable.
func clockJump() Scenario {
	return Scenario{
		Name: "clock-jump",
		Summary: "wall clocks stepped forward and back (NTP): a lease timed on the monotonic clock changes nothing and still runs out in time (Lease Safety, clocks at the drift bound adversarially); " +
			"a lease timed on a wall clock stepped back outlives the next election, and Lease Safety catches the reads it lets through",
		Questions: "C3",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 14 * time.Second
			c.Node.ReadMode, c.Node.CheckQuorum, c.Node.PreVote = node.ReadLease, true, true
			c.Clocks.DriftMax, c.Node.MaxClockDrift = 0.05, 0.05
			c.Clocks.Adversarial = true
			c.Clocks.WallClockServers = []node.ID{cjWall}
			c.Clients.Keys = 3
			c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 6, 1, 1
			c.Clients.GiveUpAfter = 300 * time.Millisecond
			c.Clients.Stop = 13500 * time.Millisecond
		},
		ExpectsViolations: func(c *sim.Config) bool { return c.Node.ReadMode != node.ReadIndex },
		Script: func(w *sim.World) Assertion {
			r := &clockJumpRun{}
			r.partA(w)
			r.partB(w)
			return r.assert
		},
	}
}

// The clock-jump timeline.
const (
	cjWall      = node.ID(5) // the server whose timers read its wall clock
	cjSettled   = 1500 * time.Millisecond
	cjStep      = 2 * time.Second // part (a): the wall-clock steps
	cjStepBack  = 2500 * time.Millisecond
	cjCut       = 3 * time.Second // part (a): the monotonic leader cut off with client 1
	cjHeal      = 4 * time.Second
	cjTransfer  = 4500 * time.Millisecond
	cjWallStep  = 6 * time.Second // part (b): node 5's wall clock stepped back, node 5 cut off
	cjWallHeal  = 12 * time.Second
	cjStepSize  = 10 * time.Second
	cjWallSteps = 5 * time.Second
)

// clockJumpRun is what the clock-jump script learns during the run, for its assertion.
type clockJumpRun struct {
	leader     node.ID // part (a)'s monotonic-clock leader
	term       node.Term
	leaseReads uint64 // Counts.LeaseReads at cjStep
	stepReads  uint64 // lease reads accepted between cjStep and cjCut
}

// partA schedules part (a): a monotonic-clock leader, wall-clock steps both ways, then
// the leader cut off.
func (r *clockJumpRun) partA(w *sim.World) {
	handOver(w, time.Second, cjSettled, func(l node.ID) bool { return l != cjWall }, 1)
	w.At(cjSettled, "note the leader", func(w *sim.World) {
		var ok bool
		if r.leader, ok = requireLeader(w); ok && r.leader == cjWall {
			w.Failf("clock-jump setup", "node %d still leads at %v: the transfer away from it failed", cjWall, w.Now())
		}
		r.term = w.View(r.leader).Term
	})
	w.At(cjStep, "step the wall clocks: the leader's back, the others' forward", func(w *sim.World) {
		r.leaseReads = w.Counts().LeaseReads
		r.stepAll(w, -cjStepSize)
	})
	w.At(cjStepBack, "step the wall clocks the other way", func(w *sim.World) { r.stepAll(w, cjStepSize) })
	holdDuring(w, cjStep, cjCut-time.Millisecond, "nothing happens on a wall-clock step",
		func(w *sim.World) bool { return w.Leader() == r.leader && w.View(r.leader).Term == r.term },
		func(w *sim.World) string {
			return fmt.Sprintf("leader %d in term %d, was %d in term %d", w.Leader(), w.MaxTerm(), r.leader, r.term)
		})
	w.At(cjCut, "cut the leader off with client 1", func(w *sim.World) {
		r.stepReads = w.Counts().LeaseReads - r.leaseReads
		w.Partition([]node.ID{r.leader, w.ClientAddr(1)})
	})
	expectWithin(w, cjCut, cjHeal, "a new leader while the monotonic one is cut off",
		func(w *sim.World) bool { l := w.Leader(); return l != r.leader && l != node.None },
		func(*sim.World) string { return "no new leader" }, nil)
	w.At(cjHeal, "heal", func(w *sim.World) { w.Heal() })
}

// stepAll steps the wall clock of part (a)'s leader by leader, and every other
// monotonic-clock server's by -leader.
func (r *clockJumpRun) stepAll(w *sim.World, leader time.Duration) {
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		switch id {
		case cjWall:
		case r.leader:
			w.JumpClock(id, leader)
		default:
			w.JumpClock(id, -leader)
		}
	}
}

// partB schedules part (b): leadership to the wall-clock server, whose wall clock is
// then stepped back as it is cut off.
func (r *clockJumpRun) partB(w *sim.World) {
	handOver(w, cjTransfer, cjWallStep, func(l node.ID) bool { return l == cjWall }, cjWall)
	expectWithin(w, cjTransfer, cjWallStep, "the wall-clock server leads",
		func(w *sim.World) bool { return w.Leader() == cjWall },
		func(w *sim.World) string { return fmt.Sprintf("leader %d", w.Leader()) }, nil)
	w.At(cjWallStep, "step node 5's wall clock back and cut it off with client 2", func(w *sim.World) {
		w.JumpClock(cjWall, -cjWallSteps)
		w.Partition([]node.ID{cjWall, w.ClientAddr(2)})
	})
	w.At(cjWallHeal, "heal", func(w *sim.World) { w.Heal() })
}

// handOver asks the leader, from start until it is too late (until), to transfer
// leadership to target until the leader satisfies ok: once at start, again every 100 ms
// while there is no leader (an election under way) or the transfer did not happen.
func handOver(w *sim.World, start, until time.Duration, ok func(node.ID) bool, target node.ID) {
	var try func(w *sim.World)
	try = func(w *sim.World) {
		l := w.Leader()
		if (l != node.None && ok(l)) || w.Now()+100*time.Millisecond >= until {
			return
		}
		if l != node.None && w.View(l).TransferTarget == node.None {
			w.Transfer(target)
		}
		w.At(w.Now()+100*time.Millisecond, fmt.Sprintf("hand leadership to node %d", target), try)
	}
	w.At(start, fmt.Sprintf("hand leadership to node %d", target), try)
}

// assert checks the clock-jump answer (see clockJump).
func (r *clockJumpRun) assert(w *sim.World, o *Outcome) error {
	mode := w.Config().Node.ReadMode
	if !converged(w, o) {
		return fmt.Errorf("the cluster did not converge after the heal:\n%s", w.Describe())
	}
	if mode == node.ReadLocal {
		return nil // no check at all: stale reads in both parts, and nothing to assert
	}
	if err := r.assertA(w, o); err != nil {
		return fmt.Errorf("part (a), a monotonic-clock leader: %w", err)
	}
	if err := r.assertB(w, o); err != nil {
		return fmt.Errorf("part (b), a wall-clock leader stepped back: %w", err)
	}
	return nil
}

// assertA: the steps changed nothing (holdDuring saw to the leader and term), lease reads
// went on meanwhile, the cut-off leader stopped answering in time, and the history up to
// part (b) is linearizable.
func (r *clockJumpRun) assertA(w *sim.World, o *Outcome) error {
	lease := w.Config().Node.ReadMode == node.ReadLease
	if lease && r.stepReads == 0 {
		return fmt.Errorf("no read accepted under the lease between the steps at %v and the cut at %v", cjStep, cjCut)
	}
	after := cjCut
	if lease {
		after += w.Config().Node.ElectionTimeoutMin // the lease is shorter, on any clock within the bound
	}
	if n := readsAnsweredBetween(o, 0, after, cjHeal); n > 0 {
		return fmt.Errorf("cut-off leader %d answered %d of client 1's reads sent after %v", r.leader, n, after)
	}
	prefix := historyBefore(o.History, cjWallStep)
	res, err := linearizability.Check(prefix, DefaultCheckBudget)
	if err != nil {
		return fmt.Errorf("the history before %v is malformed: %w", cjWallStep, err)
	}
	if res.Verdict != linearizability.Linearizable {
		return fmt.Errorf("the %d operations invoked before %v are %v, want linearizable", len(prefix), cjWallStep, res.Verdict)
	}
	return nil
}

// assertB: with leases, the Lease Safety check recorded node 5's reads after the majority
// elected a new leader; with ReadIndex, no read trusted a clock.
func (r *clockJumpRun) assertB(w *sim.World, o *Outcome) error {
	if w.Config().Node.ReadMode != node.ReadLease {
		if o.Counts.LeaseReads != 0 || o.LeaseViolation != nil {
			return fmt.Errorf("%d reads accepted under a lease without lease reads (violation %v)", o.Counts.LeaseReads, o.LeaseViolation)
		}
		return requireLinearizable(o)
	}
	v := o.LeaseViolation
	switch {
	case v == nil:
		return fmt.Errorf("no Lease Safety violation recorded: node %d's lease, extended by the step back, did not outlive the next election", cjWall)
	case v.Check != sim.LeaseSafety || !contains(v.Nodes, cjWall) || v.Time < cjWallStep || v.Time >= cjWallHeal:
		return fmt.Errorf("the first recorded violation is %v; want Lease Safety of node %d between %v and %v", v, cjWall, cjWallStep, cjWallHeal)
	case o.Counts.LeaseViolations == 0:
		return fmt.Errorf("a violation recorded but none counted")
	}
	return nil
}

// readsAnsweredBetween counts client c's (0-based) reads sent at or after from and
// answered before to.
func readsAnsweredBetween(o *Outcome, c int, from, to time.Duration) int {
	n := 0
	for _, op := range o.History {
		if op.Client == c && op.Kind == linearizability.Get && !op.Unknown && op.CallTime >= from && op.ReturnTime < to {
			n++
		}
	}
	return n
}

// historyBefore is the part of history h invoked before t, as the history of a run cut
// at t: an operation still running at t has an unknown outcome (a read's is dropped: it
// changes nothing). If h is linearizable, so is this; so it is checked on its own when
// what happens after t may legitimately break linearizability.
func historyBefore(h []linearizability.Op, t time.Duration) []linearizability.Op {
	var out []linearizability.Op
	for _, op := range h {
		if op.CallTime >= t {
			continue
		}
		if op.Unknown || op.ReturnTime >= t {
			if op.Kind == linearizability.Get {
				continue
			}
			op.Unknown, op.Output, op.HasOutput, op.Return, op.ReturnTime, op.Server = true, "", false, 0, 0, 0
		}
		out = append(out, op)
	}
	return out
}
