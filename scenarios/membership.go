package scenarios

import (
	"fmt"
	"slices"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// This file holds the scenarios about membership (SEED-QUESTIONS E9, M1-M3, L2): servers
// join and leave through joint consensus, a new server catches up as a learner, and PreVote
// and CheckQuorum keep servers that cannot see the leader from disrupting it.

// changeBound is how long a membership change may take on a healthy cluster: the learner's
// catch-up plus two configuration entries to commit, with the admin client's retries.
const changeBound = 4 * time.Second

// withSpare adds one empty spare server (ID Nodes+1).
func withSpare(c *sim.Config) { c.Spares = 1 }

// changeScript requests op on server at time at, expects it done within changeBound, and
// records when it finished and how many entries were committed before and after.
type changeScript struct {
	op               node.AdminOp
	server           node.ID
	doneAt           time.Duration
	commitsAtRequest int
}

func (cs *changeScript) start(w *sim.World, at time.Duration, then func(w *sim.World)) {
	w.At(at, fmt.Sprintf("admin: %v %d", cs.op, cs.server), func(w *sim.World) {
		cs.commitsAtRequest = w.CommittedLen()
		w.Admin(cs.op, cs.server, func(w *sim.World) {
			cs.doneAt = w.Now()
			if then != nil {
				then(w)
			}
		})
	})
	expectWithin(w, at, at+changeBound, fmt.Sprintf("%v %d completes", cs.op, cs.server),
		func(*sim.World) bool { return cs.doneAt != 0 },
		func(w *sim.World) string { return fmt.Sprintf("configuration still %v", w.Voters()) }, nil)
}

// requireVoters checks the configuration at the end of the run.
func requireVoters(w *sim.World, o *Outcome, want []node.ID) error {
	if got := o.FinalConfig; !slices.Equal(got.Voters, want) || got.Joint() || len(got.Learners) != 0 {
		return fmt.Errorf("final configuration %v, want voters %v", got, want)
	}
	return nil
}

// requireCommitsDuring checks that the cluster kept committing while the change ran.
func requireCommitsDuring(w *sim.World, cs *changeScript) error {
	if w.CommittedLen() <= cs.commitsAtRequest {
		return fmt.Errorf("nothing committed after the %v request (%d entries before, %d at the end)", cs.op, cs.commitsAtRequest, w.CommittedLen())
	}
	return nil
}

func addServer() Scenario {
	return Scenario{
		Name:      "add-server",
		Summary:   "a sixth server boots empty, joins as a learner and becomes a voter through joint consensus while clients keep writing",
		Questions: "M1, M2, E9",
		Configure: func(c *sim.Config) {
			withSpare(c)
			c.Duration = 8 * time.Second
			c.Clients.Stop = 7 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			cs := &changeScript{op: node.AdminAddServer, server: 6}
			cs.start(w, 2*time.Second, nil)
			return func(w *sim.World, o *Outcome) error {
				if err := requireVoters(w, o, []node.ID{1, 2, 3, 4, 5, 6}); err != nil {
					return err
				}
				if err := requireCommitsDuring(w, cs); err != nil {
					return err
				}
				return requireSettled(w, o, "the new server did not catch up")
			}
		},
	}
}

func removeServer() Scenario {
	return Scenario{
		Name:      "remove-server",
		Summary:   "a follower is removed through joint consensus while clients keep writing; the other four go on",
		Questions: "M1",
		Configure: func(c *sim.Config) {
			c.Duration = 7 * time.Second
			c.Clients.Stop = 6 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			cs := &changeScript{op: node.AdminRemoveServer}
			w.At(2*time.Second-time.Millisecond, "pick a follower", func(w *sim.World) {
				if l, ok := requireLeader(w); ok {
					cs.server = node.ID(int(l)%w.Nodes() + 1)
				}
			})
			cs.start(w, 2*time.Second, nil)
			return func(w *sim.World, o *Outcome) error {
				want := slices.DeleteFunc([]node.ID{1, 2, 3, 4, 5}, func(id node.ID) bool { return id == cs.server })
				if err := requireVoters(w, o, want); err != nil {
					return err
				}
				if err := requireCommitsDuring(w, cs); err != nil {
					return err
				}
				return requireLinearizable(o)
			}
		},
	}
}

func replaceLeader() Scenario {
	return Scenario{
		Name:      "replace-leader",
		Summary:   "the leader is replaced by a new server: add it (learner, then voter), then remove the leader, which steps down once C(new) commits",
		Questions: "M1",
		Configure: func(c *sim.Config) {
			withSpare(c)
			c.Duration = 12 * time.Second
			c.Clients.Stop = 11 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			add := &changeScript{op: node.AdminAddServer, server: 6}
			remove := &changeScript{op: node.AdminRemoveServer}
			var old node.ID
			add.start(w, 2*time.Second, func(w *sim.World) {
				old = w.Leader()
				remove.server = old
				remove.commitsAtRequest = w.CommittedLen()
				w.Note("replacing leader %d", old)
				w.Admin(node.AdminRemoveServer, old, func(w *sim.World) { remove.doneAt = w.Now() })
			})
			expectWithin(w, 2*time.Second, 2*time.Second+2*changeBound, "the old leader is removed",
				func(*sim.World) bool { return remove.doneAt != 0 },
				func(w *sim.World) string { return fmt.Sprintf("configuration still %v", w.Voters()) }, nil)
			return func(w *sim.World, o *Outcome) error {
				want := slices.DeleteFunc([]node.ID{1, 2, 3, 4, 5, 6}, func(id node.ID) bool { return id == old })
				if err := requireVoters(w, o, want); err != nil {
					return err
				}
				if l := w.Leader(); l == old || l == node.None {
					return fmt.Errorf("leader at the end is %d; the replaced leader %d must have stepped down for another", l, old)
				}
				if err := requireCommitsDuring(w, remove); err != nil {
					return err
				}
				return requireLinearizable(o)
			}
		},
	}
}

func addServerSlow() Scenario {
	const cut, heal = 2 * time.Second, 5 * time.Second
	return Scenario{
		Name:      "add-server-slow",
		Summary:   "a new server behind a link that is down at first stays a learner (never counted) until it has caught up, then becomes a voter",
		Questions: "M2",
		Configure: func(c *sim.Config) {
			withSpare(c)
			c.Duration = 12 * time.Second
			c.Clients.Stop = 11 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			w.At(cut-time.Millisecond, "the new server's link is down", func(w *sim.World) { w.Isolate(6) })
			var requested, done time.Duration
			w.At(cut, "admin: add-server 6", func(w *sim.World) {
				requested = w.Now()
				w.Admin(node.AdminAddServer, 6, func(w *sim.World) { done = w.Now() })
			})
			// While its link is down the server may be a learner, never a voter.
			holdDuring(w, cut, heal, "a server that has not caught up is not a voter",
				func(w *sim.World) bool { return !slices.Contains(w.Voters(), 6) },
				func(w *sim.World) string { return fmt.Sprintf("voters %v", w.Voters()) })
			w.At(heal, "the link comes up", func(w *sim.World) { w.Heal() })
			return func(w *sim.World, o *Outcome) error {
				if done == 0 || done < heal {
					return fmt.Errorf("the change requested at %v finished at %v, want after the link came up at %v", requested, done, heal)
				}
				if err := requireVoters(w, o, []node.ID{1, 2, 3, 4, 5, 6}); err != nil {
					return err
				}
				return requireSettled(w, o, "the new server did not catch up")
			}
		},
	}
}

func addServerAfterCompaction() Scenario {
	return Scenario{
		Name:      "add-server-after-compaction",
		Summary:   "a new server joins after every server compacted its log: it catches up through InstallSnapshot, then ordinary replication",
		Questions: "L2, M2",
		Configure: func(c *sim.Config) {
			withSpare(c)
			c.Node.SnapshotThreshold = 50
			c.Node.SnapshotChunkSize = 512
			c.Duration = 8 * time.Second
			c.Clients.Stop = 7 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			cs := &changeScript{op: node.AdminAddServer, server: 6}
			cs.start(w, 3*time.Second, nil)
			return func(w *sim.World, o *Outcome) error {
				if o.Counts.SnapshotsInstalled == 0 {
					return fmt.Errorf("no snapshot was installed: the new server should have needed one")
				}
				if err := requireVoters(w, o, []node.ID{1, 2, 3, 4, 5, 6}); err != nil {
					return err
				}
				return requireSettled(w, o, "the new server did not catch up")
			}
		},
	}
}

// stability records the leader and the highest term among the members when a disruption
// starts, and judges what happened since.
type stability struct {
	leader node.ID
	term   node.Term
	from   time.Duration
}

func (s *stability) mark(w *sim.World) {
	s.leader, s.from = w.Leader(), w.Now()
	s.term = w.View(s.leader).Term
}

// disrupted reports whether the leadership changed or the term rose since mark.
func (s *stability) disrupted(w *sim.World) bool {
	l := w.Leader()
	return l != s.leader || (l != node.None && w.View(l).Term != s.term)
}

// requireDisruption checks the scenario's answer for the configuration. With PreVote on,
// the voters refuse the pre-votes of a server that cannot see the leader (they still hear
// from it), so it never raises its term; with CheckQuorum on, they ignore its vote
// requests outright. Either one keeps the leader and its term in place; with both off, the
// server disrupts the cluster with every timeout.
func requireDisruption(w *sim.World, s *stability, sawDisruption bool, who string) error {
	protected := w.Config().Node.PreVote || w.Config().Node.CheckQuorum
	switch {
	case protected && sawDisruption:
		return fmt.Errorf("with PreVote or CheckQuorum on, %s still disrupted the cluster: leader %d of term %d at %v, now %d of term %d",
			who, s.leader, s.term, s.from, w.Leader(), w.View(w.Leader()).Term)
	case !protected && !sawDisruption:
		return fmt.Errorf("with PreVote and CheckQuorum off, %s should have disrupted the cluster, but leader %d of term %d stayed", who, s.leader, s.term)
	}
	return nil
}

func removedServerDisrupts() Scenario {
	return Scenario{
		Name:      "removed-server-disrupts",
		Summary:   "a removed server that never learns of its removal keeps timing out; with PreVote or CheckQuorum (both on here) the leader and term stay put; with -prevote=false -checkquorum=false they do not",
		Questions: "M3",
		Configure: func(c *sim.Config) {
			c.Node.PreVote, c.Node.CheckQuorum = true, true
			c.Duration = 8 * time.Second
			c.Clients.Stop = 7 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			cs := &changeScript{op: node.AdminRemoveServer}
			s := &stability{}
			saw := false
			w.At(2*time.Second-time.Millisecond, "pick a follower", func(w *sim.World) {
				if l, ok := requireLeader(w); ok {
					cs.server = node.ID(int(l)%w.Nodes() + 1)
				}
			})
			cs.start(w, 2*time.Second, func(w *sim.World) {
				s.mark(w)
				var watch func(w *sim.World)
				watch = func(w *sim.World) {
					saw = saw || s.disrupted(w)
					w.At(w.Now()+pollEvery, "watch the leader", watch)
				}
				watch(w)
			})
			return func(w *sim.World, o *Outcome) error {
				if cs.doneAt == 0 {
					return fmt.Errorf("the removal never completed")
				}
				if st := w.NodeStats(cs.server); st.Elections+st.PreVotes == 0 {
					return fmt.Errorf("removed server %d never timed out: the scenario shows nothing", cs.server)
				}
				if err := requireDisruption(w, s, saw, fmt.Sprintf("removed server %d", cs.server)); err != nil {
					return err
				}
				return requireLinearizable(o)
			}
		},
	}
}

func partialPartition() Scenario {
	const cut, heal = 2 * time.Second, 7 * time.Second
	return Scenario{
		Name:      "partial-partition",
		Summary:   "one server loses its link to the leader only (it still reaches the others); with PreVote or CheckQuorum (both on here) the leader stays and the cluster commits; with both off, elections churn",
		Questions: "M3, E5",
		Configure: func(c *sim.Config) {
			c.Node.PreVote, c.Node.CheckQuorum = true, true
			c.Duration = 9 * time.Second
			c.Clients.Stop = 8 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			s := &stability{}
			saw := false
			var cutOff node.ID
			commitsAtCut := 0
			w.At(cut, "cut one server off from the leader only", func(w *sim.World) {
				l, ok := requireLeader(w)
				if !ok {
					return
				}
				cutOff = node.ID(int(l)%w.Nodes() + 1)
				w.Cut(l, cutOff)
				s.mark(w)
				commitsAtCut = w.CommittedLen()
			})
			holdDuring(w, cut+pollEvery, heal, "watch the leader", func(w *sim.World) bool {
				saw = saw || s.disrupted(w)
				return true
			}, func(*sim.World) string { return "" })
			w.At(heal, "heal", func(w *sim.World) { w.Heal() })
			return func(w *sim.World, o *Outcome) error {
				if err := requireDisruption(w, s, saw, fmt.Sprintf("server %d, cut off from the leader only,", cutOff)); err != nil {
					return err
				}
				if w.CommittedLen() <= commitsAtCut {
					return fmt.Errorf("nothing committed after the partial partition")
				}
				return requireLinearizable(o)
			}
		},
	}
}

func leaderTransfer() Scenario {
	const at = 2 * time.Second
	return Scenario{
		Name:      "leader-transfer",
		Summary:   "under client load the leader hands leadership to a chosen server, which takes office within an election timeout; the history stays linearizable",
		Questions: "M1, E1",
		Configure: func(c *sim.Config) {
			c.Node.PreVote, c.Node.CheckQuorum = true, true
			c.Duration = 6 * time.Second
			c.Clients.Stop = 5 * time.Second
		},
		Script: func(w *sim.World) Assertion {
			var target node.ID
			var oldTerm node.Term
			w.At(at, "transfer leadership", func(w *sim.World) {
				l, ok := requireLeader(w)
				if !ok {
					return
				}
				target, oldTerm = node.ID(int(l)%w.Nodes()+1), w.View(l).Term
				w.Transfer(target)
			})
			bound := w.Config().Node.ElectionTimeoutMax
			expectWithin(w, at, at+bound, "the target takes office",
				func(w *sim.World) bool { return w.Leader() == target && w.View(target).Term > oldTerm },
				func(w *sim.World) string { return fmt.Sprintf("leader is %d, want %d", w.Leader(), target) },
				func(w *sim.World) { w.Note("leadership moved to %d after %v", target, w.Now()-at) })
			return func(w *sim.World, o *Outcome) error { return requireLinearizable(o) }
		},
	}
}
