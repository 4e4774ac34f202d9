package scenarios

import (
	"fmt"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/sim"
)

// failoverBound is how long a healthy majority may take to elect a new leader after the
// old one is lost. It allows for several split votes: one election round is at most the
// 300 ms timeout plus a few 10 ms message delays.
const failoverBound = 2 * time.Second

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

func majorityLoss() Scenario {
	return majorityLossScenario("majority-loss",
		"5 nodes, the leader and 2 more crash: no leader and no commit while they are down, terms keep rising; after restarts the cluster recovers",
		func(c *sim.Config) {})
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

func contains(ids []node.ID, id node.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
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
