package sim

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim/host"
)

// machine is one simulated machine as the world sees it: the host unit (the server on its
// disk, package sim/host) plus what belongs to the world: the machine's clock, its pause,
// its wake-up bookkeeping and what the timeline remembers of its last step.
type machine struct {
	id   node.ID
	unit *host.Host
	// up mirrors unit.Up(), read on every delivery.
	up bool
	// pausedUntil is when a pause (a long GC, a stalled VM) ends: until then the server
	// processes nothing, and whatever arrives for it waits (0: not paused).
	pausedUntil time.Duration

	// Wake-up bookkeeping: at most one live wake event per host. wakeWant is the virtual
	// time the server last asked for (0: none); wakeAt the time of the live wake event
	// (0: none); wakeGen identifies the live event, so that superseded ones are discarded.
	wakeWant time.Duration
	wakeAt   time.Duration
	wakeGen  uint64

	// lastView is the view after the host's latest step (kept across a crash, for the
	// final cross-check and for scenarios asking about a crashed node's disk state).
	lastView node.View
	lastRole node.Role
	lastTerm node.Term
	applied  uint64
	// transfer is the leadership transfer target of the last view (View.TransferTarget),
	// to notice transfers starting and ending.
	transfer node.ID

	// clock maps virtual time to the host's local time. It survives crashes (it is the
	// machine's clock, not the server's).
	clock clock
}

// life is the number of the machine's boots; wake events of an earlier life are ignored,
// and each life's election timer draws from its own stream.
func (h *machine) life() uint64 { return h.unit.Life() }

// disk is the machine's disk (read-only).
func (h *machine) disk() *host.Disk { return h.unit.Disk() }

// failHost fails the run with a host check's problem on h.
func (w *World) failHost(h *machine, p *host.Problem) {
	w.fail(&Failure{Check: p.Check, Rule: p.Rule, Time: w.now, Nodes: []node.ID{h.id}, Term: p.Term, Detail: p.Detail})
}

// boot starts a new life of h from its disk.
func (w *World) boot(h *machine) error {
	v, problem, err := h.unit.Boot(w.cfg.NewServer, w.cfg.NodeConfig(h.id, h.unit.Life()+1))
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	h.up = true
	h.wakeWant, h.wakeAt = 0, 0
	h.applied = 0
	h.lastView, h.lastRole, h.lastTerm = v, v.Role, v.Term
	h.transfer = v.TransferTarget
	if problem != nil {
		w.failHost(h, problem)
		return nil
	}
	if h.life() > 1 {
		if viol := w.check.Restart(w.now, h.id, &v); viol != nil {
			w.failWith(viol)
			return nil
		}
	}
	d := h.disk()
	w.tracef(h.id, "boot (life %d) from disk: term %d, vote %d, snapshot at %d@t%d, %d entries after it",
		h.life(), d.HardState().Term, d.HardState().Vote, d.Snapshot().Index, d.Snapshot().Term, len(d.Log()))
	w.step(h, node.Input{Kind: node.InputWake})
	return nil
}

// RecoveryCheck is the name of the host's check that a restarted server starts from its
// disk's snapshot (host.RecoveryCheck).
const RecoveryCheck = host.RecoveryCheck

