package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"raftsim/node"
)

// Limits of the numeric headers.
const (
	maxEntriesLimit = 1 << 20
	countLimit      = 1 << 30 // learner-catch-up, snapshot-threshold, snapshot-chunk
)

// header is one header keyword: how its arguments parse into a Schedule (syntax only) and
// the rule its field must satisfy, shared by Parse and Validate.
type header struct {
	name     string
	usage    string // the arguments, for error messages
	required bool
	parse    func(s *Schedule, args []token) string // the problem, or ""
	check    func(s *Schedule) string               // the problem, or ""
}

// headers lists the header keywords in canonical order (Format's). A fresh slice each
// call: no package-level state.
func headers() []header {
	return []header{
		{"scenario", "WORD", false,
			func(s *Schedule, a []token) string { return wordArg("scenario", a[0], &s.Scenario) },
			func(s *Schedule) string { return checkScenario(s.Scenario) }},
		{"seed", "N", true,
			func(s *Schedule, a []token) string { return uintArg("seed", a[0], 1, maxSeed, &s.Seed) },
			func(s *Schedule) string { return inRange("seed", s.Seed, 1, maxSeed) }},
		{"nodes", "N", true,
			func(s *Schedule, a []token) string { return intArg("nodes", a[0], 1, MaxServers, &s.Nodes) },
			func(s *Schedule) string { return intRange("nodes", s.Nodes, 1, MaxServers) }},
		{"spares", "N", false,
			func(s *Schedule, a []token) string { return intArg("spares", a[0], 0, MaxServers-1, &s.Spares) },
			func(s *Schedule) string { return intRange("spares", s.Spares, 0, MaxServers-1) }},
		{"clients", "N", false,
			func(s *Schedule, a []token) string { return intArg("clients", a[0], 0, MaxClients, &s.Clients) },
			func(s *Schedule) string { return intRange("clients", s.Clients, 0, MaxClients) }},
		{"heartbeat", "DURATION", false,
			func(s *Schedule, a []token) string { return durationArg("heartbeat", a[0], &s.Node.HeartbeatInterval) },
			func(s *Schedule) string { return checkDuration("heartbeat", s.Node.HeartbeatInterval) }},
		{"election-timeout", "MIN-MAX", false, parseElection, checkElection},
		{"max-entries", "N", false,
			func(s *Schedule, a []token) string {
				return intArg("max-entries", a[0], 1, maxEntriesLimit, &s.Node.MaxEntriesPerMessage)
			},
			func(s *Schedule) string {
				return intRange("max-entries", s.Node.MaxEntriesPerMessage, 1, maxEntriesLimit)
			}},
		{"learner-catch-up", "N", false,
			func(s *Schedule, a []token) string {
				return intArg("learner-catch-up", a[0], 1, countLimit, &s.Node.LearnerCatchUpMax)
			},
			func(s *Schedule) string { return intRange("learner-catch-up", s.Node.LearnerCatchUpMax, 1, countLimit) }},
		{"read-mode", "readindex|lease|local", false, parseReadModeArg,
			func(s *Schedule) string {
				if _, ok := parseReadMode(readModeString(s.Node.ReadMode)); !ok {
					return fmt.Sprintf("unknown read mode %d; valid: readindex, lease, local", s.Node.ReadMode)
				}
				return ""
			}},
		{"max-clock-drift", "FRACTION", false, parseDrift, checkDrift},
		{"pre-vote", "on|off", false,
			func(s *Schedule, a []token) string { return onOffArg("pre-vote", a[0], &s.Node.PreVote) },
			func(*Schedule) string { return "" }},
		{"check-quorum", "on|off", false,
			func(s *Schedule, a []token) string { return onOffArg("check-quorum", a[0], &s.Node.CheckQuorum) },
			func(*Schedule) string { return "" }},
		{"snapshot-threshold", "N", false,
			func(s *Schedule, a []token) string {
				return intArg("snapshot-threshold", a[0], 0, countLimit, &s.Node.SnapshotThreshold)
			},
			func(s *Schedule) string {
				return intRange("snapshot-threshold", s.Node.SnapshotThreshold, 0, countLimit)
			}},
		{"snapshot-chunk", "N", false,
			func(s *Schedule, a []token) string {
				return intArg("snapshot-chunk", a[0], 1, countLimit, &s.Node.SnapshotChunkSize)
			},
			func(s *Schedule) string { return intRange("snapshot-chunk", s.Node.SnapshotChunkSize, 1, countLimit) }},
		{"expect", `ok | fail "CHECK"`, false, parseExpect, checkExpect},
	}
}

