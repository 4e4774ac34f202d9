package linearizability

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// rekey moves ops to key, with stamps shifted by offset (to keep them unique when
// histories are combined).
func rekey(ops []Op, key string, offset int64) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		op.Key, op.Call = key, op.Call+offset
		if !op.Unknown {
			op.Return += offset
		}
		out[i] = op
	}
	return out
}

// staleRead is a quick non-linearizable history on key.
func staleRead(key string, offset int64) []Op {
	return rekey([]Op{put(0, "", "p", 1, 2), put(1, "", "q", 3, 4), get(2, "", "p", 5, 6)}, key, offset)
}

// TestEarlyVerdict: once one key is shown illegal the check returns, instead of waiting
// for the keys still searching (porcupine's verbose mode waits for all: on c50-bad, whose
// keys "0" and "9" take more than 20s, that was the whole budget). No search outlives
// Check.
func TestEarlyVerdict(t *testing.T) {
	const budget = 20 * time.Second
	ops := loadKV(t, filepath.Join(dataDir, "kv", "c50-bad.txt"))
	before := runtime.NumGoroutine()
	res, err := Check(ops, budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("c50-bad: %v, explanation of %d ops", res, len(res.Explanation.Ops))
	if res.Verdict != NotLinearizable || res.Elapsed > budget/2 {
		t.Fatalf("%v; want %v well within the %v budget", res, NotLinearizable, budget)
	}
	// A goroutine that has signalled its end may take a moment to exit; one still
	// searching (keys "0" and "9" take porcupine more than 20s) would not.
	after := runtime.NumGoroutine()
	for wait := time.Now(); after > before && time.Since(wait) < 2*time.Second; after = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if after > before {
		t.Errorf("%d goroutines before Check, %d two seconds after: a search outlived it", before, after)
	}
	stopped := 0
	for _, p := range res.parts {
		if p.status == partStopped {
			stopped++
		}
	}
	if stopped == 0 {
		t.Errorf("no search was stopped early: %+v", res.parts)
	}
}

// Which key is explained does not depend on which search finishes first: the first key
// (in key order) shown illegal within decideSteps, else the first shown illegal.
func TestExplainedKeyIsChosenByKeyOrder(t *testing.T) {
	tests := []struct {
		name     string
		ops      []Op
		key      string
		statuses []partStatus // per key, in key order
		quick    bool         // the verdict must come well before the budget
	}{
		{
			// "a" takes ~150k steps, "b" a handful: "b" is found first, "a" explained.
			name: "an earlier quick key that finishes later",
			ops:  append(rekey(hardAppends(8, "no such order"), "a", 0), staleRead("b", 10000)...),
			key:  "a", statuses: []partStatus{partIllegal, partIllegal},
		},
		{
			// "a" needs ~13M steps: it is stopped after decideSteps, "z" explained.
			name: "an earlier key that is not quick",
			ops:  append(rekey(hardAppends(10, "no such order"), "a", 0), staleRead("z", 10000)...),
			key:  "z", statuses: []partStatus{partStopped, partIllegal}, quick: true,
		},
		{
			// "m" comes after "a": stopped as soon as "a" is shown illegal.
			name: "a later key",
			ops:  append(staleRead("a", 0), rekey(hardAppends(10, "no such order"), "m", 10000)...),
			key:  "a", statuses: []partStatus{partIllegal, partStopped}, quick: true,
		},
		{
			// "a" needs ~1.3M steps, more than decideSteps, and no key is quick: the first
			// shown illegal is explained.
			name: "no quick key",
			ops:  append(rekey(hardAppends(9, "no such order"), "a", 0), rekey(hardAppends(6, "fedcba"), "b", 10000)...),
			key:  "a", statuses: []partStatus{partIllegal, partOK},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const budget = 60 * time.Second
			for run := range 2 {
				res, err := Check(tt.ops, budget)
				if err != nil {
					t.Fatal(err)
				}
				if res.Verdict != NotLinearizable || res.Explanation == nil || res.Explanation.Key != tt.key {
					t.Fatalf("run %d: %v, explanation %+v; want key %q explained", run, res, res.Explanation, tt.key)
				}
				for i, p := range res.parts {
					if p.status != tt.statuses[i] {
						t.Errorf("run %d: key %d status %d after %d steps, want %d", run, i, p.status, p.steps, tt.statuses[i])
					}
				}
				if tt.quick && res.Elapsed > budget/4 {
					t.Errorf("run %d: %v for a verdict known after decideSteps steps at most", run, res.Elapsed)
				}
			}
		})
	}
}

