package sim

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

// TestWorkLimitsDerivation works the derivation of Config.WorkLimits through by hand for
// the standard configuration (5 servers, 5 clients and the admin client, heartbeat 50 ms,
// election timeout from 150 ms, delay 1-10 ms with a tail to 100 ms, 1% duplication), and
// checks that each input it names moves the limits the way the derivation says.
func TestWorkLimitsDerivation(t *testing.T) {
	cfg := DefaultConfig()
	// Per second: heartbeats 5*4*2*20 = 800; elections 5*4*4*ceil(1s/150ms) = 5*4*4*7 = 560;
	// catch-up 4/1ms = 4000; operations (6 clients/(2*1ms) = 3000) * 2*4 = 24000.
	// R = 29360; messages R*1.01 = 29653. Deliveries 29653*1.01 = 29949, client packets
	// 3000*2*1.01 = 6060, resends 6*10 = 60: 36069 packets. Timers 5*(20+2*7) + 60 = 230.
	// In flight: 36069 packets/s * 100 ms = 3607, + 5*5 pairs + 6 clients = 3638.
	want := WorkNeed{Events: 36069 + 230, Messages: 29653, InFlight: 3638}
	l := cfg.WorkLimits()
	if l.Need != want {
		t.Fatalf("standard need %+v, want %+v", l.Need, want)
	}
	if l.EventsPerWindow != WorkSafetyFactor*want.Events || l.MessagesPerWindow != WorkSafetyFactor*want.Messages ||
		l.InFlight != WorkSafetyFactor*want.InFlight {
		t.Fatalf("limits %+v are not %d times the need", l, WorkSafetyFactor)
	}
	grows := []struct {
		name   string
		change func(c *Config)
	}{
		{"more servers", func(c *Config) { c.Nodes = 7 }},
		{"spares", func(c *Config) { c.Spares = 2 }},
		{"more clients", func(c *Config) { c.Clients.Count = 20 }},
		{"shorter heartbeat", func(c *Config) { c.Node.HeartbeatInterval = 10 * time.Millisecond }},
		{"shorter election timeout", func(c *Config) { c.Node.ElectionTimeoutMin = 60 * time.Millisecond }},
		{"shorter delay", func(c *Config) { c.Net.DelayMin = 200 * time.Microsecond }},
		{"more duplication", func(c *Config) { c.Net.DuplicateProbability = 0.5 }},
		{"the proposer", func(c *Config) { c.Load = Workload{IntervalMin: time.Millisecond, IntervalMax: 2 * time.Millisecond} }},
	}
	for _, g := range grows {
		c := DefaultConfig()
		g.change(&c)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		n := c.WorkLimits().Need
		if n.Events <= want.Events || n.Messages <= want.Messages || n.InFlight <= want.InFlight {
			t.Errorf("%s: need %+v does not grow from %+v", g.name, n, want)
		}
	}
	// Longer delays need more packets in flight, not more per second.
	c := DefaultConfig()
	c.Net.TailMax = time.Second
	if n := c.WorkLimits().Need; n.InFlight <= want.InFlight || n.Events != want.Events {
		t.Errorf("a longer tail: need %+v, want more in flight than %+v and the same rates", n, want)
	}
	// A delay near netsim.MaxDelayBound saturates instead of overflowing.
	c.Net.DelayMax, c.Net.TailMax = time.Duration(1<<60), time.Duration(1<<61)
	if l := c.WorkLimits(); l.InFlight < want.InFlight || l.InFlight/WorkSafetyFactor != l.Need.InFlight {
		t.Errorf("huge delays: limits %+v overflowed", l)
	}
}

// runaway wraps servers with a bug (the hook tampers with each step's output) and returns
// the run's configuration.
type runaway struct {
	name   string
	change func(c *Config)
	bug    func(b *bugState, id node.ID, now time.Duration, in node.Input, out *node.Output)
	want   string // what the Work Bound failure must say went over its limit
}

// bugState is what a buggy server remembers: the last AppendEntries it sent to each peer.
type bugState struct {
	lastApp map[[2]node.ID]node.Message
}

// resendOnReply is the bug of the issue: a leader that answers every AppendEntries reply
// by resending its last AppendEntries to that follower, times copies. With copies 2 the
// chains of resends double every round trip; with copies 1 they multiply by each
// duplicated reply.
func resendOnReply(copies int) func(b *bugState, id node.ID, now time.Duration, in node.Input, out *node.Output) {
	return func(b *bugState, id node.ID, now time.Duration, in node.Input, out *node.Output) {
		for _, m := range out.Messages {
			if m.Type == node.MsgApp {
				b.lastApp[[2]node.ID{id, m.To}] = m
			}
		}
		if in.Kind != node.InputMessage || in.Message.Type != node.MsgAppResp {
			return
		}
		if m, ok := b.lastApp[[2]node.ID{id, in.Message.From}]; ok {
			for range copies {
				out.Messages = append(out.Messages, m)
			}
		}
	}
}

