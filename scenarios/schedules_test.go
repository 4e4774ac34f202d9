package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim/schedule"
)

// TestSchedules is a property test over generated fault schedules: rapid draws a timed
// schedule for the generated scenario (a cluster of 3 or 5, 1 to 3 clients, crashes,
// restarts, partitions, one-way cuts, pauses and heals at random times, client
// operations, and dropped, duplicated and delayed packets) and every check must hold on
// its replay. A failing schedule is shrunk by rapid itself, then written to the system's
// temporary directory for 'raftsim replay -schedule'. Run more with
// go test ./scenarios -run TestSchedules -rapid.checks=N.
func TestSchedules(t *testing.T) {
	rapid.Check(t, checkGeneratedSchedule(Options{}))
}

// checkGeneratedSchedule is TestSchedules' property, with the replays' options.
func checkGeneratedSchedule(opts Options) func(*rapid.T) {
	return func(t *rapid.T) {
		sch := drawSchedule(t)
		if err := sch.Validate(); err != nil {
			t.Fatalf("the generator drew an invalid schedule: %v", err)
		}
		o := RunTimed(sch, opts, "")
		if o.Err != nil {
			t.Fatalf("the generated schedule does not replay: %v", o.Err)
		}
		if o.Failed() || o.Inconclusive() {
			path := filepath.Join(os.TempDir(), fmt.Sprintf("raftsim-generated-%016x.schedule", o.TraceHash))
			text := sch.Format()
			if err := os.WriteFile(path, text, 0o644); err != nil {
				path = "(not written: " + err.Error() + ")"
			}
			o.Replay = fmt.Sprintf("go run ./cmd/raftsim replay -schedule %s -trace %s.trace", path, path)
			t.Fatalf("%s\nthe schedule (%s):\n%s", Report(&o), path, text)
		}
	}
}

// drawSchedule draws a timed schedule for the generated scenario.
func drawSchedule(t *rapid.T) *schedule.Schedule {
	nodes := rapid.SampledFrom([]int{3, 5}).Draw(t, "nodes")
	clients := rapid.IntRange(1, 3).Draw(t, "clients")
	duration := time.Duration(rapid.IntRange(1, 6).Draw(t, "seconds")) * time.Second
	s := &schedule.Schedule{Version: schedule.VersionTimed, Scenario: "generated",
		Seed: rapid.Uint64Range(1, 1000).Draw(t, "seed"),
		Timed: schedule.Timed{Nodes: nodes, Clients: clients, Duration: duration,
			Delay: time.Duration(rapid.IntRange(1, 10).Draw(t, "delay ms")) * time.Millisecond}}
	s.Actions = append(s.Actions, rapid.SliceOfN(faultGen(nodes, duration), 0, 12).Draw(t, "faults")...)
	for c := 1; c <= clients; c++ {
		s.Actions = append(s.Actions, rapid.SliceOfN(opGen(c, duration), 0, 30).Draw(t, fmt.Sprintf("c%d ops", c))...)
	}
	slices.SortStableFunc(s.Actions, func(a, b schedule.Action) int { return int(a.At - b.At) })
	for i := range s.Actions {
		if a := &s.Actions[i]; a.Kind == schedule.ActionInvoke {
			a.Value = "" // values are unique tokens by their order: "c1.3 "
		}
	}
	numberOps(s.Actions)
	s.Actions = append(s.Actions, drawPackets(t, nodes, clients)...)
	return s
}

// faultGen draws one fault of a cluster of nodes, at a time within the run.
func faultGen(nodes int, duration time.Duration) *rapid.Generator[schedule.Action] {
	return rapid.Custom(func(t *rapid.T) schedule.Action {
		server := func(label string) int { return rapid.IntRange(1, nodes).Draw(t, label) }
		a := schedule.Action{At: time.Duration(rapid.Int64Range(0, int64(duration)-1).Draw(t, "at"))}
		switch rapid.IntRange(0, 5).Draw(t, "kind") {
		case 0:
			a.Kind, a.Node = schedule.ActionCrash, nodeID(server("server"))
		case 1:
			a.Kind, a.Node = schedule.ActionRestart, nodeID(server("server"))
		case 2:
			a.Kind = schedule.ActionPartition
			for id := 1; id <= nodes; id++ {
				a.Partition.Groups[id-1] = uint8(rapid.IntRange(0, 2).Draw(t, "group"))
			}
			a.Partition = a.Partition.Canonical()
			if a.Partition == (schedule.Partition{}) {
				a.Kind = schedule.ActionHeal
			}
		case 3:
			from, to := server("from"), server("to")
			if from == to {
				to = from%nodes + 1
			}
			a.Kind = schedule.ActionCutOneWay
			a.Endpoints[0], a.Endpoints[1] = schedule.ServerEndpoint(nodeID(from)), schedule.ServerEndpoint(nodeID(to))
		case 4:
			a.Kind, a.Node = schedule.ActionPause, nodeID(server("server"))
			a.Duration = time.Duration(rapid.IntRange(10, 1500).Draw(t, "pause ms")) * time.Millisecond
		default:
			a.Kind = schedule.ActionHeal
		}
		return a
	})
}

