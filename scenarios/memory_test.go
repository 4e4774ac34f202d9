package scenarios

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"raftsim/sim"
)

// heapAt runs the long-run-bounded-memory scenario for d of virtual time with the given
// snapshot threshold (0: no snapshots), recording the clients' history or not (it grows
// with the run by design: the linearizability check needs all of it), and returns
// the heap in use after a full GC at 25%, 50% and 100% of the run.
func heapAt(t *testing.T, d time.Duration, threshold int, seed uint64, history bool) (heap [3]uint64, res sim.Result) {
	t.Helper()
	sc, err := Lookup("long-run-bounded-memory")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sc.Config(seed)
	cfg.Duration = d
	cfg.Clients.Stop = d - 500*time.Millisecond
	cfg.Clients.NoHistory = !history
	cfg.Node.SnapshotThreshold = threshold
	w, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if threshold > 0 {
		sc.Script(w) // its probes assert the bounded logs; without snapshots they would fail
	}
	for k, frac := range []int{25, 50, 100} {
		w.At(d*time.Duration(frac)/100, "measure the heap", func(*sim.World) {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap[k] = ms.HeapInuse
		})
	}
	res = w.Run()
	if res.Failure != nil {
		t.Fatalf("threshold %d: %v", threshold, res.Failure)
	}
	return heap, res
}

func mb(b uint64) string { return fmt.Sprintf("%.2f MB", float64(b)/(1<<20)) }

// TestLongRunMemoryBounded (L5): over a long run with snapshots the heap in use stays
// flat, while without snapshots it grows with the logs. The clients' history is not
// recorded for this measurement (sim.Clients.NoHistory): it is the one thing that grows
// with the run on purpose.
func TestLongRunMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("long run")
	}
	const d = 120 * time.Second
	with, rw := heapAt(t, d, longRunThreshold, 1, false)
	without, ro := heapAt(t, d, 0, 1, false)
	hist, _ := heapAt(t, d, longRunThreshold, 1, true)
	t.Logf("heap in use at 25%%/50%%/100%% of %v: with snapshots (threshold %d) %s / %s / %s (longest log %d entries, %d commits); without %s / %s / %s (%d commits)",
		d, longRunThreshold, mb(with[0]), mb(with[1]), mb(with[2]), rw.Counts.MaxRetainedLog, rw.Counts.Commits,
		mb(without[0]), mb(without[1]), mb(without[2]), ro.Counts.Commits)
	grewWith := int64(with[2]) - int64(with[0])
	grewWithout := int64(without[2]) - int64(without[0])
	t.Logf("growth from 25%% to 100%%: %+.2f MB with snapshots, %+.2f MB without; with snapshots and the clients' history recorded %s / %s / %s",
		float64(grewWith)/(1<<20), float64(grewWithout)/(1<<20), mb(hist[0]), mb(hist[1]), mb(hist[2]))
	// Without snapshots the five logs (and the checker's records) grow by every entry
	// committed in the last three quarters; with them nothing should grow with the run but
	// the timeline (bounded) and the scenario's scheduled probes (a few bytes each).
	if grewWithout < 1<<20 {
		t.Fatalf("without snapshots the heap grew by only %d bytes: the measurement does not see the logs", grewWithout)
	}
	if grewWith > grewWithout/4 {
		t.Errorf("with snapshots the heap grew by %s from 25%% to 100%% of the run, more than a quarter of the %s it grew without",
			mb(uint64(max(grewWith, 0))), mb(uint64(grewWithout)))
	}
}
