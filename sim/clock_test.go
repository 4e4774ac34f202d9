package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"raftsim/node"
)

func TestClockDriftWithinBounds(t *testing.T) {
	for _, drift := range []float64{0, 0.001, 0.05, 0.5} {
		lo, hi := 2.0, 0.0
		for seed := uint64(1); seed <= 500; seed++ {
			c := newClock(drift, seed)
			if c.rate < 1-drift || c.rate > 1+drift {
				t.Fatalf("drift %v seed %d: rate %v outside [1-d, 1+d]", drift, seed, c.rate)
			}
			lo, hi = min(lo, c.rate), max(hi, c.rate)
		}
		if drift > 0 && (lo > 1-drift/2 || hi < 1+drift/2) {
			t.Errorf("drift %v: rates span only [%v, %v]; the draw looks stuck", drift, lo, hi)
		}
		if drift == 0 && (lo != 1 || hi != 1) {
			t.Errorf("no drift, rates [%v, %v]", lo, hi)
		}
	}
}

// TestClockRateNotFused pins each clock rate to its once-rounded-per-operation value,
// 1 + round((2u-1)*d), for many seeds. A compiler that fuses the product into the addition
// (a multiply-add, allowed by the Go spec unless an explicit conversion rounds the product;
// GOAMD64=v3 and arm64 do it) gives another rate, and so another trace, in some seeds: the
// test counts those seeds with math.FMA to show that it would see the difference. .ci/run
// runs it under GOAMD64=v1 and v3.
func TestClockRateNotFused(t *testing.T) {
	const seeds = 20000
	for _, drift := range []float64{0.001, 0.01, 0.05} {
		fusedDiffers := 0
		for seed := uint64(1); seed <= seeds; seed++ {
			u := float64(rand.New(rand.NewPCG(seed, 3)).Float64())
			want := 1 + float64((float64(2*u)-1)*drift)
			if got := newClock(drift, seed).rate; got != want {
				t.Fatalf("drift %v seed %d: rate %v, want %v (the drift product was fused into the addition?)", drift, seed, got, want)
			}
			if math.FMA(float64(2*u)-1, drift, 1) != want {
				fusedDiffers++
			}
		}
		if fusedDiffers == 0 {
			t.Errorf("drift %v: a fused multiply-add changes no rate in %d seeds; the test cannot see fusion", drift, seeds)
		}
		t.Logf("drift %v: a fused multiply-add would change the rate of %d of %d seeds", drift, fusedDiffers, seeds)
	}
}

// TestClockMonotonicAndWakeNeverEarly drives a clock through rate changes and jumps and
// checks that readings never go back and that virtualAt is the earliest virtual time at
// which the clock reaches a local time.
func TestClockMonotonicAndWakeNeverEarly(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		steps []func(c *clock, now time.Duration)
	}{
		{"perfect", 1, nil},
		{"fast", 1.0137, nil},
		{"slow", 0.9731, nil},
		{"rate changes and jumps", 1.01, []func(c *clock, now time.Duration){
			func(c *clock, now time.Duration) { c.setRate(now, 0.5) },
			func(c *clock, now time.Duration) { c.jump(now, 7*time.Millisecond) },
			func(c *clock, now time.Duration) { c.setRate(now, 1.7) },
			func(c *clock, now time.Duration) { c.setRate(now, 1) },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock{rate: tt.rate}
			var last time.Duration
			now := time.Duration(0)
			for i := 0; i < 5000; i++ {
				now += time.Duration(1 + (i*7919)%3_000_001)
				if len(tt.steps) > 0 && i%1000 == 999 {
					before := c.at(now)
					tt.steps[(i/1000)%len(tt.steps)](&c, now)
					if c.at(now) < before {
						t.Fatalf("clock went back at a change: %v -> %v", before, c.at(now))
					}
				}
				r := c.at(now)
				if r < last {
					t.Fatalf("step %d: clock went back from %v to %v", i, last, r)
				}
				last = r
				want := r + time.Duration(1+(i*104729)%50_000_000)
				v := c.virtualAt(want, now)
				if v < now {
					t.Fatalf("virtualAt(%v) = %v, before now %v", want, v, now)
				}
				if c.at(v) < want {
					t.Fatalf("wake early: at virtual %v the clock reads %v < %v", v, c.at(v), want)
				}
				if v > now && c.at(v-1) >= want {
					t.Fatalf("wake late: at virtual %v-1 the clock already reads %v >= %v", v, c.at(v-1), want)
				}
			}
		})
	}
}

