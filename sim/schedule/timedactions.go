package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// This file reads, checks and writes the actions of version 2, the timed form.

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// fateUsage is the syntax of a packet line, for error messages.
const fateUsage = "packet FROM->TO #N deliver DELAY | drop | dup COPY COPY (a COPY is DELAY or drop)"

// timedUsage is k's syntax in version 2, for error messages.
func (k ActionKind) timedUsage() string {
	args := ""
	switch k {
	case ActionCrash, ActionRestart:
		args = " SERVER"
	case ActionInvoke:
		args = " CLIENT get KEY | put KEY VALUE | append KEY VALUE"
	case ActionPause:
		args = " SERVER DURATION"
	case ActionPartition:
		args = " GROUP | GROUP ... (a GROUP is endpoints such as n1 n2 c1)"
	case ActionIsolate:
		args = " ENDPOINT"
	case ActionCut:
		args = " ENDPOINT ENDPOINT"
	case ActionCutOneWay:
		args = " FROM TO"
	case ActionBridge:
		args = " A B C"
	case ActionClockRate:
		args = " SERVER RATE"
	case ActionClockJump:
		args = " SERVER DURATION"
	case ActionPacket:
		return fateUsage
	}
	return "at TIME " + k.String() + args
}

// timedArgCount is how many arguments a version 2 action of kind k takes after its
// keyword (invoke: with a get; partition: at least one).
func timedArgCount(k ActionKind) int {
	switch k {
	case ActionHeal:
		return 0
	case ActionPause, ActionCut, ActionCutOneWay, ActionClockRate, ActionClockJump:
		return 2
	case ActionInvoke, ActionBridge:
		return 3
	}
	return 1
}

// parseTimed reads a version 2 action line, "at TIME KIND ARGUMENTS" or a packet line,
// into a zero a (syntax only; checkAction applies the rules).
func (p *parser) parseTimed(toks []token, a *Action) string {
	k := toks[0]
	if k.raw == "packet" {
		return p.parsePacketLine(toks[1:], a)
	}
	if k.raw != "at" {
		kind, ok := lookupKind(k.raw)
		switch {
		case !ok:
			return fmt.Sprintf("unknown action %s; valid: %s", quoteShort(k.raw), actionKindList(VersionTimed))
		case !kind.InVersion(VersionTimed):
			return v1OnlyAction(kind)
		}
		return fmt.Sprintf("%v needs a time in version 2; usage: %s", kind, kind.timedUsage())
	}
	if len(toks) < 3 {
		return `"at" takes a time and an action; usage: at TIME ACTION ARGUMENTS, such as "at 1.5s crash n2"`
	}
	at, ok := parseDuration(toks[1].text)
	if !ok || toks[1].quoted {
		return fmt.Sprintf("bad time %s; want a Go duration from the start of the run, 0s or more, such as 1.5s", quoteShort(toks[1].raw))
	}
	kind, ok := lookupKind(toks[2].raw)
	switch {
	case !ok:
		return fmt.Sprintf("unknown action %s; valid: %s", quoteShort(toks[2].raw), actionKindList(VersionTimed))
	case !kind.InVersion(VersionTimed):
		return v1OnlyAction(kind)
	case kind == ActionPacket:
		return "packet lines have no time; usage: " + fateUsage
	}
	a.Kind, a.At = kind, at
	return p.timedArgs(a, toks[3:])
}

func v1OnlyAction(k ActionKind) string {
	return fmt.Sprintf("%v is a version 1 action (abstract time); version 2 takes: %s", k, actionKindList(VersionTimed))
}

