package scenarios

import (
	"fmt"
	"time"

	"raftsim/sim"
)

// Duplication-only: the network duplicates and reorders but never loses, and nothing
// crashes or partitions. Raft's messages are idempotent by design (§5.3: an AppendEntries
// the follower already holds is acknowledged again and changes nothing; §5.2: a vote
// already granted is granted again to the same candidate; a stale reply is ignored), and
// client sessions make a duplicated request take effect once (thesis §6.3). So duplicates
// must cost at most one extra answer each: they must not multiply into further messages,
// which is the bug the Work Bound check exists for.
const (
	dupProbability     = 0.4
	dupReorder         = 0.3
	dupDuration        = 10 * time.Second
	dupClientsStop     = dupDuration - time.Second
	dupMinOps          = 500
	dupMaxMessageRatio = 1 + 2*dupProbability // see duplicationOnly
)

// duplicationOnly asserts, over a run with 40% of messages duplicated and 30% reordered:
// one leader for the whole run; every client operation answered (none unknown, none given
// up) and the history linearizable, so no duplicated append took effect twice; and the
// servers send, per client operation, at most 1+2p times the messages of the same seed's
// run without duplication. Per operation, because duplication speeds the clients up (the
// earlier of two copies arrives first), so the run does more operations. The bound 1+2p:
// a duplicated message may be answered twice, and a duplicated client request appended
// and broadcast twice (the session makes the second a no-op when applied); that costs
// about p more messages per message (measured: 1.4 to 1.5 times at p = 0.4). Anything
// beyond 1+2p is duplicates multiplying.
func duplicationOnly() Scenario {
	return Scenario{
		Name:      "duplication-only",
		Summary:   "40% of messages duplicated and 30% reordered, no loss, crash or partition: one leader, every client operation answered exactly once, and duplicates do not multiply messages",
		Questions: "R1, C2",
		Configure: func(c *sim.Config) {
			reliable(c)
			c.Net.DuplicateProbability = dupProbability
			c.Net.ReorderProbability = dupReorder
			c.Duration = dupDuration
			c.Clients.Stop = dupClientsStop
		},
		Script: func(w *sim.World) Assertion {
			expectWithin(w, 0, failoverBound, "leader elected", leaderExists,
				func(*sim.World) string { return "no leader" }, nil)
			return func(w *sim.World, o *Outcome) error {
				if err := requireDuplicated(w); err != nil {
					return err
				}
				if l := o.Counts.Leaders; l != 1 {
					return fmt.Errorf("%d leaders took office on a network that only duplicates and reorders, want 1", l)
				}
				c := o.Counts
				if c.ClientOK < dupMinOps || c.ClientUnknown != 0 || c.ClientOK != c.ClientOps {
					return fmt.Errorf("%d client operations, %d ok and %d unknown; want at least %d, all ok", c.ClientOps, c.ClientOK, c.ClientUnknown, dupMinOps)
				}
				if err := requireNoMultiplication(w, o); err != nil {
					return err
				}
				return requireSettled(w, o, "the cluster did not converge")
			}
		},
	}
}

// requireDuplicated checks that the network did duplicate about as often as configured (at
// least three quarters of the rate), so that the scenario tests what it says.
func requireDuplicated(w *sim.World) error {
	s := w.NetworkStats()
	if float64(s.Duplicated) < float64(float64(0.75*dupProbability)*float64(s.Sent)) {
		return fmt.Errorf("the network duplicated %d of %d messages, want about %.0f%%", s.Duplicated, s.Sent, dupProbability*100)
	}
	return nil
}

// requireNoMultiplication runs the same seed without duplication (and without the trace,
// which belongs to the run being replayed) and compares the messages servers sent per
// client operation answered.
func requireNoMultiplication(w *sim.World, o *Outcome) error {
	cfg := w.Config()
	cfg.Net.DuplicateProbability = 0
	cfg.Trace = nil
	base, err := sim.New(cfg)
	if err != nil {
		return fmt.Errorf("the run without duplication: %w", err)
	}
	b := base.Run()
	if b.Failure != nil || b.Interrupted {
		return fmt.Errorf("the run without duplication did not finish: %v", b.Failure)
	}
	with := float64(o.Counts.MessagesSent) / float64(max(o.Counts.ClientOK, 1))
	without := float64(b.Counts.MessagesSent) / float64(max(b.Counts.ClientOK, 1))
	if ratio := with / without; ratio > dupMaxMessageRatio {
		return fmt.Errorf("servers sent %.1f messages per client operation with %.0f%% duplication and %.1f without: %.2f times as many, over %.2f (duplicates multiply)",
			with, dupProbability*100, without, ratio, dupMaxMessageRatio)
	}
	return nil
}
