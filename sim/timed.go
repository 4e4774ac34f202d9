package sim

import (
	"fmt"
	"time"

	"raftsim/netsim"
	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim/schedule"
)

// This file records a seeded run as a version 2 (timed) schedule, and replays one
// (Config.Record, Config.Replay). What is recorded is what the seed decided outside the
// servers, in the schedule's three kinds of line:
//
//   - the faults the scenario injected through the World (Crash, Restart, Pause,
//     Partition, Isolate, Cut, CutOneWay, Bridge, Heal, SetClockRate, JumpClock), with
//     their virtual times, when they took effect (a crash of a crashed server is not one);
//   - each client operation, when it was invoked: the operation, key and value;
//   - each packet's fate (delivered after a delay, lost, duplicated), by its link and its
//     number on that link (every send from one endpoint to another counts, cut ones too).
//     A packet dropped because its link was cut has no line: the cut decides it.
//
// A replay runs the same scenario script, so that its probes and assertion judge the run,
// and lets the schedule decide instead of the seed:
//
//   - A fault the script injects happens only if the schedule lists the same fault at the
//     same virtual time (each line serves one call); otherwise it is suppressed. A listed
//     fault that no call claims by the end of its instant (after every event of that time
//     already queued) happens by itself then. So the exact recording replays exactly, and a
//     shrunk one (faults removed, or the script deciding otherwise) stays well defined.
//   - A client takes its next operation from the schedule, at the time listed or, if that
//     has passed, as soon as it is idle; with none left it stops. It still draws its
//     choice of operation from its stream and discards it, so that its other draws (which
//     server to try) stay where they were.
//   - A packet's fate comes from its line; a packet without one is delivered once after
//     the schedule's delay. A cut link still drops packets.
//
// The servers' own randomness (election timeouts), the clocks' drift, the proposer's
// commands and the scenario's own random stream still come from the seed.

// timedRun is a world's recording or replay of a timed schedule.
type timedRun struct {
	record func(schedule.Action) // recording: receives each decision (or nil)
	replay *schedule.Schedule    // replay: the schedule followed (or nil)
	// plain is the delay of a packet that needs no line: the schedule's in a replay, the
	// network's minimum in a seeded run.
	plain time.Duration

	stride int      // endpoints + 1: link (from, to) is from*stride+to
	sent   []uint64 // per link: packets sent on it so far

	// Replay state: the faults in file order (used: claimed or fired), the first not yet
	// used; the packet fates per link with a cursor each; each client's operations with
	// a cursor each.
	faults  []timedFault
	unused  int
	fates   [][]linkFate
	fateAt  []int
	ops     [][]*schedule.Action
	opAt    []int
	delay   time.Duration
	orphans uint64 // faults that happened by themselves
	// applying: applyFault is carrying out a listed fault through the World's methods.
	applying bool
}

type timedFault struct {
	a    *schedule.Action
	used bool
}

type linkFate struct {
	n    uint64
	fate schedule.Fate
}

// newTimedRun sets up recording or replay for w (its hosts, clients and admin client
// exist); it returns an error if the replayed schedule does not fit the run.
func newTimedRun(w *World, record func(schedule.Action), s *schedule.Schedule) (*timedRun, error) {
	endpoints := w.adminAddr()
	t := &timedRun{record: record, replay: s, stride: endpoints + 1, plain: w.cfg.Net.DelayMin}
	t.sent = make([]uint64, t.stride*t.stride)
	if s == nil {
		return t, nil
	}
	t.plain = s.Timed.Delay
	if s.Version != schedule.VersionTimed {
		return nil, fmt.Errorf("sim: Config.Replay is a version %d schedule; replay takes version %d (a version 1 schedule runs with RunSchedule)", s.Version, schedule.VersionTimed)
	}
	t.delay = s.Timed.Delay
	t.fates = make([][]linkFate, len(t.sent))
	t.fateAt = make([]int, len(t.sent))
	t.ops = make([][]*schedule.Action, w.cfg.Clients.Count)
	t.opAt = make([]int, w.cfg.Clients.Count)
	wall := make([]time.Duration, len(w.hosts)+1) // per server: the sum of its clock-jumps so far
	for i := range s.Actions {
		a := &s.Actions[i]
		if msg := w.fitTimed(a, wall); msg != "" {
			return nil, s.ActionError(i, msg)
		}
		switch a.Kind {
		case schedule.ActionPacket:
			k := t.link(w.address(a.From), w.address(a.To))
			t.fates[k] = append(t.fates[k], linkFate{n: a.Packet, fate: a.Fate})
		case schedule.ActionInvoke:
			t.ops[a.Client-1] = append(t.ops[a.Client-1], a)
		default:
			t.faults = append(t.faults, timedFault{a: a})
		}
	}
	return t, nil
}

