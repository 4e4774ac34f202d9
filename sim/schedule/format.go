package schedule

import (
	"strconv"
	"strings"
	"time"

	"raftsim/node/kv"
)

// Format writes s in canonical form, in the form of s.Version: the version line, the
// headers in the order of the package doc (version 1: every header, scenario and expect
// only when set; version 2: scenario, seed, delay, and the others only when set),
// "actions", one line per action, "end". Whole-line comments of a parsed file are not
// kept; action comments are. For a schedule that Validate accepts, Parse(Format(s))
// equals s; for an invalid one the output may not parse.
func (s *Schedule) Format() []byte {
	if s.Version == VersionTimed {
		return s.formatTimed()
	}
	var b []byte
	line := func(parts ...string) {
		b = append(b, strings.Join(parts, " ")...)
		b = append(b, '\n')
	}
	line("raftsim", "schedule", "v"+strconv.Itoa(s.Version))
	if s.Scenario != "" {
		line("scenario", s.Scenario)
	}
	o := &s.Node
	line("seed", strconv.FormatUint(s.Seed, 10))
	line("nodes", strconv.Itoa(s.Nodes))
	line("spares", strconv.Itoa(s.Spares))
	line("clients", strconv.Itoa(s.Clients))
	line("heartbeat", o.HeartbeatInterval.String())
	line("election-timeout", formatRange(o.ElectionTimeoutMin, o.ElectionTimeoutMax))
	line("max-entries", strconv.Itoa(o.MaxEntriesPerMessage))
	line("learner-catch-up", strconv.Itoa(o.LearnerCatchUpMax))
	line("read-mode", readModeString(o.ReadMode))
	line("max-clock-drift", strconv.FormatFloat(o.MaxClockDrift, 'f', -1, 64))
	line("pre-vote", onOff(o.PreVote))
	line("check-quorum", onOff(o.CheckQuorum))
	line("snapshot-threshold", strconv.Itoa(o.SnapshotThreshold))
	line("snapshot-chunk", strconv.Itoa(o.SnapshotChunkSize))
	if s.Expect.Kind != ExpectNone {
		line("expect", s.Expect.String())
	}
	line("actions")
	for i := range s.Actions {
		b = s.Actions[i].appendTo(b, Version)
		b = append(b, '\n')
	}
	line("end")
	return b
}

// formatTimed is Format for version 2.
func (s *Schedule) formatTimed() []byte {
	// A packet line takes some 30 bytes: one allocation for most schedules.
	b := make([]byte, 0, 512+32*len(s.Actions))
	line := func(parts ...string) {
		b = append(b, strings.Join(parts, " ")...)
		b = append(b, '\n')
	}
	line("raftsim", "schedule", "v"+strconv.Itoa(s.Version))
	t := &s.Timed
	line("scenario", s.Scenario)
	line("seed", strconv.FormatUint(s.Seed, 10))
	if t.Nodes != 0 {
		line("nodes", strconv.Itoa(t.Nodes))
	}
	if t.Clients != 0 {
		line("clients", strconv.Itoa(t.Clients))
	}
	if t.Duration != 0 {
		line("duration", t.Duration.String())
	}
	line("delay", t.Delay.String())
	if t.ReadMode != "" {
		line("read-mode", t.ReadMode)
	}
	if t.PreVote != SwitchUnset {
		line("pre-vote", t.PreVote.String())
	}
	if t.CheckQuorum != SwitchUnset {
		line("check-quorum", t.CheckQuorum.String())
	}
	if s.Expect.Kind != ExpectNone {
		line("expect", s.Expect.String())
	}
	line("actions")
	for i := range s.Actions {
		b = s.Actions[i].appendTo(b, VersionTimed)
		b = append(b, '\n')
	}
	line("end")
	return b
}

func formatRange(lo, hi time.Duration) string { return lo.String() + "-" + hi.String() }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// String is a's line in canonical form, with its comment if any, in the version its kind
// says; for crash, restart and invoke, which both versions have, in version 2's form when
// a.At is set (or an invoke has no server), else in version 1's. Text names the version.
func (a Action) String() string {
	v := Version
	if a.Kind.InVersion(VersionTimed) && (!a.Kind.InVersion(Version) || a.At != 0 || a.Kind == ActionInvoke && a.Node == 0) {
		v = VersionTimed
	}
	return a.Text(v)
}

// Text is a's line in canonical form, with its comment if any, as version v writes it.
func (a Action) Text(v int) string { return string(a.appendTo(nil, v)) }

// appendTo appends a's line in version v's form, with its comment.
func (a *Action) appendTo(b []byte, v int) []byte {
	if v == VersionTimed {
		b = a.appendTimed(b)
	} else {
		b = a.appendV1(b)
	}
	if a.Comment != "" {
		b = append(b, "  # "...)
		b = append(b, a.Comment...)
	}
	return b
}

// appendV1 appends a's line in version 1 form, without its comment.
func (a *Action) appendV1(b []byte) []byte {
	b = append(b, a.Kind.String()...)
	add := func(s string) { b = append(append(b, ' '), s...) }
	switch a.Kind {
	case ActionDeliver, ActionDrop, ActionDup:
		add("m" + strconv.FormatUint(a.Packet, 10))
		add(a.From.String() + "->" + a.To.String())
		add(a.PacketType.String())
	case ActionInvoke:
		add(ClientEndpoint(a.Client).String())
		add(ServerEndpoint(a.Node).String())
		add(opString(a.Op))
		add(strconv.Quote(a.Key))
		if a.Op != kv.OpGet { // a get has no value
			add(strconv.Quote(a.Value))
		}
	case ActionRetry:
		add(ClientEndpoint(a.Client).String())
		add(ServerEndpoint(a.Node).String())
	case ActionTransfer:
		add(ServerEndpoint(a.Node).String())
		add(ServerEndpoint(a.Target).String())
	case ActionAdmin:
		add(ServerEndpoint(a.Node).String())
		add(adminOpString(a.AdminOp))
		add(ServerEndpoint(a.Target).String())
	default:
		add(ServerEndpoint(a.Node).String())
	}
	return b
}