// argCount is how many arguments the header takes.
func (h *header) argCount() (lo, hi int) {
	if h.name == "expect" {
		return 1, 2
	}
	return 1, 1
}

// crossCheck applies the rules that tie two headers together. It returns the problem and
// the two headers involved (the parser reports it on the later of their lines).
func (s *Schedule) crossCheck() (problem, a, b string) {
	o := &s.Node
	switch {
	case s.Nodes+s.Spares > MaxServers:
		return fmt.Sprintf("nodes %d + spares %d is %d servers; at most %d", s.Nodes, s.Spares, s.Nodes+s.Spares, MaxServers),
			"nodes", "spares"
	case o.ElectionTimeoutMin <= o.HeartbeatInterval:
		return fmt.Sprintf("election-timeout minimum %v must exceed heartbeat %v", o.ElectionTimeoutMin, o.HeartbeatInterval),
			"heartbeat", "election-timeout"
	case o.ReadMode == node.ReadLease && !o.CheckQuorum:
		return "read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader",
			"read-mode", "check-quorum"
	}
	return "", "", ""
}

// headersOf is version v's header table.
func headersOf(v int) []header {
	if v == VersionTimed {
		return timedHeaders()
	}
	return headers()
}

func headerNames(hs []header) string {
	var names []string
	for _, h := range hs {
		names = append(names, h.name)
	}
	return strings.Join(append(names, "actions"), ", ")
}

func requiredNames(hs []header) string {
	var names []string
	for _, h := range hs {
		if h.required {
			names = append(names, h.name)
		}
	}
	return strings.Join(names, ", ")
}

// parseCount parses a decimal number without sign or leading zeros, up to 2^64-1.
func parseCount(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil && v <= max
}

func inRange(name string, v, lo, hi uint64) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%s %d out of range; valid: %d..%d", name, v, lo, hi)
	}
	return ""
}

func intRange(name string, v, lo, hi int) string {
	if v < lo || v > hi {
		return fmt.Sprintf("%s %d out of range; valid: %d..%d", name, v, lo, hi)
	}
	return ""
}

func uintArg(name string, t token, lo, hi uint64, dst *uint64) string {
	v, ok := parseCount(t.text, maxSeed)
	if !ok || t.quoted {
		return fmt.Sprintf("bad %s %s; want a decimal number in %d..%d", name, quoteShort(t.raw), lo, hi)
	}
	if msg := inRange(name, v, lo, hi); msg != "" {
		return msg
	}
	*dst = v
	return ""
}

func intArg(name string, t token, lo, hi int, dst *int) string {
	var v uint64
	if msg := uintArg(name, t, uint64(lo), uint64(hi), &v); msg != "" {
		return msg
	}
	*dst = int(v)
	return ""
}

func wordArg(name string, t token, dst *string) string {
	if t.quoted {
		return fmt.Sprintf("bad %s %s; want a word, not a quoted string", name, quoteShort(t.raw))
	}
	*dst = strings.Clone(t.text) // t.text is part of the whole input
	return ""
}

