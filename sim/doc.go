// Package sim is raftsim's world: a seeded, single-threaded discrete-event simulator that
// drives Raft servers (package node) over a simulated network (package netsim), injects
// faults, and checks Raft's safety properties (package sim/check) after every event.
//
// Determinism is the product. A run is a pure function of its Config (which holds the root
// seed) and of the scenario's scheduled actions: one goroutine, a virtual clock, an event
// queue ordered by (virtual time, insertion sequence), and one random stream per subsystem
// (network, each node's election timer in each of its lives, the workload, the fault
// schedule, each client, each node's clock) derived from the root seed, so that adding
// draws in one subsystem does not reshuffle the others. Every processed event extends a 64-bit trace hash; two runs with the
// same scenario and seed have the same hash on every machine.
//
// Hosts. Each simulated machine is a host (package sim/host, the unit the model checker steps too): a Server (the Raft implementation, reached through
// the small Server interface so that other implementations can be driven through an
// adapter), a simulated disk and a local clock. The host honours the step contract: it makes
// an output's durable part durable before any of the output's messages leave, and a
// restarted server is rebuilt from its disk alone. A step's durable writes (hard state, an
// InstallSnapshot, entries) are synchronous, so a crash loses nothing that a step reported
// as durable.
//
// Snapshots (Raft §7). The disk holds the latest durable snapshot and the log after it. A
// snapshot the server takes of its own state (Output.SaveSnapshot) is written in the
// background: an event SnapshotDelay later (0: after every event already due) makes it the
// disk's snapshot, drops the log prefix it covers (copying the suffix into a fresh slice,
// so the prefix's memory is released) and steps the server with InputSnapshotSaved; a
// crash before then loses the write, and a write overtaken by a newer snapshot installed
// from the leader is discarded without telling the server (it dropped that save when it
// installed). Because the server compacts only when told, its view and its disk stay equal
// after every step, which the Durable State check compares (snapshot index and term, and
// the log's length and ends). At every boot the host checks Snapshot Recovery
// (RecoveryCheck): the server starts with the disk's snapshot, its applied index is the
// snapshot's (nothing is replayed from the start) and its state machine is the snapshot's.
//
// Schedules (schedrun.go). RunSchedule drives a world from a schedule file (package
// sim/schedule) instead of its event queue: one action per virtual millisecond, in
// abstract time (a server's clock moves only when its timer fires), every packet put in
// flight numbered and delivered, dropped or duplicated only as the schedule says, clients
// doing only what it says. The hosts, checks, trace, timeline and history are the normal
// run's, so a model checker's counterexample (package sim/explore) replays here with
// everything a run reports.
//
// Timed schedules (timed.go). Config.Record receives a seeded run's decisions as the
// lines of a version 2 schedule: each fault the scenario injected with its time, each
// client operation, each packet's fate. Config.Replay makes a run follow such a schedule
// instead of the seed: the scenario's script still runs (its probes and assertion judge
// the run), but a fault it injects happens only if the schedule lists it at that time, a
// listed fault nobody claimed happens by itself at the end of its instant, clients take
// their operations from the schedule, and each packet's fate is its line's (a packet
// without one is delivered once after the schedule's delay). A recording replays with the
// same trace hash; a shrunk one stays well defined.
//
// Choices made here (DESIGN.md leaves them open):
//   - A partition is checked both when a message is sent and when it would be delivered, so
//     a partition also cuts messages already in flight.
//   - A message that arrives at a crashed host is dropped. Messages still in flight when a
//     host restarts reach its new life, as on a real network they reach whoever listens at
//     the address.
//   - Wake-ups: a host keeps at most one live wake event per node; a wake that is no longer
//     wanted is discarded when popped, without counting as an event or touching the hash.
//
// Servers and membership (§6). The servers are 1..Nodes, the voters of the bootstrap
// configuration, and the spares Nodes+1..Nodes+Spares, booted with empty state and no
// peers: outside the configuration until an admin request adds them. Every server is a
// host (World.Nodes counts them all); World.Voters and Result.FinalConfig give the
// configuration in force (at the leader, else at the server with the highest commit
// index). Network endpoints: the servers, then the clients, then the admin client. The
// checker is told which servers are spares (check.Checker.Spare), so that an idle spare
// does not stop it from trimming its records.
//
// The operator (admin.go). World.Admin sends a membership change (node.InputAdmin) the
// way a client sends a command: from its own endpoint (World.AdminAddr), with its own
// stream and kv.ClientID Clients.Count+1, one request at a time, retried with the same
// sequence number on another server after each attempt timeout, following leader hints,
// waiting 50 ms after ReplyBusy, never giving up. World.Transfer asks the leader for a
// leadership transfer (node.InputTransfer), stepped directly on the leader's host, as by
// an operator on that machine. The host's Transfer Liveness check fails a run in which a
// leader neither completes nor aborts a transfer within ElectionTimeoutMax +
// 2*HeartbeatInterval of its local clock (thesis §3.10). Configuration entries appended
// by leaders and committed, pre-votes, transfers and leaders removed from the
// configuration are put on the timeline.
//
// The admin endpoint always exists but is described in network fault texts (and so in the
// trace hash) only once used, so a run without an operator hashes exactly as before it
// existed; with Spares 0 and no admin request, runs are unchanged.
//
// Clients (Config.Clients; Raft thesis §6.3). Client c (1-based) is kv.ClientID(c) and a
// network endpoint at address Nodes+Spares+c (World.ClientAddr), so its requests and replies go
// through netsim like Raft messages (loss, duplication, delay, partitions). In-flight
// messages, requests and replies share one slab of packets; events hold slot numbers. Each
// client draws from its own stream, has exactly one operation outstanding and invokes the
// next one at once when it ends (until Clients.Stop). Its retry rules:
//   - it sends to the server it believes leads (initially a random one of the initial
//     voters 1..Nodes; "another server" below is drawn among all servers, spares
//     included, since they may have joined);
//   - ReplyNotLeader with a usable hint (not the replying server, not a server the client
//     timed out on within the last 2*RequestTimeout): resend at once to the hinted server;
//     without one: pick another server at random (preferring servers not timed out on)
//     and resend after 10 ms;
//   - ReplyBusy: resend to the same server after 10 ms;
//   - no reply within RequestTimeout: resend the same command (same sequence number) to
//     another server; after GiveUpAfter since the invocation: give up, the outcome is
//     unknown, and move on to the next sequence number;
//   - an OK reply for the current sequence number ends the operation, whichever attempt
//     it answers (and the replying server becomes the believed leader); NotLeader and Busy
//     from an earlier attempt, and any reply for another sequence number, are ignored;
//   - ReplyInvalid means the simulator sent a malformed request: the run fails ("Client
//     protocol"), as does a reply addressed to a client that does not exist.
//
// History. Every invocation and every response (OK, give-up, or still pending at the end)
// takes the next value of one counter, in processing order, so stamps are unique and
// strictly ordered; Result.History holds the operations as linearizability.Op, and every
// timeline Happening records the counter's value, from which Result.Annotations are built
// at the end: windows for crashes, pauses (to their end, Happening.Until), link changes and
// leaders' terms, and an instant for every other happening, so that every kind is drawn.
//
// Partitions and clients: Partition places listed client addresses in their group; an
// unlisted client stays connected to every server (a partition of servers alone does not
// cut clients off). Isolate, CutOneWay and Bridge take server or client addresses; Isolate
// of a server also cuts it from every client.
//
// Clocks (Config.Clocks; clock.go). Each host has a monotonic clock and a wall clock, as a
// real machine does. The monotonic clock is piecewise linear: rate 1+d, d drawn per node
// from its own stream in [-DriftMax, DriftMax] (or, with Clocks.Adversarial, at an edge of
// the bound by role: the leader slow, the others fast), reading 0 at virtual time 0;
// SetClockRate starts a new piece at the current reading, so it never goes back. The wall
// clock is the monotonic reading plus an offset that JumpClock steps, forward or backward
// (an NTP step). A server's timers read the monotonic clock, unless it is one of
// Clocks.WallClockServers: then they read the wall clock, and see it go back; the node
// accepts that (its timers fire late, never early), but its lease then promises nothing.
// A node's WakeAt is a local time on the clock it reads; the host converts it to the
// earliest virtual time at which that clock reaches it (rounding up, never early), and
// moves the wake event when the clock changes. The clocks survive crashes (they are the
// machine's).
//
// Lease Safety (check.Checker.Lease, World.checkLease). After a step that accepted a read
// under a lease (node.Output.LeaseRead), the world checks that no leader of a higher term
// has taken office. While the clocks the servers read keep the bound of Clocks (rates in
// [1-DriftMax, 1+DriftMax], never stepped), a violation fails the run; once a scenario has
// taken one beyond it, violations are counted and the first kept (Result.LeaseViolation),
// for the scenario to assert on. Under a schedule's abstract time the check does not run.
//
// Work Bound (Config.WorkLimits). After every event the world counts events and server
// messages per window of virtual time and packets in flight; over ten times what a healthy
// run of the configuration can need, the run fails with the Work Bound check, so a bug that
// makes messages multiply is a failure with a seed, not a hang. Config.Interrupt is the one
// hook outside the determinism boundary: the seed runners poll the wall clock through it to
// stop a run, which it can only stop, never change.
//
// World-side checks (stability.go, liveness.go). Besides the cluster checks of package
// check, which see each step's output and view, the world runs checks that need more:
// each step's input and the server's clock reading (Read Quorum, Leader Quorum and
// Stability, whose rules live in package check), and the network, the hosts and virtual
// time (Transfer Outcome; Liveness while Healthy, with its precise definition of a
// healthy majority). They run in every seeded run, after every event, and only observe:
// no draw, no event, no hash, so a run's trace is the same with them. The host calls the
// step checks after the cluster checks (World.observeStep); the run loop calls the time
// checks after every event (World.afterEvent). In schedule mode, whose time is abstract,
// only the step checks run. World.OracleCoverage says how much a run exercised them.
//
// BeforeSend. A scenario hook runs after a step's durable write and checks and before its
// messages and replies leave; if it crashes the node, nothing of the step leaves the node.
//
// Imports: node, node/kv, netsim, sim/check, sim/host, sim/schedule, linearizability and the standard library.
package sim
