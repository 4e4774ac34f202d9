package scenarios

import (
	"fmt"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/sim"
)

// This file holds the scenarios about log replication (SEED-QUESTIONS R1, R2, R4, Raft
// §5.3): entries commit once a majority holds them, and every server applies them in order.

func happyPath() Scenario {
	return Scenario{
		Name:      "happy-path",
		Summary:   "5 nodes, reliable network, 5 clients: one leader; every write commits once and applies everywhere; the history is linearizable",
		Questions: "R1, R4",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Duration = 5 * time.Second
			c.Clients.Start, c.Clients.Stop = ms(500), ms(4500)
		},
		Script: func(w *sim.World) Assertion {
			var first node.ID
			var firstTerm node.Term
			expectWithin(w, 0, failoverBound, "leader elected", leaderExists,
				func(*sim.World) string { return "no leader" },
				func(w *sim.World) { first, firstTerm = w.Leader(), w.View(w.Leader()).Term })
			return func(w *sim.World, o *Outcome) error {
				if l := w.Leader(); l != first || w.View(l).Term != firstTerm {
					return fmt.Errorf("leadership changed on a reliable network: first node %d in term %d, at the end node %d", first, firstTerm, l)
				}
				c := o.Counts
				if c.ClientOK < 100 || c.ClientUnknown != 0 {
					return fmt.Errorf("%d client operations ok and %d unknown, want at least 100 ok and none unknown", c.ClientOK, c.ClientUnknown)
				}
				if !converged(w, o) {
					return fmt.Errorf("not every node committed and applied all %d committed entries:\n%s", w.CommittedLen(), w.Describe())
				}
				// Each acknowledged write is in the log exactly once, after the leader's no-op:
				// on a reliable network no retry duplicates a command.
				if want := uint64(completedWrites(o)) + 1; c.Commits != want {
					return fmt.Errorf("%d entries committed, want %d (every acknowledged write and the no-op)", c.Commits, want)
				}
				return requireLinearizable(o)
			}
		},
	}
}

// completedWrites counts the puts and appends the clients saw acknowledged.
func completedWrites(o *Outcome) int {
	n := 0
	for _, op := range o.History {
		if op.Kind != linearizability.Get && !op.Unknown {
			n++
		}
	}
	return n
}

func minorityPartition() Scenario {
	return Scenario{
		Name:      "minority-partition",
		Summary:   "the leader and one follower are cut off; the majority elects a leader and commits; after healing the minority catches up",
		Questions: "R2, E5",
		Configure: func(c *sim.Config) {
			c.Duration = 8 * time.Second
			c.Clients.Stop = ms(7000)
		},
		Script: func(w *sim.World) Assertion {
			var minority []node.ID
			var commitsAtCut int
			w.At(2*time.Second, "cut off the leader and one follower", func(w *sim.World) {
				l, ok := requireLeader(w)
				if !ok {
					return
				}
				other := node.ID(int(l)%w.Nodes() + 1)
				minority = []node.ID{l, other}
				commitsAtCut = w.CommittedLen()
				w.Partition(minority)
			})
			expectWithin(w, 2*time.Second, 2*time.Second+failoverBound, "majority commits during partition",
				func(w *sim.World) bool {
					l := w.Leader()
					return l != node.None && !contains(minority, l) && w.CommittedLen() > commitsAtCut+10
				},
				func(w *sim.World) string {
					return fmt.Sprintf("majority has not elected a leader and committed 10 entries (ledger %d at cut, %d now)", commitsAtCut, w.CommittedLen())
				}, nil)
			w.At(5*time.Second, "heal", func(w *sim.World) { w.Heal() })
			return func(w *sim.World, o *Outcome) error {
				if !converged(w, o) {
					return fmt.Errorf("the minority %v did not catch up after healing:\n%s", minority, w.Describe())
				}
				return nil
			}
		},
	}
}

// ---------------------------------------------------------------------------------------
// R2: a majority, not all.

