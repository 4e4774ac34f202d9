package scenarios

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"raftsim/linearizability"
)

// testSeedFlags are go test's -seed and -seeds for this package, read as raftsim reads its
// own (SeedFlags), so that both refuse the same mistakes.
var testSeedFlags SeedFlags

func init() {
	flag.Func("seed", "run every scenario with this `seed` only", func(s string) error {
		testSeedFlags.Seed, testSeedFlags.SeedSet = s, true
		return nil
	})
	flag.Func("seeds", "run every scenario with seeds 1..`N`", func(s string) error {
		testSeedFlags.Seeds, testSeedFlags.SeedsSet = s, true
		return nil
	})
}

var (
	longFlag        = flag.Bool("long", false, "run every scenario with seeds 1..200 (unless -seed or -seeds says otherwise)")
	seedTimeoutFlag = flag.Duration("seed-timeout", time.Minute, "fail a seed still running after this much wall-clock time (a last resort behind the Work Bound check)")
)

// longSeeds is how many seeds each scenario runs with -long.
const longSeeds = 200

// quickSeeds is how many seeds each scenario runs in the default `go test ./...`, and
// shortSeeds with -short.
const (
	quickSeeds = 5
	shortSeeds = 1
)

// TestMain refuses bad -seed/-seeds flags before any test runs, as raftsim does: a
// mistake in them is a usage error (exit 2), not a run of the wrong seeds.
func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := selectTestSeeds(testSeedFlags, *longFlag, testing.Short()); err != nil {
		fmt.Fprintf(os.Stderr, "scenarios: %v\n", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// selectTestSeeds is the seeds that the flags f and -long select: f's choice if it makes
// one, else seeds 1..longSeeds with -long, else seeds 1..quickSeeds (1..shortSeeds with
// -short).
func selectTestSeeds(f SeedFlags, long, short bool) ([]uint64, error) {
	seeds, err := f.Select(MaxSweep)
	if err != nil || seeds != nil {
		return seeds, err
	}
	n := quickSeeds
	switch {
	case long:
		n = longSeeds
	case short:
		n = shortSeeds
	}
	return SeedFlags{Seeds: strconv.Itoa(n), SeedsSet: true}.Select(MaxSweep)
}

// testSeeds is the seeds selected by the flags (TestMain has refused bad ones).
func testSeeds() []uint64 {
	seeds, err := selectTestSeeds(testSeedFlags, *longFlag, testing.Short())
	if err != nil {
		panic("scenarios: TestMain let bad seed flags through: " + err.Error())
	}
	return seeds
}

// TestScenarios runs every scenario over the selected seeds, one subtest per seed, so that
// -run, -failfast and timeout reports name the seed: select with -run, e.g.
// go test ./scenarios -run 'TestScenarios/leader-crash/seed=7', or
// go test ./scenarios -run 'TestScenarios/leader-crash' -seeds 200. The seeds of one
// scenario run one after another; the scenarios run in parallel.
func TestScenarios(t *testing.T) {
	for _, sc := range All() {
		seeds := testSeedsFor(sc.Name) // quickSeeds, or more for some (seeds_test.go)
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			failures := 0
			for _, seed := range seeds {
				if !t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runScenarioSeed(t, sc, seed) }) {
					failures++
				}
				if failures >= 5 {
					t.Fatalf("stopping %s after %d failing seeds", sc.Name, failures)
				}
			}
		})
	}
}

// runScenarioSeed runs one seed of a scenario and reports a failure, an inconclusive
// history check or a runaway.
func runScenarioSeed(t *testing.T, sc Scenario, seed uint64) {
	deadline := time.Now().Add(*seedTimeoutFlag)
	o := Run(sc, seed, Options{Interrupt: func() bool { return time.Now().After(deadline) }})
	if o.Interrupted {
		t.Fatalf("scenario %s seed %d aborted: still running after the wall-clock limit %v (-seed-timeout): a runaway the Work Bound check missed, or an overloaded machine\nreplay: %s",
			sc.Name, seed, *seedTimeoutFlag, ReplayCommand(sc.Name, seed, Overrides{}))
	}
	if o.Failed() || o.Inconclusive() {
		writeVisualization(t, &o)
		t.Fatalf("%s", Report(&o))
	}
}

// writeVisualization writes a non-linearizable history's visualization to the system's
// temporary directory (not t.TempDir, which is deleted when the test ends) so that the
// failure report can point at it.
func writeVisualization(t *testing.T, o *Outcome) {
	if o.Linearizability.Verdict != linearizability.NotLinearizable {
		return
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("raftsim-%s-%d.html", o.Scenario, o.Seed))
	fh, err := os.Create(path)
	if err != nil {
		t.Logf("cannot write the visualization: %v", err)
		return
	}
	defer fh.Close()
	if err := WriteVisualization(o, fh); err != nil {
		t.Logf("cannot write the visualization: %v", err)
		return
	}
	o.Visualization = path
}

