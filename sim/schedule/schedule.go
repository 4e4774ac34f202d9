package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// Version is version 1 of the format, the abstract-time form of the model checker's
// counterexamples: the version New builds. The package reads and writes versions 1 and 2
// (VersionTimed); Format writes the version a Schedule says.
const Version = 1

// newestVersion is the newest version this package reads.
const newestVersion = VersionTimed

// Limits of the format (version 1). They are part of the format: a file within them stays
// readable by every later raftsim.
const (
	MaxServers   = 9         // nodes + spares
	MaxClients   = 9         // clients
	MaxLineBytes = 4096      // bytes in one line, without its line ending
	MaxActions   = 1_000_000 // action lines
	maxScenario  = 128       // bytes in the scenario word
	maxSeed      = ^uint64(0)
)

// The version 1 defaults of the optional headers. They never change: a version 1 file that
// leaves a header out means these values, whatever the defaults of sim or node become.
const (
	DefaultHeartbeat          = 50 * time.Millisecond
	DefaultElectionTimeoutMin = 150 * time.Millisecond
	DefaultElectionTimeoutMax = 300 * time.Millisecond
	DefaultMaxEntries         = 64
	DefaultSnapshotChunk      = 4096
	// The default learner-catch-up is twice max-entries (node.Config's rule for 0).
)

// Schedule is one parsed schedule file: the cluster it runs and the actions, in order.
// Build one in code with New (version 1) or NewTimed (version 2) and fill in what differs
// from the defaults; check it with Validate before Format. Version 1 uses Nodes, Spares,
// Clients and Node, and leaves Timed zero; version 2 uses Timed and leaves those zero.
type Schedule struct {
	// Version is the format version: 1 (Version) or 2 (VersionTimed).
	Version int
	// Scenario is what produced the schedule ("explore", a scenario's name...): a free
	// word of letters, digits and ._:/+- (at most 128 bytes), or "" when not given. In
	// version 2 it is required: the scenario whose configuration, script and assertion
	// run.
	Scenario string
	// Seed is the run's root seed (1..2^64-1): each node's election timer stream, in
	// each of its lives, derives from it as in the simulator.
	Seed uint64
	// Nodes is the number of voters of the bootstrap configuration, servers n1..nNodes
	// (version 1; 0 in version 2, whose override is Timed.Nodes).
	Nodes int
	// Spares is the number of servers outside the configuration, n(Nodes+1)..
	// n(Nodes+Spares), booted empty until an admin request adds them.
	Spares int
	// Clients is the number of key-value clients c1..cClients; client c is kv.ClientID(c)
	// and the admin client is kv.ClientID(Clients+1) (version 1; 0 in version 2, whose
	// override is Timed.Clients).
	Clients int
	// Node holds the Raft options every server gets (version 1; zero in version 2, which
	// takes them from its scenario).
	Node NodeOptions
	// Expect is what replaying the schedule should come to (ExpectNone: not said).
	Expect Expect
	// Timed holds the headers of version 2 (zero in version 1).
	Timed Timed
	// Actions are the steps of the run, in order (nil when there are none).
	Actions []Action
}

// NodeOptions are the Raft options given to every server (node.Config's fields of the same
// names; sim.NodeOptions has them too). Unlike node.Config, 0 never stands for a default:
// a schedule states every value, so its meaning does not move when a default does.
type NodeOptions struct {
	HeartbeatInterval  time.Duration // heartbeat: positive, below ElectionTimeoutMin
	ElectionTimeoutMin time.Duration // election-timeout MIN-MAX: drawn from [Min, Max)
	ElectionTimeoutMax time.Duration
	// MaxEntriesPerMessage bounds the entries of one AppendEntries (max-entries, >= 1).
	MaxEntriesPerMessage int
	// LearnerCatchUpMax is how far behind a learner may be to be promoted
	// (learner-catch-up, >= 1; default twice MaxEntriesPerMessage).
	LearnerCatchUpMax int
	ReadMode          node.ReadMode // read-mode readindex | lease | local
	// MaxClockDrift is the clock drift bound a lease is shortened by (max-clock-drift,
	// in [0, 1)). In abstract time clocks do not drift, but the lease's length uses it.
	MaxClockDrift float64
	PreVote       bool // pre-vote on | off
	CheckQuorum   bool // check-quorum on | off; read-mode lease needs it on
	// SnapshotThreshold: entries applied past the latest snapshot before a server takes
	// a new one (snapshot-threshold, 0: never).
	SnapshotThreshold int
	// SnapshotChunkSize: the most snapshot bytes in one InstallSnapshot (snapshot-chunk,
	// >= 1).
	SnapshotChunkSize int
}

