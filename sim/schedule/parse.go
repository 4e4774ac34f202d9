package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"raftsim/node"
	"raftsim/node/kv"
)

// token is one field of a line: a word, or a Go-quoted string (text unquoted, raw as
// written).
type token struct {
	text, raw string
	quoted    bool
}

// parser states.
const (
	inHeaders = iota
	inActions
	ended
)

type parser struct {
	s       *Schedule
	hs      []header
	hdrLine []int // the line of each header of hs (0: not given)
	state   int
	line    int
	ledger  *ledger      // version 1
	timed   *timedLedger // version 2
	rest    string       // the input after the current line
	toks    []token      // the current line's fields (a buffer reused from line to line)

	maxActions int // 0: the version's limit
}

// Parse reads a schedule file of version 1 or 2. It is strict: the first problem is
// returned as an *Error whose text is one line, "schedule:LINE: what is wrong; what is
// valid". Whether the actions can happen (a delivered packet was put in flight, a fired
// timer was armed) only a replay knows; Parse checks everything else the package doc
// lists.
func Parse(data []byte) (*Schedule, error) { return parse(data, 0) }

// parse is Parse with a limit on the actions (tests lower it; 0: the version's limit).
func parse(data []byte, maxActions int) (*Schedule, error) {
	if len(data) == 0 {
		return nil, &Error{Line: 1, Msg: `empty file; a schedule starts with its version line, "raftsim schedule v1" or "raftsim schedule v2"`}
	}
	p := &parser{maxActions: maxActions}
	// One copy of the whole input: the lines and their fields are substrings of it, so
	// that a line costs no allocation; what a Schedule keeps is cloned out of it.
	text := string(data)
	for rest := text; len(rest) > 0; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		p.line++
		p.rest = rest
		if err := p.parseLine(line); err != nil {
			return nil, err
		}
	}
	switch p.state {
	case inHeaders:
		return nil, p.fail(`missing "actions" and "end": the file ends in the headers (truncated?); the headers end with a line "actions"`)
	case inActions:
		return nil, p.fail(`missing "end": the file ends in the actions (truncated?); the actions end with a line "end"`)
	}
	if len(p.s.Actions) == 0 {
		p.s.Actions = nil
	}
	return p.s, nil
}

func (p *parser) fail(format string, args ...any) *Error {
	return &Error{Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// failMsg is fail for a problem text ("" is no problem).
func (p *parser) failMsg(msg string) error {
	if msg == "" {
		return nil
	}
	return &Error{Line: p.line, Msg: msg}
}

func (p *parser) parseLine(line string) error {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	problem := ""
	switch {
	case len(line) > MaxLineBytes:
		problem = fmt.Sprintf("line is %d bytes long; the limit is %d", len(line), MaxLineBytes)
	case !utf8.ValidString(line):
		problem = "line is not valid UTF-8"
	}
	if problem == "" {
		if i := controlIndex(line); i >= 0 {
			problem = fmt.Sprintf("control character %#02x at byte %d; fields are separated by spaces or tabs, and quoted strings escape other control characters", line[i], i+1)
		}
	}
	var toks []token
	comment := ""
	if problem == "" {
		numbers := p.line > 1 && p.s.Version == VersionTimed && p.state == inActions
		toks, comment, problem = splitLine(line, p.toks[:0], numbers)
		p.toks = toks
	}
	switch {
	case p.line == 1:
		return p.version(toks, problem)
	case problem != "":
		return p.failMsg(problem)
	case len(toks) == 0:
		return nil // a blank line or a comment line
	case p.state == inHeaders:
		return p.header(toks)
	case p.state == inActions:
		return p.action(toks, comment)
	}
	return p.fail(`text after "end"; only comments and blank lines may follow it`)
}

// splitLine splits a line into its fields, appended to toks, and the comment after '#'
// (outside quoted strings), trimmed of spaces and tabs. With numbers (the actions of
// version 2), a '#' followed by a digit that begins the third field of a packet line is
// the packet's number, #N, not a comment.
func splitLine(line string, toks []token, numbers bool) (_ []token, comment, problem string) {
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '#' && !(numbers && len(toks) == 2 && toks[0].raw == "packet" && i+1 < len(line) && isDigit(line[i+1])):
			return toks, strings.Trim(line[i+1:], " \t"), ""
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, "", fmt.Sprintf("unterminated quoted string %s", quoteShort(line[i:]))
			}
			raw := line[i : j+1]
			text, err := strconv.Unquote(raw)
			if err != nil {
				return nil, "", fmt.Sprintf(`bad quoted string %s; want Go syntax, such as "k0" or "a\tb"`, quoteShort(raw))
			}
			if j+1 < len(line) && strings.IndexByte(" \t#", line[j+1]) < 0 {
				return nil, "", fmt.Sprintf("text right after the quoted string %s; separate fields with a space", quoteShort(raw))
			}
			toks = append(toks, token{text, raw, true})
			i = j + 1
		default: // a word; a packet number's '#' is its first byte
			j := i + 1
			for j < len(line) && strings.IndexByte(" \t#\"", line[j]) < 0 {
				j++
			}
			if j < len(line) && line[j] == '"' {
				return nil, "", fmt.Sprintf("quote inside the field %s; a quoted string is a field of its own", quoteShort(line[i:j+1]))
			}
			toks = append(toks, token{line[i:j], line[i:j], false})
			i = j
		}
	}
	return toks, "", ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// version reads line 1, which must be the version line, and sets the parser up for the