// TestWorkBound: runs whose servers multiply messages, wake themselves in a storm, or spam
// messages fail with the Work Bound check, within one window's event budget, with little
// memory, and the failure replays exactly. (Without the check each of them runs for
// hours, the first two with memory growing without bound.)
func TestWorkBound(t *testing.T) {
	tests := []runaway{
		{name: "resend twice on every reply", bug: resendOnReply(2), want: "packets in flight"},
		{name: "resend on every reply, 40% duplication", bug: resendOnReply(1), want: "packets in flight",
			change: func(c *Config) { c.Net.DuplicateProbability = 0.4 }},
		{name: "wake storm", want: "events processed in the window",
			bug: func(_ *bugState, _ node.ID, now time.Duration, _ node.Input, out *node.Output) {
				out.WakeAt = now + time.Microsecond
			}},
		{name: "message spam into a lossy network", want: "messages sent in the window",
			change: func(c *Config) { c.Net.LossProbability = 1 },
			bug: func(_ *bugState, id node.ID, now time.Duration, in node.Input, out *node.Output) {
				if in.Kind != node.InputWake {
					return
				}
				out.WakeAt = now + 10*time.Microsecond
				for to := node.ID(1); to <= 5; to++ {
					if to != id {
						out.Messages = append(out.Messages, node.Message{Type: node.MsgAppResp, From: id, To: to, Term: 1}, node.Message{Type: node.MsgAppResp, From: id, To: to, Term: 1})
					}
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cfg, r := runRunaway(t, tc, nil)
			runtime.ReadMemStats(&after)
			checkStopped(t, cfg, r)
			f := r.Failure
			if f.Check != WorkBoundCheck || !strings.Contains(f.Detail, tc.want) {
				t.Fatalf("failure %v, want the %s check on %s", f, WorkBoundCheck, tc.want)
			}
			l := cfg.WorkLimits()
			if r.Counts.Events > 2*l.EventsPerWindow {
				t.Errorf("it took %d events to fail, more than two windows' limit %d", r.Counts.Events, l.EventsPerWindow)
			}
			if r.Counts.PeakInFlight > l.InFlight+64 {
				t.Errorf("%d packets were in flight, over the limit %d by more than one step's messages", r.Counts.PeakInFlight, l.InFlight)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Errorf("the run allocated %d MB before failing", alloc>>20)
			}
			_, again := runRunaway(t, tc, nil)
			if again.TraceHash != r.TraceHash || again.VirtualTime != r.VirtualTime || again.Failure.Detail != f.Detail {
				t.Errorf("replay differs: %016x at %v (%s), first %016x at %v (%s)",
					again.TraceHash, again.VirtualTime, again.Failure.Detail, r.TraceHash, r.VirtualTime, f.Detail)
			}
			t.Logf("%v after %d events, %d messages sent, %d allocated MB", f, r.Counts.Events, r.Counts.MessagesSent, (after.TotalAlloc-before.TotalAlloc)>>20)
		})
	}
}

// runRunaway runs the standard configuration with tc's bug in every server.
func runRunaway(t *testing.T, tc runaway, trace func(string)) (Config, Result) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Scenario, cfg.Duration, cfg.Trace = "runaway", time.Hour, trace
	if tc.change != nil {
		tc.change(&cfg)
	}
	b := &bugState{lastApp: map[[2]node.ID]node.Message{}}
	if tc.bug != nil {
		cfg.NewServer = hooked(func(id node.ID, now time.Duration, in node.Input, out *node.Output) {
			tc.bug(b, id, now, in, out)
		}, nil)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, w.Run()
}

// TestInterrupt: Config.Interrupt stops a run where it answers true, and only stops it:
// the interrupted run's trace is a prefix of the uninterrupted one's, it reports
// Interrupted and no failure, and skips the end-of-run check.
func TestInterrupt(t *testing.T) {
	var full []string
	cfg, r := runRunaway(t, runaway{change: func(c *Config) { c.Duration = 10 * time.Second }}, func(l string) { full = append(full, l) })
	if r.Failure != nil || r.Interrupted {
		t.Fatalf("the healthy run failed or was interrupted: %v", r.Failure)
	}
	polls := 0
	var cut []string
	cfg.Trace = func(l string) { cut = append(cut, l) }
	cfg.Interrupt = func() bool { polls++; return polls == 2 }
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ir := w.Run()
	switch {
	case !ir.Interrupted || ir.Failure != nil:
		t.Fatalf("interrupted run: Interrupted %v, failure %v", ir.Interrupted, ir.Failure)
	case polls != 2:
		t.Fatalf("Interrupt polled %d times after answering true at the second", polls)
	case ir.VirtualTime >= cfg.Duration || ir.Counts.Events >= r.Counts.Events:
		t.Fatalf("interrupted at %v after %d events; the full run reached %v after %d", ir.VirtualTime, ir.Counts.Events, r.VirtualTime, r.Counts.Events)
	}
	last := len(cut) - 1 // the interruption's own line
	if !strings.Contains(cut[last], "interrupted") || !slices.Equal(cut[:last], full[:last]) {
		t.Fatalf("the interrupted run's trace (%d lines) is not a prefix of the full run's (%d lines) plus the interruption; it ends %q",
			len(cut), len(full), cut[last])
	}
}