// New returns a version 1 schedule of nodes voters with the given root seed, every other
// header at its default, and no actions.
func New(seed uint64, nodes int) *Schedule {
	return &Schedule{
		Version: Version,
		Seed:    seed,
		Nodes:   nodes,
		Node: NodeOptions{
			HeartbeatInterval:    DefaultHeartbeat,
			ElectionTimeoutMin:   DefaultElectionTimeoutMin,
			ElectionTimeoutMax:   DefaultElectionTimeoutMax,
			MaxEntriesPerMessage: DefaultMaxEntries,
			LearnerCatchUpMax:    2 * DefaultMaxEntries,
			SnapshotChunkSize:    DefaultSnapshotChunk,
		},
	}
}

// NewTimed returns a version 2 schedule of the given scenario and root seed, with the
// default delay (DefaultDelay), no other header and no actions.
func NewTimed(scenario string, seed uint64) *Schedule {
	return &Schedule{Version: VersionTimed, Scenario: scenario, Seed: seed, Timed: Timed{Delay: DefaultDelay}}
}

// Servers is the number of servers of a version 1 schedule, Nodes+Spares: their IDs are
// 1..Servers (0 in version 2, where the scenario decides).
func (s *Schedule) Servers() int { return s.Nodes + s.Spares }

// ExpectKind is what a schedule says its replay comes to.
type ExpectKind uint8

// Expectations.
const (
	ExpectNone ExpectKind = iota // no expect line
	ExpectOK                     // expect ok: no check fails
	ExpectFail                   // expect fail "CHECK": the first check to fail is CHECK
)

// Expect is a schedule's expectation: Check is the failing check's name (ExpectFail only).
type Expect struct {
	Kind  ExpectKind
	Check string
}

func (e Expect) String() string {
	switch e.Kind {
	case ExpectNone:
		return ""
	case ExpectOK:
		return "ok"
	case ExpectFail:
		return "fail " + strconv.Quote(e.Check)
	}
	return fmt.Sprintf("expect(%d)", uint8(e.Kind))
}

// ActionKind is the kind of an Action; its String is the action's keyword.
type ActionKind uint8

// Action kinds (see the package doc for what each does).
const (
	ActionFire       ActionKind = iota + 1 // fire SERVER
	ActionDeliver                          // deliver PACKET FROM->TO TYPE
	ActionDrop                             // drop PACKET FROM->TO TYPE
	ActionDup                              // dup PACKET FROM->TO TYPE
	ActionCrash                            // crash SERVER
	ActionRestart                          // restart SERVER
	ActionSave                             // save SERVER
	ActionInvoke                           // invoke CLIENT SERVER OP KEY [VALUE]
	ActionRetry                            // retry CLIENT SERVER
	ActionTransfer                         // transfer SERVER TARGET
	ActionAdmin                            // admin SERVER add|remove TARGET
	ActionAdminRetry                       // admin-retry SERVER

	// Version 2 (timed) actions; crash, restart and invoke are timed there too.
	ActionPause     // at TIME pause SERVER DURATION
	ActionPartition // at TIME partition GROUP | GROUP ...
	ActionIsolate   // at TIME isolate ENDPOINT
	ActionCut       // at TIME cut ENDPOINT ENDPOINT
	ActionCutOneWay // at TIME cut-one-way FROM TO
	ActionBridge    // at TIME bridge A B C
	ActionHeal      // at TIME heal
	ActionClockRate // at TIME clock-rate SERVER RATE
	ActionClockJump // at TIME clock-jump SERVER DURATION (signed)
	ActionPacket    // packet FROM->TO #N FATE
	actionKindLimit

	// v1KindLimit ends the version 1 kinds.
	v1KindLimit = ActionPause
)