// version it names.
func (p *parser) version(toks []token, problem string) error {
	const want = `the first line must be "raftsim schedule v1" or "raftsim schedule v2"`
	if problem != "" || len(toks) != 3 || toks[0].raw != "raftsim" || toks[1].raw != "schedule" ||
		!strings.HasPrefix(toks[2].raw, "v") {
		return p.fail("not a raftsim schedule: %s", want)
	}
	v, ok := parseCount(toks[2].raw[1:], maxSeed)
	switch {
	case !ok || v == 0:
		return p.fail("bad version %s; this raftsim reads versions 1 and 2 (%s)", quoteShort(toks[2].raw), want)
	case v > newestVersion:
		return p.fail("version %d is newer than this raftsim reads (%d)", v, newestVersion)
	}
	if v == VersionTimed {
		p.s = NewTimed("", 0)
		p.timed = newTimedLedger(lineWhere)
	} else {
		p.s = New(0, 0)
		p.ledger = newLedger(lineWhere)
	}
	p.s.Version = int(v)
	p.hs = headersOf(p.s.Version)
	p.hdrLine = make([]int, len(p.hs))
	if p.maxActions == 0 {
		p.maxActions = p.s.maxActions()
	}
	return nil
}

func lineWhere(pos int) string { return "on line " + strconv.Itoa(pos) }

// maxActions is the most actions s's version allows.
func (s *Schedule) maxActions() int {
	if s.Version == VersionTimed {
		return MaxTimedActions
	}
	return MaxActions
}

func (p *parser) headerIndex(name string) int {
	for i := range p.hs {
		if p.hs[i].name == name {
			return i
		}
	}
	return -1
}

func (p *parser) header(toks []token) error {
	k := toks[0]
	switch {
	case k.raw == "actions":
		if len(toks) > 1 {
			return p.fail(`"actions" takes no arguments`)
		}
		return p.endHeaders()
	case k.raw == "end":
		return p.fail(`"end" before the "actions" line; the headers end with a line "actions"`)
	}
	i := p.headerIndex(k.raw)
	if i < 0 {
		if msg := p.otherVersionHeader(k); msg != "" {
			return p.failMsg(msg)
		}
		if _, ok := lookupKind(k.raw); ok || p.s.Version == VersionTimed && k.raw == "at" {
			return p.fail(`action %q before the "actions" line; the headers end with a line "actions"`, k.raw)
		}
		return p.fail("unknown header %s; valid: %s", quoteShort(k.raw), headerNames(p.hs))
	}
	h := &p.hs[i]
	if p.hdrLine[i] != 0 {
		return p.fail("repeated header %q (first on line %d); each header appears at most once", h.name, p.hdrLine[i])
	}
	if lo, hi := h.argCount(); len(toks)-1 < lo || len(toks)-1 > hi {
		n := strconv.Itoa(lo) + " argument"
		if hi > lo {
			n = fmt.Sprintf("%d or %d arguments", lo, hi)
		}
		return p.fail("%s takes %s, got %d; usage: %s %s", h.name, n, len(toks)-1, h.name, h.usage)
	}
	p.hdrLine[i] = p.line
	return p.failMsg(first(h.parse(p.s, toks[1:]), h.check(p.s)))
}

