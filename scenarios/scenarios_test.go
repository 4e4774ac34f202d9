package scenarios

import (
	"flag"
	"testing"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run every scenario with this seed only")
	seedsFlag = flag.Uint64("seeds", 0, "run every scenario with seeds 1..N")
)

// quickSeeds is how many seeds each scenario runs in the default `go test ./...`.
const quickSeeds = 5

// testSeeds is the seeds selected by the flags.
func testSeeds() []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	n := uint64(quickSeeds)
	if *seedsFlag != 0 {
		n = *seedsFlag
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// TestScenarios runs every scenario over the selected seeds. Select scenarios with -run,
// e.g. go test ./scenarios -run 'TestScenarios/leader-crash' -seeds 200.
func TestScenarios(t *testing.T) {
	seeds := testSeeds()
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			failures := 0
			for _, seed := range seeds {
				o := Run(sc, seed, Options{})
				if o.Failed() {
					failures++
					t.Errorf("%s", Report(&o))
					if failures >= 5 {
						t.Fatalf("stopping %s after %d failing seeds", sc.Name, failures)
					}
				}
			}
		})
	}
}