// wakeServer asks to be woken every 37 ms of its local clock and records how each wake
// compares with what it asked for.
type wakeServer struct {
	id     node.ID
	want   time.Duration
	wakes  *int
	early  *int
	lastAt *time.Duration
	back   *int
}

func (s *wakeServer) Step(now time.Duration, in node.Input) node.Output {
	if now < *s.lastAt {
		*s.back++
	}
	*s.lastAt = now
	if in.Kind == node.InputWake && s.want != 0 {
		*s.wakes++
		if now < s.want {
			*s.early++
		}
	}
	if s.want == 0 || now >= s.want {
		s.want = now + 37*time.Millisecond
	}
	return node.Output{WakeAt: s.want}
}

func (s *wakeServer) View() node.View { return node.View{ID: s.id, Peers: []node.ID{s.id}} }

// TestWorldClocks: wakes are never early on the node's local clock, the clock never goes
// back through SetClockRate and JumpClock, and a faster clock wakes more often in virtual
// time.
func TestWorldClocks(t *testing.T) {
	var wakes, early, back int
	var lastAt time.Duration
	cfg := DefaultConfig()
	cfg.Nodes = 1
	cfg.Clients = Clients{}
	cfg.Duration = 3 * time.Second
	cfg.Clocks.DriftMax = 0.2
	cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
		return &wakeServer{id: c.ID, wakes: &wakes, early: &early, lastAt: &lastAt, back: &back}, nil
	}
	w := mustNew(t, cfg)
	rate := w.ClockRate(1)
	if rate < 0.8 || rate > 1.2 {
		t.Fatalf("rate %v outside the configured drift", rate)
	}
	var atOne, wakesAtOne int
	w.At(time.Second, "faster", func(w *World) {
		atOne, wakesAtOne = int(w.LocalTime(1)), wakes
		w.SetClockRate(1, 2)
	})
	w.At(2*time.Second, "jump", func(w *World) {
		before := w.LocalTime(1)
		w.JumpClock(1, 500*time.Millisecond)
		if got := w.LocalTime(1) - before; got != 500*time.Millisecond {
			t.Errorf("jump moved the clock by %v", got)
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if early != 0 || back != 0 {
		t.Errorf("%d early wakes, %d backward readings", early, back)
	}
	if time.Duration(atOne) < time.Duration(float64(time.Second)*rate)-time.Microsecond ||
		time.Duration(atOne) > time.Duration(float64(time.Second)*rate)+time.Microsecond {
		t.Errorf("local time at 1 s = %v, want about %v", time.Duration(atOne), time.Duration(float64(time.Second)*rate))
	}
	// Before 1 s: about rate*1000/37 wakes; from 1 s to 2 s at rate 2: about 2000/37.
	first := wakesAtOne
	if want := rate * 1000 / 37; float64(first) < want-2 || float64(first) > want+2 {
		t.Errorf("%d wakes in the first second, want about %.0f", first, want)
	}
	if wakes-first < 2*first-5 {
		t.Errorf("%d wakes after doubling the rate, want about twice %d and more", wakes-first, first)
	}
	kinds := 0
	for _, h := range r.Timeline {
		if h.Kind == HappenClock {
			kinds++
		}
	}
	if kinds != 2 {
		t.Errorf("%d clock happenings on the timeline, want 2", kinds)
	}
}