func checkScenario(w string) string {
	ok := len(w) <= maxScenario
	for i := 0; i < len(w) && ok; i++ {
		c := w[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._:/+-", c) >= 0
	}
	if !ok {
		return fmt.Sprintf("bad scenario %s; want a word of letters, digits and ._:/+- (at most %d bytes)", quoteShort(w), maxScenario)
	}
	return ""
}

func onOffArg(name string, t token, dst *bool) string {
	switch {
	case t.quoted:
	case t.text == "on":
		*dst = true
		return ""
	case t.text == "off":
		*dst = false
		return ""
	}
	return fmt.Sprintf("bad %s %s; valid: on, off", name, quoteShort(t.raw))
}

// parseDuration parses a positive Go duration ("50ms", "1.5s") with no sign.
func parseDuration(s string) (time.Duration, bool) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

func durationArg(name string, t token, dst *time.Duration) string {
	d, ok := parseDuration(t.text)
	if !ok || t.quoted {
		return fmt.Sprintf("bad %s %s; want a positive Go duration such as 50ms", name, quoteShort(t.raw))
	}
	*dst = d
	return checkDuration(name, d)
}

func checkDuration(name string, d time.Duration) string {
	if d <= 0 {
		return fmt.Sprintf("%s %v must be positive", name, d)
	}
	return ""
}

func parseElection(s *Schedule, a []token) string {
	lo, hi, found := strings.Cut(a[0].text, "-")
	dlo, ok1 := parseDuration(lo)
	dhi, ok2 := parseDuration(hi)
	if !found || !ok1 || !ok2 || a[0].quoted {
		return fmt.Sprintf("bad election-timeout %s; want MIN-MAX, two positive Go durations such as 150ms-300ms", quoteShort(a[0].raw))
	}
	s.Node.ElectionTimeoutMin, s.Node.ElectionTimeoutMax = dlo, dhi
	return ""
}

func checkElection(s *Schedule) string {
	lo, hi := s.Node.ElectionTimeoutMin, s.Node.ElectionTimeoutMax
	if msg := checkDuration("election-timeout minimum", lo); msg != "" {
		return msg
	}
	if hi <= lo {
		return fmt.Sprintf("election-timeout maximum %v must exceed its minimum %v", hi, lo)
	}
	return ""
}

func parseReadModeArg(s *Schedule, a []token) string {
	m, ok := parseReadMode(a[0].text)
	if !ok || a[0].quoted {
		return fmt.Sprintf("bad read-mode %s; valid: readindex, lease, local", quoteShort(a[0].raw))
	}
	s.Node.ReadMode = m
	return ""
}

// parseDrift parses a fraction written DIGITS[.DIGITS] (no sign, exponent or hex form).
func parseDrift(s *Schedule, a []token) string {
	t := a[0].text
	intPart, frac, dot := strings.Cut(t, ".")
	ok := intPart != "" && !a[0].quoted && (!dot || frac != "")
	for i := 0; i < len(t) && ok; i++ {
		ok = t[i] == '.' || '0' <= t[i] && t[i] <= '9'
	}
	f, err := strconv.ParseFloat(t, 64)
	if !ok || err != nil {
		return fmt.Sprintf("bad max-clock-drift %s; want a decimal fraction such as 0.01", quoteShort(a[0].raw))
	}
	s.Node.MaxClockDrift = f
	return checkDrift(s)
}

func checkDrift(s *Schedule) string {
	f := s.Node.MaxClockDrift
	if !(f >= 0 && f < 1) || math.Signbit(f) {
		return fmt.Sprintf("max-clock-drift %v out of range; valid: 0 <= drift < 1", f)
	}
	return ""
}

func parseExpect(s *Schedule, a []token) string {
	switch {
	case len(a) == 1 && !a[0].quoted && a[0].text == "ok":
		s.Expect = Expect{Kind: ExpectOK}
		return ""
	case len(a) == 2 && !a[0].quoted && a[0].text == "fail" && a[1].quoted:
		s.Expect = Expect{Kind: ExpectFail, Check: strings.Clone(a[1].text)}
		return checkExpect(s)
	}
	return `bad expect; want "expect ok" or expect fail "CHECK" (a Go-quoted check name such as "Election Safety")`
}

func checkExpect(s *Schedule) string {
	e := s.Expect
	switch {
	case e.Kind > ExpectFail:
		return fmt.Sprintf("unknown expect kind %d", e.Kind)
	case e.Kind != ExpectFail && e.Check != "":
		return fmt.Sprintf("expect %v with a check name %s; only expect fail names a check", e, quoteShort(e.Check))
	case e.Kind == ExpectFail && e.Check == "":
		return `expect fail with an empty check name; want the name of the check, such as "Election Safety"`
	case len("expect ")+len(e.String()) > MaxLineBytes:
		return fmt.Sprintf("the expect line would be %d bytes; the limit is %d", len("expect ")+len(e.String()), MaxLineBytes)
	}
	return ""
}
