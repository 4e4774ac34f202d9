package schedule

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

func requireEqual(t *testing.T, got, want *Schedule) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("schedules differ:\n got %+v\nwant %+v\n got text:\n%s\nwant text:\n%s", got, want, got.Format(), want.Format())
	}
}

// roundTrip checks that s is valid, that it parses back from its text unchanged, and that
// the text is a fixed point.
func roundTrip(t *testing.T, s *Schedule) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	text := s.Format()
	back, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(Format(s)): %v\n%s", err, text)
	}
	requireEqual(t, back, s)
	if again := back.Format(); string(again) != string(text) {
		t.Fatalf("Format is not a fixed point:\n%s\nthen\n%s", text, again)
	}
}

// TestExample parses the documented example, checks what it says, and compares its
// canonical form with testdata/example-canonical.schedule (which pins Format's output: a
// change there is a change of the format's canonical text).
func TestExample(t *testing.T) {
	in, err := os.ReadFile("testdata/example.schedule")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if s.Scenario != "example" || s.Seed != 1 || s.Nodes != 3 || s.Spares != 1 || s.Clients != 2 ||
		s.Node.SnapshotThreshold != 1 || s.Expect != (Expect{Kind: ExpectOK}) || len(s.Actions) != 30 {
		t.Fatalf("example parsed as %+v (%d actions)", s, len(s.Actions))
	}
	want := map[int]Action{
		0:  {Kind: ActionFire, Node: 1, Comment: "n1's election timer fires: it campaigns (m1 to n2, m2 to n3)"},
		4:  {Kind: ActionDup, Packet: 4, From: ServerEndpoint(1), To: ServerEndpoint(2), PacketType: PacketApp, Comment: "the network duplicates m4: the copy is m6"},
		8:  {Kind: ActionDrop, Packet: 8, From: ServerEndpoint(2), To: ServerEndpoint(1), PacketType: PacketAppResp},
		9:  {Kind: ActionInvoke, Client: 1, Node: 2, Op: kv.OpPut, Key: "k0", Value: "c1.1 ", Comment: "c1's first operation goes to n2 (m9)"},
		17: {Kind: ActionInvoke, Client: 2, Node: 1, Op: kv.OpAppend, Key: "k0", Value: "x\ty", Comment: "Go-quoted strings: a tab in the value (m16)"},
		19: {Kind: ActionAdmin, Node: 1, AdminOp: node.AdminAddServer, Target: 4, Comment: "the operator asks n1 to add n4 (m18)"},
		27: {Kind: ActionDeliver, Packet: 26, From: ServerEndpoint(2), To: AdminEndpoint(), PacketType: PacketAdminReply, Comment: "not OK: the admin request stays outstanding"},
		29: {Kind: ActionTransfer, Node: 1, Target: 2, Comment: "the operator asks n1 to hand leadership to n2"},
	}
	for i, a := range want {
		if s.Actions[i] != a {
			t.Errorf("action %d: got %+v, want %+v", i, s.Actions[i], a)
		}
	}
	kinds := map[ActionKind]bool{}
	for _, a := range s.Actions {
		kinds[a.Kind] = true
	}
	if len(kinds) != int(v1KindLimit)-1 {
		t.Errorf("the example uses %d action kinds; it should show all %d", len(kinds), v1KindLimit-1)
	}
	roundTrip(t, s)
	requireCanonical(t, s, "testdata/example-canonical.schedule")
}

// requireCanonical requires s to format exactly as the file at path.
func requireCanonical(t *testing.T, s *Schedule, path string) {
	t.Helper()
	canonical, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Format(); string(got) != string(canonical) {
		t.Fatalf("Format differs from %s:\n%s", path, got)
	}
}