// fitTimed says why a timed action does not fit w's cluster, or "". wall holds, per
// server, the sum of the clock-jumps of the actions before a (file order is time order),
// and takes a's: the wall clock, which reads wallEpoch at the start and only gains
// between jumps, must stay above zero.
func (w *World) fitTimed(a *schedule.Action, wall []time.Duration) string {
	for _, e := range w.timedEndpoints(a) {
		if w.address(e) == 0 {
			return fmt.Sprintf("%v is not in this run (servers n1..n%d, clients c1..c%d, admin)", e, len(w.hosts), w.cfg.Clients.Count)
		}
	}
	switch {
	case a.Kind == schedule.ActionClockJump && wall[a.Node]+a.Duration <= -wallEpoch:
		return fmt.Sprintf("a clock-jump back by %v, after jumps of %v in all: the wall clock reads %v at the start, and may not be stepped to zero or below",
			-a.Duration, wall[a.Node], wallEpoch)
	case a.Kind == schedule.ActionClockJump:
		wall[a.Node] += a.Duration
	case a.Kind == schedule.ActionInvoke && (a.Client < 1 || a.Client > w.cfg.Clients.Count):
		return fmt.Sprintf("c%d is not a client of this run (clients c1..c%d)", a.Client, w.cfg.Clients.Count)
	}
	return ""
}

// timedEndpoints lists the endpoints a names.
func (w *World) timedEndpoints(a *schedule.Action) []schedule.Endpoint {
	switch a.Kind {
	case schedule.ActionPacket:
		return []schedule.Endpoint{a.From, a.To}
	case schedule.ActionCrash, schedule.ActionRestart, schedule.ActionPause, schedule.ActionClockRate, schedule.ActionClockJump:
		return []schedule.Endpoint{schedule.ServerEndpoint(a.Node)}
	case schedule.ActionIsolate:
		return a.Endpoints[:1]
	case schedule.ActionCut, schedule.ActionCutOneWay:
		return a.Endpoints[:2]
	case schedule.ActionBridge:
		return a.Endpoints[:3]
	case schedule.ActionPartition:
		var es []schedule.Endpoint
		for i, g := range a.Partition.Groups {
			if g != 0 {
				es = append(es, schedule.IndexEndpoint(i))
			}
		}
		return es
	}
	return nil
}

// address is e's network address in w (servers 1.., clients after them, then the admin
// client), or 0 if w has no such endpoint. It holds from the moment the hosts exist.
func (w *World) address(e schedule.Endpoint) int {
	switch {
	case e.Kind == schedule.EndpointServer && e.N >= 1 && e.N <= len(w.hosts):
		return e.N
	case e.Kind == schedule.EndpointClient && e.N >= 1 && e.N <= w.cfg.Clients.Count:
		return len(w.hosts) + e.N
	case e.Kind == schedule.EndpointAdmin:
		return w.adminAddr()
	}
	return 0
}

// adminAddr is the admin client's address: after the servers and the clients.
func (w *World) adminAddr() int { return len(w.hosts) + w.cfg.Clients.Count + 1 }

func (t *timedRun) link(from, to int) int { return from*t.stride + to }

