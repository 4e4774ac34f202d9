package sim

import (
	"testing"
	"time"
)

func TestZZProbe(t *testing.T) {
	for _, idle := range []bool{false, true} {
		c := DefaultConfig()
		if idle {
			c.Load = Workload{}
		}
		w, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		st := time.Now()
		r := w.Run()
		t.Logf("idle=%v %v %+v fail=%v hash=%x", idle, time.Since(st), r.Counts, r.Failure, r.TraceHash)
	}
	t.Logf("%#x %#x %#x", deriveSeed(1, streamNetwork, 0, 0), deriveSeed(42, streamNodeTimer, 3, 2), deriveSeed(0, 0, 0, 0))
}