// timedArgs reads the arguments of a timed action into a.
func (p *parser) timedArgs(a *Action, args []token) string {
	k := a.Kind
	if k == ActionPartition {
		return p.partitionArgs(a, args)
	}
	n := timedArgCount(k)
	if k == ActionInvoke && len(args) >= 2 && (args[1].raw == "put" || args[1].raw == "append") {
		n = 4
	}
	if len(args) != n {
		return fmt.Sprintf("%v takes %d argument%s, got %d; usage: %s", k, n, plural(n), len(args), k.timedUsage())
	}
	switch k {
	case ActionInvoke:
		msg := first(p.clientArg(args[0], &a.Client), opArg(args[1], &a.Op), stringArg("key", args[2], &a.Key))
		if msg == "" && n == 4 {
			msg = stringArg("value", args[3], &a.Value)
		}
		return msg
	case ActionPause:
		return first(p.serverArg(args[0], &a.Node), durationArg("pause", args[1], &a.Duration))
	case ActionIsolate, ActionCut, ActionCutOneWay, ActionBridge:
		for i, t := range args {
			if msg := p.endpointArg(t, &a.Endpoints[i]); msg != "" {
				return msg
			}
		}
		return ""
	case ActionHeal:
		return ""
	case ActionClockRate:
		return first(p.serverArg(args[0], &a.Node), rateArg(args[1], &a.Rate))
	case ActionClockJump:
		return first(p.serverArg(args[0], &a.Node), jumpArg(args[1], &a.Duration))
	}
	return p.serverArg(args[0], &a.Node)
}

func (p *parser) endpointArg(t token, dst *Endpoint) string {
	e, err := ParseEndpoint(t.raw)
	if t.quoted || err != nil {
		return fmt.Sprintf("bad endpoint %s; want a server n1..n%d, a client c1..c%d or admin", quoteShort(t.raw), MaxServers, p.s.clientLimit())
	}
	*dst = e
	return ""
}

// partitionArgs reads "GROUP | GROUP ...": groups of endpoints separated by "|" fields.
func (p *parser) partitionArgs(a *Action, args []token) string {
	if len(args) == 0 {
		return "partition takes at least one group, got none; usage: " + ActionPartition.timedUsage()
	}
	group, members := 1, 0
	for _, t := range args {
		if t.raw == "|" {
			if members == 0 {
				return fmt.Sprintf("group %d of the partition is empty; usage: %s", group, ActionPartition.timedUsage())
			}
			group, members = group+1, 0
			continue
		}
		e, err := ParseEndpoint(t.raw)
		if t.quoted || err != nil {
			return fmt.Sprintf(`bad endpoint %s in the partition; want a server n1..n%d, a client c1..c%d or admin, groups separated by " | "`,
				quoteShort(t.raw), MaxServers, p.s.clientLimit())
		}
		if msg := first(p.s.checkEndpoint(e), a.Partition.add(e, group)); msg != "" {
			return msg
		}
		members++
	}
	if members == 0 {
		return fmt.Sprintf("group %d of the partition is empty; usage: %s", group, ActionPartition.timedUsage())
	}
	a.Partition = a.Partition.Canonical()
	return ""
}

// rateArg parses a clock rate written DIGITS[.DIGITS][e[+|-]DIGITS], the forms that
// strconv.FormatFloat(r, 'g', -1, 64) writes (Format's).
func rateArg(t token, dst *float64) string {
	s := t.raw
	mant, exp, hasExp := strings.Cut(s, "e")
	intPart, frac, dot := strings.Cut(mant, ".")
	if hasExp && exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	ok := !t.quoted && digits(intPart) && (!dot || digits(frac)) && (!hasExp || digits(exp))
	f, err := strconv.ParseFloat(s, 64)
	if !ok || err != nil && !math.IsInf(f, 1) {
		return fmt.Sprintf("bad clock-rate %s; want a positive decimal number such as 1.05 or 2e-06", quoteShort(t.raw))
	}
	*dst = f // out of range is +Inf: checkAction refuses it
	return ""
}

// digits reports whether s is one or more decimal digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// jumpArg parses a Go duration with an optional '-' (a backward jump).
func jumpArg(t token, dst *time.Duration) string {
	s := t.raw
	if len(s) > 1 && s[0] == '-' {
		s = s[1:]
	}
	d, err := time.ParseDuration(t.raw) // it takes the sign itself: -2562047h47m16.854775808s parses
	if s == "" || s[0] == '+' || s[0] == '-' || err != nil || t.quoted {
		return fmt.Sprintf("bad clock-jump %s; want a nonzero Go duration, with - for a backward jump, such as 1s or -200ms", quoteShort(t.raw))
	}
	*dst = d
	return ""
}