// otherVersionHeader is the problem with k if it is a header of the other version only.
func (p *parser) otherVersionHeader(k token) string {
	other := VersionTimed
	if p.s.Version == VersionTimed {
		other = Version
	}
	for _, h := range headersOf(other) {
		if !k.quoted && h.name == k.raw {
			if other == Version {
				return v1OnlyHeader(h.name)
			}
			return v2OnlyHeader(h.name)
		}
	}
	return ""
}

// endHeaders is the "actions" line: the required headers must have come, the default of
// learner-catch-up follows max-entries, and the headers must agree with each other.
func (p *parser) endHeaders() error {
	for i, h := range p.hs {
		if h.required && p.hdrLine[i] == 0 {
			return p.fail(`missing header %q; required before "actions": %s`, h.name, requiredNames(p.hs))
		}
	}
	cross := p.s.timedCrossCheck
	if p.s.Version == Version {
		if p.hdrLine[p.headerIndex("learner-catch-up")] == 0 {
			p.s.Node.LearnerCatchUpMax = 2 * p.s.Node.MaxEntriesPerMessage
		}
		cross = p.s.crossCheck
	}
	if msg, a, b := cross(); msg != "" {
		line := max(p.hdrLine[p.headerIndex(a)], p.hdrLine[p.headerIndex(b)])
		if line == 0 {
			line = p.line
		}
		return &Error{Line: line, Msg: msg}
	}
	p.state = inActions
	// At most one action per remaining line, and an action line takes at least 8 bytes
	// ("fire n1\n"): allocating once saves copying a long schedule's actions as the slice
	// grows, and blank lines do not make it allocate much.
	lines := strings.Count(p.rest, "\n") + 1
	p.s.Actions = make([]Action, 0, min(lines, len(p.rest)/8+1, p.maxActions))
	return nil
}

func (p *parser) action(toks []token, comment string) error {
	k := toks[0]
	switch {
	case k.raw == "end":
		if len(toks) > 1 {
			return p.fail(`"end" takes no arguments`)
		}
		p.state = ended
		return nil
	case k.raw == "actions":
		return p.fail(`repeated "actions" line`)
	case p.headerIndex(k.raw) >= 0:
		return p.fail(`header %q after the "actions" line; headers come before it`, k.raw)
	}
	if len(p.s.Actions) == p.maxActions {
		return p.fail("more than %d actions; split the schedule", p.maxActions)
	}
	// The action is read in place: an Action is some 250 bytes, and a version 2 file
	// may hold millions of them. On an error the schedule is dropped.
	p.s.Actions = append(p.s.Actions, Action{})
	a := &p.s.Actions[len(p.s.Actions)-1]
	msg := ""
	if p.s.Version == VersionTimed {
		msg = p.parseTimed(toks, a)
	} else {
		*a, msg = p.parseV1(toks)
	}
	if msg != "" {
		return p.failMsg(msg)
	}
	a.Comment = strings.Clone(comment) // comment is part of the whole input
	if msg := p.s.checkAction(a); msg != "" {
		return p.failMsg(msg)
	}
	if p.s.Version == VersionTimed {
		msg = p.timed.note(a, p.line)
	} else {
		msg = p.ledger.note(a, p.line)
	}
	return p.failMsg(msg)
}

// parseV1 reads a version 1 action line.
func (p *parser) parseV1(toks []token) (Action, string) {
	k := toks[0]
	kind, ok := lookupKind(k.raw)
	switch {
	case k.raw == "at":
		return Action{}, `"at TIME" is version 2 (the timed form, first line "raftsim schedule v2"); version 1 actions have no time`
	case !ok:
		return Action{}, fmt.Sprintf("unknown action %s; valid: %s", quoteShort(k.raw), actionKindList(Version))
	case !kind.InVersion(Version):
		return Action{}, fmt.Sprintf(`%v is a version 2 action (the timed form, first line "raftsim schedule v2"); version 1 takes: %s`, kind, actionKindList(Version))
	}
	return p.parseAction(kind, toks[1:])
}

// argCount is how many arguments an action of kind k takes (invoke: with a get).
func argCount(k ActionKind) int {
	switch k {
	case ActionDeliver, ActionDrop, ActionDup, ActionAdmin:
		return 3
	case ActionInvoke:
		return 4
	case ActionRetry, ActionTransfer:
		return 2
	}
	return 1
}

