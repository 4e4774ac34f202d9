package scenarios

import (
	"fmt"
	"reflect"
	"testing"

	"raftsim/sim/schedule"
)

// exportSeeds is how many seeds per scenario TestExportReplaysExactly tries (more with
// -long).
const exportSeeds = 2

// TestExportReplaysExactly: for every scenario and a few seeds, a run exported as a timed
// schedule and replayed gives the same run: the same trace hash, the same counts and the
// same outcome.
func TestExportReplaysExactly(t *testing.T) {
	seeds := exportSeeds
	if *longFlag {
		seeds = 10
	}
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					o, sch := Export(sc, seed, Options{})
					if o.Err != nil {
						t.Fatal(o.Err)
					}
					parsed, err := schedule.Parse(sch.Format())
					if err != nil {
						t.Fatalf("the exported schedule does not parse back: %v", err)
					}
					if !reflect.DeepEqual(parsed, sch) {
						t.Fatal("the exported schedule parses back different")
					}
					r := RunTimed(parsed, Options{}, "")
					if r.Err != nil {
						t.Fatalf("replay: %v", r.Err)
					}
					if r.TraceHash != o.TraceHash || r.Counts != o.Counts || FailureKey(&r) != FailureKey(&o) {
						t.Fatalf("the replay of %d actions differs: trace %016x, counts %+v, failure %q; the run: trace %016x, counts %+v, failure %q",
							len(sch.Actions), r.TraceHash, r.Counts, FailureKey(&r), o.TraceHash, o.Counts, FailureKey(&o))
					}
				})
			}
		})
	}
}