// parsePacketLine reads the fields after "packet": FROM->TO #N FATE.
func (p *parser) parsePacketLine(args []token, a *Action) string {
	a.Kind = ActionPacket
	if len(args) < 3 {
		return fmt.Sprintf("packet takes a path, a number and a fate, got %d field%s (a '#' not followed by a digit starts a comment); usage: %s", len(args), plural(len(args)), fateUsage)
	}
	from, to, found := strings.Cut(args[0].raw, "->")
	ef, err1 := ParseEndpoint(from)
	et, err2 := ParseEndpoint(to)
	if args[0].quoted || !found || err1 != nil || err2 != nil {
		return fmt.Sprintf("bad path %s; want FROM->TO with endpoints n1..n%d, c1..c%d or admin, such as n1->n2",
			quoteShort(args[0].raw), MaxServers, p.s.clientLimit())
	}
	a.From, a.To = ef, et
	n, ok := uint64(0), false
	if num := args[1].raw; len(num) > 1 && num[0] == '#' {
		n, ok = parseCount(num[1:], maxSeed)
	}
	if !ok {
		return fmt.Sprintf("bad packet number %s; want #1, #2, ... right after the path", quoteShort(args[1].raw))
	}
	a.Packet = n
	return fateArgs(&a.Fate, args[2], args[3:])
}

// fateArgs reads a packet's fate: "deliver DELAY", "drop" or "dup COPY COPY".
func fateArgs(f *Fate, word token, args []token) string {
	want := 0
	switch word.raw {
	case "deliver":
		want = 1
	case "drop":
	case "dup":
		want = 2
	default:
		return fmt.Sprintf("unknown fate %s; valid: deliver DELAY, drop, dup COPY COPY (a COPY is DELAY or drop)", quoteShort(word.raw))
	}
	if len(args) != want {
		return fmt.Sprintf("fate %s takes %d argument%s, got %d; usage: %s", word.raw, want, plural(want), len(args), fateUsage)
	}
	f.Dup = word.raw == "dup"
	if word.raw == "drop" {
		f.Lost[0] = true
	}
	for i, t := range args {
		if f.Dup && t.raw == "drop" {
			f.Lost[i] = true
			continue
		}
		d, ok := parseDuration(t.raw)
		if !ok || t.quoted {
			alt := ""
			if f.Dup {
				alt = " or drop"
			}
			return fmt.Sprintf("bad delay %s; want a Go duration of 0s or more, such as 3.2ms%s", quoteShort(t.raw), alt)
		}
		f.Delays[i] = d
	}
	return ""
}

// usedTimed is a with only the fields its kind uses in version 2.
func (a *Action) usedTimed() Action {
	u := Action{Kind: a.Kind, Comment: a.Comment}
	if a.Kind != ActionPacket {
		u.At = a.At
	}
	switch a.Kind {
	case ActionCrash, ActionRestart:
		u.Node = a.Node
	case ActionInvoke:
		u.Client, u.Op, u.Key, u.Value = a.Client, a.Op, a.Key, a.Value
	case ActionPause, ActionClockJump:
		u.Node, u.Duration = a.Node, a.Duration
	case ActionClockRate:
		u.Node, u.Rate = a.Node, a.Rate
	case ActionPartition:
		u.Partition = a.Partition
	case ActionIsolate:
		u.Endpoints[0] = a.Endpoints[0]
	case ActionCut, ActionCutOneWay:
		u.Endpoints[0], u.Endpoints[1] = a.Endpoints[0], a.Endpoints[1]
	case ActionBridge:
		u.Endpoints = a.Endpoints
	case ActionPacket:
		u.From, u.To, u.Packet, u.Fate = a.From, a.To, a.Packet, a.Fate
	}
	return u
}

