package scenarios

import (
	"fmt"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/sim"
)

// Stale-read timings: the leader and client 1 are cut off from the majority during
// [staleCut, staleHeal).
const (
	staleCut  = 1 * time.Second
	staleHeal = 4 * time.Second
)

// staleRead is the scenario of question R3's read side and of thesis §6.4: can a leader
// that was deposed without noticing serve a stale read?
//
// The leader and client 1 are cut off from the other four servers and clients; the
// majority elects a new leader and keeps writing the same three keys. Client 1 can reach
// only the old leader. With ReadIndex that leader can never confirm its leadership, so it
// answers no read; with a lease it answers only while its lease holds, before anyone else
// can have been elected; either way the history is linearizable. With local reads it
// answers from its frozen state, and the linearizability checker must find the stale read.
func staleRead() Scenario {
	return Scenario{
		Name:      "stale-read-partitioned-leader",
		Summary:   "the leader and one client are cut off; the majority elects a new leader and writes; with readindex or lease reads the history stays linearizable, with -reads local the checker finds the stale read",
		Questions: "C3, E5",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 6 * time.Second
			c.Clients.Keys = 3
			c.Clients.GiveUpAfter = 500 * time.Millisecond
			c.Clients.Stop = 5500 * time.Millisecond
			// Clocks drift, within the bound the lease is computed for.
			c.Clocks.DriftMax = 0.05
			c.Node.MaxClockDrift = 0.05
		},
		ExpectsViolations: func(c *sim.Config) bool { return c.Node.ReadMode == node.ReadLocal },
		Script: func(w *sim.World) Assertion {
			var old node.ID
			w.At(staleCut, "cut off the leader with client 1", func(w *sim.World) {
				var ok bool
				if old, ok = requireLeader(w); ok {
					w.Partition([]node.ID{old, w.ClientAddr(1)})
				}
			})
			w.At(staleHeal, "heal", func(w *sim.World) { w.Heal() })
			return func(w *sim.World, o *Outcome) error {
				return assertStaleRead(w, o, old)
			}
		},
	}
}

// cutOffReads counts client 1's reads answered while it was cut off with the old leader,
// after the given time: only the old leader can have answered them.
func cutOffReads(o *Outcome, after time.Duration) int {
	n := 0
	for _, op := range o.History {
		if op.Client == 0 && op.Kind == linearizability.Get && !op.Unknown &&
			op.CallTime >= after && op.ReturnTime < staleHeal {
			n++
		}
	}
	return n
}

// leaseBeyondDrift is stale-read-partitioned-leader with lease reads, where the cut-off
// leader's clock runs at a tenth of real speed: far beyond the 5% drift bound its lease is
// computed for (thesis §6.4.1). Its lease then outlives the followers' election timeouts
// by hundreds of milliseconds: a new leader is elected and commits writes while the old
// one still answers reads from its lease, and the checker must find the stale reads.
func leaseBeyondDrift() Scenario {
	base := staleRead()
	return Scenario{
		Name:      "lease-clock-drift",
		Summary:   "lease reads with the cut-off leader's clock running 10x slow, far beyond the drift bound: its lease outlives the election of a new leader, and the checker finds the stale reads (with -reads readindex it cannot happen)",
		Questions: "C3",
		Configure: func(c *sim.Config) {
			base.Configure(c)
			c.Node.ReadMode, c.Node.CheckQuorum = node.ReadLease, true
			// Mostly reads, and quick to give up on a write the cut-off leader cannot
			// commit, so that client 1 reads often while the stale lease lasts.
			c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 6, 1, 1
			c.Clients.GiveUpAfter = 300 * time.Millisecond
		},
		ExpectsViolations: func(c *sim.Config) bool { return c.Node.ReadMode != node.ReadIndex },
		Script: func(w *sim.World) Assertion {
			var old node.ID
			w.At(staleCut, "cut off the leader with client 1; its clock slows down", func(w *sim.World) {
				var ok bool
				if old, ok = requireLeader(w); ok {
					w.Partition([]node.ID{old, w.ClientAddr(1)})
					w.SetClockRate(old, 0.1)
				}
			})
			w.At(staleHeal, "heal", func(w *sim.World) { w.Heal() })
			return func(w *sim.World, o *Outcome) error {
				if w.Config().Node.ReadMode == node.ReadIndex {
					return assertStaleRead(w, o, old) // ReadIndex does not rely on clocks
				}
				return assertStaleFound(w, o, old)
			}
		},
	}
}