// TestDefaults: a file with only the required headers means the version 1 defaults, which
// never change, and New gives the same.
func TestDefaults(t *testing.T) {
	s, err := Parse([]byte("raftsim schedule v1\nseed 9\nnodes 5\nactions\nend\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Schedule{Version: 1, Seed: 9, Nodes: 5, Node: NodeOptions{
		HeartbeatInterval: 50 * time.Millisecond, ElectionTimeoutMin: 150 * time.Millisecond,
		ElectionTimeoutMax: 300 * time.Millisecond, MaxEntriesPerMessage: 64, LearnerCatchUpMax: 128,
		ReadMode: node.ReadIndex, SnapshotChunkSize: 4096,
	}}
	requireEqual(t, s, want)
	requireEqual(t, New(9, 5), want)
	// learner-catch-up follows max-entries when not given.
	s, err = Parse([]byte("raftsim schedule v1\nseed 9\nnodes 5\nmax-entries 8\nactions\nend\n"))
	if err != nil || s.Node.LearnerCatchUpMax != 16 {
		t.Fatalf("learner-catch-up default with max-entries 8: %v, %+v", err, s)
	}
}

// every is a valid schedule with every action kind and awkward values.
func every() *Schedule {
	s := New(^uint64(0), 2)
	s.Scenario, s.Spares, s.Clients = "shrunk/standard-98", 7, 9
	s.Node = NodeOptions{
		HeartbeatInterval: 1500 * time.Microsecond, ElectionTimeoutMin: time.Hour + time.Nanosecond,
		ElectionTimeoutMax: 2 * time.Hour, MaxEntriesPerMessage: 1, LearnerCatchUpMax: 1 << 30,
		ReadMode: node.ReadLease, MaxClockDrift: 1e-300, PreVote: true, CheckQuorum: true,
		SnapshotThreshold: 0, SnapshotChunkSize: 1,
	}
	s.Expect = Expect{Kind: ExpectFail, Check: "Lin\"ear\"izability\n\xff"}
	srv, cli := ServerEndpoint, ClientEndpoint
	s.Actions = []Action{
		{Kind: ActionFire, Node: 9, Comment: "# a comment\twith a tab and a hash"},
		{Kind: ActionDeliver, Packet: 1, From: srv(1), To: srv(9), PacketType: PacketSnap},
		{Kind: ActionDup, Packet: 2, From: srv(9), To: cli(9), PacketType: PacketReply},
		{Kind: ActionDrop, Packet: 2, From: srv(9), To: cli(9), PacketType: PacketReply},
		{Kind: ActionDeliver, Packet: 3, From: cli(1), To: srv(2), PacketType: PacketRequest},
		{Kind: ActionDeliver, Packet: 4, From: AdminEndpoint(), To: srv(2), PacketType: PacketAdminRequest},
		{Kind: ActionDrop, Packet: 5, From: srv(2), To: AdminEndpoint(), PacketType: PacketAdminReply},
		{Kind: ActionCrash, Node: 1}, {Kind: ActionRestart, Node: 1}, {Kind: ActionSave, Node: 2},
		{Kind: ActionInvoke, Client: 9, Node: 3, Op: kv.OpGet, Key: ""},
		{Kind: ActionInvoke, Client: 1, Node: 3, Op: kv.OpPut, Key: "\x00\xff\u00ad", Value: "\"#\\"},
		{Kind: ActionInvoke, Client: 1, Node: 3, Op: kv.OpAppend, Key: " ", Value: strings.Repeat("v", 3000)},
		{Kind: ActionRetry, Client: 2, Node: 4, Comment: "é"},
		{Kind: ActionTransfer, Node: 1, Target: 1},
		{Kind: ActionAdmin, Node: 1, AdminOp: node.AdminRemoveServer, Target: 2},
		{Kind: ActionAdmin, Node: 1, AdminOp: node.AdminAddServer, Target: 9},
		{Kind: ActionAdminRetry, Node: 8},
	}
	for t := PacketVote; t <= PacketTimeoutNow; t++ {
		s.Actions = append(s.Actions, Action{Kind: ActionDeliver, Packet: 100 + uint64(t), From: srv(2), To: srv(1), PacketType: t})
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	roundTrip(t, every())
	roundTrip(t, New(1, 1))
	s := New(1, 9)
	s.Expect = Expect{Kind: ExpectOK}
	s.Node.MaxClockDrift = 0.999
	roundTrip(t, s)
}

// TestValidateErrors: Validate finds what Parse would, without line numbers; and what
// only a schedule built in code can hold (fields a kind does not use, unknown enums).
func TestValidateErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(s *Schedule)
		want string
	}{
		{"version", func(s *Schedule) { s.Version = 3 }, "schedule: version 3; this raftsim writes versions 1 and 2"},
		{"version 2 fields", func(s *Schedule) { s.Version = 2 }, "schedule: version 2 with Nodes, Spares, Clients or Node set; version 2 takes them from its scenario, and holds its overrides in Timed"},
		{"timed fields", func(s *Schedule) { s.Timed.Delay = DefaultDelay }, "schedule: version 1 with Timed set; Timed holds the headers of version 2"},
		{"seed", func(s *Schedule) { s.Seed = 0 }, "schedule: seed 0 out of range; valid: 1..18446744073709551615"},
		{"nodes", func(s *Schedule) { s.Nodes = 0 }, "schedule: nodes 0 out of range; valid: 1..9"},
		{"servers", func(s *Schedule) { s.Nodes = 9 }, "schedule: nodes 9 + spares 7 is 16 servers; at most 9"},
		{"clients", func(s *Schedule) { s.Clients = -1 }, "schedule: clients -1 out of range; valid: 0..9"},
		{"scenario", func(s *Schedule) { s.Scenario = "a b" }, `schedule: bad scenario "a b"; want a word of letters, digits and ._:/+- (at most 128 bytes)`},
		{"heartbeat", func(s *Schedule) { s.Node.HeartbeatInterval = -1 }, "schedule: heartbeat -1ns must be positive"},
		{"election", func(s *Schedule) { s.Node.ElectionTimeoutMax = s.Node.ElectionTimeoutMin }, "schedule: election-timeout maximum 1h0m0.000000001s must exceed its minimum 1h0m0.000000001s"},
		{"heartbeat vs election", func(s *Schedule) { s.Node.HeartbeatInterval = 3 * time.Hour }, "schedule: election-timeout minimum 1h0m0.000000001s must exceed heartbeat 3h0m0s"},
		{"read mode", func(s *Schedule) { s.Node.ReadMode = 7 }, "schedule: unknown read mode 7; valid: readindex, lease, local"},
		{"lease", func(s *Schedule) { s.Node.CheckQuorum = false }, "schedule: read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader"},
		{"drift NaN", func(s *Schedule) { s.Node.MaxClockDrift = math.NaN() }, "schedule: max-clock-drift NaN out of range; valid: 0 <= drift < 1"},
		{"drift -0", func(s *Schedule) { s.Node.MaxClockDrift = math.Copysign(0, -1) }, "schedule: max-clock-drift -0 out of range; valid: 0 <= drift < 1"},
		{"max-entries", func(s *Schedule) { s.Node.MaxEntriesPerMessage = 0 }, "schedule: max-entries 0 out of range; valid: 1..1048576"},
		{"chunk", func(s *Schedule) { s.Node.SnapshotChunkSize = 0 }, "schedule: snapshot-chunk 0 out of range; valid: 1..1073741824"},
		{"expect kind", func(s *Schedule) { s.Expect.Kind = 9 }, "schedule: unknown expect kind 9"},
		{"expect ok with check", func(s *Schedule) { s.Expect.Kind = ExpectOK }, `schedule: expect ok with a check name "Lin\"ear\"izability\n\xff"; only expect fail names a check`},
		{"expect fail without", func(s *Schedule) { s.Expect.Check = "" }, `schedule: expect fail with an empty check name; want the name of the check, such as "Election Safety"`},
		{"too many", func(s *Schedule) { s.Actions = make([]Action, MaxActions+1) }, "schedule: 1000001 actions; at most 1000000 in one version 1 schedule"},
		{"kind", func(s *Schedule) { s.Actions[0].Kind = 0 }, "schedule: action 1 (action(0) n9  # # a comment\twith a tab and a hash): unknown action kind 0; valid: fire, deliver, drop, dup, crash, restart, save, invoke, retry, transfer, admin, admin-retry"},
		{"unused field", func(s *Schedule) { s.Actions[7].Target = 2 }, "schedule: action 8 (crash n1): fields set that crash does not use; it takes: crash SERVER"},
		{"unused value", func(s *Schedule) { s.Actions[13].Key = "k" }, "schedule: action 14 (retry c2 n4  # é): fields set that retry does not use; it takes: retry CLIENT SERVER"},
		{"server 0", func(s *Schedule) { s.Actions[7].Node = 0 }, "schedule: action 8 (crash n0): server n0 out of range; valid: n1..n9 (nodes 2, spares 7)"},
		{"client", func(s *Schedule) { s.Actions[13].Client = 10 }, "schedule: action 14 (retry c10 n4  # é): client c10 out of range; valid: c1..c9 (clients 9)"},
		{"packet 0", func(s *Schedule) { s.Actions[1].Packet = 0 }, "schedule: action 2 (deliver m0 n1->n9 snap): packet number 0; packets are numbered from m1"},
		{"packet type", func(s *Schedule) { s.Actions[1].PacketType = 99 }, `schedule: action 2 (deliver m1 n1->n9 packet(99)): unknown packet type "packet(99)"; valid: vote, vote-resp, app, app-resp, snap, snap-resp, prevote, prevote-resp, timeout-now, request, reply, admin-request, admin-reply`},
		{"no endpoint", func(s *Schedule) { s.Actions[1].From = Endpoint{} }, "schedule: action 2 (deliver m1 none->n9 snap): bad endpoint none; want a server n1.., a client c1.. or admin"},
		{"admin number", func(s *Schedule) { s.Actions[5].From.N = 2 }, "schedule: action 6 (deliver m4 endpoint(3,2)->n2 admin-request): bad endpoint endpoint(3,2); want a server n1.., a client c1.. or admin"},
		{"path", func(s *Schedule) { s.Actions[4].From = ServerEndpoint(3) }, "schedule: action 5 (deliver m3 n3->n2 request): request packets go from a client to a server, not n3->n2"},
		{"op", func(s *Schedule) { s.Actions[10].Op = 0 }, `schedule: action 11 (invoke c9 n3 op(0) "" ""): unknown operation 0; valid: get, put, append`},
		{"get value", func(s *Schedule) { s.Actions[10].Value = "v" }, `schedule: action 11 (invoke c9 n3 get ""): a get has no value; want get KEY`},
		{"admin op", func(s *Schedule) { s.Actions[15].AdminOp = 0 }, "schedule: action 16 (admin n1 adminop(0) n2): unknown membership change 0; valid: add, remove"},
		{"admin target", func(s *Schedule) { s.Actions[15].Target = 10 }, "schedule: action 16 (admin n1 remove n10): server n10 out of range; valid: n1..n9 (nodes 2, spares 7)"},
		{"comment utf-8", func(s *Schedule) { s.Actions[7].Comment = "\xff" }, "schedule: action 8 (crash n1  # \xff): the comment is not valid UTF-8"},
		{"comment space", func(s *Schedule) { s.Actions[7].Comment = " x" }, "schedule: action 8 (crash n1  #  x): the comment starts with a space or tab"},
		{"comment tab", func(s *Schedule) { s.Actions[7].Comment = "x\t" }, "schedule: action 8 (crash n1  # x\t): the comment ends with a space or tab"},
		{"comment newline", func(s *Schedule) { s.Actions[7].Comment = "x\ny" }, "schedule: action 8 (crash n1  # x\ny): control character 0x0a in the comment; only tabs are allowed"},
		{"line", func(s *Schedule) { s.Actions[12].Value += strings.Repeat("\x01", 300) }, "schedule: action 13 (invoke c1 n3 append \" \" \"vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...): the action's line would be 4226 bytes (strings re-quoted); the limit is 4096"},
		{"delivered twice", func(s *Schedule) {
			s.Actions[4].Packet = 1
			s.Actions[4].From, s.Actions[4].To = ServerEndpoint(1), ServerEndpoint(9)
			s.Actions[4].PacketType = PacketSnap
		}, "schedule: action 5 (deliver m1 n1->n9 snap): m1 was already delivered in action 2: it is no longer in flight"},
		{"path changed", func(s *Schedule) { s.Actions[3].To = ClientEndpoint(8) }, "schedule: action 4 (drop m2 n9->c8 reply): m2 is n9->c8 reply here but n9->c9 reply in action 3; a packet's path and type do not change"},
	} {
		s := every()
		c.edit(s)
		err := s.Validate()
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}