// slowFollower makes one follower's links lossy (the scenario's BeforeSend hook drops 90%
// of the messages to and from it, drawn from the fault stream: netsim has no per-link
// rates) for two seconds, and compares the leader's commit rate with the second before.
// PreVote is on, so that the lossy follower's election timeouts do not depose the leader.
func slowFollower() Scenario {
	const healthy, slowFrom, slowTo = 1 * time.Second, 2 * time.Second, 4 * time.Second
	const lossRate = 0.9
	return Scenario{
		Name:      "slow-follower",
		Summary:   "one follower loses 90% of its messages for 2 s: the leader keeps committing at its usual rate with the others (a majority), mostly entries the slow follower does not hold yet; the follower catches up afterwards",
		Questions: "R2",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Node.PreVote = true
			c.Duration = 6 * time.Second
			c.Clients.Stop = 5500 * time.Millisecond
		},
		Script: func(w *sim.World) Assertion {
			var slow, lead node.ID
			lossy := false
			var at1, at2, at4 int
			prevCommit := make([]node.Index, w.Nodes()+1)
			without, with := 0, 0
			maxLag := 0
			dropped := 0
			w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
				v := w.View(id)
				if lossy && v.Role == node.Leader && v.CommitIndex > prevCommit[id] {
					sv := w.View(slow)
					for i := prevCommit[id] + 1; i <= v.CommitIndex; i++ {
						t, _ := v.TermAt(i)
						if st, ok := sv.TermAt(i); ok && st == t {
							with++
						} else {
							without++
						}
					}
				}
				prevCommit[id] = v.CommitIndex
				if !lossy {
					return
				}
				var kept []node.Message
				for i := range out.Messages {
					m := &out.Messages[i]
					if (m.To == slow || m.From == slow) && w.FaultRandom().Float64() < lossRate {
						if kept == nil {
							kept = make([]node.Message, 0, len(out.Messages))
							kept = append(kept, out.Messages[:i]...)
						}
						dropped++
						continue
					}
					if kept != nil {
						kept = append(kept, *m)
					}
				}
				if kept != nil {
					out.Messages = kept
				}
			})
			w.At(healthy, "measure", func(w *sim.World) { at1 = w.CommittedLen() })
			w.At(slowFrom, "one follower's links start losing 90%", func(w *sim.World) {
				var ok bool
				if lead, ok = requireLeader(w); !ok {
					return
				}
				slow = node.ID(int(lead)%w.Nodes() + 1)
				at2 = w.CommittedLen()
				lossy = true
				w.Note("node %d's links lose %.0f%% of the messages from now on", slow, lossRate*100)
			})
			holdDuring(w, slowFrom, slowTo, "the leader stays and the slow follower lags",
				func(w *sim.World) bool {
					maxLag = max(maxLag, w.CommittedLen()-int(lastView(w, slow).LastIndex()))
					return w.Leader() == lead
				},
				func(w *sim.World) string {
					return fmt.Sprintf("leader %d, was %d (PreVote %v: without it the slow follower's timeouts depose the leader)", w.Leader(), lead, w.Config().Node.PreVote)
				})
			w.At(slowTo, "the links recover", func(w *sim.World) {
				lossy = false
				at4 = w.CommittedLen()
				w.Note("node %d's links recover; it is %d entries behind the committed ledger", slow, w.CommittedLen()-int(lastView(w, slow).LastIndex()))
				w.Note("commits per second: %.0f before, %.0f with the slow follower; %d of %d entries committed without it; it lagged up to %d entries; %d of its messages dropped",
					float64(at2-at1)/(slowFrom-healthy).Seconds(), float64(at4-at2)/(slowTo-slowFrom).Seconds(), without, with+without, maxLag, dropped)
			})
			expectWithin(w, slowTo, slowTo+time.Second, "the slow follower catches up",
				func(w *sim.World) bool { return int(w.View(slow).CommitIndex) >= at4 },
				func(w *sim.World) string {
					return fmt.Sprintf("node %d has commit index %d, %d were committed when its links recovered", slow, w.View(slow).CommitIndex, at4)
				}, nil)
			return func(w *sim.World, o *Outcome) error {
				base := float64(at2-at1) / (slowFrom - healthy).Seconds()
				during := float64(at4-at2) / (slowTo - slowFrom).Seconds()
				// Measured over seeds 1-300: at least 79% of the rate before. A leader that
				// waited for every follower would commit a few entries per second.
				if base < 50 || during < 0.7*base {
					return fmt.Errorf("%.0f commits per second with a slow follower, %.0f before: want at least 70%% of the usual rate (and the usual rate at least 50)", during, base)
				}
				if without*10 < (with+without)*8 {
					return fmt.Errorf("only %d of the %d entries committed during the slow phase were committed while the slow follower did not hold them; want at least 80%%", without, with+without)
				}
				if maxLag < 20 {
					return fmt.Errorf("the slow follower lagged at most %d entries behind; the scenario wants it really slow (at least 20)", maxLag)
				}
				return requireSettled(w, o, "the slow follower did not catch up")
			}
		},
	}
}

