package schedule

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"raftsim/node"
	"raftsim/node/kv"
)

// FuzzParse: whatever Parse accepts is valid, formats to text that parses back to an
// identical schedule, and that text is a fixed point; whatever it rejects gets a one-line
// *Error with a line number. The seed corpus is in testdata/fuzz/FuzzParse (the examples
// of both versions among it).
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/example.schedule", "testdata/example-v2.schedule"} {
		if example, err := os.ReadFile(name); err == nil {
			f.Add(example)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Line < 1 || !strings.HasPrefix(err.Error(), "schedule:") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse error %q: want a one-line *Error with a line number", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a schedule that Validate rejects: %v", err)
		}
		text := s.Format()
		back, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(x))): %v\n%s", err, text)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed the schedule:\n%+v\n%+v", s, back)
		}
		if again := back.Format(); string(again) != string(text) {
			t.Fatalf("Format is not a fixed point:\n%s\n%s", text, again)
		}
	})
}

// TestValidateMatchesParse: Validate accepts a schedule built in code exactly when its
// text parses back to the same schedule. (An invalid schedule's text may still parse, to
// something else: Format writes a scenario "x#y" as a word and a comment.)
func TestValidateMatchesParse(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := drawSchedule(t)
		verr := s.Validate()
		back, perr := Parse(s.Format())
		same := perr == nil && reflect.DeepEqual(back, s)
		if (verr == nil) != same {
			t.Fatalf("Validate: %v; Parse of the text: %v (the same schedule: %v)\n%s", verr, perr, same, s.Format())
		}
	})
}

// choose draws from good, and now and then (one time in 40) from bad: a schedule has
// some thirty fields, so about half the schedules drawn are valid.
func choose[T any](t *rapid.T, name string, good, bad []T) T {
	if rapid.IntRange(0, 39).Draw(t, name+" bad?") == 17 { // rapid favours the ends of a range
		return rapid.SampledFrom(bad).Draw(t, name)
	}
	return rapid.SampledFrom(good).Draw(t, name)
}

