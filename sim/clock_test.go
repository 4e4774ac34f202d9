package sim

import (
	"math"
	"math/rand/v2"
	"raftsim/sim/check"
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

func TestClockDriftWithinBounds(t *testing.T) {
	for _, drift := range []float64{0, 0.001, 0.05, 0.5} {
		lo, hi := 2.0, 0.0
		for seed := uint64(1); seed <= 500; seed++ {
			c := newClock(&Clocks{DriftMax: drift}, 1, seed)
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
			if got := newClock(&Clocks{DriftMax: drift}, 1, seed).rate; got != want {
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

// TestClockMonotonicAndWakeNeverEarly drives a clock through rate changes and wall-clock
// steps and checks that the monotonic reading never goes back (nor, for a server reading
// it, what the server reads), and that virtualAt is the earliest virtual time at which
// the clock the server reads reaches a local time, also for a server that reads a wall
// clock stepped back and forth.
func TestClockMonotonicAndWakeNeverEarly(t *testing.T) {
	changes := []func(c *clock, now time.Duration){
		func(c *clock, now time.Duration) { c.setRate(now, 0.5) },
		func(c *clock, now time.Duration) { c.jump(7 * time.Millisecond) },
		func(c *clock, now time.Duration) { c.setRate(now, 1.7) },
		func(c *clock, now time.Duration) { c.jump(-300 * time.Millisecond) },
		func(c *clock, now time.Duration) { c.setRate(now, 1) },
		func(c *clock, now time.Duration) { c.jump(-2 * time.Second) },
	}
	tests := []struct {
		name     string
		rate     float64
		nodeWall bool
		steps    []func(c *clock, now time.Duration)
	}{
		{"perfect", 1, false, nil},
		{"fast", 1.0137, false, nil},
		{"slow", 0.9731, false, nil},
		{"rate changes and wall steps, monotonic server", 1.01, false, changes},
		{"rate changes and wall steps, wall-clock server", 1.01, true, changes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clock{rate: tt.rate, wall: wallEpoch, nodeWall: tt.nodeWall}
			var last, lastRead time.Duration
			now := time.Duration(0)
			backs := 0
			for i := 0; i < 6000; i++ {
				now += time.Duration(1 + (i*7919)%3_000_001)
				if len(tt.steps) > 0 && i%1000 == 999 {
					tt.steps[(i/1000)%len(tt.steps)](&c, now)
				}
				r, read := c.at(now), c.read(now)
				if r < last {
					t.Fatalf("step %d: the monotonic clock went back from %v to %v", i, last, r)
				}
				if read < lastRead {
					if !tt.nodeWall {
						t.Fatalf("step %d: a monotonic server's clock went back from %v to %v", i, lastRead, read)
					}
					backs++
				}
				if tt.nodeWall != (read != r) || c.wallAt(now) != r+c.wall {
					t.Fatalf("step %d: readings mono %v, wall %v, read %v (nodeWall %v)", i, r, c.wallAt(now), read, tt.nodeWall)
				}
				last, lastRead = r, read
				want := read + time.Duration(1+(i*104729)%50_000_000)
				v := c.virtualAt(want, now)
				if v < now {
					t.Fatalf("virtualAt(%v) = %v, before now %v", want, v, now)
				}
				if c.read(v) < want {
					t.Fatalf("wake early: at virtual %v the clock reads %v < %v", v, c.read(v), want)
				}
				if v > now && c.read(v-1) >= want {
					t.Fatalf("wake late: at virtual %v-1 the clock already reads %v >= %v", v, c.read(v-1), want)
				}
			}
			if tt.nodeWall && backs == 0 {
				t.Error("the wall-clock server never saw its clock go back: the backward steps did nothing")
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

// wakeWorld is a one-server world of a wakeServer whose counters the caller reads.
type wakeWorld struct {
	wakes, early, back int
	lastAt             time.Duration
}

func (ww *wakeWorld) config(wallClock bool) Config {
	cfg := DefaultConfig()
	cfg.Nodes = 1
	cfg.Clients = Clients{}
	cfg.Duration = 3 * time.Second
	cfg.Clocks.DriftMax = 0.2
	if wallClock {
		cfg.Clocks.WallClockServers = []node.ID{1}
	}
	cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
		return &wakeServer{id: c.ID, wakes: &ww.wakes, early: &ww.early, lastAt: &ww.lastAt, back: &ww.back}, nil
	}
	return cfg
}

// TestWorldClocks: wakes are never early on the server's clock; a faster clock wakes more
// often in virtual time; a wall-clock step, forward or back, changes nothing a server
// timing on its monotonic clock (the default) sees, and only its wall clock moves.
func TestWorldClocks(t *testing.T) {
	var ww wakeWorld
	w := mustNew(t, ww.config(false))
	rate := w.ClockRate(1)
	if rate < 0.8 || rate > 1.2 {
		t.Fatalf("rate %v outside the configured drift", rate)
	}
	if got := w.WallTime(1) - w.LocalTime(1); got != wallEpoch {
		t.Fatalf("at the start the wall clock reads %v past the monotonic one, want %v", got, wallEpoch)
	}
	var atOne, wakesAtOne int
	w.At(time.Second, "faster", func(w *World) {
		atOne, wakesAtOne = int(w.LocalTime(1)), ww.wakes
		w.SetClockRate(1, 2)
	})
	for _, jump := range []struct {
		at time.Duration
		by time.Duration
	}{{2 * time.Second, 500 * time.Millisecond}, {2500 * time.Millisecond, -1500 * time.Millisecond}} {
		w.At(jump.at, "jump", func(w *World) {
			local, wall := w.LocalTime(1), w.WallTime(1)
			w.JumpClock(1, jump.by)
			if got := w.LocalTime(1); got != local {
				t.Errorf("a wall-clock step of %v moved the server's monotonic clock from %v to %v", jump.by, local, got)
			}
			if got := w.WallTime(1) - wall; got != jump.by {
				t.Errorf("a wall-clock step of %v moved the wall clock by %v", jump.by, got)
			}
		})
	}
	r := w.Run()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if ww.early != 0 || ww.back != 0 {
		t.Errorf("%d early wakes, %d backward readings", ww.early, ww.back)
	}
	if time.Duration(atOne) < time.Duration(float64(time.Second)*rate)-time.Microsecond ||
		time.Duration(atOne) > time.Duration(float64(time.Second)*rate)+time.Microsecond {
		t.Errorf("local time at 1 s = %v, want about %v", time.Duration(atOne), time.Duration(float64(time.Second)*rate))
	}
	// Before 1 s: about rate*1000/37 wakes; from 1 s on at rate 2: about 2000/37 a second,
	// the steps of the wall clock notwithstanding.
	first := wakesAtOne
	if want := rate * 1000 / 37; float64(first) < want-2 || float64(first) > want+2 {
		t.Errorf("%d wakes in the first second, want about %.0f", first, want)
	}
	if want := 2 * 2000 / 37; ww.wakes-first < want-3 || ww.wakes-first > want+3 {
		t.Errorf("%d wakes in the last two seconds at rate 2, want about %d", ww.wakes-first, want)
	}
	if n := clockHappenings(r); n != 3 {
		t.Errorf("%d clock happenings on the timeline, want 3", n)
	}
}

func clockHappenings(r Result) int {
	n := 0
	for _, h := range r.Timeline {
		if h.Kind == HappenClock {
			n++
		}
	}
	return n
}

// TestWallClockServer: a server timing on its wall clock sees a forward step as time
// passing at once and a backward step as its clock going back (an input in between reads
// less than the one before; its next wake comes that much later in virtual time); wakes
// are never early on the clock it reads.
func TestWallClockServer(t *testing.T) {
	var ww wakeWorld
	cfg := ww.config(true)
	cfg.Clocks.DriftMax = 0
	w := mustNew(t, cfg)
	if got := w.LocalTime(1); got != wallEpoch {
		t.Fatalf("a wall-clock server reads %v at the start, want the wall clock's %v", got, wallEpoch)
	}
	var before, after int
	w.At(time.Second+time.Millisecond, "forward", func(w *World) {
		local := w.LocalTime(1)
		w.JumpClock(1, 500*time.Millisecond)
		if got := w.LocalTime(1) - local; got != 500*time.Millisecond {
			t.Errorf("a forward step of 500ms moved the server's clock by %v", got)
		}
	})
	w.At(2*time.Second, "back", func(w *World) {
		before = ww.wakes
		w.JumpClock(1, -time.Second)
	})
	// An input other than a wake (here a forced campaign) shows the server its clock
	// gone back.
	w.At(2100*time.Millisecond, "campaign", func(w *World) { w.Campaign(1) })
	w.At(2900*time.Millisecond, "count", func(w *World) { after = ww.wakes })
	r := w.Run()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if ww.early != 0 {
		t.Errorf("%d early wakes", ww.early)
	}
	if ww.back != 1 {
		t.Errorf("the server saw its clock go back %d times, want once", ww.back)
	}
	// Stepped back by 1 s at 2 s, the clock reaches the wanted wake-up (at most 37 ms
	// ahead of the old reading) only after about 1 s more: nothing until then.
	if after != before {
		t.Errorf("%d wakes in the 900 ms after a step back of 1 s, want none", after-before)
	}
	if n := clockHappenings(r); n != 2 {
		t.Errorf("%d clock happenings on the timeline, want 2", n)
	}
}

// TestJumpClockRefuses: a jump of zero, or one taking the wall clock to zero or below, is
// a scenario bug.
func TestJumpClockRefuses(t *testing.T) {
	for _, by := range []time.Duration{0, -wallEpoch, -wallEpoch - time.Hour} {
		var ww wakeWorld
		w := mustNew(t, ww.config(false))
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("JumpClock(1, %v) did not panic", by)
				}
			}()
			w.JumpClock(1, by)
		}()
	}
}

// leaseConfig is a 5-server run with lease reads (and CheckQuorum) on a reliable network,
// its clocks adversarial at ±drift (the leader slow, the others fast), its servers
// computing their leases for a drift of nodeDrift, and clients that mostly read.
func leaseConfig(seed uint64, drift, nodeDrift float64) Config {
	c := reliableConfig()
	c.Seed = seed
	c.Duration = 7 * time.Second
	c.Node.ReadMode, c.Node.CheckQuorum = node.ReadLease, true
	c.Node.MaxClockDrift = nodeDrift
	c.Clocks.DriftMax, c.Clocks.Adversarial = drift, true
	c.Clients.Keys = 3
	c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 20, 1, 1
	c.Clients.GiveUpAfter = 300 * time.Millisecond
	return c
}

// cutLeaderRepeatedly cuts the leader off with client 1 for 600 ms every second from 1 s
// on: the majority elects a new leader while client 1 still reads from the old one, whose
// lease must have run out by then.
func cutLeaderRepeatedly(w *World, then func(w *World, old node.ID)) {
	for at := time.Second; at < w.Config().Duration-time.Second; at += time.Second {
		w.At(at, "cut off the leader with client 1", func(w *World) {
			if l := w.Leader(); l != node.None {
				w.Partition([]node.ID{l, w.ClientAddr(1)})
				if then != nil {
					then(w, l)
				}
			}
		})
		w.At(at+600*time.Millisecond, "heal", func(w *World) { w.Heal() })
	}
}

// TestAdversarialClocks: with Clocks.Adversarial every clock runs at an edge of the
// bound, the leader's slow and the others' fast, following leadership as it moves.
func TestAdversarialClocks(t *testing.T) {
	const drift = 0.05
	if r := newClock(&Clocks{DriftMax: drift, Adversarial: true}, 1, 1).rate; r != 1+drift {
		t.Fatalf("an adversarial clock starts at rate %v, want %v", r, 1+drift)
	}
	w := mustNew(t, leaseConfig(1, drift, drift))
	checked, leaders := 0, map[node.ID]bool{}
	for at := 10 * time.Millisecond; at < w.Config().Duration; at += 10 * time.Millisecond {
		w.At(at, "rates", func(w *World) {
			for id := node.ID(1); int(id) <= w.Nodes(); id++ {
				want := 1 + drift
				if w.View(id).Role == node.Leader {
					want, leaders[id] = 1-drift, true
				}
				if got := w.ClockRate(id); got != want {
					t.Errorf("at %v node %d (%v) runs at %v, want %v", w.Now(), id, w.View(id).Role, got, want)
				}
				checked++
			}
		})
	}
	cutLeaderRepeatedly(w, nil)
	if r := w.Run(); r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if len(leaders) < 2 || checked == 0 {
		t.Errorf("%d rates checked, %d servers led: want leadership to move", checked, len(leaders))
	}
}

// leaseSweep runs leaseConfig with the leader cut off repeatedly over seeds 1..n and
// returns the results.
func leaseSweep(t *testing.T, n int, drift, nodeDrift float64, then func(w *World, old node.ID)) []Result {
	var rs []Result
	for seed := uint64(1); seed <= uint64(n); seed++ {
		w := mustNew(t, leaseConfig(seed, drift, nodeDrift))
		cutLeaderRepeatedly(w, then)
		rs = append(rs, w.Run())
	}
	return rs
}

// TestLeaseSafetyAtTheBound: with the clocks at the edges of the drift bound in opposite
// directions, leases computed for that bound hold (thesis §6.4.1): no read accepted under
// a lease after a newer leader took office, over many leader cuts.
func TestLeaseSafetyAtTheBound(t *testing.T) {
	reads := uint64(0)
	for _, r := range leaseSweep(t, 20, 0.1, 0.1, nil) {
		if r.Failure != nil {
			t.Fatalf("seed %d: %v", r.Seed, r.Failure)
		}
		reads += r.Counts.LeaseReads
	}
	if reads < 1000 {
		t.Errorf("%d reads under a lease in 20 runs: the check was hardly exercised", reads)
	}
}

// TestLeaseSafetyCatchesUnshrunkLease plants a bug: the servers compute their leases for
// perfect clocks (MaxClockDrift 0: the lease lasts the whole ElectionTimeoutMin, not
// shrunk by (1-d)/(1+d)) while the clocks drift by 10% at the adversarial edges. A cut-off
// leader's lease then outlives the majority's election often enough for the Lease
// Safety check to fail runs, with no help from the client history.
func TestLeaseSafetyCatchesUnshrunkLease(t *testing.T) {
	const seeds = 20
	caught := 0
	for _, r := range leaseSweep(t, seeds, 0.1, 0, nil) {
		switch {
		case r.Failure == nil:
		case r.Failure.Check == check.LeaseSafety:
			caught++
		default:
			t.Fatalf("seed %d failed another check: %v", r.Seed, r.Failure)
		}
	}
	t.Logf("Lease Safety caught the unshrunk lease in %d of %d seeds", caught, seeds)
	if caught == 0 {
		t.Fatalf("the unshrunk lease went unnoticed in all %d seeds", seeds)
	}
}

// TestLeaseSafetyBeyondBoundRecorded: once a scenario drives a clock beyond the bound
// (the cut-off leader's clock slowed to a tenth), no lease is promised: the violations
// are counted and the first kept, and the run goes on.
func TestLeaseSafetyBeyondBoundRecorded(t *testing.T) {
	slow := func(w *World, old node.ID) { w.SetClockRate(old, 0.1) }
	seen := 0
	for _, r := range leaseSweep(t, 5, 0.05, 0.05, slow) {
		if r.Failure != nil {
			t.Fatalf("seed %d: %v", r.Seed, r.Failure)
		}
		if (r.LeaseViolation == nil) != (r.Counts.LeaseViolations == 0) {
			t.Fatalf("seed %d: %d violations counted, first %v", r.Seed, r.Counts.LeaseViolations, r.LeaseViolation)
		}
		if v := r.LeaseViolation; v != nil {
			seen++
			if v.Check != check.LeaseSafety || !strings.Contains(v.Detail, "expected: the clocks left the lease's bound") {
				t.Fatalf("seed %d: recorded %v", r.Seed, v)
			}
		}
	}
	if seen == 0 {
		t.Fatal("a leader whose clock runs at a tenth of real speed broke no lease in 5 seeds")
	}
}