// ---------------------------------------------------------------------------------------
// R4: when followers apply.

// appKey names one AppendEntries: its sender, term and broadcast round, its receiver, and
// the last index it proves matching. A follower's success answer carries the same fields
// (MatchIndex, Round), so its step can be paired with the request it handled.
type appKey struct {
	leader, follower node.ID
	term             node.Term
	round            uint64
	last             node.Index
}

// followerApply watches every apply of a run under the standard faults: the first apply
// of each index is a leader's, and a follower applies entries only in a step answering an
// AppendEntries of its leader whose LeaderCommit covers them, consecutively from its last
// applied index, and strictly after a leader applied them.
func followerApply() Scenario {
	return Scenario{
		Name:      "follower-apply",
		Summary:   "every follower applies an entry only in a step handling an AppendEntries whose LeaderCommit covers it, in index order, after the leader (the first to apply every entry) applied it",
		Questions: "R4",
		Configure: func(c *sim.Config) {
			c.Duration = 3 * time.Second
			c.Clients.Stop = 2500 * time.Millisecond
		},
		Script: func(w *sim.World) Assertion {
			sent := map[appKey]node.Index{} // the highest LeaderCommit among matching requests
			var firstApply []time.Duration  // firstApply[i]: when index i was first applied, by a leader
			applied := make([]node.Index, w.Nodes()+1)
			followerApplies := 0
			var prob firstProblem
			w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
				v := w.View(id)
				if v.Role == node.Leader {
					for i := range out.Messages {
						m := &out.Messages[i]
						if m.Type != node.MsgApp {
							continue
						}
						if m.LeaderCommit > v.AppliedIndex {
							prob.setf(w, "leader %d sent LeaderCommit %d having applied only %d", id, m.LeaderCommit, v.AppliedIndex)
						}
						k := appKey{leader: id, follower: m.To, term: m.Term, round: m.Round, last: m.PrevLogIndex + node.Index(len(m.Entries))}
						sent[k] = max(sent[k], m.LeaderCommit)
					}
				}
				if len(out.Apply) == 0 {
					return
				}
				for k, e := range out.Apply {
					if e.Index != applied[id]+node.Index(k)+1 {
						prob.setf(w, "node %d applied index %d after %d: not in order", id, e.Index, applied[id]+node.Index(k))
					}
				}
				top := out.Apply[len(out.Apply)-1].Index
				if v.Role == node.Leader {
					for node.Index(len(firstApply)) <= top {
						firstApply = append(firstApply, -1)
					}
					for _, e := range out.Apply {
						if firstApply[e.Index] < 0 {
							firstApply[e.Index] = w.Now()
						}
					}
					applied[id] = top
					return
				}
				followerApplies += len(out.Apply)
				for _, e := range out.Apply {
					if int(e.Index) >= len(firstApply) || firstApply[e.Index] < 0 || firstApply[e.Index] >= w.Now() {
						prob.setf(w, "follower %d applied index %d before any leader had", id, e.Index)
					}
				}
				covered := false
				for i := range out.Messages {
					m := &out.Messages[i]
					if m.Type != node.MsgAppResp || !m.Success || m.To != v.Leader || m.Term != v.Term {
						continue
					}
					lc, ok := sent[appKey{leader: m.To, follower: id, term: m.Term, round: m.Round, last: m.MatchIndex}]
					covered = covered || (ok && lc >= top && m.MatchIndex >= top)
				}
				if !covered {
					prob.setf(w, "follower %d applied up to index %d in a step that answered no AppendEntries of its leader %d (term %d) whose LeaderCommit covers it (messages %v)",
						id, top, v.Leader, v.Term, out.Messages)
				}
				applied[id] = top
			})
			return func(w *sim.World, o *Outcome) error {
				if err := prob.err(); err != nil {
					return err
				}
				if !converged(w, o) {
					return fmt.Errorf("not every node applied every committed entry:\n%s", w.Describe())
				}
				if want := (w.Nodes() - 1) * w.CommittedLen(); followerApplies < want {
					return fmt.Errorf("followers applied %d entries, want at least %d (every committed entry on each)", followerApplies, want)
				}
				if w.CommittedLen() < 100 {
					return fmt.Errorf("only %d entries committed; want at least 100 to watch", w.CommittedLen())
				}
				return requireLinearizable(o)
			}
		},
	}
}
