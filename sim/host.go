package sim

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// host is one simulated machine: a server, its disk and its clock.
type host struct {
	id  node.ID
	srv Server // nil while crashed
	up  bool
	// life counts the host's boots; wake events of an earlier life are ignored, and each
	// life's election timer draws from its own stream.
	life uint64
	disk disk

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

	// clock maps virtual time to the host's local time. It survives crashes (it is the
	// machine's clock, not the server's).
	clock clock
}

// disk is a host's simulated stable storage. Writes are synchronous: what a step reported
// as durable survives a crash.
type disk struct {
	hardState node.HardState
	// log shares entries with the server and with in-flight messages; entries are
	// immutable, and writes never store into an existing slot (see write).
	log []node.Entry
}

// write applies one output's durable part.
func (d *disk) write(out *node.Output) {
	if out.HardStateChanged {
		d.hardState = out.HardState
	}
	if len(out.Entries) == 0 {
		return
	}
	first := out.Entries[0].Index
	if first < 1 || first > node.Index(len(d.log))+1 {
		panic(fmt.Sprintf("sim: invariant broken: durable write at index %d leaves a gap after disk log of length %d", first, len(d.log)))
	}
	keep := d.log
	if first-1 < node.Index(len(d.log)) {
		// A truncation: cut with a full slice expression so that the append below copies
		// rather than overwriting entries that older messages or the server still share.
		keep = d.log[: first-1 : first-1]
	}
	d.log = append(keep, out.Entries...)
}

// state is the durable state a restarted server is rebuilt from.
func (d *disk) state() node.DurableState {
	return node.DurableState{HardState: d.hardState, Log: d.log[:len(d.log):len(d.log)]}
}

func (h *host) rejected() uint64 {
	if s, ok := h.srv.(interface{ Stats() node.Stats }); ok {
		return s.Stats().Rejected
	}
	return 0
}

// boot starts a new life of h from its disk.
func (w *World) boot(h *host) error {
	h.life++
	seed := deriveSeed(w.cfg.Seed, streamNodeTimer, uint64(h.id), h.life)
	srv, err := w.cfg.NewServer(w.cfg.nodeConfig(h.id, seed), h.disk.state())
	if err != nil {
		return fmt.Errorf("sim: booting node %d: %w", h.id, err)
	}
	h.srv, h.up = srv, true
	h.wakeWant, h.wakeAt = 0, 0
	h.applied = 0
	v := srv.View()
	h.lastView, h.lastRole, h.lastTerm = v, v.Role, v.Term
	if h.life > 1 {
		if viol := w.check.Restart(w.now, h.id, &v); viol != nil {
			w.failWith(viol)
			return nil
		}
	}
	w.tracef(h.id, "boot (life %d) from disk: term %d, vote %d, %d entries", h.life, h.disk.hardState.Term, h.disk.hardState.Vote, len(h.disk.log))
	w.step(h, node.Input{Kind: node.InputWake})
	return nil
}

// step feeds one input to h's server and carries out the output: durable part first,
// then the checks, then the BeforeSend hook, then messages, then replies, then applies.
// If the hook crashed the node, nothing of the output leaves it.
func (w *World) step(h *host, in node.Input) node.Output {
	out := h.srv.Step(w.local(h), in)
	h.disk.write(&out)
	v := h.srv.View()
	h.lastView = v
	w.checkDurable(h, &v)
	if viol := w.check.Step(w.now, h.id, &out, &v); viol != nil {
		w.failWith(viol)
	}
	w.hash.word(uint64(len(out.Messages))<<32 | uint64(len(out.Apply)))
	w.hash.word(uint64(v.Term)<<8 | uint64(v.Role))
	w.hash.word(uint64(v.CommitIndex)<<8 ^ uint64(len(out.Replies)))
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
func (w *World) callBeforeSend(h *host, out *node.Output) (crashed bool) {
	w.hookOut = *out
	w.beforeSend(w, h.id, &w.hookOut)
	*out = w.hookOut
	w.hookOut = node.Output{}
	return !h.up
}

// checkDurable is the persistence check: after every step the server's term, vote and log
// must equal what is on its disk, otherwise a crash now would lose state the server has
// already acted on ("persist before send", Figure 2).
func (w *World) checkDurable(h *host, v *node.View) {
	hs := h.disk.hardState
	if hs.Term != v.Term || hs.Vote != v.Vote {
		w.fail(&Failure{Check: "Durable State", Rule: "Figure 2", Time: w.now, Nodes: []node.ID{h.id}, Term: v.Term,
			Detail: fmt.Sprintf("server has term %d vote %d but its disk has term %d vote %d", v.Term, v.Vote, hs.Term, hs.Vote)})
		return
	}
	n := len(h.disk.log)
	if n != len(v.Log) || (n > 0 && !h.disk.log[n-1].SameAs(v.Log[n-1])) {
		w.fail(&Failure{Check: "Durable State", Rule: "Figure 2", Time: w.now, Nodes: []node.ID{h.id}, Term: v.Term,
			Detail: fmt.Sprintf("server log has last index %d but its disk log has %d (or their last entries differ)", len(v.Log), n)})
	}
}

// observeRole counts elections and leaders and records new leaders on the timeline.
func (w *World) observeRole(h *host, v *node.View) {
	if v.Role == h.lastRole && v.Term == h.lastTerm {
		return
	}
	if v.Role == node.Candidate && (h.lastRole != node.Candidate || v.Term != h.lastTerm) {
		w.counts.Elections++
	}
	if h.lastRole == node.Leader && v.Role != node.Leader {
		w.note(HappenStepDown, h.id, v.Term, fmt.Sprintf("node %d stepped down as leader of term %d: it saw term %d", h.id, h.lastTerm, v.Term))
	}
	if v.Role == node.Leader {
		w.counts.Leaders++
		w.note(HappenLeader, h.id, v.Term, fmt.Sprintf("node %d became leader of term %d", h.id, v.Term))
	}
	h.lastRole, h.lastTerm = v.Role, v.Term
}

// scheduleWake keeps one live wake event for h at the virtual time at which its local
// clock reaches the time its server asked for (wantLocal, a local time).
func (w *World) scheduleWake(h *host, wantLocal time.Duration) {
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
	w.queue.push(event{at: at, kind: evWake, node: int32(h.id), arg: h.wakeGen<<16 | h.life&0xffff})
}

// rescheduleWake moves h's live wake event after its clock changed: a faster or jumped
// clock reaches the wanted local time earlier.
func (w *World) rescheduleWake(h *host) {
	if !h.up || h.wakeWant == 0 {
		return
	}
	h.wakeAt = 0 // orphan the live event; it is discarded when popped
	h.wakeGen++
	w.scheduleWake(h, h.wakeWant)
}

func (w *World) wake(e event) {
	h := w.hosts[e.node-1]
	if !h.up || e.arg != h.wakeGen<<16|h.life&0xffff {
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
	pkReply                         // a server's reply to a client
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
func (w *World) send(h *host, m *node.Message) {
	w.counts.MessagesSent++
	delays, copies := w.net.Send(int(m.From), int(m.To))
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

func (w *World) dropReason(h *host) string {
	if !h.up {
		return "node down"
	}
	return "partition"
}
