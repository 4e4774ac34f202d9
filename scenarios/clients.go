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

// This file holds the scenarios about what clients see (SEED-QUESTIONS C1-C3, R3).

// requireLinearizable is the common part of the client scenarios' assertions.
func requireLinearizable(o *Outcome) error {
	if v := o.Linearizability.Verdict; v != linearizability.Linearizable {
		return fmt.Errorf("the history of %d operations is %v, want linearizable", o.Linearizability.Checked, v)
	}
	return nil
}

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
