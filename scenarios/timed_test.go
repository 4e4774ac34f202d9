package scenarios

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"raftsim/linearizability"
	"raftsim/sim"
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

// TestFailureKey: a failure's identity keeps its check, or its assertion's or panic's
// words without the numbers, and an expectation is met by either form.
func TestFailureKey(t *testing.T) {
	assertion := func(msg string) *Outcome { return &Outcome{Assertion: errors.New(msg)} }
	tests := []struct {
		o    *Outcome
		want string
	}{
		{&Outcome{}, ""},
		{&Outcome{Err: errors.New("bad config")}, ""},
		{&Outcome{Result: sim.Result{Failure: &sim.Failure{Check: "Election Safety"}}}, "Election Safety"},
		{&Outcome{Result: sim.Result{Failure: &sim.Failure{Check: "panic", Detail: "node 3: invariant broken: commit 7 > last 5\ngoroutine 1"}}},
			"panic: node invariant broken commit last"},
		{assertion("node 3 took 2 snapshots (at [4 9]), want several"), "assertion: node took snapshots at want several"},
		{assertion("node 5 took 1 snapshots (at [12]), want several\nmore"), "assertion: node took snapshots at want several"},
		{&Outcome{Linearizability: linearizability.Result{Verdict: linearizability.NotLinearizable}}, "Linearizability"},
		{&Outcome{Linearizability: linearizability.Result{Verdict: linearizability.NotLinearizable}, ViolationExpected: true}, ""},
	}
	for _, tt := range tests {
		if got := FailureKey(tt.o); got != tt.want {
			t.Errorf("FailureKey(%+v) = %q, want %q", tt.o, got, tt.want)
		}
	}
	panicked := tests[3].o
	for _, want := range []string{"panic", "panic: node invariant broken commit last"} {
		s := &schedule.Schedule{Expect: schedule.Expect{Kind: schedule.ExpectFail, Check: want}}
		if ok, why := ExpectationMet(s, panicked); !ok {
			t.Errorf("expect fail %q on a panic: %s", want, why)
		}
	}
	s := &schedule.Schedule{Expect: schedule.Expect{Kind: schedule.ExpectFail, Check: "Log Matching"}}
	if ok, _ := ExpectationMet(s, panicked); ok {
		t.Error("expect fail \"Log Matching\" met by a panic")
	}
	if ok, _ := ExpectationMet(&schedule.Schedule{Expect: schedule.Expect{Kind: schedule.ExpectOK}}, panicked); ok {
		t.Error("expect ok met by a panic")
	}
}

// TestStaleReadExplained: the stale reads of a deposed leader serving local reads (thesis
// §6.4) are explained in a few operations, with the anomaly named.
func TestStaleReadExplained(t *testing.T) {
	sc, _ := Lookup("stale-read-partitioned-leader")
	for seed := uint64(1); seed <= 5; seed++ {
		o := Run(sc, seed, Options{Overrides: Overrides{Reads: "local"}})
		e := o.Linearizability.Explanation
		if e == nil || len(e.Ops) > 5 || !strings.HasPrefix(e.Why, "stale read: ") {
			t.Fatalf("seed %d: %v, explanation %+v; want a stale read in at most 5 operations", seed, o.Linearizability, e)
		}
		t.Logf("seed %d: %d operations: %s", seed, len(e.Ops), e.Why)
	}
}
