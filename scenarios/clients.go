package scenarios

import (
	"fmt"
	"strings"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim"
)

// This file holds the scenarios about what clients see (SEED-QUESTIONS C1-C3, R3): leader
// changes, retries and exactly-once semantics, and reads served by a deposed leader.

func leaderMoves() Scenario {
	return Scenario{
		Name:      "leader-moves",
		Summary:   "the leader is cut off three times under client load: clients follow hints to each new leader, every operation completes, the history is linearizable",
		Questions: "C1",
		Configure: func(c *sim.Config) {
			c.Duration = 10 * time.Second
			c.Clients.Stop = 9 * time.Second
			c.Clients.GiveUpAfter = 8 * time.Second // so every operation completes
		},
		Script: func(w *sim.World) Assertion {
			for _, at := range []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second} {
				w.At(at, "cut off the leader", func(w *sim.World) {
					if l, ok := requireLeader(w); ok {
						w.Isolate(l)
					}
				})
				w.At(at+time.Second, "heal", func(w *sim.World) { w.Heal() })
			}
			return func(w *sim.World, o *Outcome) error {
				if n := len(w.LeaderHistory()); n < 4 {
					return fmt.Errorf("%d leaders took office, want at least 4 (the first and one per cut)", n)
				}
				c := o.Counts
				if c.ClientUnknown != 0 || c.ClientOK != c.ClientOps || c.ClientOps < 100 {
					return fmt.Errorf("%d operations invoked, %d ok, %d unknown: want every operation to complete", c.ClientOps, c.ClientOK, c.ClientUnknown)
				}
				return requireLinearizable(o)
			}
		},
	}
}

// crashPoint is one of the moments of question R3 at which a scenario crashes a server.
type crashPoint struct {
	name string
	// match reports whether step output out of node id is the moment, and which node to
	// crash then.
	match func(w *sim.World, id node.ID, out *node.Output) (node.ID, bool)
	fired bool
	at    time.Duration
}

// appendedCommand reports whether out writes an EntryCommand to the log.
func appendedCommand(out *node.Output) bool {
	for i := range out.Entries {
		if out.Entries[i].Kind == node.EntryCommand {
			return true
		}
	}
	return false
}

// repliedToWrite reports whether out answers a write with OK, returning the reply.
func repliedToWrite(w *sim.World, id node.ID, out *node.Output) (node.Reply, bool) {
	for _, r := range out.Replies {
		if r.Status == node.ReplyOK && isWrite(w.View(id), r.Client, r.Seq) {
			return r, true
		}
	}
	return node.Reply{}, false
}

// isWrite reports whether v's log holds the command (client, seq): only writes enter the
// log. It scans backwards from the end, where a just-applied command is.
func isWrite(v node.View, client kv.ClientID, seq uint64) bool {
	_, ok := findCommand(v, client, seq)
	return ok
}

// findCommand returns the command (client, seq) from v's log.
func findCommand(v node.View, client kv.ClientID, seq uint64) (kv.Command, bool) {
	for k := len(v.Log) - 1; k >= 0; k-- {
		if v.Log[k].Kind != node.EntryCommand {
			continue
		}
		if c, err := kv.Decode(v.Log[k].Data); err == nil && c.Client == client && c.Seq == seq {
			return c, true
		}
	}
	return kv.Command{}, false
}

// r3Points are the crash moments of question R3.
func r3Points() []*crashPoint {
	leaderOf := func(w *sim.World, id node.ID) bool { return w.View(id).Role == node.Leader }
	return []*crashPoint{
		{name: "leader crashes after appending a command to its own log, before sending it",
			match: func(w *sim.World, id node.ID, out *node.Output) (node.ID, bool) {
				return id, leaderOf(w, id) && appendedCommand(out)
			}},
		{name: "leader crashes after a follower stored the command (partial replication)",
			match: func(w *sim.World, id node.ID, out *node.Output) (node.ID, bool) {
				l := w.Leader()
				return l, l != node.None && l != id && !leaderOf(w, id) && appendedCommand(out)
			}},
		{name: "leader crashes after commit and apply, before replying to the client",
			match: func(w *sim.World, id node.ID, out *node.Output) (node.ID, bool) {
				_, ok := repliedToWrite(w, id, out)
				return id, ok && leaderOf(w, id)
			}},
		{name: "follower crashes while applying a command",
			match: func(w *sim.World, id node.ID, out *node.Output) (node.ID, bool) {
				return id, !leaderOf(w, id) && len(out.Commands) > 0
			}},
	}
}

func crashAtEachStep() Scenario {
	return Scenario{
		Name:      "crash-at-each-step",
		Summary:   "crashes at each step of a write (own append, partial replication, commit before reply, apply): committed entries survive, retries take effect once, the history stays linearizable",
		Questions: "R3",
		Configure: func(c *sim.Config) {
			c.Duration = 11 * time.Second
			c.Clients.Stop = 10 * time.Second
			c.Clients.GiveUpAfter = 3 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			points := r3Points()
			var armed *crashPoint
			w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
				if armed == nil {
					return
				}
				victim, ok := armed.match(w, id, out)
				if !ok {
					return
				}
				armed.fired, armed.at = true, w.Now()
				w.Note("R3: %s (node %d)", armed.name, victim)
				w.Crash(victim)
				w.At(w.Now()+500*time.Millisecond, "restart", func(w *sim.World) { w.Restart(victim) })
				armed = nil
			})
			for k, p := range points {
				w.At(time.Duration(1+2*k)*time.Second, "arm: "+p.name, func(*sim.World) { armed = p })
			}
			return func(w *sim.World, o *Outcome) error {
				for _, p := range points {
					if !p.fired {
						return fmt.Errorf("the crash point %q never came", p.name)
					}
				}
				return requireSettled(w, o, "the cluster did not converge after the crashes")
			}
		},
	}
}