func (k ActionKind) String() string {
	switch k {
	case ActionFire:
		return "fire"
	case ActionDeliver:
		return "deliver"
	case ActionDrop:
		return "drop"
	case ActionDup:
		return "dup"
	case ActionCrash:
		return "crash"
	case ActionRestart:
		return "restart"
	case ActionSave:
		return "save"
	case ActionInvoke:
		return "invoke"
	case ActionRetry:
		return "retry"
	case ActionTransfer:
		return "transfer"
	case ActionAdmin:
		return "admin"
	case ActionAdminRetry:
		return "admin-retry"
	case ActionPause:
		return "pause"
	case ActionPartition:
		return "partition"
	case ActionIsolate:
		return "isolate"
	case ActionCut:
		return "cut"
	case ActionCutOneWay:
		return "cut-one-way"
	case ActionBridge:
		return "bridge"
	case ActionHeal:
		return "heal"
	case ActionClockRate:
		return "clock-rate"
	case ActionClockJump:
		return "clock-jump"
	case ActionPacket:
		return "packet"
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// Valid reports whether k is a known action kind, of either version.
func (k ActionKind) Valid() bool { return k >= ActionFire && k < actionKindLimit }

// InVersion reports whether version v of the format has actions of kind k: crash, restart
// and invoke are in both (timed in version 2), fire..admin-retry in version 1 only, pause..
// packet in version 2 only.
func (k ActionKind) InVersion(v int) bool {
	switch {
	case !k.Valid():
		return false
	case k == ActionCrash || k == ActionRestart || k == ActionInvoke:
		return v == Version || v == VersionTimed
	case k < v1KindLimit:
		return v == Version
	}
	return v == VersionTimed
}

// Timed reports whether k is a timed action of version 2, one whose line starts with "at
// TIME": every version 2 kind but packet.
func (k ActionKind) Timed() bool { return k.InVersion(VersionTimed) && k != ActionPacket }

// IsPacket reports whether k acts on a packet in flight (deliver, drop, dup).
func (k ActionKind) IsPacket() bool {
	return k == ActionDeliver || k == ActionDrop || k == ActionDup
}

// usage is k's syntax in version v, for error messages.
func (k ActionKind) usage(v int) string {
	if v == VersionTimed {
		return k.timedUsage()
	}
	switch k {
	case ActionDeliver, ActionDrop, ActionDup:
		return k.String() + " PACKET FROM->TO TYPE"
	case ActionInvoke:
		return `invoke CLIENT SERVER get KEY | put KEY VALUE | append KEY VALUE`
	case ActionRetry:
		return "retry CLIENT SERVER"
	case ActionTransfer:
		return "transfer SERVER TARGET"
	case ActionAdmin:
		return "admin SERVER add|remove TARGET"
	}
	return k.String() + " SERVER"
}

// ParseActionKind parses an action keyword of either version (InVersion tells which).
func ParseActionKind(s string) (ActionKind, error) {
	if k, ok := lookupKind(s); ok {
		return k, nil
	}
	return 0, fmt.Errorf("unknown action %s; valid: %s", quoteShort(s), actionKindList(0))
}

func lookupKind(s string) (ActionKind, bool) {
	for k := ActionFire; k < actionKindLimit; k++ {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// actionKindList lists the keywords of version v's actions (v 0: of every version).
func actionKindList(v int) string {
	var names []string
	for k := ActionFire; k < actionKindLimit; k++ {
		if v == 0 || k.InVersion(v) {
			names = append(names, k.String())
		}
	}
	return strings.Join(names, ", ")
}

// Action is one step of a schedule. Each kind uses the fields its doc names and leaves the
// others zero (Validate insists, so that Format loses nothing).
type Action struct {
	Kind ActionKind
	// Node is the server acted on (fire, crash, restart, save; in version 2 also pause,
	// clock-rate, clock-jump), asked (transfer), or sent a request to (version 1's invoke,
	// retry, admin, admin-retry). A version 2 invoke has none (0).
	Node node.ID
	// Client is the client, from 1 (invoke, retry).
	Client int
	// Packet is the packet's number, from 1 (deliver, drop, dup); From, To and
	// PacketType are its path and type, as they were when it was put in flight. A
	// version 2 packet line uses Packet, From and To too (see Fate), not PacketType.
	Packet     uint64
	From, To   Endpoint
	PacketType PacketType
	// Op, Key and Value are the client's operation (invoke; Value is "" for a get).
	Op    kv.Op
	Key   string
	Value string
	// Target is the server to hand leadership to (transfer) or to add or remove (admin).
	Target node.ID
	// AdminOp is the membership change (admin).
	AdminOp node.AdminOp
	// At is when a version 2 timed action happens, in virtual time from the start of the
	// run (every version 2 action but packet).
	At time.Duration
	// Endpoints are the endpoints of isolate (1), cut (2), cut-one-way (2: from, to) and
	// bridge (3: a, b, c, b the one both still reach).
	Endpoints [3]Endpoint
	// Partition is the groups of a partition action.
	Partition Partition
	// Duration is how long a pause lasts (positive), or how far a clock jumps
	// (clock-jump, either sign).
	Duration time.Duration
	// Rate is a clock's new rate (clock-rate, positive): local time advances Rate
	// seconds per virtual second.
	Rate float64
	// Fate is what the network did with the packet (packet, version 2): From and To are
	// its link and Packet its number on that link, counting from 1 every packet sent
	// from From to To (cut ones included).
	Fate Fate
	// Comment is a human description, written after '#' on the action's line: valid
	// UTF-8, no control characters but tabs, no leading or trailing space or tab.
	Comment string
}

// EndpointKind is what sits at a network endpoint.
type EndpointKind uint8

// Endpoint kinds.
const (
	EndpointNone   EndpointKind = iota // the zero Endpoint: no endpoint
	EndpointServer                     // nN: server N
	EndpointClient                     // cN: client N
	EndpointAdmin                      // admin: the admin (operator's) client
)

// Endpoint is one end of a packet's path: a server, a client or the admin client.
type Endpoint struct {
	Kind EndpointKind
	// N is the server's ID or the client's number (from 1); 0 for the admin client.
	N int
}

// ServerEndpoint is server id's endpoint.
func ServerEndpoint(id node.ID) Endpoint { return Endpoint{EndpointServer, int(id)} }

// ClientEndpoint is client c's endpoint (c from 1).
func ClientEndpoint(c int) Endpoint { return Endpoint{EndpointClient, c} }

// AdminEndpoint is the admin client's endpoint.
func AdminEndpoint() Endpoint { return Endpoint{Kind: EndpointAdmin} }

func (e Endpoint) String() string {
	switch e.Kind {
	case EndpointServer:
		return "n" + strconv.Itoa(e.N)
	case EndpointClient:
		return "c" + strconv.Itoa(e.N)
	case EndpointAdmin:
		if e.N == 0 {
			return "admin"
		}
	case EndpointNone:
		if e.N == 0 {
			return "none"
		}
	}
	return fmt.Sprintf("endpoint(%d,%d)", uint8(e.Kind), e.N)
}

// appendTo appends e's String, without allocating for a valid endpoint.
func (e Endpoint) appendTo(b []byte) []byte {
	switch {
	case e.Kind == EndpointServer && e.N > 0:
		return strconv.AppendInt(append(b, 'n'), int64(e.N), 10)
	case e.Kind == EndpointClient && e.N > 0:
		return strconv.AppendInt(append(b, 'c'), int64(e.N), 10)
	}
	return append(b, e.String()...)
}

// ParseEndpoint parses "nN", "cN" (N a decimal number in 1..4096, no leading zeros) or
// "admin". It does not check N against a schedule's servers and clients.
func ParseEndpoint(s string) (Endpoint, error) {
	if s == "admin" {
		return AdminEndpoint(), nil
	}
	if len(s) >= 2 && (s[0] == 'n' || s[0] == 'c') {
		if n, ok := parseCount(s[1:], MaxLineBytes); ok && n > 0 {
			if s[0] == 'n' {
				return Endpoint{EndpointServer, int(n)}, nil
			}
			return Endpoint{EndpointClient, int(n)}, nil
		}
	}
	return Endpoint{}, fmt.Errorf("bad endpoint %s; want a server n1.., a client c1.. or admin", quoteShort(s))
}

// PacketType is the type of a packet in flight: a Raft message between servers, a client's
// request or its reply, the admin client's request or its reply. Its String is the token
// the format uses; the tokens are this package's own and never change.
type PacketType uint8

// Packet types.
const (
	PacketVote         PacketType = iota + 1 // vote: RequestVote (node.MsgVote)
	PacketVoteResp                           // vote-resp: node.MsgVoteResp
	PacketApp                                // app: AppendEntries (node.MsgApp)
	PacketAppResp                            // app-resp: node.MsgAppResp
	PacketSnap                               // snap: an InstallSnapshot chunk (node.MsgSnap)
	PacketSnapResp                           // snap-resp: node.MsgSnapResp
	PacketPreVote                            // prevote: node.MsgPreVote
	PacketPreVoteResp                        // prevote-resp: node.MsgPreVoteResp
	PacketTimeoutNow                         // timeout-now: node.MsgTimeoutNow
	PacketRequest                            // request: a client's command, client -> server
	PacketReply                              // reply: a server's reply to a client
	PacketAdminRequest                       // admin-request: admin -> server
	PacketAdminReply                         // admin-reply: a server's reply to the admin client
	packetTypeLimit
)

func (t PacketType) String() string {
	switch t {
	case PacketVote:
		return "vote"
	case PacketVoteResp:
		return "vote-resp"
	case PacketApp:
		return "app"
	case PacketAppResp:
		return "app-resp"
	case PacketSnap:
		return "snap"
	case PacketSnapResp:
		return "snap-resp"
	case PacketPreVote:
		return "prevote"
	case PacketPreVoteResp:
		return "prevote-resp"
	case PacketTimeoutNow:
		return "timeout-now"
	case PacketRequest:
		return "request"
	case PacketReply:
		return "reply"
	case PacketAdminRequest:
		return "admin-request"
	case PacketAdminReply:
		return "admin-reply"
	}
	return fmt.Sprintf("packet(%d)", uint8(t))
}

// Valid reports whether t is a known packet type.
func (t PacketType) Valid() bool { return t >= PacketVote && t < packetTypeLimit }

// ParsePacketType parses a packet type token.
func ParsePacketType(s string) (PacketType, error) {
	for t := PacketVote; t < packetTypeLimit; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	var names []string
	for t := PacketVote; t < packetTypeLimit; t++ {
		names = append(names, t.String())
	}
	return 0, fmt.Errorf("unknown packet type %s; valid: %s", quoteShort(s), strings.Join(names, ", "))
}

// MsgType is the Raft message type of t, and false if t is not a message between servers.
func (t PacketType) MsgType() (node.MsgType, bool) {
	switch t {
	case PacketVote:
		return node.MsgVote, true
	case PacketVoteResp:
		return node.MsgVoteResp, true
	case PacketApp:
		return node.MsgApp, true
	case PacketAppResp:
		return node.MsgAppResp, true
	case PacketSnap:
		return node.MsgSnap, true
	case PacketSnapResp:
		return node.MsgSnapResp, true
	case PacketPreVote:
		return node.MsgPreVote, true
	case PacketPreVoteResp:
		return node.MsgPreVoteResp, true
	case PacketTimeoutNow:
		return node.MsgTimeoutNow, true
	}
	return 0, false
}

// MessagePacket is the packet type of a Raft message of type m, and false if m has none
// (an unknown type: a new node.MsgType needs a token here, in a new format version).
func MessagePacket(m node.MsgType) (PacketType, bool) {
	for t := PacketVote; t < packetTypeLimit; t++ {
		if mt, ok := t.MsgType(); ok && mt == m {
			return t, true
		}
	}
	return 0, false
}

// path is the endpoints a packet of type t goes between: the kinds of From and To.
func (t PacketType) path() (from, to EndpointKind) {
	switch t {
	case PacketRequest:
		return EndpointClient, EndpointServer
	case PacketReply:
		return EndpointServer, EndpointClient
	case PacketAdminRequest:
		return EndpointAdmin, EndpointServer
	case PacketAdminReply:
		return EndpointServer, EndpointAdmin
	}
	return EndpointServer, EndpointServer
}

// pathText describes t's path, for error messages.
func (t PacketType) pathText() string {
	switch t {
	case PacketRequest:
		return "from a client to a server"
	case PacketReply:
		return "from a server to a client"
	case PacketAdminRequest:
		return "from admin to a server"
	case PacketAdminReply:
		return "from a server to admin"
	}
	return "from a server to another server"
}

// readModeString is the format's token for m (its own table, not node's String).
func readModeString(m node.ReadMode) string {
	switch m {
	case node.ReadIndex:
		return "readindex"
	case node.ReadLease:
		return "lease"
	case node.ReadLocal:
		return "local"
	}
	return fmt.Sprintf("readmode(%d)", uint8(m))
}

func parseReadMode(s string) (node.ReadMode, bool) {
	for _, m := range [...]node.ReadMode{node.ReadIndex, node.ReadLease, node.ReadLocal} {
		if readModeString(m) == s {
			return m, true
		}
	}
	return 0, false
}

// adminOpString is the format's token for o.
func adminOpString(o node.AdminOp) string {
	switch o {
	case node.AdminAddServer:
		return "add"
	case node.AdminRemoveServer:
		return "remove"
	}
	return fmt.Sprintf("adminop(%d)", uint8(o))
}

// opString is the format's token for o.
func opString(o kv.Op) string {
	switch o {
	case kv.OpGet:
		return "get"
	case kv.OpPut:
		return "put"
	case kv.OpAppend:
		return "append"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// quoteShort quotes s for an error message, cut to 40 bytes so that a long line does not
// make a long error.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