// netSend decides the fate of one packet of kind (msg is a message's Raft type)
// from -> to: the network's draw (recorded when recording), or in a replay the
// schedule's.
func (w *World) netSend(from, to int, kind packetKind, msg node.MsgType) (delays [2]time.Duration, copies int) {
	t := w.timed
	if t == nil {
		return w.net.Send(from, to)
	}
	k := t.link(from, to)
	t.sent[k]++
	if t.replay == nil {
		f := w.net.Decide(from, to)
		if !f.Cut {
			w.recordFate(from, to, schedule.Fate{Dup: f.Dup, Lost: f.Lost, Delays: f.Delays}, kind, msg)
		}
		return f.Copies()
	}
	sf := t.fateOf(k)
	f := w.net.Impose(from, to, netsim.Fate{Dup: sf.Dup, Lost: sf.Lost, Delays: sf.Delays})
	if !f.Cut {
		w.recordFate(from, to, sf, kind, msg)
	}
	return f.Copies()
}

// recordFate records the fate of the packet just sent from -> to, unless it is plain or
// nothing is recorded. The line's comment names the packet's type, for the reader.
func (w *World) recordFate(from, to int, f schedule.Fate, kind packetKind, msg node.MsgType) {
	t := w.timed
	if t.record == nil || f.Plain(t.plain) {
		return
	}
	var typ schedule.PacketType
	switch {
	case kind == pkMessage:
		typ, _ = schedule.MessagePacket(msg)
	case kind == pkRequest:
		typ = schedule.PacketRequest
	case kind == pkAdmin:
		typ = schedule.PacketAdminRequest
	case kind == pkReply && to == w.adminAddr():
		typ = schedule.PacketAdminReply
	case kind == pkReply:
		typ = schedule.PacketReply
	}
	comment := ""
	if typ.Valid() {
		comment = typ.String()
	}
	t.record(schedule.Action{Kind: schedule.ActionPacket, From: w.schedEndpoint(from), To: w.schedEndpoint(to),
		Packet: t.sent[t.link(from, to)], Fate: f, Comment: comment})
}

// fateOf is, in a replay, the fate of the packet just sent on link k: its line's, or one
// copy after the schedule's delay.
func (t *timedRun) fateOf(k int) schedule.Fate {
	sf := schedule.Fate{Delays: [2]time.Duration{t.delay}}
	fs := t.fates[k]
	i := t.fateAt[k]
	for i < len(fs) && fs[i].n < t.sent[k] {
		i++
	}
	if i < len(fs) && fs[i].n == t.sent[k] {
		sf = fs[i].fate
		i++
	}
	t.fateAt[k] = i
	return sf
}

// admit decides whether a fault the script injects now happens: always in a seeded run
// (and it is recorded when recording); in a replay only if the schedule lists it at this
// time and no earlier call claimed that line. a is the fault as a schedule action.
func (w *World) admit(a schedule.Action) bool {
	t := w.timed
	if t == nil {
		return true
	}
	a.At = w.now
	if t.applying || t.replay == nil {
		if t.record != nil {
			t.record(a)
		}
		return true
	}
	for i := t.unused; i < len(t.faults); i++ {
		f := &t.faults[i]
		if f.a.At > w.now {
			break
		}
		if !f.used && f.a.At == w.now && sameFault(f.a, &a) {
			f.used = true
			t.advance()
			if t.record != nil {
				t.record(a)
			}
			return true
		}
	}
	w.tracef(0, "schedule: suppressed %v (not in the schedule)", a)
	return false
}

// sameFault reports whether two fault actions are the same fault (comments aside).
func sameFault(x, y *schedule.Action) bool {
	a, b := *x, *y
	a.Comment, b.Comment = "", ""
	return a == b
}

// advance moves the cursor past the used faults.
func (t *timedRun) advance() {
	for t.unused < len(t.faults) && t.faults[t.unused].used {
		t.unused++
	}
}

// fireOrphan makes the first listed fault that no call claimed by the end of its instant
// happen by itself, if its time is before next (the time of the next event) and within
// the run. It reports whether it fired one.
func (w *World) fireOrphan(next time.Duration) bool {
	t := w.timed
	if t == nil || t.replay == nil || t.unused == len(t.faults) {
		return false
	}
	f := &t.faults[t.unused]
	if f.a.At >= next || f.a.At > w.cfg.Duration {
		return false
	}
	f.used = true
	t.advance()
	t.orphans++
	w.now = max(w.now, f.a.At)
	w.tracef(0, "schedule: %v (no call of the script claimed it)", *f.a)
	w.applyFault(f.a)
	return true
}