// parseAction reads an action's arguments (syntax only; checkAction applies the rules).
func (p *parser) parseAction(k ActionKind, args []token) (Action, string) {
	a := Action{Kind: k}
	n := argCount(k)
	if k == ActionInvoke && len(args) >= 3 && (args[2].raw == "put" || args[2].raw == "append") {
		n = 5
	}
	if len(args) != n {
		return a, fmt.Sprintf("%v takes %d argument%s, got %d; usage: %s", k, n, plural(n), len(args), k.usage(Version))
	}
	var msg string
	switch k {
	case ActionDeliver, ActionDrop, ActionDup:
		msg = first(p.packetArg(args[0], &a.Packet), p.pathArg(args[1], &a), typeArg(args[2], &a.PacketType))
	case ActionInvoke:
		msg = first(p.clientArg(args[0], &a.Client), p.serverArg(args[1], &a.Node), opArg(args[2], &a.Op),
			stringArg("key", args[3], &a.Key))
		if msg == "" && n == 5 {
			msg = stringArg("value", args[4], &a.Value)
		}
	case ActionRetry:
		msg = first(p.clientArg(args[0], &a.Client), p.serverArg(args[1], &a.Node))
	case ActionTransfer:
		msg = first(p.serverArg(args[0], &a.Node), p.serverArg(args[1], &a.Target))
	case ActionAdmin:
		msg = first(p.serverArg(args[0], &a.Node), adminOpArg(args[1], &a.AdminOp), p.serverArg(args[2], &a.Target))
	default:
		msg = p.serverArg(args[0], &a.Node)
	}
	return a, msg
}

func (p *parser) validServers() string { return "n1..n" + strconv.Itoa(p.s.serverLimit()) }

func (p *parser) serverArg(t token, dst *node.ID) string {
	e, err := ParseEndpoint(t.raw)
	if t.quoted || err != nil || e.Kind != EndpointServer {
		return fmt.Sprintf("bad server %s; want %s", quoteShort(t.raw), p.validServers())
	}
	*dst = node.ID(e.N)
	return ""
}

func (p *parser) clientArg(t token, dst *int) string {
	e, err := ParseEndpoint(t.raw)
	if t.quoted || err != nil || e.Kind != EndpointClient {
		if p.s.clientLimit() == 0 {
			return fmt.Sprintf("bad client %s; the schedule has no clients (clients 0)", quoteShort(t.raw))
		}
		return fmt.Sprintf("bad client %s; want c1..c%d", quoteShort(t.raw), p.s.clientLimit())
	}
	*dst = e.N
	return ""
}

func (p *parser) packetArg(t token, dst *uint64) string {
	v, ok := uint64(0), false
	if !t.quoted && strings.HasPrefix(t.raw, "m") {
		v, ok = parseCount(t.raw[1:], maxSeed)
	}
	if !ok {
		return fmt.Sprintf("bad packet %s; want m1, m2, ...", quoteShort(t.raw))
	}
	*dst = v
	return ""
}

func (p *parser) pathArg(t token, a *Action) string {
	from, to, found := strings.Cut(t.raw, "->")
	ef, err1 := ParseEndpoint(from)
	et, err2 := ParseEndpoint(to)
	if t.quoted || !found || err1 != nil || err2 != nil {
		return fmt.Sprintf("bad path %s; want FROM->TO with endpoints %s, c1..c%d or admin, such as n1->n2",
			quoteShort(t.raw), p.validServers(), p.s.clientLimit())
	}
	a.From, a.To = ef, et
	return ""
}

func typeArg(t token, dst *PacketType) string {
	pt, err := ParsePacketType(t.raw) // a quoted token's raw form is never a type
	if err != nil {
		return err.Error()
	}
	*dst = pt
	return ""
}

func opArg(t token, dst *kv.Op) string {
	for _, o := range [...]kv.Op{kv.OpGet, kv.OpPut, kv.OpAppend} {
		if !t.quoted && t.raw == opString(o) {
			*dst = o
			return ""
		}
	}
	return fmt.Sprintf("unknown operation %s; valid: get, put, append", quoteShort(t.raw))
}

func adminOpArg(t token, dst *node.AdminOp) string {
	for _, o := range [...]node.AdminOp{node.AdminAddServer, node.AdminRemoveServer} {
		if !t.quoted && t.raw == adminOpString(o) {
			*dst = o
			return ""
		}
	}
	return fmt.Sprintf("unknown membership change %s; valid: add, remove", quoteShort(t.raw))
}

func stringArg(name string, t token, dst *string) string {
	if !t.quoted {
		return fmt.Sprintf(`%s %s is not quoted; want a Go-quoted string such as "k0"`, name, cut(t.raw, 40))
	}
	*dst = strings.Clone(t.text) // t.text is part of the whole input
	return ""
}