// step feeds one input to h's server through the host unit, which makes the output's
// durable part durable (and starts the background write of a snapshot to save) and runs
// the Durable State check; then come the cluster checks, then the BeforeSend hook, then
// messages, then replies, then applies. If the hook crashed the node, nothing of the
// output leaves it.
func (w *World) step(h *machine, in node.Input) node.Output {
	local := w.local(h)
	out, v, problem := h.unit.Step(local, in)
	h.lastView = v
	if problem != nil {
		w.failHost(h, problem)
	}
	if viol := w.check.Step(w.now, h.id, &out, &v); viol != nil {
		w.failWith(viol)
	}
	w.observeStep(h, &in, &out, &v, local) // the checks that need the input (stability.go)
	if v.TransferTarget != node.None || h.transfer != node.None {
		w.stepTransfer(h, &v, local)
	}
	if len(out.Entries) > 0 && (v.Role == node.Leader || w.cfg.Trace != nil) {
		w.observeConfigs(h, out.Entries, &v)
	}
	if v.CommitIndex > w.commitSeen {
		w.observeCommits()
	}
	w.hash.word(uint64(len(out.Messages))<<32 | uint64(len(out.Apply)))
	w.hash.word(uint64(v.Term)<<8 | uint64(v.Role))
	w.hash.word(uint64(v.CommitIndex)<<8 ^ uint64(len(out.Replies)))
	if n := uint64(len(v.Log)); n > w.counts.MaxRetainedLog {
		w.counts.MaxRetainedLog = n
	}
	if out.InstallSnapshot != nil || out.SaveSnapshot != nil {
		w.snapshotOutputs(h, &in, &out)
	}
	if w.beforeSend != nil && w.callBeforeSend(h, &out) {
		return out // crashed between its durable write and its sends
	}
	for i := range out.Messages {
		w.send(h, &out.Messages[i])
	}
	for i := range out.Replies {
		w.sendReply(h, &out.Replies[i])
	}
	h.applied += uint64(len(out.Apply))
	w.counts.Applied += uint64(len(out.Apply))
	if out.LeaseRead != 0 {
		w.checkLease(h, out.LeaseRead)
	}
	if w.cfg.Clocks.Adversarial && (v.Role == node.Leader) != (h.lastRole == node.Leader) {
		w.adversary(h, v.Role == node.Leader)
	}
	w.observeRole(h, &v)
	if w.cfg.Trace != nil {
		w.traceStep(h, &out, &v)
	}
	w.scheduleWake(h, out.WakeAt)
	return out
}

// callBeforeSend runs the BeforeSend hook on a copy of out held by the world (so that out
// itself does not escape to the heap on every step) and reports whether the hook crashed h.
// Changes the hook makes to the output are copied back.
//
//go:noinline
func (w *World) callBeforeSend(h *machine, out *node.Output) (crashed bool) {
	w.hookOut = *out
	w.beforeSend(w, h.id, &w.hookOut)
	*out = w.hookOut
	w.hookOut = node.Output{}
	return !h.up
}

// snapshotOutputs carries out the snapshot parts of a step's output (the disk write of an
// InstallSnapshot is already done, and the host unit has started the write of a snapshot
// to save): it counts and records an installed snapshot, and schedules the end of the
// background write.
func (w *World) snapshotOutputs(h *machine, in *node.Input, out *node.Output) {
	if s := out.InstallSnapshot; s != nil {
		w.counts.SnapshotsInstalled++
		w.hash.word(uint64(s.Index)<<8 | 1)
		from := "the leader"
		if in.Kind == node.InputMessage {
			from = fmt.Sprintf("the leader, node %d", in.Message.From)
		}
		w.note(HappenSnapshot, h.id, h.lastView.Term,
			fmt.Sprintf("node %d installed a snapshot at index %d from %s", h.id, s.Index, from))
	}
	if s := out.SaveSnapshot; s != nil {
		w.counts.SnapshotsTaken++
		w.hash.word(uint64(s.Index)<<8 | 2)
		w.queue.push(event{at: w.now + w.cfg.Node.SnapshotDelay, kind: evSnapshot, node: int32(h.id), arg: h.unit.SaveGen()})
	}
}

// snapshotWritten ends a background snapshot write (host.Host.SaveDone): the disk takes
// the snapshot and releases the log prefix it covers, then the server is told with
// InputSnapshotSaved. A write overtaken by a newer snapshot installed from the leader
// meanwhile is discarded (the disk keeps the newer one) and the server is not told. The
// event of a write lost in a crash finds nothing and is not an event (like a superseded
// wake-up).
func (w *World) snapshotWritten(e event) {
	h := w.hosts[e.node-1]
	p, outcome, problem := h.unit.SaveDone(e.arg)
	if outcome == host.SaveGone {
		return
	}
	took := w.local(h) - p.Since // on the machine's clock
	s := &p.Snap
	w.countEvent(evSnapshot, h.id, uint64(s.Index), uint64(s.Term))
	switch outcome {
	case host.SaveOvertaken:
		if w.cfg.Trace != nil {
			w.tracef(h.id, "snapshot %d@t%d written after %v, overtaken by the installed snapshot at %d: discarded",
				s.Index, s.Term, took, h.disk().Snapshot().Index)
		}
		return
	case host.SaveFailed:
		w.failHost(h, problem)
		return
	}
	w.counts.SnapshotsSaved++
	if w.cfg.Trace != nil {
		w.tracef(h.id, "snapshot %d@t%d written after %v (%d bytes); the disk log keeps %d entries after it",
			s.Index, s.Term, took, len(s.Data), len(h.disk().Log()))
	}
	w.note(HappenSnapshot, h.id, h.lastView.Term, fmt.Sprintf("node %d saved a snapshot at index %d", h.id, s.Index))
	w.step(h, node.Input{Kind: node.InputSnapshotSaved, Index: s.Index})
}

