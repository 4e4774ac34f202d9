package explore

import (
	"runtime/debug"
	"testing"
	"time"
)

// BenchmarkBFS measures breadth-first search of the standard small space (3 nodes, one
// client operation, highest term 2, depth 8, every check on) on one worker and on every
// CPU, in distinct states per second of wall time. The garbage collector runs at
// GOGC=400, as in raftsim explore.
func BenchmarkBFS(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	for _, bc := range []struct {
		name    string
		workers int
	}{{"workers=1", 1}, {"workers=all", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			o := small(8)
			o.Workers = bc.workers
			var distinct int
			start := time.Now()
			for range b.N {
				r, err := Explore(o)
				if err != nil || r.Verdict != Exhausted {
					b.Fatal(err, r.Verdict)
				}
				distinct += r.Stats.Distinct
			}
			b.ReportMetric(float64(distinct)/time.Since(start).Seconds(), "states/s")
		})
	}
}
