package schedule

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// thead is a valid version 2 header block: lines 1-5, so the first action is on line 6.
const thead = "raftsim schedule v2\nscenario x\nseed 1\nclients 2\nactions\n"

// tacts is a version 2 schedule with thead and the given action lines.
func tacts(lines ...string) string { return thead + strings.Join(lines, "\n") + "\nend\n" }

// thdr is a version 2 schedule whose headers are the given lines (from line 2).
func thdr(lines ...string) string {
	return "raftsim schedule v2\n" + strings.Join(lines, "\n") + "\nactions\nend\n"
}

// TestTimedParseErrors runs every error path that version 2 adds, and those between the
// versions, and checks the whole message.
func TestTimedParseErrors(t *testing.T) {
	const notV2 = `is not in version 2: a version 2 schedule takes its cluster and Raft options from its scenario, and may override nodes, clients, read-mode, pre-vote and check-quorum`
	const v2Kinds = "crash, restart, invoke, pause, partition, isolate, cut, cut-one-way, bridge, heal, clock-rate, clock-jump, packet"
	const v1Kinds = "fire, deliver, drop, dup, crash, restart, save, invoke, retry, transfer, admin, admin-retry"
	const partUsage = "at TIME partition GROUP | GROUP ... (a GROUP is endpoints such as n1 n2 c1)"
	const order = "; a link's packets have at most one line each, in increasing number order"
	for _, c := range []struct{ name, in, want string }{
		// Between the versions.
		{"v1 duration", "raftsim schedule v1\nduration 1s\n", `schedule:2: header "duration" is version 2 only (the timed form, first line "raftsim schedule v2"); version 1 has no time`},
		{"v1 delay", "raftsim schedule v1\ndelay 1ms\n", `schedule:2: header "delay" is version 2 only (the timed form, first line "raftsim schedule v2"); version 1 has no time`},
		{"v1 at", acts("at 1s crash n1"), `schedule:7: "at TIME" is version 2 (the timed form, first line "raftsim schedule v2"); version 1 actions have no time`},
		{"v1 pause", acts("pause n1 1s"), `schedule:7: pause is a version 2 action (the timed form, first line "raftsim schedule v2"); version 1 takes: ` + v1Kinds},
		{"v1 packet", acts("packet n1->n2 #1 drop"), `schedule:7: packet is a version 2 action (the timed form, first line "raftsim schedule v2"); version 1 takes: ` + v1Kinds},
		{"v2 spares", thdr("spares 1"), `schedule:2: header "spares" ` + notV2},
		{"v2 heartbeat", thdr("scenario x", "seed 1", "heartbeat 50ms"), `schedule:4: header "heartbeat" ` + notV2},
		{"v2 election", thdr("election-timeout 1s-2s"), `schedule:2: header "election-timeout" ` + notV2},
		{"v2 max-entries", thdr("max-entries 1"), `schedule:2: header "max-entries" ` + notV2},
		{"v2 learner", thdr("learner-catch-up 1"), `schedule:2: header "learner-catch-up" ` + notV2},
		{"v2 drift", thdr("max-clock-drift 0"), `schedule:2: header "max-clock-drift" ` + notV2},
		{"v2 threshold", thdr("snapshot-threshold 0"), `schedule:2: header "snapshot-threshold" ` + notV2},
		{"v2 chunk", thdr("snapshot-chunk 1"), `schedule:2: header "snapshot-chunk" ` + notV2},
		{"v2 fire", tacts("at 1s fire n1"), "schedule:6: fire is a version 1 action (abstract time); version 2 takes: " + v2Kinds},
		{"v2 deliver", tacts("deliver m1 n1->n2 vote"), "schedule:6: deliver is a version 1 action (abstract time); version 2 takes: " + v2Kinds},
		{"v2 untimed", tacts("crash n1"), "schedule:6: crash needs a time in version 2; usage: at TIME crash SERVER"},
		{"v2 invoke server", tacts(`at 1s invoke c1 n1 get "k"`), "schedule:6: invoke takes 3 arguments, got 4; usage: at TIME invoke CLIENT get KEY | put KEY VALUE | append KEY VALUE"},
		// Version 2 headers.
		{"missing scenario", thdr("seed 1"), `schedule:3: missing header "scenario"; required before "actions": scenario, seed`},
		{"missing seed", thdr("scenario x"), `schedule:3: missing header "seed"; required before "actions": scenario, seed`},
		{"unknown header", thdr("sed 1"), `schedule:2: unknown header "sed"; valid: scenario, seed, nodes, clients, duration, delay, read-mode, pre-vote, check-quorum, expect, actions`},
		{"at header", thdr("at 1s crash n1"), `schedule:2: action "at" before the "actions" line; the headers end with a line "actions"`},
		{"packet header", thdr("packet n1->n2 #1 drop"), `schedule:2: action "packet" before the "actions" line; the headers end with a line "actions"`},
		{"nodes 0", thdr("nodes 0"), "schedule:2: nodes 0 out of range; valid: 1..9"},
		{"nodes 10", thdr("nodes 10"), "schedule:2: nodes 10 out of range; valid: 1..9"},
		{"clients 0", thdr("clients 0"), "schedule:2: clients 0 out of range; valid: 1..9"},
		{"duration 0", thdr("duration 0s"), "schedule:2: duration 0s must be positive"},
		{"duration sign", thdr("duration -1s"), `schedule:2: bad duration "-1s"; want a positive Go duration such as 50ms`},
		{"delay sign", thdr("delay -1ms"), `schedule:2: bad delay "-1ms"; want a Go duration of 0s or more, such as 1ms`},
		{"delay syntax", thdr("delay 1"), `schedule:2: bad delay "1"; want a Go duration of 0s or more, such as 1ms`},
		{"read-mode", thdr("read-mode index"), `schedule:2: bad read-mode "index"; valid: readindex, lease, local`},
		{"pre-vote", thdr("pre-vote yes"), `schedule:2: bad pre-vote "yes"; valid: on, off`},
		{"check-quorum", thdr(`check-quorum "on"`), `schedule:2: bad check-quorum "\"on\""; valid: on, off`},
		{"lease", thdr("read-mode lease", "scenario x", "seed 1", "check-quorum off"), "schedule:5: read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader"},
		{"scenario quoted", thdr(`scenario "x"`), `schedule:2: bad scenario "\"x\""; want a word, not a quoted string`},
		{"repeated", thdr("delay 1ms", "delay 2ms"), `schedule:3: repeated header "delay" (first on line 2); each header appears at most once`},
		// Timed action lines.
		{"unknown", tacts("fly n1"), `schedule:6: unknown action "fly"; valid: ` + v2Kinds},
		{"at alone", tacts("at 1s"), `schedule:6: "at" takes a time and an action; usage: at TIME ACTION ARGUMENTS, such as "at 1.5s crash n2"`},
		{"time syntax", tacts("at 1 crash n1"), `schedule:6: bad time "1"; want a Go duration from the start of the run, 0s or more, such as 1.5s`},
		{"time sign", tacts("at -1s crash n1"), `schedule:6: bad time "-1s"; want a Go duration from the start of the run, 0s or more, such as 1.5s`},
		{"time quoted", tacts(`at "1s" crash n1`), `schedule:6: bad time "\"1s\""; want a Go duration from the start of the run, 0s or more, such as 1.5s`},
		{"unknown timed", tacts("at 1s fly n1"), `schedule:6: unknown action "fly"; valid: ` + v2Kinds},
		{"timed packet", tacts("at 1s packet n1->n2 #1 drop"), "schedule:6: packet lines have no time; usage: " + fateUsage},
		{"order", tacts("at 2s heal", "packet n1->n2 #1 drop", "at 1s heal"), "schedule:8: at 1s is before the time of the previous timed action, 2s on line 6; timed actions are in time order"},
		{"crash arguments", tacts("at 1s crash"), "schedule:6: crash takes 1 argument, got 0; usage: at TIME crash SERVER"},
		{"server range", tacts("at 1s restart n10"), "schedule:6: server n10 out of range; valid: n1..n9"},
		{"server syntax", tacts("at 1s crash c1"), `schedule:6: bad server "c1"; want n1..n9`},
		{"client range", tacts(`at 1s invoke c3 get "k"`), "schedule:6: client c3 out of range; valid: c1..c2 (clients 2)"},
		{"client syntax", tacts(`at 1s invoke x get "k"`), `schedule:6: bad client "x"; want c1..c2`},
		{"scenario's clients", "raftsim schedule v2\nscenario x\nseed 1\nactions\nat 0s invoke c10 get \"k\"\nend\n", "schedule:5: client c10 out of range; valid: c1..c9"},
		{"put arguments", tacts(`at 1s invoke c1 put "k"`), "schedule:6: invoke takes 4 arguments, got 3; usage: at TIME invoke CLIENT get KEY | put KEY VALUE | append KEY VALUE"},
		{"invoke op", tacts(`at 1s invoke c1 gett "k"`), `schedule:6: unknown operation "gett"; valid: get, put, append`},
		{"invoke key", tacts(`at 1s invoke c1 get k`), `schedule:6: key k is not quoted; want a Go-quoted string such as "k0"`},
		{"invoke line", tacts(`at 1s invoke c1 put "k" "` + strings.Repeat("\t", 3000) + `"`), "schedule:6: the action's line would be 6026 bytes (strings re-quoted); the limit is 4096"},
		{"pause arguments", tacts("at 1s pause n1"), "schedule:6: pause takes 2 arguments, got 1; usage: at TIME pause SERVER DURATION"},
		{"pause 0", tacts("at 1s pause n1 0s"), "schedule:6: pause 0s must be positive"},
		{"pause sign", tacts("at 1s pause n1 -1s"), `schedule:6: bad pause "-1s"; want a positive Go duration such as 50ms`},
		{"partition none", tacts("at 1s partition"), "schedule:6: partition takes at least one group, got none; usage: " + partUsage},
		{"partition leading bar", tacts("at 1s partition | n1"), "schedule:6: group 1 of the partition is empty; usage: " + partUsage},
		{"partition trailing bar", tacts("at 1s partition n1 |"), "schedule:6: group 2 of the partition is empty; usage: " + partUsage},
		{"partition double bar", tacts("at 1s partition n1 | | n2"), "schedule:6: group 2 of the partition is empty; usage: " + partUsage},
		{"partition glued bar", tacts("at 1s partition n1|n2"), `schedule:6: bad endpoint "n1|n2" in the partition; want a server n1..n9, a client c1..c2 or admin, groups separated by " | "`},
		{"partition twice", tacts("at 1s partition n1 c1 | n2 c1"), "schedule:6: c1 is listed twice in the partition (groups 1 and 2); an endpoint is in at most one group"},
		{"partition range", tacts("at 1s partition n10"), "schedule:6: server n10 out of range; valid: n1..n9"},
		{"partition client", tacts("at 1s partition n1 | c3"), "schedule:6: client c3 out of range; valid: c1..c2 (clients 2)"},
		{"isolate arguments", tacts("at 1s isolate"), "schedule:6: isolate takes 1 argument, got 0; usage: at TIME isolate ENDPOINT"},
		{"isolate syntax", tacts("at 1s isolate x"), `schedule:6: bad endpoint "x"; want a server n1..n9, a client c1..c2 or admin`},
		{"isolate range", tacts("at 1s isolate c3"), "schedule:6: client c3 out of range; valid: c1..c2 (clients 2)"},
		{"cut same", tacts("at 1s cut n1 n1"), "schedule:6: cut names n1 twice; its 2 endpoints are distinct"},
		{"cut arguments", tacts("at 1s cut n1"), "schedule:6: cut takes 2 arguments, got 1; usage: at TIME cut ENDPOINT ENDPOINT"},
		{"one-way arguments", tacts("at 1s cut-one-way n1"), "schedule:6: cut-one-way takes 2 arguments, got 1; usage: at TIME cut-one-way FROM TO"},
		{"one-way same", tacts("at 1s cut-one-way admin admin"), "schedule:6: cut-one-way names admin twice; its 2 endpoints are distinct"},
		{"bridge arguments", tacts("at 1s bridge n1 n2"), "schedule:6: bridge takes 3 arguments, got 2; usage: at TIME bridge A B C"},
		{"bridge same", tacts("at 1s bridge n1 n2 n1"), "schedule:6: bridge names n1 twice; its 3 endpoints are distinct"},
		{"heal arguments", tacts("at 1s heal now"), "schedule:6: heal takes 0 arguments, got 1; usage: at TIME heal"},
		{"rate arguments", tacts("at 1s clock-rate n1"), "schedule:6: clock-rate takes 2 arguments, got 1; usage: at TIME clock-rate SERVER RATE"},
		{"rate syntax", tacts("at 1s clock-rate n1 x"), `schedule:6: bad clock-rate "x"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate sign", tacts("at 1s clock-rate n1 -1"), `schedule:6: bad clock-rate "-1"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate plus", tacts("at 1s clock-rate n1 +1"), `schedule:6: bad clock-rate "+1"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate dot", tacts("at 1s clock-rate n1 .5"), `schedule:6: bad clock-rate ".5"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate trailing dot", tacts("at 1s clock-rate n1 5."), `schedule:6: bad clock-rate "5."; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate capital E", tacts("at 1s clock-rate n1 1E5"), `schedule:6: bad clock-rate "1E5"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate exponent", tacts("at 1s clock-rate n1 1e"), `schedule:6: bad clock-rate "1e"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate inf", tacts("at 1s clock-rate n1 inf"), `schedule:6: bad clock-rate "inf"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate hex", tacts("at 1s clock-rate n1 0x1p-2"), `schedule:6: bad clock-rate "0x1p-2"; want a positive decimal number such as 1.05 or 2e-06`},
		{"rate 0", tacts("at 1s clock-rate n1 0"), "schedule:6: clock-rate 0 must be positive and finite"},
		{"rate underflow", tacts("at 1s clock-rate n1 1e-400"), "schedule:6: clock-rate 0 must be positive and finite"},
		{"rate overflow", tacts("at 1s clock-rate n1 1e400"), "schedule:6: clock-rate +Inf must be positive and finite"},
		{"jump arguments", tacts("at 1s clock-jump n1"), "schedule:6: clock-jump takes 2 arguments, got 1; usage: at TIME clock-jump SERVER DURATION"},
		{"jump 0", tacts("at 1s clock-jump n1 -0s"), "schedule:6: clock-jump 0s does nothing; want a nonzero Go duration, with - for a backward jump"},
		{"jump plus", tacts("at 1s clock-jump n1 +1s"), `schedule:6: bad clock-jump "+1s"; want a nonzero Go duration, with - for a backward jump, such as 1s or -200ms`},
		{"jump two signs", tacts("at 1s clock-jump n1 --1s"), `schedule:6: bad clock-jump "--1s"; want a nonzero Go duration, with - for a backward jump, such as 1s or -200ms`},
		{"jump syntax", tacts("at 1s clock-jump n1 -"), `schedule:6: bad clock-jump "-"; want a nonzero Go duration, with - for a backward jump, such as 1s or -200ms`},
		{"jump quoted", tacts(`at 1s clock-jump n1 "1s"`), `schedule:6: bad clock-jump "\"1s\""; want a nonzero Go duration, with - for a backward jump, such as 1s or -200ms`},
		// Packet lines.
		{"packet short", tacts("packet n1->n2"), "schedule:6: packet takes a path, a number and a fate, got 1 field (a '#' not followed by a digit starts a comment); usage: " + fateUsage},
		{"packet hash word", tacts("packet n1->n2 #x drop"), "schedule:6: packet takes a path, a number and a fate, got 1 field (a '#' not followed by a digit starts a comment); usage: " + fateUsage},
		{"packet hash glued", tacts("packet n1->n2 #5#drop"), "schedule:6: packet takes a path, a number and a fate, got 2 fields (a '#' not followed by a digit starts a comment); usage: " + fateUsage},
		{"path syntax", tacts("packet n1-n2 #1 drop"), `schedule:6: bad path "n1-n2"; want FROM->TO with endpoints n1..n9, c1..c2 or admin, such as n1->n2`},
		{"number syntax", tacts("packet n1->n2 5 drop"), `schedule:6: bad packet number "5"; want #1, #2, ... right after the path`},
		{"number leading zero", tacts("packet n1->n2 #01 drop"), `schedule:6: bad packet number "#01"; want #1, #2, ... right after the path`},
		{"number 2^64", tacts("packet n1->n2 #18446744073709551616 drop"), `schedule:6: bad packet number "#18446744073709551616"; want #1, #2, ... right after the path`},
		{"number 0", tacts("packet n1->n2 #0 drop"), "schedule:6: packet number #0; the packets of a link are numbered from #1"},
		{"path self", tacts("packet n1->n1 #1 drop"), "schedule:6: no packet goes n1->n1; a packet goes from a server to another server, or between a server and a client or admin"},
		{"path clients", tacts("packet c1->admin #1 drop"), "schedule:6: no packet goes c1->admin; a packet goes from a server to another server, or between a server and a client or admin"},
		{"path server range", tacts("packet c1->n10 #1 drop"), "schedule:6: server n10 out of range; valid: n1..n9"},
		{"path client range", tacts("packet c3->n1 #1 drop"), "schedule:6: client c3 out of range; valid: c1..c2 (clients 2)"},
		{"fate", tacts("packet n1->n2 #1 lose"), `schedule:6: unknown fate "lose"; valid: deliver DELAY, drop, dup COPY COPY (a COPY is DELAY or drop)`},
		{"deliver arguments", tacts("packet n1->n2 #1 deliver"), "schedule:6: fate deliver takes 1 argument, got 0; usage: " + fateUsage},
		{"drop arguments", tacts("packet n1->n2 #1 drop 1ms"), "schedule:6: fate drop takes 0 arguments, got 1; usage: " + fateUsage},
		{"dup arguments", tacts("packet n1->n2 #1 dup 1ms"), "schedule:6: fate dup takes 2 arguments, got 1; usage: " + fateUsage},
		{"deliver drop", tacts("packet n1->n2 #1 deliver drop"), `schedule:6: bad delay "drop"; want a Go duration of 0s or more, such as 3.2ms`},
		{"delay sign", tacts("packet n1->n2 #1 deliver -1ms"), `schedule:6: bad delay "-1ms"; want a Go duration of 0s or more, such as 3.2ms`},
		{"dup copy", tacts("packet n1->n2 #1 dup 1ms x"), `schedule:6: bad delay "x"; want a Go duration of 0s or more, such as 3.2ms or drop`},
		{"packet twice", tacts("packet n1->n2 #2 drop", "packet n1->n2 #2 drop"), "schedule:7: packet n1->n2 #2 after #2 on line 6" + order},
		{"packet back", tacts("packet n1->n2 #2 drop", "packet n2->n1 #1 drop", "packet n1->n2 #1 drop"), "schedule:8: packet n1->n2 #1 after #2 on line 6" + order},
	} {
		_, err := Parse([]byte(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Line == 0 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v: want a one-line *Error with a line number", c.name, err)
		}
	}
}

// TestTimedExample parses the version 2 example, checks what it says and that it shows
// every version 2 header and action kind, and pins its canonical form.
func TestTimedExample(t *testing.T) {
	in, err := os.ReadFile("testdata/example-v2.schedule")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	wantTimed := Timed{Nodes: 3, Clients: 2, Duration: 12500 * time.Millisecond, Delay: time.Millisecond,
		ReadMode: "local", PreVote: SwitchOn, CheckQuorum: SwitchOff}
	if s.Version != VersionTimed || s.Scenario != "churn" || s.Seed != 7 || s.Timed != wantTimed ||
		s.Expect != (Expect{ExpectFail, "assertion: the majority elected no new leader during the partition"}) ||
		s.Nodes != 0 || s.Clients != 0 || s.Spares != 0 || s.Node != (NodeOptions{}) {
		t.Fatalf("example parsed as %+v", s)
	}
	for _, h := range timedHeaders() {
		if !strings.Contains(string(in), "\n"+h.name+" ") {
			t.Errorf("the example does not show header %s", h.name)
		}
	}
	part, err := NewPartition([]Endpoint{ServerEndpoint(1), ServerEndpoint(2), ClientEndpoint(1)}, []Endpoint{ServerEndpoint(3), ServerEndpoint(4)})
	if err != nil {
		t.Fatal(err)
	}
	srv := ServerEndpoint
	want := map[int]Action{
		0:  {Kind: ActionInvoke, Client: 1, Op: kv.OpPut, Key: "k3", Value: "c1.1 ", Comment: "c1's first operation (invoke has no server in v2)"},
		1:  {Kind: ActionPacket, From: ClientEndpoint(1), To: srv(2), Packet: 1, Fate: Fate{Dup: true, Delays: [2]time.Duration{2 * time.Millisecond, 7 * time.Millisecond}}, Comment: "c1's first packet to n2: two copies, after 2ms and 7ms"},
		2:  {Kind: ActionPacket, From: srv(1), To: srv(2), Packet: 5, Fate: Fate{Delays: [2]time.Duration{3200 * time.Microsecond}}, Comment: "n1's fifth packet to n2 arrives after 3.2ms"},
		3:  {Kind: ActionPacket, From: srv(1), To: srv(2), Packet: 6, Fate: Fate{Lost: [2]bool{true}}, Comment: "its sixth is lost"},
		5:  {Kind: ActionPacket, From: srv(2), To: AdminEndpoint(), Packet: 3, Fate: Fate{Dup: true, Lost: [2]bool{true}, Delays: [2]time.Duration{0, 7 * time.Millisecond}}, Comment: "duplicated: the first copy lost, the second after 7ms"},
		7:  {Kind: ActionPause, At: 3 * time.Second, Node: 2, Duration: 300 * time.Millisecond, Comment: "n2 stops taking steps for 300ms"},
		8:  {Kind: ActionPartition, At: 3 * time.Second, Partition: part, Comment: `written in any order: Format writes "n1 n2 c1 | n3 n4"`},
		12: {Kind: ActionBridge, At: 3 * time.Second, Endpoints: [3]Endpoint{srv(1), srv(2), srv(3)}, Comment: "n1 and n3 cannot talk; both still reach n2"},
		14: {Kind: ActionClockRate, At: 4 * time.Second, Node: 2, Rate: 1.05, Comment: "n2's clock runs 5% fast from now on"},
		15: {Kind: ActionClockJump, At: 4500 * time.Millisecond, Node: 2, Duration: -200 * time.Millisecond, Comment: "n2's clock steps back 200ms"},
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
	for k := ActionFire; k < actionKindLimit; k++ {
		if k.InVersion(VersionTimed) && !kinds[k] {
			t.Errorf("the example does not show %v", k)
		}
	}
	roundTrip(t, s)
	requireCanonical(t, s, "testdata/example-v2-canonical.schedule")
}

// TestNewTimed: a file with only the required headers is NewTimed's schedule, with the
// default delay; every override is unset.
func TestNewTimed(t *testing.T) {
	s, err := Parse([]byte("raftsim schedule v2\nscenario churn\nseed 7\nactions\nend\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Schedule{Version: 2, Scenario: "churn", Seed: 7, Timed: Timed{Delay: DefaultDelay}}
	requireEqual(t, s, want)
	requireEqual(t, NewTimed("churn", 7), want)
	if got := string(want.Format()); got != "raftsim schedule v2\nscenario churn\nseed 7\ndelay 1ms\nactions\nend\n" {
		t.Fatalf("Format: %q", got)
	}
	s, err = Parse([]byte("raftsim schedule v2\nscenario churn\nseed 7\ndelay 0s\nactions\nend\n"))
	if err != nil || s.Timed.Delay != 0 {
		t.Fatalf("delay 0s: %v, %+v", err, s)
	}
	roundTrip(t, s)
}

// everyTimed is a valid version 2 schedule with every action kind and awkward values.
func everyTimed() *Schedule {
	s := NewTimed("shrunk/churn-3", ^uint64(0))
	s.Timed = Timed{Nodes: 9, Clients: 9, Duration: math.MaxInt64, Delay: 0, ReadMode: "lease", PreVote: SwitchOff, CheckQuorum: SwitchOn}
	s.Expect = Expect{Kind: ExpectFail, Check: "assertion: \"quoted\"\t# not a comment"}
	srv, cli, adm := ServerEndpoint, ClientEndpoint, AdminEndpoint()
	var all [][]Endpoint
	for i := MaxEndpoints - 1; i >= 0; i-- { // every endpoint alone, in reverse
		all = append(all, []Endpoint{IndexEndpoint(i)})
	}
	p19, err := NewPartition(all...)
	if err != nil {
		panic(err)
	}
	p1, _ := NewPartition([]Endpoint{adm})
	maxD := time.Duration(math.MaxInt64)
	s.Actions = []Action{
		{Kind: ActionInvoke, Client: 9, Op: kv.OpGet, Key: "", Comment: "# a comment\twith a tab"},
		{Kind: ActionPacket, From: srv(9), To: adm, Packet: ^uint64(0), Fate: Fate{Dup: true, Lost: [2]bool{true, true}}},
		{Kind: ActionPacket, From: adm, To: srv(9), Packet: 1, Fate: Fate{Dup: true, Delays: [2]time.Duration{maxD, 0}}},
		{Kind: ActionPacket, From: srv(1), To: cli(9), Packet: 1, Fate: Fate{Delays: [2]time.Duration{time.Nanosecond}}},
		{Kind: ActionPacket, From: srv(1), To: cli(9), Packet: 2, Fate: Fate{Lost: [2]bool{true}}, Comment: "é"},
		{Kind: ActionInvoke, At: 0, Client: 1, Op: kv.OpAppend, Key: "\x00\xff", Value: "\"#\\"},
		{Kind: ActionCrash, At: time.Nanosecond, Node: 9},
		{Kind: ActionRestart, At: time.Nanosecond, Node: 1},
		{Kind: ActionPause, At: time.Second, Node: 2, Duration: maxD},
		{Kind: ActionPartition, At: time.Second, Partition: p19},
		{Kind: ActionPartition, At: time.Second, Partition: p1},
		{Kind: ActionIsolate, At: time.Second, Endpoints: [3]Endpoint{adm}},
		{Kind: ActionCut, At: time.Second, Endpoints: [3]Endpoint{cli(2), cli(1)}},
		{Kind: ActionCutOneWay, At: time.Second, Endpoints: [3]Endpoint{srv(2), srv(1)}},
		{Kind: ActionBridge, At: time.Second, Endpoints: [3]Endpoint{adm, cli(9), srv(9)}},
		{Kind: ActionHeal, At: time.Second},
		{Kind: ActionClockRate, At: 2 * time.Second, Node: 3, Rate: math.SmallestNonzeroFloat64},
		{Kind: ActionClockRate, At: 2 * time.Second, Node: 3, Rate: math.MaxFloat64},
		{Kind: ActionClockRate, At: 2 * time.Second, Node: 3, Rate: 1.0000000000000002},
		{Kind: ActionClockJump, At: 2 * time.Second, Node: 4, Duration: math.MinInt64},
		{Kind: ActionClockJump, At: maxD, Node: 4, Duration: maxD},
		{Kind: ActionInvoke, At: maxD, Client: 2, Op: kv.OpPut, Key: " ", Value: strings.Repeat("v", 3000)},
		{Kind: ActionPacket, From: cli(1), To: srv(1), Packet: 3, Fate: Fate{Dup: true, Lost: [2]bool{false, true}, Delays: [2]time.Duration{1, 0}}},
	}
	return s
}

func TestTimedRoundTrip(t *testing.T) {
	s := everyTimed()
	roundTrip(t, s)
	if got, want := s.Actions[9].Text(VersionTimed), "at 1s partition n1 | n2 | n3 | n4 | n5 | n6 | n7 | n8 | n9 | c1 | c2 | c3 | c4 | c5 | c6 | c7 | c8 | c9 | admin"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if got, want := s.Actions[19].Text(VersionTimed), "at 2s clock-jump n4 -2562047h47m16.854775808s"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	roundTrip(t, NewTimed("x", 1))
}

// TestTimedLexical: the '#' of a packet number, comments on timed lines, and partitions
// written in any order.
func TestTimedLexical(t *testing.T) {
	in := tacts(
		"packet n1->n2 #5 drop#gone",
		"\tpacket\tn1->n2\t#6\tdeliver\t0s\t# tabbed",
		"at 0 crash n3 #1 is down",
		"at 1s partition n3 | c1 n2 n1",
		"at 1s partition n1 n2 c1 | n3",
		"packet n1->n2 #7 dup drop 1ms # #8 is not a field",
	)
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	g := []Endpoint{ServerEndpoint(1), ServerEndpoint(2), ClientEndpoint(1)}
	p, _ := NewPartition(g, []Endpoint{ServerEndpoint(3)})
	want := NewTimed("x", 1)
	want.Timed.Clients = 2
	want.Actions = []Action{
		{Kind: ActionPacket, From: ServerEndpoint(1), To: ServerEndpoint(2), Packet: 5, Fate: Fate{Lost: [2]bool{true}}, Comment: "gone"},
		{Kind: ActionPacket, From: ServerEndpoint(1), To: ServerEndpoint(2), Packet: 6, Comment: "tabbed"},
		{Kind: ActionCrash, Node: 3, Comment: "1 is down"},
		{Kind: ActionPartition, At: time.Second, Partition: p},
		{Kind: ActionPartition, At: time.Second, Partition: p},
		{Kind: ActionPacket, From: ServerEndpoint(1), To: ServerEndpoint(2), Packet: 7, Fate: Fate{Dup: true, Lost: [2]bool{true}, Delays: [2]time.Duration{0, time.Millisecond}}, Comment: "#8 is not a field"},
	}
	requireEqual(t, s, want)
	// In version 1 a '#' always starts a comment.
	s, err = Parse([]byte(acts("fire n1 #1 first")))
	if err != nil || s.Actions[0].Comment != "1 first" {
		t.Fatalf("v1 comment: %v, %+v", err, s)
	}
}

// TestTimedValidateErrors: what only a version 2 schedule built in code can hold.
func TestTimedValidateErrors(t *testing.T) {
	bad := Partition{}
	bad.Groups[0], bad.Groups[1] = 2, 1
	for _, c := range []struct {
		name string
		edit func(s *Schedule)
		want string
	}{
		{"v1 fields", func(s *Schedule) { s.Nodes = 3 }, "schedule: version 2 with Nodes, Spares, Clients or Node set; version 2 takes them from its scenario, and holds its overrides in Timed"},
		{"node options", func(s *Schedule) { s.Node.PreVote = true }, "schedule: version 2 with Nodes, Spares, Clients or Node set; version 2 takes them from its scenario, and holds its overrides in Timed"},
		{"no scenario", func(s *Schedule) { s.Scenario = "" }, "schedule: no scenario; a version 2 schedule names the scenario whose configuration, script and assertion run"},
		{"scenario", func(s *Schedule) { s.Scenario = "a b" }, `schedule: bad scenario "a b"; want a word of letters, digits and ._:/+- (at most 128 bytes)`},
		{"seed", func(s *Schedule) { s.Seed = 0 }, "schedule: seed 0 out of range; valid: 1..18446744073709551615"},
		{"nodes", func(s *Schedule) { s.Timed.Nodes = -1 }, "schedule: nodes -1 out of range; valid: 1..9"},
		{"clients", func(s *Schedule) { s.Timed.Clients = 10 }, "schedule: clients 10 out of range; valid: 1..9"},
		{"duration", func(s *Schedule) { s.Timed.Duration = -1 }, "schedule: duration -1ns must be positive"},
		{"delay", func(s *Schedule) { s.Timed.Delay = -1 }, "schedule: delay -1ns is negative; want a Go duration of 0s or more"},
		{"read mode", func(s *Schedule) { s.Timed.ReadMode = "index" }, `schedule: unknown read mode "index"; valid: readindex, lease, local (or "": the scenario's)`},
		{"pre-vote", func(s *Schedule) { s.Timed.PreVote = 3 }, "schedule: unknown pre-vote value 3; valid: on, off (or unset: the scenario's)"},
		{"check-quorum", func(s *Schedule) { s.Timed.CheckQuorum = 9 }, "schedule: unknown check-quorum value 9; valid: on, off (or unset: the scenario's)"},
		{"lease", func(s *Schedule) { s.Timed.CheckQuorum = SwitchOff }, "schedule: read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader"},
		{"too many", func(s *Schedule) { s.Actions = make([]Action, MaxTimedActions+1) }, "schedule: 20000001 actions; at most 20000000 in one version 2 schedule"},
		{"kind", func(s *Schedule) { s.Actions[6].Kind = actionKindLimit }, "schedule: action 7 (at 1ns action(23)): unknown action kind 23; valid: crash, restart, invoke, pause, partition, isolate, cut, cut-one-way, bridge, heal, clock-rate, clock-jump, packet"},
		{"v1 kind", func(s *Schedule) { s.Actions[6].Kind = ActionFire }, "schedule: action 7 (at 1ns fire): fire is not an action of version 2; valid: crash, restart, invoke, pause, partition, isolate, cut, cut-one-way, bridge, heal, clock-rate, clock-jump, packet"},
		{"invoke server", func(s *Schedule) { s.Actions[0].Node = 1 }, `schedule: action 1 (at 0s invoke c9 get ""  # # a comment` + "\t" + `with a tab): fields set that invoke does not use; it takes: at TIME invoke CLIENT get KEY | put KEY VALUE | append KEY VALUE`},
		{"packet time", func(s *Schedule) { s.Actions[1].At = 1 }, "schedule: action 2 (packet n9->admin #18446744073709551615 dup drop drop): fields set that packet does not use; it takes: " + fateUsage},
		{"heal endpoint", func(s *Schedule) { s.Actions[15].Endpoints[0] = ServerEndpoint(1) }, "schedule: action 16 (at 1s heal): fields set that heal does not use; it takes: at TIME heal"},
		{"isolate third", func(s *Schedule) { s.Actions[11].Endpoints[2] = ServerEndpoint(1) }, "schedule: action 12 (at 1s isolate admin): fields set that isolate does not use; it takes: at TIME isolate ENDPOINT"},
		{"rate NaN", func(s *Schedule) { s.Actions[16].Rate = math.NaN() }, "schedule: action 17 (at 2s clock-rate n3 NaN): clock-rate NaN must be positive and finite"},
		{"rate inf", func(s *Schedule) { s.Actions[16].Rate = math.Inf(1) }, "schedule: action 17 (at 2s clock-rate n3 +Inf): clock-rate +Inf must be positive and finite"},
		{"rate -0", func(s *Schedule) { s.Actions[16].Rate = math.Copysign(0, -1) }, "schedule: action 17 (at 2s clock-rate n3 -0): clock-rate -0 must be positive and finite"},
		{"negative at", func(s *Schedule) { s.Actions[0].At = -1 }, `schedule: action 1 (at -1ns invoke c9 get ""  # # a comment` + "\t" + `with a tab): at -1ns is negative; times count from 0s, the start of the run`},
		{"time order", func(s *Schedule) { s.Actions[7].At = 0 }, "schedule: action 8 (at 0s restart n1): at 0s is before the time of the previous timed action, 1ns in action 7; timed actions are in time order"},
		{"pause 0", func(s *Schedule) { s.Actions[8].Duration = 0 }, "schedule: action 9 (at 1s pause n2 0s): pause 0s must be positive"},
		{"jump 0", func(s *Schedule) { s.Actions[19].Duration = 0 }, "schedule: action 20 (at 2s clock-jump n4 0s): clock-jump 0s does nothing; want a nonzero Go duration, with - for a backward jump"},
		{"server", func(s *Schedule) { s.Actions[6].Node = 10 }, "schedule: action 7 (at 1ns crash n10): server n10 out of range; valid: n1..n9"},
		{"client", func(s *Schedule) { s.Timed.Clients = 1 }, "schedule: action 1 (at 0s invoke c9 get \"\"  # # a comment\twith a tab): client c9 out of range; valid: c1..c1 (clients 1)"},
		{"op", func(s *Schedule) { s.Actions[0].Op = 0 }, "schedule: action 1 (at 0s invoke c9 op(0) \"\" \"\"  # # a comment\twith a tab): unknown operation 0; valid: get, put, append"},
		{"partition empty", func(s *Schedule) { s.Actions[10].Partition = Partition{} }, "schedule: action 11 (at 1s partition): a partition with no group; want at least one group of endpoints"},
		{"partition numbering", func(s *Schedule) { s.Actions[10].Partition = bad }, "schedule: action 11 (at 1s partition n1 | n2): partition groups not in canonical form (numbered 1, 2, ... by first member in EndpointIndex order: n1 | n2); build it with NewPartition"},
		{"partition range", func(s *Schedule) { s.Timed.Clients, s.Actions = 8, s.Actions[9:10] }, "schedule: action 1 (at 1s partition n1 | n2 | n3 | n4 | n5 | n6 | n7 | n8 | n9 |...): client c9 out of range; valid: c1..c8 (clients 8)"},
		{"endpoint none", func(s *Schedule) { s.Actions[12].Endpoints[1] = Endpoint{} }, "schedule: action 13 (at 1s cut c2 none): bad endpoint none; want a server n1..n9, a client c1..c9 or admin"},
		{"endpoint twice", func(s *Schedule) { s.Actions[14].Endpoints[2] = AdminEndpoint() }, "schedule: action 15 (at 1s bridge admin c9 admin): bridge names admin twice; its 3 endpoints are distinct"},
		{"link self", func(s *Schedule) { s.Actions[3].To = ServerEndpoint(1) }, "schedule: action 4 (packet n1->n1 #1 deliver 1ns): no packet goes n1->n1; a packet goes from a server to another server, or between a server and a client or admin"},
		{"link clients", func(s *Schedule) { s.Actions[3].From = AdminEndpoint() }, "schedule: action 4 (packet admin->c9 #1 deliver 1ns): no packet goes admin->c9; a packet goes from a server to another server, or between a server and a client or admin"},
		{"packet 0", func(s *Schedule) { s.Actions[3].Packet = 0 }, "schedule: action 4 (packet n1->c9 #0 deliver 1ns): packet number #0; the packets of a link are numbered from #1"},
		{"packet order", func(s *Schedule) { s.Actions[4].Packet = 1 }, "schedule: action 5 (packet n1->c9 #1 drop  # é): packet n1->c9 #1 after #1 in action 4; a link's packets have at most one line each, in increasing number order"},
		{"fate copy 1", func(s *Schedule) { s.Actions[3].Fate.Delays[1] = 1 }, "schedule: action 4 (packet n1->c9 #1 deliver 1ns): a fate with a second copy set but no dup; only a duplicated packet has copy 1"},
		{"fate lost 1", func(s *Schedule) { s.Actions[3].Fate.Lost[1] = true }, "schedule: action 4 (packet n1->c9 #1 deliver 1ns): a fate with a second copy set but no dup; only a duplicated packet has copy 1"},
		{"fate lost delay", func(s *Schedule) { s.Actions[4].Fate.Delays[0] = 1 }, "schedule: action 5 (packet n1->c9 #2 drop  # é): copy 0 of the packet is lost yet has delay 1ns; a lost copy has none"},
		{"fate negative", func(s *Schedule) { s.Actions[2].Fate.Delays[1] = -1 }, "schedule: action 3 (packet admin->n9 #1 dup 2562047h47m16.854775807s -1ns): delay -1ns is negative; want a Go duration of 0s or more"},
		{"comment", func(s *Schedule) { s.Actions[4].Comment = " x" }, "schedule: action 5 (packet n1->c9 #2 drop  #  x): the comment starts with a space or tab"},
		{"line", func(s *Schedule) { s.Actions[21].Value += strings.Repeat("\x01", 300) }, `schedule: action 22 (at 2562047h47m16.854775807s invoke c2 put " " "vvvvvvvvvvvvv...): the action's line would be 4248 bytes (strings re-quoted); the limit is 4096`},
	} {
		s := everyTimed()
		c.edit(s)
		err := s.Validate()
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.name, err, c.want)
		}
	}
}

func TestPartition(t *testing.T) {
	n, c, adm := ServerEndpoint, ClientEndpoint, AdminEndpoint()
	p, err := NewPartition([]Endpoint{n(3), adm}, []Endpoint{c(2), n(1)})
	if err != nil {
		t.Fatal(err)
	}
	var want Partition
	want.Groups[EndpointIndex(n(1))], want.Groups[EndpointIndex(c(2))] = 1, 1
	want.Groups[EndpointIndex(n(3))], want.Groups[EndpointIndex(adm)] = 2, 2
	if p != want {
		t.Fatalf("NewPartition: %+v, want %+v", p, want)
	}
	if got := fmt.Sprint(p.Lists()); got != "[[n1 c2] [n3 admin]]" {
		t.Fatalf("Lists: %s", got)
	}
	if p.String() != "n1 c2 | n3 admin" {
		t.Fatalf("String: %s", p)
	}
	if (Partition{}).Lists() != nil || (Partition{}).String() != "" {
		t.Fatal("the empty partition has groups")
	}
	for _, c := range []struct {
		groups [][]Endpoint
		want   string
	}{
		{nil, "schedule: a partition with no group; want at least one group of endpoints"},
		{[][]Endpoint{{n(1)}, {}}, "schedule: group 2 of the partition is empty; a group lists at least one endpoint"},
		{[][]Endpoint{{n(1), c(1)}, {c(1)}}, "schedule: c1 is listed twice in the partition (groups 1 and 2); an endpoint is in at most one group"},
		{[][]Endpoint{{n(1), n(1)}}, "schedule: n1 is listed twice in the partition (groups 1 and 1); an endpoint is in at most one group"},
		{[][]Endpoint{{n(10)}}, "schedule: bad endpoint n10 in the partition; want a server n1..n9, a client c1..c9 or admin"},
		{[][]Endpoint{{{}}}, "schedule: bad endpoint none in the partition; want a server n1..n9, a client c1..c9 or admin"},
		{[][]Endpoint{{{EndpointAdmin, 1}}}, "schedule: bad endpoint endpoint(3,1) in the partition; want a server n1..n9, a client c1..c9 or admin"},
	} {
		if _, err := NewPartition(c.groups...); err == nil || err.Error() != c.want {
			t.Errorf("NewPartition(%v): got %v, want %s", c.groups, err, c.want)
		}
	}
	for i := range MaxEndpoints {
		if EndpointIndex(IndexEndpoint(i)) != i {
			t.Fatalf("IndexEndpoint(%d) = %v", i, IndexEndpoint(i))
		}
	}
}

func TestActionKindVersions(t *testing.T) {
	for k := ActionFire; k < actionKindLimit; k++ {
		if got, err := ParseActionKind(k.String()); err != nil || got != k || !k.Valid() {
			t.Fatalf("%v: %v, %v", k, got, err)
		}
		both := k == ActionCrash || k == ActionRestart || k == ActionInvoke
		if k.InVersion(1) != (k < ActionPause || both) || k.InVersion(2) != (k >= ActionPause || both) || k.InVersion(3) || k.InVersion(0) {
			t.Errorf("%v: InVersion(1) %v, InVersion(2) %v", k, k.InVersion(1), k.InVersion(2))
		}
		if k.Timed() != (k.InVersion(2) && k != ActionPacket) {
			t.Errorf("%v: Timed %v", k, k.Timed())
		}
	}
	if ActionKind(0).Valid() || actionKindLimit.Valid() || actionKindLimit.InVersion(2) {
		t.Fatal("Valid accepts an unknown kind")
	}
	_, err := ParseActionKind("fly")
	if want := `unknown action "fly"; valid: fire, deliver, drop, dup, crash, restart, save, invoke, retry, transfer, admin, admin-retry, pause, partition, isolate, cut, cut-one-way, bridge, heal, clock-rate, clock-jump, packet`; err == nil || err.Error() != want {
		t.Fatalf("got %v", err)
	}
}

// TestActionString: String picks the version a kind (and, for the kinds of both, At)
// says; Text writes the version asked for.
func TestActionString(t *testing.T) {
	for _, c := range []struct {
		a    Action
		want string
	}{
		{Action{Kind: ActionCrash, Node: 1}, "crash n1"},
		{Action{Kind: ActionCrash, Node: 1, At: time.Second}, "at 1s crash n1"},
		{Action{Kind: ActionInvoke, Client: 1, Op: kv.OpGet, Key: "k"}, `at 0s invoke c1 get "k"`},
		{Action{Kind: ActionInvoke, Client: 1, Node: 2, Op: kv.OpGet, Key: "k"}, `invoke c1 n2 get "k"`},
		{Action{Kind: ActionHeal}, "at 0s heal"},
		{Action{Kind: ActionFire, Node: 2}, "fire n2"},
		{Action{Kind: ActionPacket, From: ServerEndpoint(1), To: ClientEndpoint(1), Packet: 2, Fate: Fate{Dup: true, Delays: [2]time.Duration{1, 2}}, Comment: "c"}, "packet n1->c1 #2 dup 1ns 2ns  # c"},
	} {
		if got := c.a.String(); got != c.want {
			t.Errorf("String: got %q, want %q", got, c.want)
		}
	}
	if got := (Action{Kind: ActionCrash, Node: 1}).Text(VersionTimed); got != "at 0s crash n1" {
		t.Errorf("Text: %q", got)
	}
}

func TestFate(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		f      Fate
		text   string
		delays [2]time.Duration
		copies int
	}{
		{Fate{Delays: [2]time.Duration{ms}}, "deliver 1ms", [2]time.Duration{ms}, 1},
		{Fate{Lost: [2]bool{true}}, "drop", [2]time.Duration{}, 0},
		{Fate{Dup: true, Delays: [2]time.Duration{2 * ms, ms}}, "dup 2ms 1ms", [2]time.Duration{2 * ms, ms}, 2},
		{Fate{Dup: true, Lost: [2]bool{true}, Delays: [2]time.Duration{0, 7 * ms}}, "dup drop 7ms", [2]time.Duration{7 * ms}, 1},
		{Fate{Dup: true, Lost: [2]bool{false, true}}, "dup 0s drop", [2]time.Duration{}, 1},
	} {
		d, n := c.f.Copies()
		if c.f.String() != c.text || d != c.delays || n != c.copies {
			t.Errorf("%+v: %q, %v, %d", c.f, c.f.String(), d, n)
		}
		if c.f.Plain(ms) != (c.text == "deliver 1ms") {
			t.Errorf("%+v: Plain(1ms) %v", c.f, c.f.Plain(ms))
		}
	}
}

// TestParseTooManyTimed: version 2's limit on actions counts packet lines and timed ones.
func TestParseTooManyTimed(t *testing.T) {
	in := tacts("packet n1->n2 #1 drop", "at 0s heal", "packet n1->n2 #2 drop")
	if s, err := parse([]byte(in), 3); err != nil || len(s.Actions) != 3 {
		t.Fatalf("3 actions: %v", err)
	}
	_, err := parse([]byte(tacts("packet n1->n2 #1 drop", "at 0s heal", "packet n1->n2 #2 drop", "at 0s heal")), 3)
	if want := "schedule:9: more than 3 actions; split the schedule"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

// timedRun is a version 2 schedule of n packet lines (every 1000th a timed action), like
// an exported run's.
func timedRun(n int) *Schedule {
	s := NewTimed("churn", 7)
	s.Actions = make([]Action, 0, n)
	for i := range n {
		if i%1000 == 999 {
			s.Actions = append(s.Actions, Action{Kind: ActionCrash, At: time.Duration(i) * time.Millisecond, Node: 2})
			continue
		}
		from, to := i%5+1, (i+1)%5+1
		f := Fate{Delays: [2]time.Duration{time.Duration(i%7919) * time.Microsecond}}
		if i%10 == 0 {
			f = Fate{Lost: [2]bool{true}}
		}
		s.Actions = append(s.Actions, Action{Kind: ActionPacket, From: ServerEndpoint(node.ID(from)), To: ServerEndpoint(node.ID(to)),
			Packet: uint64(i/5 + 1), Fate: f})
	}
	return s
}

func BenchmarkParseTimed(b *testing.B) {
	text := timedRun(1_000_000).Format()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormatTimed(b *testing.B) {
	s := timedRun(1_000_000)
	if err := s.Validate(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Format()
	}
}