// observeRole counts elections, pre-votes and leaders and records new leaders, leaders
// stepping down and pre-candidates on the timeline.
func (w *World) observeRole(h *machine, v *node.View) {
	if v.Role == h.lastRole && v.Term == h.lastTerm {
		return
	}
	if v.Role == node.Candidate && (h.lastRole != node.Candidate || v.Term != h.lastTerm) {
		w.counts.Elections++
	}
	if v.Role == node.PreCandidate && (h.lastRole != node.PreCandidate || v.Term != h.lastTerm) {
		w.counts.PreVotes++
		w.tracef(h.id, "pre-vote: asks whether it could win term %d", v.Term+1)
		w.note(HappenPreVote, h.id, v.Term, fmt.Sprintf("node %d pre-vote (for term %d)", h.id, v.Term+1))
	}
	if h.lastRole == node.Leader && v.Role != node.Leader {
		var text string
		switch {
		case len(v.Config.Voters) > 0 && !v.Config.IsVoter(h.id):
			text = fmt.Sprintf("node %d stepped down as leader of term %d: it is no longer a voter (%v)", h.id, h.lastTerm, v.Config)
		case v.Term == h.lastTerm:
			text = fmt.Sprintf("node %d stepped down as leader of term %d: it lost contact with a majority", h.id, h.lastTerm)
		default:
			text = fmt.Sprintf("node %d stepped down as leader of term %d: it saw term %d", h.id, h.lastTerm, v.Term)
		}
		w.note(HappenStepDown, h.id, v.Term, text)
	}
	if v.Role == node.Leader {
		w.counts.Leaders++
		w.note(HappenLeader, h.id, v.Term, fmt.Sprintf("node %d became leader of term %d", h.id, v.Term))
		if w.transferTo != node.None {
			w.endTransferWatch(h.id, v.Term)
		}
	}
	h.lastRole, h.lastTerm = v.Role, v.Term
}

// scheduleWake keeps one live wake event for h at the virtual time at which its local
// clock reaches the time its server asked for (wantLocal, a local time).
func (w *World) scheduleWake(h *machine, wantLocal time.Duration) {
	h.wakeWant = wantLocal
	if wantLocal == 0 {
		return
	}
	at := h.clock.virtualAt(wantLocal, w.now)
	if h.wakeAt != 0 && h.wakeAt <= at {
		return // the live event fires first; wake() re-arms for the later time
	}
	h.wakeGen++
	h.wakeAt = at
	w.queue.push(event{at: at, kind: evWake, node: int32(h.id), arg: h.wakeGen<<16 | h.life()&0xffff})
}

// rescheduleWake moves h's live wake event after its clock changed: a faster or jumped
// clock reaches the wanted local time earlier.
func (w *World) rescheduleWake(h *machine) {
	if !h.up || h.wakeWant == 0 {
		return
	}
	h.wakeAt = 0 // orphan the live event; it is discarded when popped
	h.wakeGen++
	w.scheduleWake(h, h.wakeWant)
}

func (w *World) wake(e event) {
	h := w.hosts[e.node-1]
	if !h.up || e.arg != h.wakeGen<<16|h.life()&0xffff {
		return // superseded or from an earlier life: not an event
	}
	h.wakeAt = 0
	if h.wakeWant == 0 {
		return
	}
	if h.wakeWant > w.local(h) {
		w.scheduleWake(h, h.wakeWant) // the server moved its wake-up later
		return
	}
	w.countEvent(evWake, h.id, 0, 0)
	w.tracef(h.id, "wake")
	w.step(h, node.Input{Kind: node.InputWake})
}

