package sim

import (
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/sim/schedule"
)

// timedConfig is a small lossy run with clients, for the record and replay tests.
func timedConfig() Config {
	c := DefaultConfig()
	c.Nodes, c.Duration = 3, 3*time.Second
	c.Net.LossProbability, c.Net.DuplicateProbability = 0.05, 0.05
	c.Clients.Count, c.Clients.Keys = 2, 2
	return c
}

// timedScript injects a crash and a restart of node 2 and a partition, by time.
func timedScript(w *World) {
	w.At(800*time.Millisecond, "crash n2", func(w *World) { w.Crash(2) })
	w.At(1500*time.Millisecond, "restart n2", func(w *World) { w.Restart(2) })
	w.At(1700*time.Millisecond, "cut n1", func(w *World) { w.Partition([]node.ID{1}) })
	w.At(2200*time.Millisecond, "heal", func(w *World) { w.Heal() })
}

// record runs cfg with timedScript and returns the result and the recorded schedule.
func record(t *testing.T, cfg Config) (Result, *schedule.Schedule) {
	t.Helper()
	s := &schedule.Schedule{Version: schedule.VersionTimed, Scenario: "test", Seed: cfg.Seed,
		Timed: schedule.Timed{Delay: cfg.Net.DelayMin}}
	cfg.Record = func(a schedule.Action) { s.Actions = append(s.Actions, a) }
	w := mustNew(t, cfg)
	timedScript(w)
	return w.Run(), s
}

// replay runs cfg with timedScript, following s.
func replay(t *testing.T, cfg Config, s *schedule.Schedule) (Result, []string) {
	t.Helper()
	cfg.Replay = s
	var lines []string
	cfg.Trace = func(l string) {
		if strings.Contains(l, "schedule:") {
			lines = append(lines, l)
		}
	}
	w := mustNew(t, cfg)
	timedScript(w)
	return w.Run(), lines
}

// without is s without the actions for which drop is true.
func without(s *schedule.Schedule, drop func(a *schedule.Action) bool) *schedule.Schedule {
	c := *s
	c.Actions = nil
	for i := range s.Actions {
		if !drop(&s.Actions[i]) {
			c.Actions = append(c.Actions, s.Actions[i])
		}
	}
	return &c
}

func count(s *schedule.Schedule, kind schedule.ActionKind) int {
	n := 0
	for _, a := range s.Actions {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// TestTimedRecordReplay: a recorded run replays exactly; the recording holds the faults,
// the client operations and the packets that were not plainly delivered.
func TestTimedRecordReplay(t *testing.T) {
	cfg := timedConfig()
	res, s := record(t, cfg)
	if res.Failure != nil {
		t.Fatalf("the run failed: %v", res.Failure)
	}
	for _, k := range []schedule.ActionKind{schedule.ActionCrash, schedule.ActionRestart, schedule.ActionPartition, schedule.ActionHeal} {
		if count(s, k) != 1 {
			t.Errorf("%d %v actions recorded, want 1", count(s, k), k)
		}
	}
	if n := count(s, schedule.ActionInvoke); uint64(n) != res.Counts.ClientOps {
		t.Errorf("%d invokes recorded for %d client operations", n, res.Counts.ClientOps)
	}
	if count(s, schedule.ActionPacket) == 0 {
		t.Fatal("no packet fates recorded on a lossy network")
	}
	got, lines := replay(t, cfg, s)
	if got.TraceHash != res.TraceHash || got.Counts != res.Counts {
		t.Fatalf("replay: trace %016x counts %+v; the run: trace %016x counts %+v", got.TraceHash, got.Counts, res.TraceHash, res.Counts)
	}
	if len(lines) != 0 {
		t.Errorf("an exact replay suppressed or added faults: %q", lines)
	}
}

// TestTimedReplayFollowsTheSchedule: faults left out of the schedule are suppressed,
// faults it adds happen by themselves at their time, packets without a line are
// delivered plainly, and clients do only the listed operations.
func TestTimedReplayFollowsTheSchedule(t *testing.T) {
	cfg := timedConfig()
	res, s := record(t, cfg)

	noCrash := without(s, func(a *schedule.Action) bool { return a.Kind == schedule.ActionCrash })
	got, lines := replay(t, cfg, noCrash)
	if got.Counts.Crashes != 0 || got.Counts.Restarts != 0 {
		t.Errorf("crash left out: %d crashes, %d restarts (a restart of a live node is no fault)", got.Counts.Crashes, got.Counts.Restarts)
	}
	if len(lines) == 0 || !strings.Contains(lines[0], "suppressed at 800ms crash n2") {
		t.Errorf("the suppressed crash is not traced: %q", lines)
	}

	added := *s
	added.Actions = append([]schedule.Action{{Kind: schedule.ActionCrash, At: 300 * time.Millisecond, Node: 3}}, s.Actions...)
	got, lines = replay(t, cfg, &added)
	if got.Counts.Crashes != 2 || len(lines) != 1 || !strings.Contains(lines[0], "no call of the script claimed it") {
		t.Errorf("an added crash of n3: %d crashes, schedule lines %q; want 2 crashes, one by the schedule", got.Counts.Crashes, lines)
	}

	plain := without(s, func(a *schedule.Action) bool { return a.Kind != schedule.ActionInvoke })
	got, _ = replay(t, cfg, plain)
	if c := got.Counts; c.MessagesDropped != 0 || c.Crashes != 0 || c.MessagesDelivered != c.MessagesSent {
		t.Errorf("no packet lines and no faults, yet %d of %d messages dropped, %d delivered, %d crashes",
			c.MessagesDropped, c.MessagesSent, c.MessagesDelivered, c.Crashes)
	}
	if got.TraceHash == res.TraceHash {
		t.Error("dropping every packet line changed nothing")
	}

	fewOps := without(s, func(a *schedule.Action) bool { return a.Kind == schedule.ActionInvoke && a.Client == 2 })
	got, _ = replay(t, cfg, fewOps)
	for _, op := range got.History {
		if op.Client == 1 {
			t.Fatalf("client 2 invoked %v with no operation in the schedule", op)
		}
	}
}

// TestTimedReplayRefusesMisfits: a schedule naming a server or client the run does not
// have, or a clock jump back past the wall clock's epoch, is refused before the run.
func TestTimedReplayRefusesMisfits(t *testing.T) {
	cfg := timedConfig()
	for _, tt := range []struct {
		a    schedule.Action
		want string
	}{
		{schedule.Action{Kind: schedule.ActionCrash, Node: 4}, "n4 is not in this run"},
		{schedule.Action{Kind: schedule.ActionInvoke, Client: 3, Key: "k0"}, "c3 is not a client of this run"},
		{schedule.Action{Kind: schedule.ActionPacket, From: schedule.ServerEndpoint(1), To: schedule.ClientEndpoint(5), Packet: 1}, "c5 is not in this run"},
		{schedule.Action{Kind: schedule.ActionClockJump, Node: 1, Duration: -wallEpoch}, "may not be stepped to zero or below"},
	} {
		c := cfg
		c.Replay = &schedule.Schedule{Version: schedule.VersionTimed, Seed: 1, Actions: []schedule.Action{tt.a}}
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.a, err, tt.want)
		}
	}
	c := cfg
	c.Replay = schedule.New(1, 3)
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("a version 1 schedule as Config.Replay: %v", err)
	}
}
