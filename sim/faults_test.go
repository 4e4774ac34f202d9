package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

// followerOf returns the lowest-numbered live node other than leader.
func followerOf(w *World, leader node.ID) node.ID {
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if id != leader && w.Up(id) {
			return id
		}
	}
	return node.None
}

func sameLog(a, b []node.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].SameAs(b[i]) {
			return false
		}
	}
	return true
}

// TestCrashRestart crashes a follower of a busy cluster, checks that it is down and that
// messages to it are dropped, restarts it, and checks that it came back with exactly the
// term, vote and log of its disk, and then catches up.
func TestCrashRestart(t *testing.T) {
	cfg := reliableConfig()
	cfg.Duration = 4 * time.Second
	w := mustNew(t, cfg)
	var victim node.ID
	var atCrash node.DurableState
	var droppedAtCrash, eventsAtCrash uint64
	w.At(time.Second, "crash a follower", func(w *World) {
		leader := w.Leader()
		if leader == node.None {
			t.Fatalf("no leader after 1 s on a reliable network:\n%s", w.Describe())
		}
		victim = followerOf(w, leader)
		before := w.View(victim)
		w.Crash(victim)
		if w.Up(victim) {
			t.Fatalf("node %d is up after Crash", victim)
		}
		if c := w.Counts(); c.Crashes != 1 {
			t.Errorf("Counts.Crashes = %d after one crash", c.Crashes)
		}
		atCrash = w.Disk(victim)
		if len(atCrash.Log) == 0 || atCrash.HardState.Term == 0 {
			t.Fatalf("node %d's disk is empty at its crash (term %d, %d entries): nothing to preserve",
				victim, atCrash.HardState.Term, len(atCrash.Log))
		}
		// The disk holds what the server had: synchronous writes lose nothing.
		if atCrash.HardState.Term != before.Term || atCrash.HardState.Vote != before.Vote || !sameLog(atCrash.Log, before.Log) {
			t.Errorf("disk at crash (term %d vote %d, %d entries) differs from the view before it (term %d vote %d, %d entries)",
				atCrash.HardState.Term, atCrash.HardState.Vote, len(atCrash.Log), before.Term, before.Vote, len(before.Log))
		}
		// Crashing a crashed node does nothing.
		events := w.Counts().Events
		w.Crash(victim)
		if c := w.Counts(); c.Crashes != 1 || c.Events != events {
			t.Errorf("a second Crash counted: %d crashes, %d events (was %d)", c.Crashes, c.Events, events)
		}
		droppedAtCrash, eventsAtCrash = w.Counts().MessagesDropped, w.Counts().Events
	})
	w.At(1500*time.Millisecond, "while down", func(w *World) {
		c := w.Counts()
		// The leader keeps sending to the victim (heartbeats, appends): every copy is
		// dropped on arrival. Several heartbeat intervals have passed.
		if c.MessagesDropped < droppedAtCrash+5 {
			t.Errorf("messages dropped went from %d to %d in 500 ms with node %d down; want the leader's messages to it dropped",
				droppedAtCrash, c.MessagesDropped, victim)
		}
		if c.Events <= eventsAtCrash {
			t.Errorf("no events while node %d was down", victim)
		}
		if w.Up(victim) {
			t.Errorf("node %d came up on its own", victim)
		}
		// A crashed node's disk does not change, and it cannot take proposals or campaign.
		if d := w.Disk(victim); !sameLog(d.Log, atCrash.Log) || d.HardState != atCrash.HardState {
			t.Errorf("node %d's disk changed while it was down", victim)
		}
		if p := w.Propose(victim, "to a dead node"); p.Accepted {
			t.Errorf("a crashed node accepted a proposal: %+v", p)
		}
		events := w.Counts().Events
		w.Campaign(victim)
		if w.Counts().Events != events || w.Up(victim) {
			t.Errorf("Campaign on a crashed node did something")
		}
	})
	w.At(2*time.Second, "restart", func(w *World) {
		disk := w.Disk(victim)
		if !sameLog(disk.Log, atCrash.Log) || disk.HardState != atCrash.HardState {
			t.Errorf("node %d's disk changed while it was down", victim)
		}
		w.Restart(victim)
		if !w.Up(victim) {
			t.Fatalf("node %d is not up after Restart", victim)
		}
		v := w.View(victim)
		if v.Term != disk.HardState.Term || v.Vote != disk.HardState.Vote {
			t.Errorf("restarted node %d has term %d vote %d, its disk term %d vote %d", victim, v.Term, v.Vote, disk.HardState.Term, disk.HardState.Vote)
		}
		if !sameLog(v.Log, disk.Log) {
			t.Errorf("restarted node %d has %d entries, its disk %d (or they differ)", victim, len(v.Log), len(disk.Log))
		}
		if v.Role != node.Follower {
			t.Errorf("restarted node %d is %v, want follower", victim, v.Role)
		}
		if c := w.Counts(); c.Restarts != 1 {
			t.Errorf("Counts.Restarts = %d after one restart", c.Restarts)
		}
		// Restarting a live node does nothing.
		w.Restart(victim)
		if c := w.Counts(); c.Restarts != 1 {
			t.Errorf("Restart of a live node counted: %d restarts", c.Restarts)
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v\n%s", r.Failure, w.Describe())
	}
	// The restarted node caught up with the cluster.
	if v := w.View(victim); int(v.CommitIndex) < len(atCrash.Log) || len(v.Log) <= len(atCrash.Log) {
		t.Errorf("restarted node %d did not catch up: commit %d, %d entries (had %d at its crash)", victim, v.CommitIndex, len(v.Log), len(atCrash.Log))
	}
	var crashed, restarted bool
	for _, h := range r.Timeline {
		crashed = crashed || h.Kind == HappenCrash && h.Node == victim && h.Time == time.Second
		restarted = restarted || h.Kind == HappenRestart && h.Node == victim && h.Time == 2*time.Second
	}
	if !crashed || !restarted {
		t.Errorf("timeline lacks the crash (%v) or the restart (%v): %+v", crashed, restarted, r.Timeline)
	}
}

// TestCrashedLeaderIsReplaced crashes the leader: messages to it are dropped and another
// node takes office in a higher term.
func TestCrashedLeaderIsReplaced(t *testing.T) {
	cfg := reliableConfig()
	cfg.Duration = 3 * time.Second
	w := mustNew(t, cfg)
	var old node.ID
	var oldTerm node.Term
	w.At(time.Second, "crash the leader", func(w *World) {
		old = w.Leader()
		oldTerm = w.View(old).Term
		w.Crash(old)
		if w.Leader() == old {
			t.Errorf("Leader() still names crashed node %d", old)
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v", r.Failure)
	}
	if l := w.Leader(); l == node.None || l == old || w.View(l).Term <= oldTerm {
		t.Errorf("after crashing leader %d of term %d, the leader is %d:\n%s", old, oldTerm, l, w.Describe())
	}
	if w.View(old).Role != node.Leader {
		t.Errorf("View of crashed node %d should be its state before the crash (leader), got %v", old, w.View(old).Role)
	}
}

func TestCampaign(t *testing.T) {
	cfg := reliableConfig()
	cfg.Duration = 3 * time.Second
	w := mustNew(t, cfg)
	w.At(time.Second, "campaign", func(w *World) {
		leader := w.Leader()
		f := followerOf(w, leader)
		before, elections := w.View(f), w.Counts().Elections
		if before.Role != node.Follower {
			t.Fatalf("node %d is %v, want follower", f, before.Role)
		}
		w.Campaign(f)
		after := w.View(f)
		if after.Role != node.Candidate || after.Term <= before.Term {
			t.Errorf("after Campaign node %d is %v in term %d, want candidate of a term above %d", f, after.Role, after.Term, before.Term)
		}
		if after.Vote != f {
			t.Errorf("candidate %d voted for %d, want itself", f, after.Vote)
		}
		if got := w.Counts().Elections; got != elections+1 {
			t.Errorf("Counts.Elections = %d after Campaign, want %d", got, elections+1)
		}
		// A leader ignores Campaign.
		lv := w.View(leader)
		w.Campaign(leader)
		if v := w.View(leader); v.Role != node.Leader || v.Term != lv.Term {
			t.Errorf("Campaign on leader %d made it %v of term %d (was leader of term %d)", leader, v.Role, v.Term, lv.Term)
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v", r.Failure)
	}
	if w.Leader() == node.None {
		t.Errorf("no leader 2 s after the forced election:\n%s", w.Describe())
	}
}

// TestPartitionCutsInFlight proposes to the leader, which sends the entry to every
// follower at once, and partitions the leader away in the same instant: the messages
// already in flight must not arrive. Without the partition (the control) they do.
func TestPartitionCutsInFlight(t *testing.T) {
	for _, cut := range []bool{false, true} {
		name := "no partition"
		if cut {
			name = "partition"
		}
		t.Run(name, func(t *testing.T) {
			cfg := reliableConfig()
			cfg.Load, cfg.Clients = Workload{}, Clients{}
			cfg.Duration = 2 * time.Second
			w := mustNew(t, cfg)
			const at = time.Second
			var leader node.ID
			var p node.Proposal
			var before Counts
			w.At(at, "propose and cut", func(w *World) {
				leader = w.Leader()
				if leader == node.None {
					t.Fatal("no leader")
				}
				sent := w.Counts().MessagesSent
				p = w.Propose(leader, "in flight")
				if !p.Accepted {
					t.Fatalf("leader %d refused: %+v", leader, p)
				}
				if got := w.Counts().MessagesSent - sent; got != uint64(cfg.Nodes-1) {
					t.Fatalf("the proposal sent %d messages, want one per follower (%d)", got, cfg.Nodes-1)
				}
				if cut {
					w.Partition([]node.ID{leader})
				}
				before = w.Counts()
			})
			// The network's delay is at most 10 ms, and no follower times out this soon.
			w.At(at+11*time.Millisecond, "look", func(w *World) {
				c := w.Counts()
				var have int
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					if id == leader {
						continue
					}
					if v := w.View(id); func() bool { term, ok := v.TermAt(p.Index); return ok && term == p.Term }() {
						have++
					}
				}
				if !cut {
					if have != cfg.Nodes-1 {
						t.Errorf("control: %d of %d followers got the entry within 11 ms", have, cfg.Nodes-1)
					}
					return
				}
				if have != 0 {
					t.Errorf("%d followers got an entry sent before the partition but delivered after it", have)
				}
				if c.MessagesDelivered != before.MessagesDelivered {
					t.Errorf("%d messages delivered across the partition", c.MessagesDelivered-before.MessagesDelivered)
				}
				if c.MessagesDropped < before.MessagesDropped+uint64(cfg.Nodes-1) {
					t.Errorf("messages dropped went from %d to %d, want the %d in-flight appends among them",
						before.MessagesDropped, c.MessagesDropped, cfg.Nodes-1)
				}
				if s := w.NetworkStats(); s.CutInFlight < uint64(cfg.Nodes-1) {
					t.Errorf("network stats count %d messages cut in flight, want at least %d: %+v", s.CutInFlight, cfg.Nodes-1, s)
				}
			})
			if r := w.Run(); r.Failure != nil {
				t.Fatalf("run failed: %v", r.Failure)
			}
		})
	}
}

// alarmServer is a fake Server that does nothing but ask for wake-ups: wakeAt(life, now,
// in) is the WakeAt of each step. Every step is recorded.
type alarmServer struct {
	id     node.ID
	life   int
	wakeAt func(life int, now time.Duration, in node.Input) time.Duration
	steps  *[]alarmStep
}

type alarmStep struct {
	life int
	now  time.Duration
	kind node.InputKind
}

func (s *alarmServer) Step(now time.Duration, in node.Input) node.Output {
	*s.steps = append(*s.steps, alarmStep{s.life, now, in.Kind})
	return node.Output{WakeAt: s.wakeAt(s.life, now, in)}
}

func (s *alarmServer) View() node.View {
	return node.View{ID: s.id, Peers: []node.ID{s.id}}
}

// TestWakeUps drives one fake server with scripted wake-up requests and checks which
// wakes reach it: exactly those it still wants, at the time it last asked for, none from
// an earlier life, and that discarded wakes are not events.
func TestWakeUps(t *testing.T) {
	const s = time.Second
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	type act struct {
		at   time.Duration
		what string // "propose", "crash", "restart"
	}
	tests := []struct {
		name   string
		wakeAt func(life int, now time.Duration, in node.Input) time.Duration
		acts   []act
		want   []alarmStep // every step after the first boot
		events uint64
	}{
		{
			name: "wakes when asked, once",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				if now < s {
					return s
				}
				return 0
			},
			want:   []alarmStep{{1, s, node.InputWake}},
			events: 1,
		},
		{
			name: "periodic",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				return now + 400*time.Millisecond
			},
			// The deadline (2 s) is included.
			want: []alarmStep{{1, ms(400), node.InputWake}, {1, ms(800), node.InputWake}, {1, ms(1200), node.InputWake},
				{1, ms(1600), node.InputWake}, {1, ms(2000), node.InputWake}},
			events: 5,
		},
		{
			name: "moved earlier",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				switch {
				case in.Kind == node.InputPropose:
					return ms(500)
				case now < ms(100):
					return s
				}
				return 0
			},
			acts:   []act{{ms(100), "propose"}},
			want:   []alarmStep{{1, ms(100), node.InputPropose}, {1, ms(500), node.InputWake}},
			events: 3, // the action, the proposal, the wake; not the superseded wake at 1 s
		},
		{
			name: "moved later",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				switch {
				case in.Kind == node.InputPropose:
					return 1500 * time.Millisecond
				case now < ms(100):
					return s
				}
				return 0
			},
			acts:   []act{{ms(100), "propose"}},
			want:   []alarmStep{{1, ms(100), node.InputPropose}, {1, ms(1500), node.InputWake}},
			events: 3,
		},
		{
			name: "cancelled",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				if in.Kind == node.InputPropose || now >= ms(100) {
					return 0
				}
				return s
			},
			acts:   []act{{ms(100), "propose"}},
			want:   []alarmStep{{1, ms(100), node.InputPropose}},
			events: 2,
		},
		{
			name: "wake of a crashed life is ignored",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				if life == 1 {
					return s // the first life always wants 1 s
				}
				if now < 1500*time.Millisecond {
					return 1500 * time.Millisecond
				}
				return 0
			},
			acts: []act{{ms(500), "crash"}, {ms(600), "restart"}},
			// Life 2 boots at 600 ms (a wake input) and asked for 1.5 s; life 1's wake at
			// 1 s reaches nobody.
			want:   []alarmStep{{2, ms(600), node.InputWake}, {2, 1500 * time.Millisecond, node.InputWake}},
			events: 3,
		},
		{
			name: "old life's wake does not wake the new life early",
			wakeAt: func(life int, now time.Duration, in node.Input) time.Duration {
				if life == 1 {
					return ms(800)
				}
				if now < ms(1800) {
					return ms(1800)
				}
				return 0
			},
			acts:   []act{{ms(200), "crash"}, {ms(300), "restart"}},
			want:   []alarmStep{{2, ms(300), node.InputWake}, {2, ms(1800), node.InputWake}},
			events: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var steps []alarmStep
			lives := 0
			cfg := DefaultConfig()
			cfg.Nodes = 1
			cfg.Load, cfg.Clients = Workload{}, Clients{}
			cfg.Duration = 2 * time.Second
			cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
				lives++
				return &alarmServer{id: c.ID, life: lives, wakeAt: tt.wakeAt, steps: &steps}, nil
			}
			w := mustNew(t, cfg)
			if len(steps) != 1 || steps[0] != (alarmStep{1, 0, node.InputWake}) {
				t.Fatalf("boot steps = %+v, want one wake at 0", steps)
			}
			steps = steps[:0]
			for _, a := range tt.acts {
				switch a.what {
				case "propose":
					w.At(a.at, a.what, func(w *World) { w.Propose(1, "x") })
				case "crash":
					w.At(a.at, a.what, func(w *World) { w.Crash(1) })
				case "restart":
					w.At(a.at, a.what, func(w *World) { w.Restart(1) })
				}
			}
			r := w.Run()
			if r.Failure != nil {
				t.Fatalf("run failed: %v", r.Failure)
			}
			if len(steps) != len(tt.want) {
				t.Fatalf("steps = %+v, want %+v", steps, tt.want)
			}
			for i := range steps {
				if steps[i] != tt.want[i] {
					t.Fatalf("steps = %+v, want %+v", steps, tt.want)
				}
			}
			// Every action, proposal and wanted wake is an event; discarded wakes are not.
			if r.Counts.Events != tt.events {
				t.Errorf("Counts.Events = %d, want %d", r.Counts.Events, tt.events)
			}
		})
	}
}

