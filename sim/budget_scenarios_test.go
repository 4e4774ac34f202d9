package sim_test

import (
	"flag"
	"testing"

	"raftsim/scenarios"
	"raftsim/sim"
)

var workSeeds = flag.Int("work-seeds", 0, "seeds per scenario for TestWorkBoundHeadroom (default 2, 1 with -short; 200 to measure the headroom)")

// maxWorkUse is the largest share of a Work Bound limit a scenario's run may use: the
// limits are WorkSafetyFactor times a healthy run's need, so a scenario that gets within
// a quarter of one is closer to a runaway than the derivation allows, and its need (or the
// derivation) must be looked at before a real run trips the check.
const maxWorkUse = 0.25

// TestWorkBoundHeadroom runs every scenario over -work-seeds seeds and requires each run's
// peak events and messages per window, and packets in flight, to stay under maxWorkUse of
// the Work Bound's limits for its configuration. It logs the worst share of each limit,
// with its scenario and seed: the headroom the report quotes.
func TestWorkBoundHeadroom(t *testing.T) {
	type worst struct {
		share    float64
		scenario string
		seed     uint64
		peak     uint64
		limit    uint64
	}
	var events, msgs, inFlight worst
	note := func(w *worst, o *scenarios.Outcome, peak, limit uint64) {
		if s := float64(peak) / float64(limit); s > w.share {
			*w = worst{s, o.Scenario, o.Seed, peak, limit}
		}
	}
	for _, sc := range scenarios.All() {
		for seed := uint64(1); seed <= headroomSeeds(); seed++ {
			o := scenarios.Run(sc, seed, scenarios.Options{})
			if o.Failure != nil && o.Failure.Check == sim.WorkBoundCheck {
				t.Errorf("%s", scenarios.Report(&o))
				continue
			}
			cfg := sc.Config(seed)
			l := cfg.WorkLimits()
			c := o.Counts
			note(&events, &o, c.PeakWindowEvents, l.EventsPerWindow)
			note(&msgs, &o, c.PeakWindowMessages, l.MessagesPerWindow)
			note(&inFlight, &o, c.PeakInFlight, l.InFlight)
		}
	}
	for _, x := range []struct {
		name string
		w    worst
	}{{"events per window", events}, {"messages per window", msgs}, {"packets in flight", inFlight}} {
		t.Logf("%-20s worst %.4f of the limit: %d of %d (%s seed %d)", x.name, x.w.share, x.w.peak, x.w.limit, x.w.scenario, x.w.seed)
		if x.w.share > maxWorkUse {
			t.Errorf("%s: %s seed %d used %d of the limit %d (%.2f), over %.2f", x.name, x.w.scenario, x.w.seed, x.w.peak, x.w.limit, x.w.share, maxWorkUse)
		}
	}
}

// headroomSeeds is how many seeds per scenario TestWorkBoundHeadroom runs.
func headroomSeeds() uint64 {
	switch {
	case *workSeeds > 0:
		return uint64(*workSeeds)
	case testing.Short():
		return 1
	}
	return 2
}
