package schedule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// head is a valid header block: lines 1-6, so the first action is on line 7.
const head = "raftsim schedule v1\nseed 1\nnodes 3\nspares 1\nclients 2\nactions\n"

// acts is a schedule with head and the given action lines.
func acts(lines ...string) string { return head + strings.Join(lines, "\n") + "\nend\n" }

// hdr is a schedule whose headers are the given lines (after the version line, from line
// 2), with no actions.
func hdr(lines ...string) string {
	return "raftsim schedule v1\n" + strings.Join(lines, "\n") + "\nactions\nend\n"
}

// TestParseErrors runs every error path of Parse and checks the whole message.
func TestParseErrors(t *testing.T) {
	tabs := strings.Repeat("\t", 3000)
	for _, c := range []struct{ name, in, want string }{
		// The file as a whole.
		{"empty", "", `schedule:1: empty file; a schedule starts with its version line, "raftsim schedule v1" or "raftsim schedule v2"`},
		{"no actions", "raftsim schedule v1\nseed 1\n", `schedule:2: missing "actions" and "end": the file ends in the headers (truncated?); the headers end with a line "actions"`},
		{"no end", head + "fire n1\n", `schedule:7: missing "end": the file ends in the actions (truncated?); the actions end with a line "end"`},
		{"no end, no newline", head + "fire n1", `schedule:7: missing "end": the file ends in the actions (truncated?); the actions end with a line "end"`},
		{"after end", head + "end\n# ok\n\nfire n1\n", `schedule:10: text after "end"; only comments and blank lines may follow it`},
		// Lines.
		{"long line", "raftsim schedule v1\n" + strings.Repeat("#", 4097) + "\n", `schedule:2: line is 4097 bytes long; the limit is 4096`},
		{"utf-8", "raftsim schedule v1\n# \xff\n", `schedule:2: line is not valid UTF-8`},
		{"control", "raftsim schedule v1\nseed\x001\n", `schedule:2: control character 0x00 at byte 5; fields are separated by spaces or tabs, and quoted strings escape other control characters`},
		{"inner CR", "raftsim schedule v1\nseed 1\r\r\n", `schedule:2: control character 0x0d at byte 7; fields are separated by spaces or tabs, and quoted strings escape other control characters`},
		{"unterminated", acts(`invoke c1 n1 get "k0`), `schedule:7: unterminated quoted string "\"k0"`},
		{"escape at end", acts(`invoke c1 n1 get "k0\"`), `schedule:7: unterminated quoted string "\"k0\\\""`},
		{"bad escape", acts(`invoke c1 n1 get "\q"`), `schedule:7: bad quoted string "\"\\q\""; want Go syntax, such as "k0" or "a\tb"`},
		{"glued quote", acts(`invoke c1 n1 get "k0"x`), `schedule:7: text right after the quoted string "\"k0\""; separate fields with a space`},
		{"quote in word", acts(`invoke c1 n1 get k"0"`), `schedule:7: quote inside the field "k\""; a quoted string is a field of its own`},
		// The version line.
		{"not a schedule", "hello\n", `schedule:1: not a raftsim schedule: the first line must be "raftsim schedule v1" or "raftsim schedule v2"`},
		{"comment first", "# x\nraftsim schedule v1\n", `schedule:1: not a raftsim schedule: the first line must be "raftsim schedule v1" or "raftsim schedule v2"`},
		{"binary", "\x1f\x8b\x08\n", `schedule:1: not a raftsim schedule: the first line must be "raftsim schedule v1" or "raftsim schedule v2"`},
		{"quoted version", `raftsim "schedule" v1` + "\n", `schedule:1: not a raftsim schedule: the first line must be "raftsim schedule v1" or "raftsim schedule v2"`},
		{"version 0", "raftsim schedule v0\n", `schedule:1: bad version "v0"; this raftsim reads versions 1 and 2 (the first line must be "raftsim schedule v1" or "raftsim schedule v2")`},
		{"version x", "raftsim schedule vx\n", `schedule:1: bad version "vx"; this raftsim reads versions 1 and 2 (the first line must be "raftsim schedule v1" or "raftsim schedule v2")`},
		{"version 01", "raftsim schedule v01\n", `schedule:1: bad version "v01"; this raftsim reads versions 1 and 2 (the first line must be "raftsim schedule v1" or "raftsim schedule v2")`},
		{"future", "raftsim schedule v3\nwhat comes in v3\n", `schedule:1: version 3 is newer than this raftsim reads (2)`},
		// Header structure.
		{"actions args", hdr("seed 1", "nodes 3", "actions now"), `schedule:4: "actions" takes no arguments`},
		{"end first", "raftsim schedule v1\nend\n", `schedule:2: "end" before the "actions" line; the headers end with a line "actions"`},
		{"action first", "raftsim schedule v1\nfire n1\n", `schedule:2: action "fire" before the "actions" line; the headers end with a line "actions"`},
		{"unknown header", hdr("sed 1"), `schedule:2: unknown header "sed"; valid: scenario, seed, nodes, spares, clients, heartbeat, election-timeout, max-entries, learner-catch-up, read-mode, max-clock-drift, pre-vote, check-quorum, snapshot-threshold, snapshot-chunk, expect, actions`},
		{"quoted header", hdr(`"seed" 1`), `schedule:2: unknown header "\"seed\""; valid: scenario, seed, nodes, spares, clients, heartbeat, election-timeout, max-entries, learner-catch-up, read-mode, max-clock-drift, pre-vote, check-quorum, snapshot-threshold, snapshot-chunk, expect, actions`},
		{"repeated", hdr("seed 1", "# x", "seed 1"), `schedule:4: repeated header "seed" (first on line 2); each header appears at most once`},
		{"arguments", hdr("seed 1 2"), `schedule:2: seed takes 1 argument, got 2; usage: seed N`},
		{"no argument", hdr("heartbeat"), `schedule:2: heartbeat takes 1 argument, got 0; usage: heartbeat DURATION`},
		{"expect arguments", hdr(`expect fail "a" b`), `schedule:2: expect takes 1 or 2 arguments, got 3; usage: expect ok | fail "CHECK"`},
		{"missing nodes", hdr("seed 1"), `schedule:3: missing header "nodes"; required before "actions": seed, nodes`},
		{"missing seed", hdr("nodes 3"), `schedule:3: missing header "seed"; required before "actions": seed, nodes`},
		// Header values.
		{"seed syntax", hdr("seed x"), `schedule:2: bad seed "x"; want a decimal number in 1..18446744073709551615`},
		{"seed sign", hdr("seed +1"), `schedule:2: bad seed "+1"; want a decimal number in 1..18446744073709551615`},
		{"seed 0", hdr("seed 0"), `schedule:2: seed 0 out of range; valid: 1..18446744073709551615`},
		{"seed 2^64", hdr("seed 18446744073709551616"), `schedule:2: bad seed "18446744073709551616"; want a decimal number in 1..18446744073709551615`},
		{"nodes 10", hdr("nodes 10"), `schedule:2: nodes 10 out of range; valid: 1..9`},
		{"nodes 0", hdr("nodes 0"), `schedule:2: nodes 0 out of range; valid: 1..9`},
		{"leading zero", hdr("nodes 03"), `schedule:2: bad nodes "03"; want a decimal number in 1..9`},
		{"spares 9", hdr("spares 9"), `schedule:2: spares 9 out of range; valid: 0..8`},
		{"clients 10", hdr("clients 10"), `schedule:2: clients 10 out of range; valid: 0..9`},
		{"quoted number", hdr(`clients "1"`), `schedule:2: bad clients "\"1\""; want a decimal number in 0..9`},
		{"scenario quoted", hdr(`scenario "x"`), `schedule:2: bad scenario "\"x\""; want a word, not a quoted string`},
		{"scenario chars", hdr("scenario a,b"), `schedule:2: bad scenario "a,b"; want a word of letters, digits and ._:/+- (at most 128 bytes)`},
		{"scenario long", hdr("scenario " + strings.Repeat("a", 129)), `schedule:2: bad scenario "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"...; want a word of letters, digits and ._:/+- (at most 128 bytes)`},
		{"on/off", hdr("pre-vote yes"), `schedule:2: bad pre-vote "yes"; valid: on, off`},
		{"on/off quoted", hdr(`check-quorum "on"`), `schedule:2: bad check-quorum "\"on\""; valid: on, off`},
		{"duration unit", hdr("heartbeat 50"), `schedule:2: bad heartbeat "50"; want a positive Go duration such as 50ms`},
		{"duration sign", hdr("heartbeat -5ms"), `schedule:2: bad heartbeat "-5ms"; want a positive Go duration such as 50ms`},
		{"duration 0", hdr("heartbeat 0s"), `schedule:2: heartbeat 0s must be positive`},
		{"election form", hdr("election-timeout 150ms"), `schedule:2: bad election-timeout "150ms"; want MIN-MAX, two positive Go durations such as 150ms-300ms`},
		{"election sign", hdr("election-timeout 150ms--300ms"), `schedule:2: bad election-timeout "150ms--300ms"; want MIN-MAX, two positive Go durations such as 150ms-300ms`},
		{"election order", hdr("election-timeout 300ms-150ms"), `schedule:2: election-timeout maximum 150ms must exceed its minimum 300ms`},
		{"election 0", hdr("election-timeout 0s-1s"), `schedule:2: election-timeout minimum 0s must be positive`},
		{"max-entries", hdr("max-entries 0"), `schedule:2: max-entries 0 out of range; valid: 1..1048576`},
		{"learner", hdr("learner-catch-up 0"), `schedule:2: learner-catch-up 0 out of range; valid: 1..1073741824`},
		{"threshold", hdr("snapshot-threshold 1073741825"), `schedule:2: snapshot-threshold 1073741825 out of range; valid: 0..1073741824`},
		{"chunk", hdr("snapshot-chunk 0"), `schedule:2: snapshot-chunk 0 out of range; valid: 1..1073741824`},
		{"read-mode", hdr("read-mode index"), `schedule:2: bad read-mode "index"; valid: readindex, lease, local`},
		{"drift exponent", hdr("max-clock-drift 1e-2"), `schedule:2: bad max-clock-drift "1e-2"; want a decimal fraction such as 0.01`},
		{"drift dot", hdr("max-clock-drift .5"), `schedule:2: bad max-clock-drift ".5"; want a decimal fraction such as 0.01`},
		{"drift trailing dot", hdr("max-clock-drift 0."), `schedule:2: bad max-clock-drift "0."; want a decimal fraction such as 0.01`},
		{"drift 1", hdr("max-clock-drift 1.0"), `schedule:2: max-clock-drift 1 out of range; valid: 0 <= drift < 1`},
		{"expect word", hdr("expect maybe"), `schedule:2: bad expect; want "expect ok" or expect fail "CHECK" (a Go-quoted check name such as "Election Safety")`},
		{"expect unquoted", hdr("expect fail Election"), `schedule:2: bad expect; want "expect ok" or expect fail "CHECK" (a Go-quoted check name such as "Election Safety")`},
		{"expect ok name", hdr(`expect ok "x"`), `schedule:2: bad expect; want "expect ok" or expect fail "CHECK" (a Go-quoted check name such as "Election Safety")`},
		{"expect empty", hdr(`expect fail ""`), `schedule:2: expect fail with an empty check name; want the name of the check, such as "Election Safety"`},
		{"expect long", hdr(`expect fail "` + tabs + `"`), `schedule:2: the expect line would be 6014 bytes; the limit is 4096`},
		// Rules between headers: reported on the later of the two lines.
		{"servers", hdr("seed 1", "nodes 5", "spares 5"), `schedule:4: nodes 5 + spares 5 is 10 servers; at most 9`},
		{"heartbeat", hdr("heartbeat 200ms", "seed 1", "nodes 3"), `schedule:2: election-timeout minimum 150ms must exceed heartbeat 200ms`},
		{"heartbeat later", hdr("election-timeout 100ms-300ms", "seed 1", "heartbeat 100ms", "nodes 3"), `schedule:4: election-timeout minimum 100ms must exceed heartbeat 100ms`},
		{"lease", hdr("read-mode lease", "seed 1", "nodes 3"), `schedule:2: read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader`},
		{"lease off", hdr("read-mode lease", "seed 1", "check-quorum off", "nodes 3"), `schedule:4: read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader`},
		// Action structure.
		{"end args", acts("end now"), `schedule:7: "end" takes no arguments`},
		{"actions twice", acts("actions"), `schedule:7: repeated "actions" line`},
		{"header in actions", acts("seed 3"), `schedule:7: header "seed" after the "actions" line; headers come before it`},
		{"unknown action", acts("deliever m1 n1->n2 vote"), `schedule:7: unknown action "deliever"; valid: fire, deliver, drop, dup, crash, restart, save, invoke, retry, transfer, admin, admin-retry`},
		{"action arguments", acts("fire n1 n2"), `schedule:7: fire takes 1 argument, got 2; usage: fire SERVER`},
		{"deliver arguments", acts("deliver m1 n1->n2"), `schedule:7: deliver takes 3 arguments, got 2; usage: deliver PACKET FROM->TO TYPE`},
		{"invoke arguments", acts(`invoke c1 n1 get "k0" "v"`), `schedule:7: invoke takes 4 arguments, got 5; usage: invoke CLIENT SERVER get KEY | put KEY VALUE | append KEY VALUE`},
		{"put arguments", acts(`invoke c1 n1 put "k0"`), `schedule:7: invoke takes 5 arguments, got 4; usage: invoke CLIENT SERVER get KEY | put KEY VALUE | append KEY VALUE`},
		// Action arguments.
		{"server syntax", acts("crash x1"), `schedule:7: bad server "x1"; want n1..n4`},
		{"server kind", acts("restart c1"), `schedule:7: bad server "c1"; want n1..n4`},
		{"server 0", acts("save n0"), `schedule:7: bad server "n0"; want n1..n4`},
		{"server range", acts("fire n5"), `schedule:7: server n5 out of range; valid: n1..n4 (nodes 3, spares 1)`},
		{"target range", acts("transfer n1 n9"), `schedule:7: server n9 out of range; valid: n1..n4 (nodes 3, spares 1)`},
		{"client syntax", acts("retry x n1"), `schedule:7: bad client "x"; want c1..c2`},
		{"no clients syntax", "raftsim schedule v1\nseed 1\nnodes 3\nactions\nretry x n1\nend\n", `schedule:5: bad client "x"; the schedule has no clients (clients 0)`},
		{"no clients", "raftsim schedule v1\nseed 1\nnodes 3\nactions\nretry c1 n1\nend\n", `schedule:5: client c1 out of range: the schedule has no clients (clients 0)`},
		{"client range", acts("retry c3 n1"), `schedule:7: client c3 out of range; valid: c1..c2 (clients 2)`},
		{"packet syntax", acts("deliver 1 n1->n2 vote"), `schedule:7: bad packet "1"; want m1, m2, ...`},
		{"packet 0", acts("drop m0 n1->n2 vote"), `schedule:7: packet number 0; packets are numbered from m1`},
		{"path syntax", acts("dup m1 n1-n2 vote"), `schedule:7: bad path "n1-n2"; want FROM->TO with endpoints n1..n4, c1..c2 or admin, such as n1->n2`},
		{"path endpoint", acts("dup m1 n1->x2 vote"), `schedule:7: bad path "n1->x2"; want FROM->TO with endpoints n1..n4, c1..c2 or admin, such as n1->n2`},
		{"packet type", acts("deliver m1 n1->n2 votes"), `schedule:7: unknown packet type "votes"; valid: vote, vote-resp, app, app-resp, snap, snap-resp, prevote, prevote-resp, timeout-now, request, reply, admin-request, admin-reply`},
		{"message to client", acts("deliver m1 n1->c1 vote"), `schedule:7: vote packets go from a server to another server, not n1->c1`},
		{"message to self", acts("deliver m1 n2->n2 app-resp"), `schedule:7: app-resp packets go from a server to another server, not n2->n2`},
		{"request path", acts("deliver m1 n1->n2 request"), `schedule:7: request packets go from a client to a server, not n1->n2`},
		{"reply path", acts("deliver m1 c1->n1 reply"), `schedule:7: reply packets go from a server to a client, not c1->n1`},
		{"admin request path", acts("deliver m1 c1->n1 admin-request"), `schedule:7: admin-request packets go from admin to a server, not c1->n1`},
		{"admin reply path", acts("deliver m1 n1->c1 admin-reply"), `schedule:7: admin-reply packets go from a server to admin, not n1->c1`},
		{"path range", acts("deliver m1 n1->c9 reply"), `schedule:7: client c9 out of range; valid: c1..c2 (clients 2)`},
		{"operation", acts(`invoke c1 n1 gett "k"`), `schedule:7: unknown operation "gett"; valid: get, put, append`},
		{"key", acts(`invoke c1 n1 put k0 "v"`), `schedule:7: key k0 is not quoted; want a Go-quoted string such as "k0"`},
		{"value", acts(`invoke c1 n1 append "k0" v`), `schedule:7: value v is not quoted; want a Go-quoted string such as "k0"`},
		{"admin op", acts("admin n1 ad n4"), `schedule:7: unknown membership change "ad"; valid: add, remove`},
		{"requoted line", acts(`invoke c1 n1 put "k" "` + tabs + `"`), `schedule:7: the action's line would be 6023 bytes (strings re-quoted); the limit is 4096`},
		// Packets named inconsistently.
		{"delivered twice", acts("deliver m1 n1->n2 vote", "# x", "deliver m1 n1->n2 vote"), `schedule:9: m1 was already delivered on line 7: it is no longer in flight`},
		{"dup after drop", acts("drop m1 n1->n2 vote", "dup m1 n1->n2 vote"), `schedule:8: m1 was already dropped on line 7: it is no longer in flight`},
		{"path changed", acts("dup m1 n1->n2 vote", "deliver m1 n1->n3 vote"), `schedule:8: m1 is n1->n3 vote here but n1->n2 vote on line 7; a packet's path and type do not change`},
		{"type changed", acts("dup m1 n1->n2 vote", "dup m1 n1->n2 app"), `schedule:8: m1 is n1->n2 app here but n1->n2 vote on line 7; a packet's path and type do not change`},
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

// TestParseTooManyActions: the limit's last action parses, one more does not; with a
// small limit, and (not in -short) with the real one.
func TestParseTooManyActions(t *testing.T) {
	for _, limit := range []int{3, MaxActions} {
		if limit == MaxActions && testing.Short() {
			continue
		}
		lines := strings.Repeat("fire n1\n", limit)
		if limit < MaxActions { // the real limit is checked past it only: it takes a second
			s, err := parse([]byte(head+lines+"end\n"), limit)
			if err != nil || len(s.Actions) != limit {
				t.Fatalf("%d actions: %v", limit, err)
			}
		}
		_, err := parse([]byte(head+lines+"fire n1\nend\n"), limit)
		want := fmt.Sprintf("schedule:%d: more than %d actions; split the schedule", limit+7, limit)
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
	}
}

// TestParseLexical: what Parse accepts around the edges of the syntax.
func TestParseLexical(t *testing.T) {
	in := "raftsim schedule v1  # exported by hand\r\n" +
		"\tseed\t7  # the seed\r\n" +
		"nodes 3#no space before the comment\n" +
		"   # indented comment\n" +
		"clients 1\n" +
		"scenario a.b:c/d+e-f_g\n" +
		"max-clock-drift 0.0100\n" +
		"heartbeat 0.05s\n" +
		"actions  # here they come\n" +
		"fire\tn1\t#\t tabbed comment \t\n" +
		`invoke c1 n2 put "k#0" "\u00e9\x00"` + "\n" +
		`invoke c1 n2 get ""#` + "\n" +
		"deliver m18446744073709551615 admin->n3 admin-request\n" +
		"end # done\n" +
		"\n# trailing comment"
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := New(7, 3)
	want.Clients, want.Scenario = 1, "a.b:c/d+e-f_g"
	want.Node.MaxClockDrift = 0.01
	want.Actions = []Action{
		{Kind: ActionFire, Node: 1, Comment: "tabbed comment"},
		{Kind: ActionInvoke, Client: 1, Node: 2, Op: 2, Key: "k#0", Value: "é\x00"},
		{Kind: ActionInvoke, Client: 1, Node: 2, Op: 1},
		{Kind: ActionDeliver, Packet: ^uint64(0), From: AdminEndpoint(), To: ServerEndpoint(3), PacketType: PacketAdminRequest},
	}
	requireEqual(t, s, want)
}