// checkTimed is checkAction's rules for the arguments of a version 2 action.
func (s *Schedule) checkTimed(a *Action) string {
	if a.Kind.Timed() && a.At < 0 {
		return fmt.Sprintf("at %v is negative; times count from 0s, the start of the run", a.At)
	}
	switch a.Kind {
	case ActionCrash, ActionRestart:
		return s.checkServer(a.Node)
	case ActionInvoke:
		return first(s.checkClient(a.Client), checkOp(a))
	case ActionPause:
		return first(s.checkServer(a.Node), checkDuration("pause", a.Duration))
	case ActionPartition:
		return s.checkPartition(a.Partition)
	case ActionIsolate, ActionCut, ActionCutOneWay, ActionBridge:
		return s.checkEndpoints(a)
	case ActionClockRate:
		if msg := s.checkServer(a.Node); msg != "" {
			return msg
		}
		if !(a.Rate > 0) || math.IsInf(a.Rate, 1) {
			return fmt.Sprintf("clock-rate %s must be positive and finite", strconv.FormatFloat(a.Rate, 'g', -1, 64))
		}
	case ActionClockJump:
		if msg := s.checkServer(a.Node); msg != "" {
			return msg
		}
		if a.Duration == 0 {
			return "clock-jump 0s does nothing; want a nonzero Go duration, with - for a backward jump"
		}
	case ActionPacket:
		return first(s.checkLink(a.From, a.To), checkPacketNumber(a.Packet), checkFate(a.Fate))
	}
	return ""
}