// opGen draws one operation of client c.
func opGen(c int, duration time.Duration) *rapid.Generator[schedule.Action] {
	return rapid.Custom(func(t *rapid.T) schedule.Action {
		return schedule.Action{Kind: schedule.ActionInvoke, Client: c,
			At:  time.Duration(rapid.Int64Range(0, int64(duration)-1).Draw(t, "at")),
			Op:  rapid.SampledFrom([]kv.Op{kv.OpGet, kv.OpPut, kv.OpAppend}).Draw(t, "op"),
			Key: rapid.SampledFrom([]string{"k0", "k1", "k2"}).Draw(t, "key")}
	})
}

// numberOps gives every write its unique token, "cC.N " for client C's Nth operation.
func numberOps(actions []schedule.Action) {
	n := map[int]int{}
	for i := range actions {
		if a := &actions[i]; a.Kind == schedule.ActionInvoke {
			n[a.Client]++
			if a.Op != kv.OpGet {
				a.Value = fmt.Sprintf("c%d.%d ", a.Client, n[a.Client])
			}
		}
	}
}

// drawPackets draws packet lines: on random links, increasing numbers per link.
func drawPackets(t *rapid.T, nodes, clients int) []schedule.Action {
	var out []schedule.Action
	next := map[[2]schedule.Endpoint]uint64{}
	for i, n := 0, rapid.IntRange(0, 40).Draw(t, "packets"); i < n; i++ {
		from, to := drawLink(t, nodes, clients)
		k := [2]schedule.Endpoint{from, to}
		next[k] += uint64(rapid.IntRange(1, 20).Draw(t, "skip"))
		a := schedule.Action{Kind: schedule.ActionPacket, From: from, To: to, Packet: next[k]}
		delay := func(label string) time.Duration {
			return time.Duration(rapid.IntRange(0, 200).Draw(t, label)) * time.Millisecond
		}
		switch rapid.IntRange(0, 2).Draw(t, "fate") {
		case 0:
			a.Fate.Lost[0] = true
		case 1:
			a.Fate.Dup = true
			a.Fate.Delays = [2]time.Duration{delay("delay"), delay("copy delay")}
		default:
			a.Fate.Delays[0] = delay("delay")
		}
		out = append(out, a)
	}
	return out
}

// drawLink draws a path: server to server, client to server or server to client.
func drawLink(t *rapid.T, nodes, clients int) (from, to schedule.Endpoint) {
	a := schedule.ServerEndpoint(nodeID(rapid.IntRange(1, nodes).Draw(t, "server")))
	switch rapid.IntRange(0, 3).Draw(t, "path") {
	case 0:
		return schedule.ClientEndpoint(rapid.IntRange(1, clients).Draw(t, "client")), a
	case 1:
		return a, schedule.ClientEndpoint(rapid.IntRange(1, clients).Draw(t, "client"))
	}
	b := rapid.IntRange(1, nodes-1).Draw(t, "other")
	if b >= a.N {
		b++
	}
	return a, schedule.ServerEndpoint(nodeID(b))
}

// TestSchedulesCatchAPlantedBug: the property fails, and rapid shrinks the failure, when
// the servers break a rule (no up-to-date check at votes).
func TestSchedulesCatchAPlantedBug(t *testing.T) {
	rec := &failRecorder{TB: t}
	rapid.Check(rec, checkGeneratedSchedule(Options{NewServer: plantedBugs()[0].newServer}))
	if !rec.failed {
		t.Fatal("100 generated schedules found nothing with votes granted without the election restriction")
	}
	t.Logf("the property failed, as it should:\n%s", firstLines(rec.msg, 6))
}

// failRecorder is a rapid.TB that records a failure instead of failing the test.
type failRecorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *failRecorder) Errorf(format string, args ...any) {
	r.failed, r.msg = true, r.msg+fmt.Sprintf(format, args...)
}
func (r *failRecorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *failRecorder) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *failRecorder) Fatal(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *failRecorder) FailNow()                          { r.failed = true }
func (r *failRecorder) Fail()                             { r.failed = true }
func (r *failRecorder) Failed() bool                      { return r.failed }

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func nodeID(i int) node.ID { return node.ID(i) }
