package scenarios

import (
	"testing"
	"time"
)

// BenchmarkStandard runs the standard scenario (see standard) with every check on and
// reports simulated events per wall-clock second and virtual time per wall time.
// Compare figures with: go test ./scenarios -run '^$' -bench Standard -count 6 | benchstat
func BenchmarkStandard(b *testing.B) {
	sc, err := Lookup("standard")
	if err != nil {
		b.Fatal(err)
	}
	var events uint64
	var virtual time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := Run(sc, uint64(i+1), Options{})
		if o.Failed() {
			b.Fatal(Report(&o))
		}
		events += o.Counts.Events
		virtual += o.VirtualTime
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/secs, "events/s")
	b.ReportMetric(virtual.Seconds()/secs, "x-realtime")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}