func ints(lo, hi int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

// drawSchedule draws a schedule of either version near the edges of validity.
func drawSchedule(t *rapid.T) *Schedule {
	if rapid.Bool().Draw(t, "version 2?") {
		return drawTimedSchedule(t)
	}
	s := New(choose(t, "seed", []uint64{1, 2, ^uint64(0)}, []uint64{0}), choose(t, "nodes", ints(1, 5), []int{0, 10}))
	s.Spares = choose(t, "spares", ints(0, 3), []int{-1, 9})
	s.Clients = choose(t, "clients", ints(0, 3), []int{-1, 10})
	s.Scenario = choose(t, "scenario", []string{"", "explore", "a.b/c"}, []string{"a b", "x#y", strings.Repeat("s", 129)})
	o := &s.Node
	o.HeartbeatInterval = choose(t, "heartbeat", []time.Duration{time.Nanosecond, 50 * time.Millisecond}, []time.Duration{-1, 0, time.Hour})
	o.ElectionTimeoutMin = choose(t, "min", []time.Duration{150 * time.Millisecond, 1500 * time.Microsecond * 100}, []time.Duration{0, 50 * time.Millisecond})
	o.ElectionTimeoutMax = choose(t, "max", []time.Duration{300 * time.Millisecond, time.Hour}, []time.Duration{150 * time.Millisecond, -time.Hour})
	o.MaxEntriesPerMessage = choose(t, "max-entries", []int{1, 64, maxEntriesLimit}, []int{0, -1, maxEntriesLimit + 1})
	o.LearnerCatchUpMax = choose(t, "learner", []int{1, countLimit}, []int{0, countLimit + 1})
	o.ReadMode = choose(t, "read-mode", []node.ReadMode{node.ReadIndex, node.ReadLocal, node.ReadLease}, []node.ReadMode{3})
	o.CheckQuorum = o.ReadMode == node.ReadLease || rapid.Bool().Draw(t, "check-quorum")
	o.CheckQuorum = choose(t, "check-quorum", []bool{o.CheckQuorum}, []bool{false})
	o.PreVote = rapid.Bool().Draw(t, "pre-vote")
	o.MaxClockDrift = choose(t, "drift", []float64{0, 0.01, 1e-9, 0.999}, []float64{1, -0.1, math.Copysign(0, -1), math.NaN(), math.Inf(1)})
	o.SnapshotThreshold = choose(t, "threshold", []int{0, 1, countLimit}, []int{-1, countLimit + 1})
	o.SnapshotChunkSize = choose(t, "chunk", []int{1, 4096}, []int{0, -1})
	s.Expect = choose(t, "expect", []Expect{{}, {Kind: ExpectOK}, {Kind: ExpectFail, Check: "Election Safety"}, {Kind: ExpectFail, Check: "\x00\"#"}},
		[]Expect{{Kind: ExpectFail}, {Kind: 3}, {Kind: ExpectOK, Check: "x"}, {Kind: ExpectFail, Check: strings.Repeat("\x01", 1100)}})
	for i := range rapid.IntRange(0, 8).Draw(t, "actions") {
		s.Actions = append(s.Actions, drawAction(t, s, uint64(i+1)))
	}
	return s
}

// drawAction draws an action for s; fresh is a packet number no other action uses.
func drawAction(t *rapid.T, s *Schedule, fresh uint64) Action {
	a := Action{Kind: ActionKind(rapid.IntRange(1, int(v1KindLimit)-1).Draw(t, "kind"))}
	if rapid.IntRange(0, 99).Draw(t, "bad kind?") == 17 {
		a.Kind = rapid.SampledFrom([]ActionKind{ActionPause, ActionPacket, actionKindLimit}).Draw(t, "bad kind")
	}
	server := func(name string) node.ID {
		return node.ID(choose(t, name, ints(1, max(1, s.Servers())), []int{0, -1, s.Servers() + 1}))
	}
	client := func(name string) int { return choose(t, name, ints(1, max(1, s.Clients)), []int{0, s.Clients + 1}) }
	text := func(name string) string {
		return choose(t, name, []string{"", "k0", "a b", "\t\x00\xff", "\u00ad#\""}, []string{strings.Repeat("\x01", 1100)})
	}
	switch a.Kind {
	case ActionDeliver, ActionDrop, ActionDup:
		a.Packet = choose(t, "packet", []uint64{fresh, 1 << 63}, []uint64{0, 1, 2})
		a.PacketType = PacketType(choose(t, "type", ints(1, int(packetTypeLimit)-1), []int{0, int(packetTypeLimit)}))
		from, to := a.PacketType.path()
		end := func(k EndpointKind, name string) Endpoint {
			switch k {
			case EndpointClient:
				return ClientEndpoint(client(name))
			case EndpointAdmin:
				return AdminEndpoint()
			}
			return ServerEndpoint(server(name))
		}
		a.From, a.To = end(from, "from"), end(to, "to")
		a.To = choose(t, "to", []Endpoint{a.To}, []Endpoint{{}, a.From, {EndpointAdmin, 1}, {EndpointClient, -1}})
		if a.Packet == 1<<63 {
			a.Packet += fresh // fresh, and big
		}
	case ActionInvoke:
		a.Client, a.Node = client("client"), server("node")
		a.Op = choose(t, "op", []kv.Op{kv.OpGet, kv.OpPut, kv.OpAppend}, []kv.Op{0, 4})
		a.Key = text("key")
		if a.Op != kv.OpGet {
			a.Value = text("value")
		}
	case ActionRetry:
		a.Client, a.Node = client("client"), server("node")
	case ActionTransfer:
		a.Node, a.Target = server("node"), server("target")
	case ActionAdmin:
		a.Node, a.Target = server("node"), server("target")
		a.AdminOp = choose(t, "admin op", []node.AdminOp{node.AdminAddServer, node.AdminRemoveServer}, []node.AdminOp{0, 3})
	default:
		a.Node = server("node")
	}
	a.Comment = choose(t, "comment", []string{"", "why", "a\tb # c", "é"}, []string{" x", "x ", "\xff", "x\ny", "\t"})
	return a
}

// drawTimedSchedule draws a version 2 schedule near the edges of validity.
func drawTimedSchedule(t *rapid.T) *Schedule {
	s := NewTimed(choose(t, "scenario", []string{"churn", "a.b/c"}, []string{"", "a b", "x#y"}),
		choose(t, "seed", []uint64{1, ^uint64(0)}, []uint64{0}))
	tm := &s.Timed
	tm.Nodes = choose(t, "nodes", []int{0, 1, 3, 9}, []int{-1, 10})
	tm.Clients = choose(t, "clients", []int{0, 1, 2, 9}, []int{-1, 10})
	tm.Duration = choose(t, "duration", []time.Duration{0, 1, 12500 * time.Millisecond, math.MaxInt64}, []time.Duration{-1})
	tm.Delay = choose(t, "delay", []time.Duration{0, DefaultDelay, 1500 * time.Microsecond, math.MaxInt64}, []time.Duration{-1})
	tm.ReadMode = choose(t, "read-mode", []string{"", "readindex", "lease", "local"}, []string{"index", "Lease"})
	tm.PreVote = choose(t, "pre-vote", []Switch{SwitchUnset, SwitchOn, SwitchOff}, []Switch{3})
	tm.CheckQuorum = choose(t, "check-quorum", []Switch{SwitchUnset, SwitchOn, SwitchOff}, []Switch{3})
	if tm.ReadMode == "lease" && tm.CheckQuorum == SwitchOff {
		tm.CheckQuorum = choose(t, "lease quorum", []Switch{SwitchOn}, []Switch{SwitchOff})
	}
	s.Expect = choose(t, "expect", []Expect{{}, {Kind: ExpectOK}, {Kind: ExpectFail, Check: "assertion: no new leader"}},
		[]Expect{{Kind: ExpectFail}, {Kind: ExpectOK, Check: "x"}})
	if rapid.IntRange(0, 39).Draw(t, "v1 field?") == 17 {
		s.Nodes = 1
	}
	var now time.Duration
	for i := range rapid.IntRange(0, 10).Draw(t, "actions") {
		s.Actions = append(s.Actions, drawTimedAction(t, s, uint64(i+1), &now))
	}
	return s
}

// timedKinds are version 2's action kinds.
var timedKinds = []ActionKind{ActionCrash, ActionRestart, ActionInvoke, ActionPause, ActionPartition, ActionIsolate,
	ActionCut, ActionCutOneWay, ActionBridge, ActionHeal, ActionClockRate, ActionClockJump, ActionPacket}

// drawTimedAction draws a version 2 action for s; fresh is a packet number above every
// earlier one, and now the time of the latest timed action.
func drawTimedAction(t *rapid.T, s *Schedule, fresh uint64, now *time.Duration) Action {
	a := Action{Kind: choose(t, "kind", timedKinds, []ActionKind{ActionFire, ActionDeliver, actionKindLimit})}
	clients := s.Timed.Clients
	if clients <= 0 {
		clients = MaxClients
	}
	server := func(name string) node.ID { return node.ID(choose(t, name, []int{1, 2, 3, 9}, []int{0, 10})) }
	client := func(name string) int { return choose(t, name, []int{1, 2, clients}, []int{0, clients + 1}) }
	endpoint := func(name string) Endpoint {
		good := []Endpoint{ServerEndpoint(1), ServerEndpoint(2), ServerEndpoint(9), ClientEndpoint(1), ClientEndpoint(clients), AdminEndpoint()}
		return choose(t, name, good, []Endpoint{{}, {EndpointAdmin, 1}, ClientEndpoint(clients + 1), ServerEndpoint(10)})
	}
	durations := func(name string, good, bad []time.Duration) time.Duration { return choose(t, name, good, bad) }
	switch a.Kind {
	case ActionCrash, ActionRestart:
		a.Node = server("node")
	case ActionInvoke:
		a.Client = client("client")
		a.Op = choose(t, "op", []kv.Op{kv.OpGet, kv.OpPut, kv.OpAppend}, []kv.Op{0})
		a.Key = choose(t, "key", []string{"", "k0", "\t\x00#\""}, []string{strings.Repeat("\x01", 1100)})
		if a.Op != kv.OpGet {
			a.Value = choose(t, "value", []string{"", "c1.1 "}, []string{strings.Repeat("\x01", 1100)})
		}
	case ActionPause:
		a.Node = server("node")
		a.Duration = durations("pause", []time.Duration{1, 300 * time.Millisecond, math.MaxInt64}, []time.Duration{0, -1})
	case ActionClockJump:
		a.Node = server("node")
		a.Duration = durations("jump", []time.Duration{1, -200 * time.Millisecond, math.MinInt64, math.MaxInt64}, []time.Duration{0})
	case ActionClockRate:
		a.Node = server("node")
		a.Rate = choose(t, "rate", []float64{1.05, 1, 0.5, 1e21, 1e-7, math.SmallestNonzeroFloat64, math.MaxFloat64},
			[]float64{0, -1, math.NaN(), math.Inf(1), math.Copysign(0, -1)})
	case ActionPartition:
		a.Partition = drawPartition(t, endpoint)
	case ActionIsolate, ActionCut, ActionCutOneWay, ActionBridge:
		for i := range timedArgCount(a.Kind) {
			a.Endpoints[i] = endpoint("endpoint")
		}
		if rapid.IntRange(0, 39).Draw(t, "stray endpoint?") == 17 {
			a.Endpoints[2] = ServerEndpoint(3)
		}
	case ActionPacket:
		drawPacket(t, &a, fresh, endpoint)
	}
	if a.Kind.Timed() || rapid.IntRange(0, 39).Draw(t, "stray time?") == 17 {
		*now += durations("step", []time.Duration{0, 1, 1500 * time.Millisecond}, []time.Duration{-1, -*now - 1})
		a.At = *now
	}
	if rapid.IntRange(0, 39).Draw(t, "stray field?") == 17 {
		a.Target = 1 // no version 2 action uses it
	}
	a.Comment = choose(t, "comment", []string{"", "why", "a\tb # c", "#1"}, []string{" x", "\xff"})
	return a
}

// drawPartition draws one to three groups of endpoints (each endpoint in at most one),
// now and then not in canonical form or with no group.
func drawPartition(t *rapid.T, endpoint func(string) Endpoint) Partition {
	var p Partition
	groups := rapid.IntRange(1, 3).Draw(t, "groups")
	for g := 1; g <= groups; g++ {
		for range rapid.IntRange(1, 3).Draw(t, "members") {
			e := endpoint("member")
			if i := EndpointIndex(e); i < 0 {
				return p // an endpoint no Partition holds: an empty partition instead
			} else if p.Groups[i] == 0 {
				p.Groups[i] = uint8(g)
			}
		}
	}
	if rapid.IntRange(0, 39).Draw(t, "not canonical?") == 17 {
		return p // numbered as drawn: canonical only by chance
	}
	return p.Canonical()
}

// drawPacket draws a packet line's link, number and fate.
func drawPacket(t *rapid.T, a *Action, fresh uint64, endpoint func(string) Endpoint) {
	a.From, a.To = endpoint("from"), endpoint("to")
	if a.From.Kind != EndpointServer && a.To.Kind != EndpointServer && rapid.Bool().Draw(t, "fix link?") {
		a.To = ServerEndpoint(2)
	}
	a.Packet = choose(t, "packet", []uint64{fresh, 1<<63 + fresh}, []uint64{0, 1})
	ms := time.Millisecond
	a.Fate = choose(t, "fate", []Fate{
		{Delays: [2]time.Duration{3 * ms}}, {}, {Lost: [2]bool{true}}, {Dup: true, Delays: [2]time.Duration{2 * ms, 7 * ms}},
		{Dup: true, Lost: [2]bool{true}, Delays: [2]time.Duration{0, math.MaxInt64}}, {Dup: true, Lost: [2]bool{true, true}},
	}, []Fate{{Lost: [2]bool{true}, Delays: [2]time.Duration{1}}, {Delays: [2]time.Duration{1, 1}}, {Lost: [2]bool{false, true}},
		{Delays: [2]time.Duration{-1}}})
}
