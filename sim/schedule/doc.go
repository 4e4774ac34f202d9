// Package schedule is raftsim's schedule file format: a versioned text file that says, one
// action per line, everything that happens in a run: which packet is delivered, dropped or
// duplicated, whose timer fires, which server crashes or restarts, what the clients and
// the operator ask. `raftsim replay -schedule FILE` runs a schedule through the full
// simulator, with every check, the trace and the report. The one format serves the model
// checker's counterexamples (sim/explore, version 1: abstract time), exported seeded runs
// and shrunk failures (version 2: timed), and the regression cases in testdata/schedules/.
//
// The package parses the text (Parse), writes it (Schedule.Format) and checks schedules
// built in code (Schedule.Validate). It does no I/O and runs nothing: replaying is sim's.
// This comment is the format's reference.
//
// # Syntax
//
// A file is UTF-8 text; lines end with "\n" (a "\r" before it is ignored) and hold at most
// 4096 bytes. Fields are separated by spaces or tabs; other control characters may appear
// only escaped inside quoted strings. A '#' outside a quoted string starts a comment that
// runs to the end of the line (but for a version 2 packet number, see there); a line that
// is blank or only a comment is ignored. Numbers
// are decimal with no sign and no leading zeros. Strings (keys, values, a check's name) are
// Go-quoted: "k0", "a\tb", "\u00e9". Durations are Go durations: 50ms, 1.5s.
//
//	file   = version {header} "actions" {action} "end" {comment or blank line}
//	version: line 1 exactly: raftsim schedule v1 (or v2: see Version 2)
//
// The rest of this section and the next are version 1's; version 2's headers and actions
// are in its own section. The headers come in any order, each at most once. seed and nodes are required; the
// others default as shown, and the version 1 defaults never change. Unlike node.Config, 0
// never stands for "the default".
//
//	header                 default      meaning
//	scenario WORD          (none)       what produced the file (explore, a scenario's name):
//	                                    letters, digits and ._:/+-, at most 128 bytes
//	seed N                 (required)   the root seed, 1..2^64-1
//	nodes N                (required)   the voters n1..nN of the bootstrap configuration, 1..9
//	spares N               0            servers n(N+1).. outside it; nodes+spares <= 9
//	clients N              0            clients c1..cN, 0..9
//	heartbeat D            50ms         positive, below the election timeout's minimum
//	election-timeout A-B   150ms-300ms  timeouts drawn from [A, B); A < B
//	max-entries N          64           entries per AppendEntries, 1..2^20
//	learner-catch-up N     2*max-entries  how far behind a learner may be to be promoted,
//	                                    1..2^30
//	read-mode M            readindex    readindex | lease | local (node.ReadIndex,
//	                                    ReadLease, ReadLocal); lease needs check-quorum on
//	max-clock-drift F      0            the drift bound leases allow for, [0, 1), DIGITS[.DIGITS]
//	pre-vote on|off        off
//	check-quorum on|off    off
//	snapshot-threshold N   0            entries applied before a snapshot (0: never), 0..2^30
//	snapshot-chunk N       4096         snapshot bytes per InstallSnapshot, 1..2^30
//	expect ok | expect fail "CHECK"     (none): see Expect below
//
// The actions, one per line, each optionally followed by "# text": a description that is
// kept (Action.Comment) and written back. SERVER is n1..n(nodes+spares), CLIENT c1..c(clients),
// TARGET a server; PACKET is m1, m2, ... (see Numbering).
//
//	fire SERVER                        the server's armed timer fires
//	deliver PACKET FROM->TO TYPE       the packet arrives
//	drop PACKET FROM->TO TYPE          the packet is lost
//	dup PACKET FROM->TO TYPE           the network copies the packet (the copy is the next number)
//	crash SERVER                       the server's process stops
//	restart SERVER                     the server boots from its disk
//	save SERVER                        the server's background snapshot write completes
//	invoke CLIENT SERVER OPERATION     the client sends its next operation to the server:
//	                                     get KEY | put KEY VALUE | append KEY VALUE
//	retry CLIENT SERVER                the client resends its outstanding operation
//	transfer SERVER TARGET             the operator asks SERVER to hand leadership to TARGET
//	admin SERVER add|remove TARGET     the admin client sends a membership change to SERVER
//	admin-retry SERVER                 the admin client resends its outstanding change
//
// A packet action names the packet's path and type as they were when it was put in
// flight: endpoints are servers (n1..), clients (c1..) and the admin client (admin). The
// type tokens are this package's own (PacketType), not node's String methods:
//
//	type           path                what
//	vote           server -> server    RequestVote (node.MsgVote)
//	vote-resp      server -> server    node.MsgVoteResp
//	prevote        server -> server    node.MsgPreVote
//	prevote-resp   server -> server    node.MsgPreVoteResp
//	app            server -> server    AppendEntries, heartbeats included (node.MsgApp)
//	app-resp       server -> server    node.MsgAppResp
//	snap           server -> server    one InstallSnapshot chunk (node.MsgSnap)
//	snap-resp      server -> server    node.MsgSnapResp
//	timeout-now    server -> server    node.MsgTimeoutNow (leadership transfer)
//	request        client -> server    a client's command (node.InputClient)
//	reply          server -> client    a node.Reply to a client
//	admin-request  admin -> server     the admin client's node.AdminRequest (node.InputAdmin)
//	admin-reply    server -> admin     a node.Reply to the admin client
//
// (In the simulator a reply to the admin client travels like any reply; the format names
// it admin-reply, so that a type always says its path.) A server never sends a message to
// itself.
//
// # Version 1: abstract time
//
// Version 1 has no times: it is the form of the model checker, where any armed timer may
// fire next. Each server has a local clock, at 0 at the start, that moves only when the
// server's timer fires, to the time the server asked for (node.Output.WakeAt); clocks of
// different servers are unrelated, and nothing else moves them. Every step of a server
// happens at its current local time.
//
// At the start every server n1..n(nodes+spares) boots, in ID order, with an empty disk
// (voters with the bootstrap configuration n1..n(nodes), spares with none) and is stepped
// once with node.InputWake at local time 0, which arms its election timer. Each server's
// election timeouts come from its own stream, derived from the seed, the server and its
// life, as in the simulator. Client c is kv.ClientID(c); the admin client is
// kv.ClientID(clients+1). Then the actions run, in order:
//
//   - fire nX: nX's clock moves to the wake-up time it asked for, and nX is stepped with
//     node.InputWake.
//   - deliver mK FROM->TO TYPE: packet mK leaves the network and arrives. A message, a
//     request or an admin request steps server TO (node.InputMessage, InputClient,
//     InputAdmin); if TO is crashed, the packet is lost, as in the simulator. A reply goes
//     to its client: a reply with status OK for the client's outstanding operation (its
//     sequence number) completes that operation, the invocation's response in the
//     history; any other reply (not-leader, busy, or an answer to another sequence
//     number) leaves it outstanding until a retry. The admin client's replies work the
//     same way. A reply with status invalid fails the run (check "Client protocol").
//   - drop mK ...: packet mK leaves the network; nobody receives it.
//   - dup mK ...: mK stays in flight and a copy of it is put in flight.
//   - crash nX: nX's process stops. It loses its memory and its pending snapshot writes,
//     not its disk (hard state, log, durable snapshot) nor its clock. Packets in flight
//     to it stay in flight: delivered while it is down they are lost, after a restart
//     they reach its new life.
//   - restart nX: nX boots from its disk alone, in a new life (a fresh timer stream), and
//     is stepped once with node.InputWake at its current local time, as at the start.
//   - save nX: nX's oldest pending snapshot write (node.Output.SaveSnapshot) completes:
//     the disk takes the snapshot and drops the log prefix it covers, and nX is stepped
//     with node.InputSnapshotSaved (a write overtaken by a newer snapshot installed from
//     the leader is discarded without a step, as in the simulator).
//   - invoke cI nX OP: client cI starts its next operation (sequence numbers 1, 2, ... per
//     client) and puts the request in flight to nX. A client has at most one operation
//     outstanding.
//   - retry cI nX: cI puts its outstanding operation (same sequence number) in flight to nX.
//   - transfer nX nY: the operator, on nX's machine, steps nX with node.InputTransfer of
//     nY; it cannot be lost. A server that is not the leader, and a target that is not
//     another voter, ignore it.
//   - admin nX add|remove nY: the admin client starts its next membership change
//     (node.AdminAddServer or AdminRemoveServer of nY; at most one outstanding) and puts
//     it in flight to nX.
//   - admin-retry nX: the admin client puts its outstanding change in flight to nX.
//
// After every action the simulator's checks run; the run stops at the first check that
// fails, and the actions after it are not run. Checks that need time to pass (liveness)
// do not apply to abstract time.
//
// # Numbering
//
// Every packet put in flight takes the next number of one counter for the whole run, m1,
// m2, ..., in the order it is put in flight: the packets of one server step in the order
// of its output, its messages (node.Output.Messages) first, then its replies
// (node.Output.Replies); a client's request when it is invoked or retried; the admin
// client's request when it is made or retried; the copy made by dup. Every step of a
// server numbers its output this way, whatever caused it (a boot, fire, deliver, save or
// transfer). A number is never reused: once delivered or dropped, a packet is gone.
//
// Parse rejects what a schedule shows wrong on its own: a packet delivered or dropped
// twice, named after it was delivered or dropped, or named with two different paths or
// types. The replay rejects what only running shows (as bad input, naming the action):
// a packet number not yet put in flight, or whose path or type differs from the packet's;
// fire of a crashed server or one that asked for no wake-up; crash of a crashed server,
// restart of a running one; save with no pending write; invoke or admin while one is
// outstanding, retry or admin-retry with none; transfer of a crashed server.
//
// # Expect
//
// "expect ok" says that replaying the schedule fails no check. `expect fail "CHECK"` says
// that it fails, and that the first check to fail is CHECK, by the name the simulator
// reports ("Election Safety", "Log Matching", "Linearizability", ...). The replay compares
// and reports a different outcome as a failure, so a schedule with an expectation is a
// regression test; without one the replay only reports what happened.
//
// # Version 2: timed
//
// Version 2 is the form of an exported seeded scenario run (`raftsim run -schedule-out`),
// of a shrunk one and of a timed regression case. It names a scenario and a seed: the
// scenario's configuration, script and assertion run as they are, and the schedule stands
// in for what the seed would otherwise decide outside the servers: the faults the script
// injects, with their times; the clients' operations; and each packet's fate. The
// servers' own randomness (their election timeouts) still comes from the seed. The syntax
// is version 1's (fields, quoted strings, comments, Go durations, the line limit), with
// one addition: on a packet line, a '#' that begins the third field and is followed by a
// digit is the packet's number #N, not a comment (any other '#' starts one, as in
// version 1).
//
//	version: line 1 exactly: raftsim schedule v2
//
// The headers come in any order, each at most once; scenario and seed are required. The
// others override the scenario's setting; left out, the scenario's own holds (Timed's zero
// values), except delay, whose default is DefaultDelay:
//
//	header                 default      meaning
//	scenario WORD          (required)   the scenario that runs: a word as in version 1
//	seed N                 (required)   the root seed, 1..2^64-1
//	nodes N                scenario's   the voters n1..nN, 1..9 (Timed.Nodes)
//	clients N              scenario's   the clients c1..cN, 1..9 (Timed.Clients)
//	duration D             scenario's   the run ends at virtual time D, positive
//	delay D                1ms          the delay of a packet with no packet line, >= 0
//	read-mode M            scenario's   readindex | lease | local
//	pre-vote on|off        scenario's
//	check-quorum on|off    scenario's   read-mode lease with check-quorum off is refused
//	expect ok | expect fail "CHECK"     as in version 1; CHECK may also name the scenario's
//	                                    assertion ("assertion: ...")
//
// Version 1's other headers (spares, heartbeat, election-timeout, max-entries,
// learner-catch-up, max-clock-drift, snapshot-threshold, snapshot-chunk) are refused: the
// scenario decides them. Version 1 refuses duration and delay. A parsed version 2
// Schedule has its headers in Scenario, Seed, Expect and Timed; Nodes, Spares, Clients and
// Node are zero.
//
// Every action but packet starts with "at TIME": a Go duration, 0s or more (no sign), the
// virtual time from the start of the run when it happens. Timed actions come in time
// order (equal times in file order); packet lines may sit anywhere among them. Actions
// whose time is past the run's end do not happen. SERVER is n1..n9 and is checked only
// against that limit, since a scenario's spares follow its voters (n(nodes+1)..) and the
// format does not know them; CLIENT is c1..c(clients), or c1..c9 when clients is not
// given; ENDPOINT is a server, a client or admin (the admin client).
//
//	at TIME crash SERVER              the server's process stops (as in version 1)
//	at TIME restart SERVER            the server boots from its disk
//	at TIME invoke CLIENT OPERATION   the client starts its next operation (no SERVER: it
//	                                    goes where the simulator's client sends it): get
//	                                    KEY | put KEY VALUE | append KEY VALUE
//	at TIME pause SERVER DURATION     the server takes no step for DURATION (positive)
//	at TIME partition GROUP | ...     the network splits into the groups, each a list of
//	                                    endpoints, "|" a field of its own; see below
//	at TIME isolate ENDPOINT          the endpoint is cut off from every other one
//	at TIME cut ENDPOINT ENDPOINT     the link between the two (distinct) goes down, both ways
//	at TIME cut-one-way FROM TO       FROM no longer reaches TO (distinct); TO still reaches FROM
//	at TIME bridge A B C              A and C are cut apart; both still reach B (distinct)
//	at TIME heal                      every link comes back up
//	at TIME clock-rate SERVER RATE    the server's clock runs at RATE local seconds per
//	                                    virtual second: positive and finite, written
//	                                    DIGITS[.DIGITS][e[+|-]DIGITS] (1.05, 2e-06)
//	at TIME clock-jump SERVER D       the server's wall clock is stepped by D (an NTP step):
//	                                    a nonzero Go duration, with - for a backward
//	                                    jump (-200ms); a server timing on its monotonic
//	                                    clock, the default, sees nothing (sim.JumpClock)
//	packet FROM->TO #N FATE           what the network did with packet N of the link
//
// A partition lists one group or more, each of one endpoint or more, and an endpoint at
// most once; servers not listed form one more group, and a client or admin not listed
// reaches every server (sim.World.Partition). Groups carry no order: "n3 | n1 n2" is the
// same partition as "n1 n2 | n3", and both parse to one Partition, whose canonical form
// numbers the groups by their first member in EndpointIndex order (n1..n9, c1..c9,
// admin); Format writes the groups in that order, their members in that order.
//
// A packet line gives the fate of one packet: the Nth packet sent from FROM to TO (from
// #1, counting every packet of that link, cut ones included). Its path is a server to
// another server, or between a server and a client or admin. FATE is one of
//
//	deliver DELAY       one copy, delivered after DELAY (a Go duration >= 0)
//	drop                the packet is lost
//	dup COPY COPY       the network duplicated it; each COPY is DELAY or drop
//
// A packet with no line is delivered after the delay header's delay; a packet on a cut
// link is lost whatever its line says. A packet has at most one line: on each link the
// numbers strictly increase in file order. Parse rejects what a version 2 schedule shows
// wrong on its own: a bad header, a time out of order, a bad endpoint, a link's packet
// numbers not increasing; what only running shows is the replay's to judge. A version 2
// file holds at most MaxTimedActions (20,000,000) action lines.
//
// # Versions
//
// The first line names the version; this package reads versions 1 and 2. A file stays
// readable, with the same meaning, by every later raftsim: the keywords, tokens, defaults
// and limits of a version never change. Anything new (new actions or headers, a packet
// type for a new node.MsgType) comes with a new version number; a reader refuses a version
// it does not know with "version N is newer than this raftsim reads (M)". A keyword of
// the other version is refused with a message naming the version it belongs to.
//
// # Canonical form
//
// Format writes the form of the schedule's version. Version 1: every header but scenario
// and expect (those when set) in the order of its table. Version 2: scenario, seed and
// delay, and the other headers when set, in the order of its table; times and durations
// as time.Duration.String writes them (exact to the nanosecond), a rate as
// strconv.FormatFloat(r, 'g', -1, 64) (exact), partitions in canonical form. Both: one
// action per line with single spaces, strings re-quoted with strconv.Quote, an action's
// comment after two spaces and "# "; whole-line comments are not kept. For a schedule
// s that Validate accepts, Parse(s.Format()) equals s; for any input x that Parse accepts,
// the canonical text of Parse(x) is a fixed point of parsing and formatting.
//
// Imports: node, node/kv and the standard library.
package schedule