// TestStaleReadByReadMode shows thesis §6.4's answer over several seeds: with ReadIndex
// and with leases (clocks drifting within the bound) a leader cut off from the majority
// serves no stale read; with local reads it does, and the checker finds it in most seeds.
func TestStaleReadByReadMode(t *testing.T) {
	sc, err := Lookup("stale-read-partitioned-leader")
	if err != nil {
		t.Fatal(err)
	}
	const seeds = 20
	for _, mode := range []string{"readindex", "lease", "local"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			found := 0
			for seed := uint64(1); seed <= seeds; seed++ {
				o := Run(sc, seed, Options{Overrides: Overrides{Reads: mode}})
				if o.Failed() || o.Inconclusive() {
					writeVisualization(t, &o)
					t.Fatalf("%s", Report(&o))
				}
				if o.Linearizability.Verdict == linearizability.NotLinearizable {
					found++
				}
			}
			switch {
			case mode != "local" && found != 0:
				t.Fatalf("%d of %d histories not linearizable with %s reads", found, seeds, mode)
			case mode == "local" && found < seeds*7/10:
				t.Fatalf("the checker found the stale read in only %d of %d seeds with local reads, want most", found, seeds)
			}
			t.Logf("%s reads: %d of %d histories not linearizable", mode, found, seeds)
		})
	}
}

// TestOverridesRejectBadInput: a bad read mode, or a lease without CheckQuorum, is a setup
// error that says what is valid.
func TestOverridesRejectBadInput(t *testing.T) {
	sc, _ := Lookup("happy-path")
	off := false
	for _, ov := range []Overrides{{Reads: "sometimes"}, {Reads: "lease", CheckQuorum: &off}} {
		o := Run(sc, 1, Options{Overrides: ov})
		if o.Err == nil {
			t.Errorf("%+v: no setup error", ov)
			continue
		}
		t.Logf("%+v: %v", ov, o.Err)
	}
}

// TestDisruptionByPreVoteAndCheckQuorum shows thesis §9.6 and §4.2.3 from every side: the
// disruption scenarios' assertions require no disruption with PreVote, CheckQuorum or both
// on, and a visible disruption with both off; each combination passes.
func TestDisruptionByPreVoteAndCheckQuorum(t *testing.T) {
	on, off := true, false
	combos := []struct {
		name                 string
		preVote, checkQuorum *bool
	}{
		{"both-off", &off, &off}, {"prevote-only", &on, &off}, {"checkquorum-only", &off, &on}, {"both-on", &on, &on},
	}
	for _, name := range []string{"removed-server-disrupts", "partial-partition"} {
		sc, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range combos {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				for seed := uint64(1); seed <= 3; seed++ {
					o := Run(sc, seed, Options{Overrides: Overrides{PreVote: c.preVote, CheckQuorum: c.checkQuorum}})
					if o.Failed() || o.Inconclusive() {
						t.Fatalf("%s", Report(&o))
					}
				}
			})
		}
	}
}

// TestLeaseUnsafeBeyondDriftBound shows thesis §6.4.1's condition: a lease is safe only
// while clocks drift within the bound it was computed for. With the cut-off leader's
// clock ten times slow, its lease outlives a new leader's election, and the checker finds
// the stale reads in most seeds.
func TestLeaseUnsafeBeyondDriftBound(t *testing.T) {
	sc, err := Lookup("lease-clock-drift")
	if err != nil {
		t.Fatal(err)
	}
	const seeds = 20
	found := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		o := Run(sc, seed, Options{})
		if o.Failed() || o.Inconclusive() {
			writeVisualization(t, &o)
			t.Fatalf("%s", Report(&o))
		}
		if o.Linearizability.Verdict == linearizability.NotLinearizable {
			found++
		}
	}
	if found < seeds*6/10 {
		t.Fatalf("stale lease reads found in only %d of %d seeds, want most", found, seeds)
	}
	t.Logf("stale lease reads found in %d of %d seeds", found, seeds)
}

// TestSelectTestSeeds: go test's -seed/-seeds refuse what raftsim refuses (both at once, a
// seed 0, a seed above 2^64-1, -seeds 0), and the defaults are -seeds 5, or 200 with -long.
func TestSelectTestSeeds(t *testing.T) {
	tests := []struct {
		name    string
		flags   SeedFlags
		long    bool
		short   bool
		want    []uint64 // nil: the first and last seeds are wantN's
		wantN   int
		wantErr string
	}{
		{name: "default", wantN: quickSeeds},
		{name: "long", long: true, wantN: longSeeds},
		{name: "short", short: true, wantN: shortSeeds},
		{name: "long wins over short", long: true, short: true, wantN: longSeeds},
		{name: "seeds wins over short", flags: SeedFlags{Seeds: "7", SeedsSet: true}, short: true, wantN: 7},
		{name: "seed wins over long", flags: SeedFlags{Seed: "3", SeedSet: true}, long: true, want: []uint64{3}},
		{name: "seeds wins over long", flags: SeedFlags{Seeds: "7", SeedsSet: true}, long: true, wantN: 7},
		{name: "seed and seeds", flags: SeedFlags{Seed: "3", SeedSet: true, Seeds: "50", SeedsSet: true}, wantErr: "not both"},
		{name: "seed 0", flags: SeedFlags{Seed: "0", SeedSet: true}, wantErr: `malformed seed "0"`},
		{name: "seed too big", flags: SeedFlags{Seed: "18446744073709551616", SeedSet: true}, wantErr: "out of range"},
		{name: "seeds 0", flags: SeedFlags{Seeds: "0", SeedsSet: true}, wantErr: "-seeds"},
		{name: "seeds empty", flags: SeedFlags{Seeds: "", SeedsSet: true}, wantErr: "-seeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := selectTestSeeds(tt.flags, tt.long, tt.short)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if !slices.Equal(got, tt.want) {
					t.Errorf("seeds %v, want %v", got, tt.want)
				}
				return
			}
			if len(got) != tt.wantN || got[0] != 1 || got[len(got)-1] != uint64(tt.wantN) {
				t.Errorf("got %d seeds (%v...), want seeds 1..%d", len(got), got[:min(3, len(got))], tt.wantN)
			}
		})
	}
}