func retryAfterCommit() Scenario {
	return Scenario{
		Name:      "retry-after-commit",
		Summary:   "the leader applies a client's append and crashes before replying; the client retries on the new leader and the append takes effect once",
		Questions: "C2, R3",
		Configure: func(c *sim.Config) {
			c.Duration = 6 * time.Second
			c.Clients.Stop = 5 * time.Second
			c.Clients.GiveUpAfter = 4 * time.Second
			c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 1, 0, 3
		},
		Script: func(w *sim.World) Assertion {
			var victim node.ID
			var lost node.Reply // the reply the crash swallowed
			var cmd kv.Command
			armed := false
			w.At(time.Second, "arm", func(*sim.World) { armed = true })
			w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
				if !armed || w.View(id).Role != node.Leader {
					return
				}
				r, ok := repliedToWrite(w, id, out)
				if !ok {
					return
				}
				c, _ := findCommand(w.View(id), r.Client, r.Seq)
				if c.Op != kv.OpAppend {
					return
				}
				armed, victim, lost, cmd = false, id, r, c
				w.Note("leader %d applied %v = %q and crashes before replying", id, c, r.Value)
				w.Crash(id)
				w.At(w.Now()+time.Second, "restart the old leader", func(w *sim.World) { w.Restart(victim) })
			})
			return func(w *sim.World, o *Outcome) error {
				if victim == node.None {
					return fmt.Errorf("no leader ever applied an append after 1 s")
				}
				if err := retryAnsweredOnce(o, cmd, lost); err != nil {
					return err
				}
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					if got := strings.Count(w.View(id).Store.Get(cmd.Key), cmd.Value); got != 1 {
						return fmt.Errorf("node %d holds %q in %q %d times, want once", id, cmd.Value, cmd.Key, got)
					}
				}
				return requireLinearizable(o)
			}
		},
	}
}

// retryAnsweredOnce checks that the client whose reply was lost completed that operation
// by retrying, and got the first result: the one the crashed leader computed.
func retryAnsweredOnce(o *Outcome, cmd kv.Command, lost node.Reply) error {
	for _, op := range o.History {
		if op.Client != int(cmd.Client)-1 || op.Kind != linearizability.Append || op.Value != cmd.Value {
			continue
		}
		if op.Unknown {
			return fmt.Errorf("client %d gave up on %v instead of completing it by a retry", cmd.Client, cmd)
		}
		if op.Output != lost.Value {
			return fmt.Errorf("the retry of %v returned %q, want the first result %q", cmd, op.Output, lost.Value)
		}
		return nil
	}
	return fmt.Errorf("no history operation for %v", cmd)
}

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
	if n := staleCutOffReads(o, newLeader); n > 0 {
		return fmt.Errorf("old leader %d answered %d reads that miss a write completed before they began, after the majority elected a new leader at %v, yet the history is %v: the checker missed the stale read",
			old, n, newLeader, o.Linearizability.Verdict)
	}
	return nil
}

// staleCutOffReads counts the cut-off client's reads, begun after time after and answered
// before the heal, that are provably stale: a write w on the same key completed before
// the read began, no put on the key overlaps the span from w's completion to the read's
// (so nothing could have overwritten w), and the value read lacks w's unique token. A
// read that merely came after the new election may still be current (no write to its
// key in between), and is not counted.
func staleCutOffReads(o *Outcome, after time.Duration) int {
	n := 0
	for _, r := range o.History {
		if r.Client != 0 || r.Kind != linearizability.Get || r.Unknown || r.CallTime < after || r.ReturnTime >= staleHeal {
			continue
		}
		if w, ok := latestWriteBefore(o.History, r); ok && !strings.Contains(r.Output, w.Value) && !putOverlaps(o.History, r, w) {
			n++
		}
	}
	return n
}

// latestWriteBefore is the write on r's key that completed last before r began.
func latestWriteBefore(h []linearizability.Op, r linearizability.Op) (linearizability.Op, bool) {
	var best linearizability.Op
	found := false
	for _, w := range h {
		if w.Key == r.Key && w.Kind != linearizability.Get && !w.Unknown && w.Return < r.Call && (!found || w.Return > best.Return) {
			best, found = w, true
		}
	}
	return best, found
}

// putOverlaps reports whether a put on r's key (other than w) may take effect between
// w's completion and r's response: it is invoked before r returned and has not completed
// before w did.
func putOverlaps(h []linearizability.Op, r, w linearizability.Op) bool {
	for _, p := range h {
		if p.Key == r.Key && p.Kind == linearizability.Put && p.Call != w.Call && p.Call < r.Return && (p.Unknown || p.Return > w.Return) {
			return true
		}
	}
	return false
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