func TestVerdictOf(t *testing.T) {
	p := func(s partStatus, steps int) partition { return partition{status: s, steps: steps} }
	slow := decideSteps + 1
	tests := []struct {
		name  string
		parts []partition
		want  Verdict
		index int
	}{
		{"none", nil, Linearizable, -1},
		{"all ok", []partition{p(partOK, 5), p(partOK, slow)}, Linearizable, -1},
		{"a timeout is never a pass", []partition{p(partOK, 5), p(partTimedOut, slow)}, Inconclusive, -1},
		{"an illegal key decides despite timeouts", []partition{p(partTimedOut, 9), p(partIllegal, slow)}, NotLinearizable, 1},
		{"the first quick illegal key", []partition{p(partIllegal, slow), p(partStopped, 3), p(partIllegal, 7), p(partIllegal, 2)}, NotLinearizable, 2},
		{"no quick one: the first illegal", []partition{p(partStopped, slow), p(partIllegal, slow), p(partIllegal, slow)}, NotLinearizable, 1},
	}
	for _, tt := range tests {
		if v, i := verdictOf(tt.parts); v != tt.want || i != tt.index {
			t.Errorf("%s: %v, %d; want %v, %d", tt.name, v, i, tt.want, tt.index)
		}
	}
}

func TestEarlyStopRule(t *testing.T) {
	var s earlyStop
	s.best.Store(1 << 62)
	if s.stop(5, decideSteps+1) {
		t.Error("stopped with no key shown illegal")
	}
	s.shown(3, decideSteps+1) // slow: only the step rule applies
	if s.stop(5, 10) || !s.stop(0, decideSteps+1) {
		t.Error("after a slow illegal key: want only searches past decideSteps stopped")
	}
	s.shown(2, 10) // quick: later keys stop at once
	if !s.stop(3, 1) || s.stop(1, 10) || s.stop(2, 10) {
		t.Error("after quick key 2: want keys after 2 stopped, earlier quick ones running")
	}
	s.shown(4, 10) // a later quick key does not raise the bar
	if !s.stop(3, 1) {
		t.Error("a later illegal key undid an earlier one's stop")
	}
}

// BenchmarkC50BadVerdict measures the time to a verdict on porcupine's c50-bad history,
// with a 20s budget: porcupine's own verbose check of the whole history (what Check ran
// before it searched the keys itself; it waits for every key, and two keys outlast the
// budget) against Check (explanation included). Run it with -benchtime=1x.
func BenchmarkC50BadVerdict(b *testing.B) {
	const budget = 20 * time.Second
	ops := loadKV(b, filepath.Join(dataDir, "kv", "c50-bad.txt"))
	history, _ := toPorcupine(ops)
	b.Run("porcupine-verbose", func(b *testing.B) {
		for b.Loop() {
			if res, _ := porcupine.CheckOperationsVerbose(kvModel, history, budget); res != porcupine.Illegal {
				b.Fatalf("porcupine: %v", res)
			}
		}
	})
	b.Run("Check", func(b *testing.B) {
		for b.Loop() {
			if res, err := Check(ops, budget); err != nil || res.Verdict != NotLinearizable {
				b.Fatalf("%v, %v", res, err)
			}
		}
	})
}