// TestPacketTypes: every node.MsgType has a token (a new message type must get one, in a
// new format version), and the tokens parse back.
func TestPacketTypes(t *testing.T) {
	seen := map[PacketType]bool{}
	for m := node.MsgType(1); m.Valid(); m++ {
		p, ok := MessagePacket(m)
		if !ok {
			t.Fatalf("node.MsgType %v has no packet type", m)
		}
		if back, ok := p.MsgType(); !ok || back != m || seen[p] {
			t.Fatalf("%v -> %v -> %v, %v", m, p, back, ok)
		}
		seen[p] = true
	}
	if _, ok := MessagePacket(0); ok {
		t.Fatal("MsgType 0 has a packet type")
	}
	tokens := map[string]bool{}
	for p := PacketVote; p < packetTypeLimit; p++ {
		if got, err := ParsePacketType(p.String()); err != nil || got != p || tokens[p.String()] {
			t.Fatalf("%v: %v, %v", p, got, err)
		}
		tokens[p.String()] = true
		if _, isMsg := p.MsgType(); isMsg != seen[p] {
			t.Fatalf("%v: MsgType says %v", p, isMsg)
		}
	}
	if PacketType(0).Valid() || packetTypeLimit.Valid() {
		t.Fatal("Valid accepts an unknown type")
	}
}