// packetKind says what a packet in flight carries.
type packetKind uint8

const (
	pkMessage packetKind = iota + 1 // a Raft message between servers
	pkRequest                       // a client's request to a server
	pkReply                         // a server's reply to a client (or to the admin client)
	pkAdmin                         // the admin client's request to a server (see packet)
)

// packet is one copy of something in flight on the network. Packets live in the world's
// slab; events refer to their slots. Only the field of the packet's kind is set, and it is
// cleared on delivery so that the slab holds no memory (entries, strings) once delivered.
type packet struct {
	kind     packetKind
	from, to int32 // network endpoints
	msg      node.Message
	req      kv.Command
	reply    node.Reply
	// pkAdmin packets carry no request of their own, only its sequence number in req.Seq:
	// the admin client keeps every request it made (adminClient.sent), so that the common
	// packets stay small.
}

// slot returns a free slab slot for a packet of kind from -> to.
func (w *World) slot(kind packetKind, from, to int) (uint32, *packet) {
	var slot uint32
	if n := len(w.free); n > 0 {
		slot = w.free[n-1]
		w.free = w.free[:n-1]
	} else {
		w.slab = append(w.slab, packet{})
		slot = uint32(len(w.slab) - 1)
	}
	p := &w.slab[slot]
	p.kind, p.from, p.to = kind, int32(from), int32(to)
	return slot, p
}

// send hands one message to the network and schedules its copies.
func (w *World) send(h *machine, m *node.Message) {
	w.counts.MessagesSent++
	if m.Type == node.MsgSnap {
		w.counts.SnapshotChunksSent++
	}
	if w.sched != nil {
		slot, p := w.slot(pkMessage, int(m.From), int(m.To))
		p.msg = *m
		w.schedPut(slot)
		return
	}
	delays, copies := w.netSend(int(m.From), int(m.To), pkMessage, m.Type)
	if copies == 0 {
		w.counts.MessagesDropped++
		return
	}
	for c := 0; c < copies; c++ {
		slot, p := w.slot(pkMessage, int(m.From), int(m.To))
		p.msg = *m
		w.queue.push(event{at: w.now + delays[c], kind: evDeliver, node: int32(m.To), arg: uint64(slot)})
	}
}

// release frees a delivered packet's slot.
func (w *World) release(slot uint64) {
	w.slab[slot].kind = 0
	w.free = append(w.free, uint32(slot))
}

func (w *World) deliver(e event) {
	p := &w.slab[e.arg]
	switch p.kind {
	case pkMessage:
	case pkRequest:
		w.deliverRequest(e.arg, p)
		return
	case pkReply:
		w.deliverReply(e.arg, p)
		return
	case pkAdmin:
		w.deliverAdmin(e.arg, p)
		return
	default:
		panic(fmt.Sprintf("sim: invariant broken: delivering packet slot %d of kind %d", e.arg, p.kind))
	}
	m := p.msg
	p.msg = node.Message{} // drop the entries reference so the slab holds no memory
	w.release(e.arg)
	h := w.hosts[e.node-1]
	w.countEvent(evDeliver, h.id, uint64(m.Type)<<48|uint64(m.From)<<32|uint64(m.Term),
		uint64(m.PrevLogIndex)<<32^uint64(m.MatchIndex)<<16^uint64(len(m.Entries)))
	if !h.up || !w.net.Arrive(int(m.From), int(m.To)) {
		w.counts.MessagesDropped++
		if w.cfg.Trace != nil {
			w.tracef(h.id, "drop %v (%s)", m, w.dropReason(h))
		}
		return
	}
	w.counts.MessagesDelivered++
	if w.cfg.Trace != nil {
		w.tracef(h.id, "recv %v", m)
	}
	w.step(h, node.Input{Kind: node.InputMessage, Message: m})
}

func (w *World) dropReason(h *machine) string {
	if !h.up {
		return "node down"
	}
	return "partition"
}