// applyFault carries out a fault action of a schedule (its time has come).
func (w *World) applyFault(a *schedule.Action) {
	t := w.timed
	t.applying = true // admit lets the World call through
	defer func() { t.applying = false }()
	addr := func(i int) node.ID { return node.ID(w.address(a.Endpoints[i])) }
	switch a.Kind {
	case schedule.ActionCrash:
		w.Crash(a.Node)
	case schedule.ActionRestart:
		w.Restart(a.Node)
	case schedule.ActionPause:
		w.Pause(a.Node, a.Duration)
	case schedule.ActionPartition:
		w.Partition(w.partitionGroups(&a.Partition)...)
	case schedule.ActionIsolate:
		w.Isolate(addr(0))
	case schedule.ActionCut:
		w.Cut(addr(0), addr(1))
	case schedule.ActionCutOneWay:
		w.CutOneWay(addr(0), addr(1))
	case schedule.ActionBridge:
		w.Bridge(addr(0), addr(1), addr(2))
	case schedule.ActionHeal:
		w.Heal()
	case schedule.ActionClockRate:
		w.SetClockRate(a.Node, a.Rate)
	case schedule.ActionClockJump:
		w.JumpClock(a.Node, a.Duration)
	default:
		panic(fmt.Sprintf("sim: invariant broken: %v is not a fault", a.Kind))
	}
}

// partitionGroups is p as the addresses World.Partition takes.
func (w *World) partitionGroups(p *schedule.Partition) [][]node.ID {
	var groups [][]node.ID
	for i, g := range p.Groups {
		if g == 0 {
			continue
		}
		for len(groups) < int(g) {
			groups = append(groups, nil)
		}
		groups[g-1] = append(groups[g-1], node.ID(w.address(schedule.IndexEndpoint(i))))
	}
	return groups
}

// partitionAction is the partition of groups (addresses) as a schedule action, in
// canonical form: groups numbered in the order of their first member.
func (w *World) partitionAction(groups [][]node.ID) schedule.Action {
	var raw [schedule.MaxEndpoints]uint8
	for g, members := range groups {
		for _, id := range members {
			raw[schedule.EndpointIndex(w.schedEndpoint(int(id)))] = uint8(g + 1)
		}
	}
	return schedule.Action{Kind: schedule.ActionPartition, Partition: schedule.Partition{Groups: raw}.Canonical()}
}

// endpointAction is a fault action on endpoints (addresses) ids.
func (w *World) endpointAction(kind schedule.ActionKind, ids ...node.ID) schedule.Action {
	a := schedule.Action{Kind: kind}
	for i, id := range ids {
		a.Endpoints[i] = w.schedEndpoint(int(id))
	}
	return a
}

// nextOp is, in a replay, what client c does now that it is idle: the operation to invoke
// now (cmd is filled in from the schedule; at is the time its line gives, which seeds
// the servers it tries), a time to wait until, or nothing more (now false). In a seeded
// run it records cmd and answers now, at the current time.
func (w *World) nextOp(c *client, cmd *kv.Command) (at time.Duration, now bool) {
	t := w.timed
	if t.replay == nil {
		t.recordOp(w.now, c, cmd)
		return w.now, true
	}
	ops := t.ops[c.id-1]
	k := t.opAt[c.id-1]
	if k == len(ops) {
		return 0, false // the schedule has no more operations for c
	}
	a := ops[k]
	if a.At > w.now {
		w.armRequester(&c.requester, a.At)
		return 0, false
	}
	t.opAt[c.id-1]++
	cmd.Op, cmd.Key, cmd.Value = a.Op, a.Key, a.Value
	t.recordOp(a.At, c, cmd) // the line's time, not now: it seeds the operation's choices
	return a.At, true
}

func (t *timedRun) recordOp(at time.Duration, c *client, cmd *kv.Command) {
	if t.record != nil {
		t.record(schedule.Action{Kind: schedule.ActionInvoke, At: at, Client: c.id, Op: cmd.Op, Key: cmd.Key, Value: cmd.Value})
	}
}
