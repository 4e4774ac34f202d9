package schedule

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"raftsim/node"
	"raftsim/node/kv"
)

// Error is the first problem found in a schedule. Its text is one line:
// "schedule:LINE: what is wrong; what is valid" from Parse, "schedule: action N (TEXT):
// ..." or "schedule: ..." from Validate.
type Error struct {
	Line   int    // the line of the parsed file, from 1 (0: not from Parse)
	Action int    // the action's position in Schedule.Actions, from 1 (Validate; 0: none)
	Text   string // the action's line, cut short (with Action)
	Msg    string // what is wrong and what is valid
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return "schedule:" + strconv.Itoa(e.Line) + ": " + e.Msg
	case e.Action > 0:
		return "schedule: action " + strconv.Itoa(e.Action) + " (" + e.Text + "): " + e.Msg
	}
	return "schedule: " + e.Msg
}

// ActionError is the error for a problem with action i (from 0) of s that only a replay
// finds (a packet not in flight, a timer not armed...), in the form of Validate's errors.
func (s *Schedule) ActionError(i int, msg string) *Error {
	return &Error{Action: i + 1, Text: cut(s.Actions[i].Text(s.Version), 60), Msg: msg}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Validate reports the first problem with s by the rules Parse applies, or nil: a schedule
// built in code that passes can be formatted and parsed back unchanged. The errors have no
// line numbers; an action's error names its position and text.
func (s *Schedule) Validate() error {
	if msg := s.checkVersion(); msg != "" {
		return &Error{Msg: msg}
	}
	for _, h := range headersOf(s.Version) {
		if msg := h.check(s); msg != "" {
			return &Error{Msg: msg}
		}
	}
	cross := s.crossCheck
	if s.Version == VersionTimed {
		cross = s.timedCrossCheck
	}
	if msg, _, _ := cross(); msg != "" {
		return &Error{Msg: msg}
	}
	if limit := s.maxActions(); len(s.Actions) > limit {
		return &Error{Msg: fmt.Sprintf("%d actions; at most %d in one version %d schedule", len(s.Actions), limit, s.Version)}
	}
	where := func(pos int) string { return "in action " + strconv.Itoa(pos) }
	l, tl := newLedger(where), newTimedLedger(where)
	for i := range s.Actions {
		a := &s.Actions[i]
		msg := s.checkAction(a)
		if msg == "" && s.Version == VersionTimed {
			msg = tl.note(a, i+1)
		} else if msg == "" {
			msg = l.note(a, i+1)
		}
		if msg != "" {
			return s.ActionError(i, msg)
		}
	}
	return nil
}

// checkVersion: a known version, and only the fields of that version set.
func (s *Schedule) checkVersion() string {
	switch {
	case s.Version != Version && s.Version != VersionTimed:
		return fmt.Sprintf("version %d; this raftsim writes versions 1 and 2", s.Version)
	case s.Version == Version && s.Timed != Timed{}:
		return "version 1 with Timed set; Timed holds the headers of version 2"
	case s.Version == VersionTimed && (s.Nodes != 0 || s.Spares != 0 || s.Clients != 0 || s.Node != NodeOptions{}):
		return "version 2 with Nodes, Spares, Clients or Node set; version 2 takes them from its scenario, and holds its overrides in Timed"
	}
	return ""
}

// used is a with only the fields its kind uses in version v.
func (a *Action) used(v int) Action {
	if v == VersionTimed {
		return a.usedTimed()
	}
	u := Action{Kind: a.Kind, Comment: a.Comment}
	switch a.Kind {
	case ActionDeliver, ActionDrop, ActionDup:
		u.Packet, u.From, u.To, u.PacketType = a.Packet, a.From, a.To, a.PacketType
	case ActionInvoke:
		u.Client, u.Node, u.Op, u.Key, u.Value = a.Client, a.Node, a.Op, a.Key, a.Value
	case ActionRetry:
		u.Client, u.Node = a.Client, a.Node
	case ActionTransfer:
		u.Node, u.Target = a.Node, a.Target
	case ActionAdmin:
		u.Node, u.AdminOp, u.Target = a.Node, a.AdminOp, a.Target
	default:
		u.Node = a.Node
	}
	return u
}

// onlyUsed reports whether a sets only the fields its kind uses in version v. (A NaN
// rate equals itself here: it is a used field's bad value, not an unused field.)
func (a *Action) onlyUsed(v int) bool {
	u, b := a.used(v), *a
	if math.IsNaN(u.Rate) && math.IsNaN(b.Rate) {
		u.Rate, b.Rate = 0, 0
	}
	return u == b
}

// checkAction applies the rules one action must satisfy on its own (Parse and Validate),
// in s's version.
func (s *Schedule) checkAction(a *Action) string {
	v := s.Version
	switch {
	case !a.Kind.Valid():
		return fmt.Sprintf("unknown action kind %d; valid: %s", a.Kind, actionKindList(v))
	case !a.Kind.InVersion(v):
		return fmt.Sprintf("%v is not an action of version %d; valid: %s", a.Kind, v, actionKindList(v))
	case !a.onlyUsed(v):
		return fmt.Sprintf("fields set that %v does not use; it takes: %s", a.Kind, a.Kind.usage(v))
	}
	msg := ""
	if v == VersionTimed {
		msg = s.checkTimed(a)
	} else {
		msg = s.checkV1(a)
	}
	if msg == "" {
		msg = checkComment(a.Comment)
	}
	// Only strings make a line long: other fields take under 200 bytes.
	if msg == "" && (a.Kind == ActionInvoke || len(a.Comment) > MaxLineBytes-200) {
		if n := len(a.appendTo(nil, v)); n > MaxLineBytes {
			msg = fmt.Sprintf("the action's line would be %d bytes (strings re-quoted); the limit is %d", n, MaxLineBytes)
		}
	}
	return msg
}

// checkV1 is checkAction's rules for the arguments of a version 1 action.
func (s *Schedule) checkV1(a *Action) string {
	switch a.Kind {
	case ActionDeliver, ActionDrop, ActionDup:
		return s.checkPacket(a)
	case ActionInvoke:
		return first(s.checkClient(a.Client), s.checkServer(a.Node), checkOp(a))
	case ActionRetry:
		return first(s.checkClient(a.Client), s.checkServer(a.Node))
	case ActionTransfer:
		return first(s.checkServer(a.Node), s.checkServer(a.Target))
	case ActionAdmin:
		msg := s.checkServer(a.Node)
		if msg == "" && a.AdminOp != node.AdminAddServer && a.AdminOp != node.AdminRemoveServer {
			msg = fmt.Sprintf("unknown membership change %d; valid: add, remove", a.AdminOp)
		}
		return first(msg, s.checkServer(a.Target))
	}
	return s.checkServer(a.Node)
}

// first is the first non-empty problem.
func first(msgs ...string) string {
	for _, m := range msgs {
		if m != "" {
			return m
		}
	}
	return ""
}

// serverLimit is the highest server a schedule's actions may name: version 1's
// Servers(); in version 2 the format's limit, since the scenario may add spares after the
// voters (n(nodes+1)..), which the format does not know.
func (s *Schedule) serverLimit() int {
	if s.Version == VersionTimed {
		return MaxServers
	}
	return s.Servers()
}

// clientLimit is the highest client a schedule's actions may name: Clients in version
// 1; in version 2 Timed.Clients, or the format's limit when the scenario's count holds.
func (s *Schedule) clientLimit() int {
	switch {
	case s.Version != VersionTimed:
		return s.Clients
	case s.Timed.Clients > 0:
		return s.Timed.Clients
	}
	return MaxClients
}

func (s *Schedule) checkServer(id node.ID) string {
	switch {
	case id >= 1 && int(id) <= s.serverLimit():
		return ""
	case s.Version == VersionTimed:
		return fmt.Sprintf("server n%d out of range; valid: n1..n%d", id, MaxServers)
	}
	return fmt.Sprintf("server n%d out of range; valid: n1..n%d (nodes %d, spares %d)", id, s.Servers(), s.Nodes, s.Spares)
}

func (s *Schedule) checkClient(c int) string {
	n := s.clientLimit()
	switch {
	case n == 0:
		return fmt.Sprintf("client c%d out of range: the schedule has no clients (clients 0)", c)
	case c >= 1 && c <= n:
		return ""
	case s.Version == VersionTimed && s.Timed.Clients == 0:
		return fmt.Sprintf("client c%d out of range; valid: c1..c%d", c, n)
	}
	return fmt.Sprintf("client c%d out of range; valid: c1..c%d (clients %d)", c, n, n)
}

func (s *Schedule) checkEndpoint(e Endpoint) string {
	switch e.Kind {
	case EndpointServer:
		return s.checkServer(node.ID(e.N))
	case EndpointClient:
		return s.checkClient(e.N)
	case EndpointAdmin:
		if e.N == 0 {
			return ""
		}
	}
	if s.Version == VersionTimed {
		return fmt.Sprintf("bad endpoint %v; want a server n1..n%d, a client c1..c%d or admin", e, MaxServers, s.clientLimit())
	}
	return fmt.Sprintf("bad endpoint %v; want a server n1.., a client c1.. or admin", e)
}

func (s *Schedule) checkPacket(a *Action) string {
	if a.Packet == 0 {
		return "packet number 0; packets are numbered from m1"
	}
	if !a.PacketType.Valid() {
		_, err := ParsePacketType(a.PacketType.String())
		return err.Error()
	}
	if msg := first(s.checkEndpoint(a.From), s.checkEndpoint(a.To)); msg != "" {
		return msg
	}
	from, to := a.PacketType.path()
	if a.From.Kind != from || a.To.Kind != to || a.From == a.To {
		return fmt.Sprintf("%v packets go %s, not %v->%v", a.PacketType, a.PacketType.pathText(), a.From, a.To)
	}
	return ""
}

func checkOp(a *Action) string {
	switch {
	case !a.Op.Valid():
		return fmt.Sprintf("unknown operation %d; valid: get, put, append", a.Op)
	case a.Op == kv.OpGet && a.Value != "":
		return "a get has no value; want get KEY"
	}
	return ""
}

// checkComment: what Parse can produce after '#': valid UTF-8, no control characters but
// tabs, not starting or ending with a space or tab.
func checkComment(c string) string {
	if c == "" {
		return ""
	}
	if !utf8.ValidString(c) {
		return "the comment is not valid UTF-8"
	}
	if b := c[0]; b == ' ' || b == '\t' {
		return "the comment starts with a space or tab"
	}
	if b := c[len(c)-1]; b == ' ' || b == '\t' {
		return "the comment ends with a space or tab"
	}
	if i := controlIndex(c); i >= 0 {
		return fmt.Sprintf("control character %#02x in the comment; only tabs are allowed", c[i])
	}
	return ""
}

// controlIndex is the index of the first control character (below 0x20 other than a tab,
// or 0x7f) in s, or -1.
func controlIndex(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return i
		}
	}
	return -1
}