// assertStaleFound is the answer of an unsafe read configuration: once the majority has a
// new leader, a read the old leader answers may be stale, and the checker must catch it,
// unless no such read happened in this seed.
func assertStaleFound(w *sim.World, o *Outcome, old node.ID) error {
	if o.Linearizability.Verdict == linearizability.NotLinearizable {
		return nil
	}
	newLeader := firstLeaderAfter(w, staleCut)
	if newLeader == 0 {
		return fmt.Errorf("the majority elected no new leader during the partition")
	}
	if n := cutOffReads(o, newLeader+100*time.Millisecond); n > 0 {
		return fmt.Errorf("old leader %d answered %d reads after the majority elected a new leader at %v, yet the history is %v: the checker missed the stale read",
			old, n, newLeader, o.Linearizability.Verdict)
	}
	return nil
}

func assertStaleRead(w *sim.World, o *Outcome, old node.ID) error {
	switch w.Config().Node.ReadMode {
	case node.ReadLocal:
		// Answered from the old leader's frozen state: possibly stale, and the checker
		// must catch it.
		return assertStaleFound(w, o, old)
	case node.ReadLease:
		// The lease started at the latest before the cut and lasts less than
		// ElectionTimeoutMin on any clock within the drift bound.
		if n := cutOffReads(o, staleCut+w.Config().Node.ElectionTimeoutMin); n > 0 {
			return fmt.Errorf("old leader %d answered %d reads after its lease must have expired", old, n)
		}
	default:
		// ReadIndex: a read sent after the cut needs a round of heartbeats the majority
		// never sees.
		if n := cutOffReads(o, staleCut); n > 0 {
			return fmt.Errorf("old leader %d answered %d reads it could not have confirmed", old, n)
		}
	}
	return requireLinearizable(o)
}

// firstLeaderAfter is when the first leader of a term started after t took office (0 if
// none).
func firstLeaderAfter(w *sim.World, t time.Duration) time.Duration {
	for _, l := range w.LeaderHistory() {
		if l.Time > t {
			return l.Time
		}
	}
	return 0
}

// pausedLeader: the leader stalls for a second (a long garbage collection, a frozen VM),
// far longer than an election timeout. The others elect a new leader and go on. When the
// old leader resumes it still believes it leads, with whatever arrived during the pause
// queued up, until the first answer shows it the newer term. Its clock ran during the
// pause, so a lease has expired by then; ReadIndex needs a round it cannot win. With local
// reads it answers from its stale state, which is rarely caught here: the reads queued
// during the pause were invoked before the new leader's writes, so answering them with
// the old state is still linearizable (3 of 200 seeds show a violation).
func pausedLeader() Scenario {
	const pause, resume = 2 * time.Second, 3 * time.Second
	return Scenario{
		Name:      "paused-leader",
		Summary:   "the leader stalls for 1 s (a long GC); a new leader takes over; the old one resumes still believing it leads until it sees the newer term; reads stay linearizable with readindex and lease (its lease expired on its running clock)",
		Questions: "E5, C3",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 6 * time.Second
			c.Clients.Keys = 3
			c.Clients.Stop = 5500 * time.Millisecond
		},
		ExpectsViolations: func(c *sim.Config) bool { return c.Node.ReadMode == node.ReadLocal },
		Script: func(w *sim.World) Assertion {
			var old node.ID
			var oldTerm node.Term
			w.At(pause, "pause the leader", func(w *sim.World) {
				var ok bool
				if old, ok = requireLeader(w); ok {
					oldTerm = w.View(old).Term
					w.Pause(old, resume-pause)
				}
			})
			expectWithin(w, pause, resume, "a new leader while the old one is paused",
				func(w *sim.World) bool {
					l := w.Leader()
					return l != old && l != node.None && w.View(l).Term > oldTerm
				},
				func(*sim.World) string { return "no new leader" }, nil)
			w.At(resume-time.Millisecond, "the paused leader still believes it leads", func(w *sim.World) {
				if v := w.View(old); v.Role != node.Leader || v.Term != oldTerm {
					w.Failf("stale belief", "paused node %d is %v of term %d, want still leader of term %d", old, v.Role, v.Term, oldTerm)
				}
			})
			expectWithin(w, resume, resume+failoverBound, "the old leader follows the newer term",
				func(w *sim.World) bool { v := w.View(old); return v.Role == node.Follower && v.Term > oldTerm },
				func(w *sim.World) string {
					return fmt.Sprintf("node %d is %v of term %d", old, w.View(old).Role, w.View(old).Term)
				}, nil)
			return func(w *sim.World, o *Outcome) error {
				if o.ViolationExpected {
					return nil // local reads: stale answers are possible, and rarely caught here
				}
				return requireSettled(w, o, "the cluster did not converge after the pause")
			}
		},
	}
}
