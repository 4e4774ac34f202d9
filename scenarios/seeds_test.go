package scenarios

import (
	"flag"
	"fmt"
	"math"
	"testing"

	"raftsim/sim"
)

// Seed counts per scenario. A scenario whose answer shows only in some seeds (the
// situation it is about happens, or a check is exercised, in a share p of them) must run
// enough seeds by default that a regression shows: with n seeds, all miss it with
// probability (1-p)^n. quickSeedsFor gives such a scenario n = ceil(ln(missMax)/ln(1-p))
// seeds instead of quickSeeds, for the smallest p among the answers it shows.
//
// How the shares were measured: go test ./scenarios -run TestSeedShares -share-seeds 400
// -v runs seeds 1..400 of every scenario below and counts, per answer, the seeds that
// show it (showsIn); the table keeps each measured share rounded down to the percent.
// TestSeedShares then fails if a share measured is below the one recorded less 10 points,
// so the table stays true as scenarios change; without -share-seeds it checks only that
// the table is well formed.
//
// The answers:
//   - "stability": Stability's rules applied to a request (a pre-vote or RequestVote
//     reached a server that hears from its leader): a PreVote or CheckQuorum regression
//     fires there (sim.OracleCoverage.StabilityJudged).
//   - "transfer": Transfer Outcome judged a leadership transfer to its end.
//   - "liveness": a healthy majority was without a leader in office, so Liveness while
//     Healthy's deadline ran.
//   - "read quorum", "leader quorum": Read Quorum judged an answered read; Leader Quorum
//     judged a leader staying in office (CheckQuorum on).
//   - "stale lease read": lease-clock-drift's cut-off leader answered a read that is
//     provably stale (its assertion then requires the history checker to find it).
var seedShares = []struct {
	scenario string
	answer   string
	share    float64 // measured share of seeds showing the answer
}{
	// lease-clock-drift's answer (the history checker finds the stale lease reads) is
	// judged only where a read is provably stale: 212 of 400 seeds.
	{"lease-clock-drift", "stale lease read", 0.53},
	// swarm picks its faults per seed: a healthy majority loses its leader in 96 of 400
	// seeds, Stability's rules meet a request in 197 (PreVote or CheckQuorum on and a
	// server cut off from its leader), Leader Quorum judges in 209 (CheckQuorum on).
	{"swarm", "liveness", 0.24},
	{"swarm", "stability", 0.49},
	{"swarm", "leader quorum", 0.52},
}

// missMax is the highest acceptable probability that every default seed of a scenario
// misses its answer.
const missMax = 0.001

// quickSeedsFor is how many seeds scenario name runs in the default go test: quickSeeds,
// or more for a scenario whose answer shows only in some seeds (seedShares).
func quickSeedsFor(name string) int {
	n := quickSeeds
	for _, s := range seedShares {
		if s.scenario == name {
			n = max(n, seedsFor(s.share))
		}
	}
	return n
}

// seedsFor is the smallest n with (1-p)^n <= missMax.
func seedsFor(p float64) int {
	if p >= 1 {
		return 1
	}
	return int(math.Ceil(math.Log(missMax) / math.Log(1-p)))
}

// answers are the answers showsIn knows, in report order.
var answers = []string{"stability", "transfer", "liveness", "read quorum", "leader quorum", "stale lease read"}

var shareSeedsFlag = flag.Int("share-seeds", 0, "TestSeedShares: measure the shares of seedShares over seeds 1..`N`")

// showsIn reports which answers one finished run showed; w is the run's world.
func showsIn(w *sim.World, o *Outcome) map[string]bool {
	c := w.OracleCoverage()
	shows := map[string]bool{
		"stability":     c.StabilityJudged > 0,
		"transfer":      c.Transfers > 0,
		"liveness":      c.LivenessEpisodes > 0,
		"read quorum":   c.Reads > 0,
		"leader quorum": c.Stays > 0,
	}
	if o.Scenario == "lease-clock-drift" {
		if t := firstLeaderAfter(w, staleCut); t > 0 {
			shows["stale lease read"] = staleCutOffReads(o, t) > 0
		}
	}
	return shows
}

// runCapturing runs one seed of sc and returns the outcome with the run's world.
func runCapturing(sc Scenario, seed uint64) (*sim.World, Outcome) {
	var world *sim.World
	script := sc.Script
	sc.Script = func(w *sim.World) Assertion { world = w; return script(w) }
	o := Run(sc, seed, Options{})
	return world, o
}

// TestSeedShares checks the seed-count table and, with -share-seeds N, measures its
// shares (see seedShares).
func TestSeedShares(t *testing.T) {
	for _, s := range seedShares {
		if _, err := Lookup(s.scenario); err != nil {
			t.Fatalf("seedShares: %v", err)
		}
		if !(s.share > 0 && s.share <= 1) {
			t.Fatalf("seedShares: %s: share %v outside (0, 1]", s.scenario, s.share)
		}
		t.Logf("%s (%s in %.0f%% of seeds): %d default seeds", s.scenario, s.answer, s.share*100, quickSeedsFor(s.scenario))
	}
	n := *shareSeedsFlag
	if n == 0 {
		return
	}
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			count := map[string]int{}
			for seed := uint64(1); seed <= uint64(n); seed++ {
				w, o := runCapturing(sc, seed)
				if o.Failed() || w == nil {
					t.Fatalf("%s", Report(&o))
				}
				shows := showsIn(w, &o)
				for _, answer := range answers {
					if shows[answer] {
						count[answer]++
					}
				}
			}
			line := sc.Name + ":"
			for _, answer := range answers {
				line += fmt.Sprintf(" %s %d/%d", answer, count[answer], n)
			}
			t.Log(line)
			for _, s := range seedShares {
				if s.scenario == sc.Name {
					if got := float64(count[s.answer]) / float64(n); got < s.share-0.1 {
						t.Errorf("%s shows %s in %.0f%% of %d seeds, the table says %.0f%%", sc.Name, s.answer, got*100, n, s.share*100)
					}
				}
			}
		})
	}
}

// testSeedsFor is the seeds TestScenarios runs scenario name with: the flags' choice if
// they make one (-seed, -seeds, -long, -short), else seeds 1..quickSeedsFor(name).
func testSeedsFor(name string) []uint64 {
	if testSeedFlags.SeedSet || testSeedFlags.SeedsSet || *longFlag || testing.Short() {
		return testSeeds()
	}
	seeds := make([]uint64, quickSeedsFor(name))
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}