// ledger follows the packets the actions name, to find a packet delivered or dropped
// twice, or named with two different paths or types: errors a schedule shows on its own.
// (Whether a number has been put in flight at all only a replay knows.)
type ledger struct {
	where   func(pos int) string // "on line 7", "by action 7"
	packets map[uint64]seen
}

type seen struct {
	from, to Endpoint
	typ      PacketType
	pos      int        // where the packet was first named
	done     int        // where it was delivered or dropped (0: still in flight)
	doneKind ActionKind // deliver or drop
}

func newLedger(where func(int) string) *ledger {
	return &ledger{where: where, packets: make(map[uint64]seen)}
}

// note records packet action a at position pos, and returns its problem, if any.
func (l *ledger) note(a *Action, pos int) string {
	if !a.Kind.IsPacket() {
		return ""
	}
	p, ok := l.packets[a.Packet]
	if !ok {
		p = seen{from: a.From, to: a.To, typ: a.PacketType, pos: pos}
	}
	switch {
	case p.done != 0:
		past := "delivered"
		if p.doneKind == ActionDrop {
			past = "dropped"
		}
		return fmt.Sprintf("m%d was already %s %s: it is no longer in flight", a.Packet, past, l.where(p.done))
	case p.from != a.From || p.to != a.To || p.typ != a.PacketType:
		return fmt.Sprintf("m%d is %v->%v %v here but %v->%v %v %s; a packet's path and type do not change",
			a.Packet, a.From, a.To, a.PacketType, p.from, p.to, p.typ, l.where(p.pos))
	}
	if a.Kind != ActionDup {
		p.done, p.doneKind = pos, a.Kind
	}
	l.packets[a.Packet] = p
	return ""
}
