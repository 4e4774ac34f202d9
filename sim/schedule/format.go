package schedule

import (
	"strconv"
	"strings"
	"time"

	"raftsim/node/kv"
)

// Format writes s in canonical form: the version line, every header (scenario and expect
// only when set) in the order of the package doc, "actions", one line per action, "end".
// Whole-line comments of a parsed file are not kept; action comments are. For a schedule
// that Validate accepts, Parse(Format(s)) equals s; for an invalid one the output may not
// parse.
func (s *Schedule) Format() []byte {
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
		b = s.Actions[i].appendTo(b)
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

// String is a's line in canonical form, with its comment if any.
func (a Action) String() string { return string(a.appendTo(nil)) }

func (a *Action) appendTo(b []byte) []byte {
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
	if a.Comment != "" {
		b = append(b, "  # "...)
		b = append(b, a.Comment...)
	}
	return b
}
