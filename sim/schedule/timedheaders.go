package schedule

import (
	"fmt"
	"time"
)

// timedHeaders lists the header keywords of version 2 in canonical order (Format's). A
// fresh slice each call: no package-level state. nodes, clients, duration, read-mode,
// pre-vote and check-quorum are overrides: absent (zero), the scenario's own value holds.
func timedHeaders() []header {
	return []header{
		{"scenario", "WORD", true,
			func(s *Schedule, a []token) string { return wordArg("scenario", a[0], &s.Scenario) },
			func(s *Schedule) string {
				if s.Scenario == "" {
					return "no scenario; a version 2 schedule names the scenario whose configuration, script and assertion run"
				}
				return checkScenario(s.Scenario)
			}},
		{"seed", "N", true,
			func(s *Schedule, a []token) string { return uintArg("seed", a[0], 1, maxSeed, &s.Seed) },
			func(s *Schedule) string { return inRange("seed", s.Seed, 1, maxSeed) }},
		{"nodes", "N", false,
			func(s *Schedule, a []token) string { return intArg("nodes", a[0], 1, MaxServers, &s.Timed.Nodes) },
			func(s *Schedule) string { return overrideRange("nodes", s.Timed.Nodes, MaxServers) }},
		{"clients", "N", false,
			func(s *Schedule, a []token) string { return intArg("clients", a[0], 1, MaxClients, &s.Timed.Clients) },
			func(s *Schedule) string { return overrideRange("clients", s.Timed.Clients, MaxClients) }},
		{"duration", "DURATION", false,
			func(s *Schedule, a []token) string { return durationArg("duration", a[0], &s.Timed.Duration) },
			func(s *Schedule) string {
				if s.Timed.Duration < 0 {
					return checkDuration("duration", s.Timed.Duration)
				}
				return ""
			}},
		{"delay", "DURATION", false, parseDelayHeader,
			func(s *Schedule) string { return checkDelay("delay", s.Timed.Delay) }},
		{"read-mode", "readindex|lease|local", false,
			func(s *Schedule, a []token) string {
				m, ok := parseReadMode(a[0].text)
				if !ok || a[0].quoted {
					return fmt.Sprintf("bad read-mode %s; valid: readindex, lease, local", quoteShort(a[0].raw))
				}
				s.Timed.ReadMode = readModeString(m) // a constant, not part of the whole input
				return ""
			},
			func(s *Schedule) string {
				if _, ok := parseReadMode(s.Timed.ReadMode); !ok && s.Timed.ReadMode != "" {
					return fmt.Sprintf("unknown read mode %s; valid: readindex, lease, local (or \"\": the scenario's)", quoteShort(s.Timed.ReadMode))
				}
				return ""
			}},
		{"pre-vote", "on|off", false,
			func(s *Schedule, a []token) string { return switchArg("pre-vote", a[0], &s.Timed.PreVote) },
			func(s *Schedule) string { return checkSwitch("pre-vote", s.Timed.PreVote) }},
		{"check-quorum", "on|off", false,
			func(s *Schedule, a []token) string { return switchArg("check-quorum", a[0], &s.Timed.CheckQuorum) },
			func(s *Schedule) string { return checkSwitch("check-quorum", s.Timed.CheckQuorum) }},
		{"expect", `ok | fail "CHECK"`, false, parseExpect, checkExpect},
	}
}

// overrideRange checks an optional count: 0 (absent: the scenario's) or 1..hi.
func overrideRange(name string, v, hi int) string {
	if v == 0 {
		return ""
	}
	return intRange(name, v, 1, hi)
}

func parseDelayHeader(s *Schedule, a []token) string {
	d, ok := parseDuration(a[0].text)
	if !ok || a[0].quoted {
		return fmt.Sprintf("bad delay %s; want a Go duration of 0s or more, such as 1ms", quoteShort(a[0].raw))
	}
	s.Timed.Delay = d
	return ""
}

// checkDelay: a packet's delay is 0 or more.
func checkDelay(name string, d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("%s %v is negative; want a Go duration of 0s or more", name, d)
	}
	return ""
}

func switchArg(name string, t token, dst *Switch) string {
	var on bool
	if msg := onOffArg(name, t, &on); msg != "" {
		return msg
	}
	*dst = SwitchOff
	if on {
		*dst = SwitchOn
	}
	return ""
}

func checkSwitch(name string, v Switch) string {
	if !v.Valid() {
		return fmt.Sprintf("unknown %s value %d; valid: on, off (or unset: the scenario's)", name, uint8(v))
	}
	return ""
}

// timedCrossCheck is crossCheck for version 2: only what the headers show wrong on their
// own (an override left unset takes the scenario's value, which the format does not know).
func (s *Schedule) timedCrossCheck() (problem, a, b string) {
	if s.Timed.ReadMode == "lease" && s.Timed.CheckQuorum == SwitchOff {
		return "read-mode lease needs check-quorum on: a lease is safe only if followers refuse votes while they hear from the leader",
			"read-mode", "check-quorum"
	}
	return "", "", ""
}

// v1OnlyHeader is the problem with a version 1 header in a version 2 file.
func v1OnlyHeader(name string) string {
	return fmt.Sprintf("header %q is not in version 2: a version 2 schedule takes its cluster and Raft options from its scenario, and may override nodes, clients, read-mode, pre-vote and check-quorum", name)
}

// v2OnlyHeader is the problem with a version 2 header in a version 1 file.
func v2OnlyHeader(name string) string {
	return fmt.Sprintf("header %q is version 2 only (the timed form, first line \"raftsim schedule v2\"); version 1 has no time", name)
}