// A paused server processes nothing until the pause ends, then everything that arrived, in
// arrival order; its clock keeps running.
func TestPauseDefersEverythingInOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Clients.Count = 0
	var lines []string
	cfg.Trace = func(line string) { lines = append(lines, line) }
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var paused node.ID
	var stepsAtPause uint64
	w.At(time.Second, "pause", func(w *World) {
		paused = w.Leader()
		w.Pause(paused, 500*time.Millisecond)
		stepsAtPause = w.Counts().Events
	})
	var viewDuring node.View
	w.At(1400*time.Millisecond, "look", func(w *World) {
		viewDuring = w.View(paused)
		if !w.Paused(paused) {
			t.Errorf("node %d not paused at 1.4s", paused)
		}
	})
	res := w.Run()
	if res.Failure != nil {
		t.Fatal(res.Failure)
	}
	if paused == node.None || stepsAtPause == 0 {
		t.Fatal("no leader to pause")
	}
	if viewDuring.Role != node.Leader {
		t.Fatalf("paused leader's view changed during the pause: %v", viewDuring.Role)
	}
	if res.Counts.Pauses != 1 || w.View(paused).Role == node.Leader && w.View(paused).Term == viewDuring.Term && w.Leader() != paused {
		t.Fatalf("pauses %d; after resuming node %d is %v of term %d", res.Counts.Pauses, paused, w.View(paused).Role, w.View(paused).Term)
	}
	// No step of the paused node between 1.0 s and 1.5 s; steps again at 1.5 s.
	tag := fmt.Sprintf(" n%-2d ", paused)
	resumed := false
	for _, l := range lines {
		f := strings.Fields(l)
		at, err := time.ParseDuration(f[0])
		if err != nil || !strings.Contains(l, tag) || !(strings.Contains(l, " recv ") || strings.Contains(l, " wake")) {
			continue
		}
		if at > time.Second && at < 1500*time.Millisecond {
			t.Fatalf("paused node stepped during its pause: %s", l)
		}
		resumed = resumed || at == 1500*time.Millisecond
	}
	if !resumed {
		t.Fatal("the paused node did not process its queued inputs when the pause ended")
	}
}
