package scenarios

import (
	"testing"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/sim"
)

// TestClockJumpReadModes: clock-jump's answer holds with every read mode over the
// selected seeds: with leases (its own mode) the Lease Safety check records node 5's
// reads after the step back, and the history checker finds stale reads in most seeds;
// with ReadIndex no read trusts a clock and everything is linearizable; with local reads
// nothing is checked but that the cluster converges.
func TestClockJumpReadModes(t *testing.T) {
	sc, err := Lookup("clock-jump")
	if err != nil {
		t.Fatal(err)
	}
	seeds := testSeeds()
	for _, mode := range []string{"lease", "readindex", "local"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			stale, recorded := 0, 0
			for _, seed := range seeds {
				o := Run(sc, seed, Options{Overrides: Overrides{Reads: mode}})
				if o.Failed() || o.Inconclusive() {
					t.Fatalf("%s", Report(&o))
				}
				if o.Linearizability.Verdict == linearizability.NotLinearizable {
					stale++
				}
				if o.LeaseViolation != nil {
					recorded++
				}
			}
			if mode == "lease" && recorded != len(seeds) {
				t.Fatalf("Lease Safety recorded the stepped-back lease in %d of %d seeds, want all", recorded, len(seeds))
			}
			t.Logf("%s reads: Lease Safety violations recorded in %d of %d seeds, stale reads found by the history check in %d",
				mode, recorded, len(seeds), stale)
		})
	}
}

// adversarialLeaseSwarm is the swarm scenario with every seed reading by lease (with
// CheckQuorum), its clocks adversarial at the edges of a drift bound of drift (the
// leader's slow, the others' fast), and its servers computing their leases for it.
func adversarialLeaseSwarm(drift float64) Scenario {
	s := swarm()
	base := s.Configure
	s.Configure = func(c *sim.Config) {
		base(c)
		c.Node.ReadMode, c.Node.CheckQuorum = node.ReadLease, true
		c.Clocks.DriftMax, c.Clocks.Adversarial, c.Node.MaxClockDrift = drift, true, drift
	}
	return s
}

// TestLeaseSafetyAdversarialSwarm: swarm testing (crashes, partitions, one-way cuts,
// bridges, pauses, loss, duplication, snapshots...) with every lease tested at the edge of
// the drift bound it was computed for: the Lease Safety check holds on every selected
// seed (go test ./scenarios -run TestLeaseSafetyAdversarialSwarm -seeds 1000 for a
// sweep).
func TestLeaseSafetyAdversarialSwarm(t *testing.T) {
	sc := adversarialLeaseSwarm(0.1)
	reads := uint64(0)
	for _, seed := range testSeeds() {
		o := Run(sc, seed, Options{})
		if o.Failed() || o.Inconclusive() {
			t.Fatalf("swarm with adversarial clocks and lease reads, seed %d (swarm's faults, reads lease, Clocks{DriftMax 0.1, Adversarial}): %s",
				seed, o.Problem())
		}
		reads += o.Counts.LeaseReads
	}
	if reads == 0 {
		t.Fatal("no read accepted under a lease: the check was not exercised")
	}
	t.Logf("%d reads accepted under a lease over %d seeds, every one safe", reads, len(testSeeds()))
}