// checkPartition: canonical numbering, at least one group, every member in range.
func (s *Schedule) checkPartition(p Partition) string {
	if p.groupCount() == 0 {
		return "a partition with no group; want at least one group of endpoints"
	}
	if p != p.Canonical() {
		return fmt.Sprintf("partition groups not in canonical form (numbered 1, 2, ... by first member in EndpointIndex order: %v); build it with NewPartition", p)
	}
	for i, g := range p.Groups {
		if g != 0 {
			if msg := s.checkEndpoint(IndexEndpoint(i)); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// checkEndpoints: isolate, cut, cut-one-way and bridge name 1, 2 or 3 distinct endpoints.
func (s *Schedule) checkEndpoints(a *Action) string {
	n := timedArgCount(a.Kind)
	for i := 0; i < n; i++ {
		if msg := s.checkEndpoint(a.Endpoints[i]); msg != "" {
			return msg
		}
		for j := 0; j < i; j++ {
			if a.Endpoints[i] == a.Endpoints[j] {
				return fmt.Sprintf("%v names %v twice; its %d endpoints are distinct", a.Kind, a.Endpoints[i], n)
			}
		}
	}
	return ""
}

// checkLink: a packet goes between two endpoints in range, at least one a server, and
// never from an endpoint to itself.
func (s *Schedule) checkLink(from, to Endpoint) string {
	if msg := first(s.checkEndpoint(from), s.checkEndpoint(to)); msg != "" {
		return msg
	}
	if from == to || from.Kind != EndpointServer && to.Kind != EndpointServer {
		return fmt.Sprintf("no packet goes %v->%v; a packet goes from a server to another server, or between a server and a client or admin", from, to)
	}
	return ""
}

func checkPacketNumber(n uint64) string {
	if n == 0 {
		return "packet number #0; the packets of a link are numbered from #1"
	}
	return ""
}

// checkFate: a copy is lost or has a delay of 0 or more; copy 1 only with Dup.
func checkFate(f Fate) string {
	for i := range 2 {
		switch {
		case i == 1 && !f.Dup && (f.Lost[1] || f.Delays[1] != 0):
			return "a fate with a second copy set but no dup; only a duplicated packet has copy 1"
		case f.Lost[i] && f.Delays[i] != 0:
			return fmt.Sprintf("copy %d of the packet is lost yet has delay %v; a lost copy has none", i, f.Delays[i])
		case f.Delays[i] < 0:
			return checkDelay("delay", f.Delays[i])
		}
	}
	return ""
}

// timedLedger follows what a version 2 schedule shows wrong on its own across lines:
// timed actions out of time order, and a link's packet numbers not increasing.
type timedLedger struct {
	where  func(pos int) string
	at     time.Duration // the latest timed action's time
	atPos  int           // its position (0: none yet)
	packet [MaxEndpoints][MaxEndpoints]struct {
		n   uint64 // the link's latest packet number
		pos int    // its position (0: none yet)
	}
}

func newTimedLedger(where func(int) string) *timedLedger { return &timedLedger{where: where} }

// note records action a (one checkAction accepted) at position pos, and returns its
// problem, if any.
func (l *timedLedger) note(a *Action, pos int) string {
	if a.Kind == ActionPacket {
		e := &l.packet[EndpointIndex(a.From)][EndpointIndex(a.To)]
		if e.pos != 0 && a.Packet <= e.n {
			return fmt.Sprintf("packet %v->%v #%d after #%d %s; a link's packets have at most one line each, in increasing number order",
				a.From, a.To, a.Packet, e.n, l.where(e.pos))
		}
		e.n, e.pos = a.Packet, pos
		return ""
	}
	if l.atPos != 0 && a.At < l.at {
		return fmt.Sprintf("at %v is before the time of the previous timed action, %v %s; timed actions are in time order",
			a.At, l.at, l.where(l.atPos))
	}
	l.at, l.atPos = a.At, pos
	return ""
}

// String is f in the format's syntax: "deliver 3.2ms", "drop" or "dup 2ms drop".
func (f Fate) String() string { return string(f.appendTo(nil)) }

func (f Fate) appendTo(b []byte) []byte {
	switch {
	case f.Dup:
		b = append(b, "dup"...)
		for i := range 2 {
			b = append(b, ' ')
			if f.Lost[i] {
				b = append(b, "drop"...)
			} else {
				b = append(b, f.Delays[i].String()...)
			}
		}
		return b
	case f.Lost[0]:
		return append(b, "drop"...)
	}
	return append(append(b, "deliver "...), f.Delays[0].String()...)
}

// appendTimed appends a's line in version 2 form, without its comment.
func (a *Action) appendTimed(b []byte) []byte {
	if a.Kind == ActionPacket {
		b = append(b, "packet "...)
		b = a.From.appendTo(b)
		b = append(b, "->"...)
		b = a.To.appendTo(b)
		b = strconv.AppendUint(append(b, " #"...), a.Packet, 10)
		return a.Fate.appendTo(append(b, ' '))
	}
	b = append(append(b, "at "...), a.At.String()...)
	b = append(append(b, ' '), a.Kind.String()...)
	server := func(id node.ID) { b = ServerEndpoint(id).appendTo(append(b, ' ')) }
	switch a.Kind {
	case ActionCrash, ActionRestart:
		server(a.Node)
	case ActionInvoke:
		b = ClientEndpoint(a.Client).appendTo(append(b, ' '))
		b = append(append(b, ' '), opString(a.Op)...)
		b = strconv.AppendQuote(append(b, ' '), a.Key)
		if a.Op != kv.OpGet { // a get has no value
			b = strconv.AppendQuote(append(b, ' '), a.Value)
		}
	case ActionPause, ActionClockJump:
		server(a.Node)
		b = append(append(b, ' '), a.Duration.String()...)
	case ActionClockRate:
		server(a.Node)
		b = strconv.AppendFloat(append(b, ' '), a.Rate, 'g', -1, 64)
	case ActionPartition:
		if a.Partition.groupCount() > 0 { // (a partition with no group is invalid)
			b = a.Partition.appendTo(append(b, ' '))
		}
	case ActionIsolate, ActionCut, ActionCutOneWay, ActionBridge:
		for i := range timedArgCount(a.Kind) {
			b = a.Endpoints[i].appendTo(append(b, ' '))
		}
	}
	return b
}