func TestEndpoints(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Endpoint
		ok   bool
	}{
		{"n1", ServerEndpoint(1), true}, {"n4096", ServerEndpoint(4096), true}, {"c12", ClientEndpoint(12), true},
		{"admin", AdminEndpoint(), true},
		{"n0", Endpoint{}, false}, {"n01", Endpoint{}, false}, {"n4097", Endpoint{}, false}, {"n", Endpoint{}, false},
		{"x1", Endpoint{}, false}, {"Admin", Endpoint{}, false}, {"c-1", Endpoint{}, false}, {"", Endpoint{}, false},
	} {
		got, err := ParseEndpoint(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("ParseEndpoint(%q) = %v, %v", c.in, got, err)
		}
		if c.ok && got.String() != c.in {
			t.Errorf("%q prints as %q", c.in, got)
		}
	}
}

func TestActionKinds(t *testing.T) {
	for k := ActionFire; k < v1KindLimit; k++ {
		if got, err := ParseActionKind(k.String()); err != nil || got != k {
			t.Fatalf("%v: %v, %v", k, got, err)
		}
	}
	if _, err := ParseActionKind("Fire"); err == nil {
		t.Fatal("keywords are lower case")
	}
}

func TestActionError(t *testing.T) {
	s := every()
	want := "schedule: action 2 (deliver m1 n1->n9 snap): m1 was never put in flight"
	if got := s.ActionError(1, "m1 was never put in flight").Error(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
