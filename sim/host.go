package sim

import (
	"fmt"
	"slices"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// host is one simulated machine: a server, its disk and its clock.
type host struct {
	id  node.ID
	srv Server // nil while crashed
	up  bool
	// pausedUntil is when a pause (a long GC, a stalled VM) ends: until then the server
	// processes nothing, and whatever arrives for it waits (0: not paused).
	pausedUntil time.Duration
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
	// transfer is the leadership transfer target of the last view (View.TransferTarget),
	// to notice transfers starting and ending.
	transfer node.ID

	// clock maps virtual time to the host's local time. It survives crashes (it is the
	// machine's clock, not the server's).
	clock clock

	// saves are the snapshot writes in progress (normally at most one); saveGen numbers
	// them across lives, so that the event of a write lost in a crash finds nothing.
	saves   []pendingSave
	saveGen uint64
}

// disk is a host's simulated stable storage: the hard state, the latest durable snapshot,
// and the log after it. Writes made in a step are synchronous (what a step reported as
// durable survives a crash); a snapshot the server took of its own state machine
// (Output.SaveSnapshot) is written in the background (see pendingSave) and only replaces
// the disk's snapshot, and releases the log prefix it covers, when that write ends.
type disk struct {
	hardState node.HardState
	// snapshot is the latest durable snapshot (zero: none); log holds the entries after
	// it, log[k].Index == snapshot.Index+k+1.
	snapshot node.Snapshot
	// log shares entries with the server and with in-flight messages; entries are
	// immutable, and writes never store into an existing slot (see write).
	log []node.Entry
}

// lastIndex is the index of the disk's last entry (the snapshot's if the log is empty).
func (d *disk) lastIndex() node.Index { return d.snapshot.Index + node.Index(len(d.log)) }

// write applies one output's durable part, in the order node.Output documents: hard
// state, then InstallSnapshot, then Entries.
func (d *disk) write(out *node.Output) {
	if out.HardStateChanged {
		d.hardState = out.HardState
	}
	if out.InstallSnapshot != nil {
		d.install(out.InstallSnapshot)
	}
	if len(out.Entries) == 0 {
		return
	}
	first := out.Entries[0].Index
	base := d.snapshot.Index
	if first <= base || first > d.lastIndex()+1 {
		panic(fmt.Sprintf("sim: invariant broken: durable write at index %d does not follow the disk's snapshot at %d and log of %d entries after it",
			first, base, len(d.log)))
	}
	keep := d.log
	if k := int(first - base - 1); k < len(d.log) {
		// A truncation: cut with a full slice expression so that the append below copies
		// rather than overwriting entries that older messages or the server still share.
		keep = d.log[:k:k]
	}
	d.log = append(keep, out.Entries...)
}

// install makes a snapshot received from the leader durable (node.Output.InstallSnapshot,
// Figure 13): the log keeps its entries after the snapshot only if it holds the
// snapshot's last entry (same index and term); otherwise it is emptied. The kept suffix is
// copied, so that the discarded prefix's memory is released.
func (d *disk) install(s *node.Snapshot) {
	if s.Index < d.snapshot.Index {
		panic(fmt.Sprintf("sim: invariant broken: InstallSnapshot at index %d is older than the disk's snapshot at index %d",
			s.Index, d.snapshot.Index))
	}
	base := d.snapshot.Index
	switch {
	case s.Index == base && s.Term == d.snapshot.Term:
		// The same snapshot: the whole log follows it.
	case s.Index > base && s.Index <= d.lastIndex() && d.log[s.Index-base-1].Term == s.Term:
		d.log = slices.Clone(d.log[s.Index-base:])
	default:
		d.log = nil
	}
	d.snapshot = *s
}

// compact makes the server's own snapshot s durable, if it is newer than the disk's, and
// drops the log entries it covers, copying the suffix into a fresh slice so that the
// dropped prefix's memory is released. It returns a description of the problem if s does
// not fit the disk's log (a snapshot beyond the durable log, or of another term than the
// durable entry at its index): a server bug.
func (d *disk) compact(s *node.Snapshot) (problem string) {
	if s.Index <= d.snapshot.Index {
		return "" // the disk already holds a snapshot at least as new (an install overtook it)
	}
	base := d.snapshot.Index
	if s.Index > d.lastIndex() {
		return fmt.Sprintf("snapshot at index %d is beyond the durable log, which ends at %d", s.Index, d.lastIndex())
	}
	if t := d.log[s.Index-base-1].Term; t != s.Term {
		return fmt.Sprintf("snapshot at index %d has term %d, but the durable entry there has term %d", s.Index, s.Term, t)
	}
	d.log = slices.Clone(d.log[s.Index-base:])
	d.snapshot = *s
	return ""
}

// state is the durable state a restarted server is rebuilt from.
func (d *disk) state() node.DurableState {
	return node.DurableState{HardState: d.hardState, Snapshot: d.snapshot, Log: d.log[:len(d.log):len(d.log)]}
}

// pendingSave is a snapshot write in progress on a host's disk (node.Output.SaveSnapshot).
// It ends SnapshotDelay after the step that asked for it, with an evSnapshot event; a
// crash before then loses it.
type pendingSave struct {
	gen   uint64 // identifies the write's event
	since time.Duration
	snap  node.Snapshot
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
	h.transfer = v.TransferTarget
	if !w.checkRecovery(h, &v) {
		return nil
	}
	if h.life > 1 {
		if viol := w.check.Restart(w.now, h.id, &v); viol != nil {
			w.failWith(viol)
			return nil
		}
	}
	w.tracef(h.id, "boot (life %d) from disk: term %d, vote %d, snapshot at %d@t%d, %d entries after it",
		h.life, h.disk.hardState.Term, h.disk.hardState.Vote, h.disk.snapshot.Index, h.disk.snapshot.Term, len(h.disk.log))
	w.step(h, node.Input{Kind: node.InputWake})
	return nil
}

// RecoveryCheck is the name of the host's check that a restarted server starts from its
// disk's snapshot (§7): right after boot its applied index is the snapshot's index (the
// log before it is not replayed; nothing after it is applied before the server learns it
// is committed) and its state machine is the snapshot's.
const RecoveryCheck = "Snapshot Recovery"

// checkRecovery runs RecoveryCheck on h's freshly booted server, whose view is v. It
// reports whether the check held (on failure the run is already failed).
func (w *World) checkRecovery(h *host, v *node.View) bool {
	s := &h.disk.snapshot
	problem := ""
	switch {
	case v.AppliedIndex != s.Index:
		problem = fmt.Sprintf("booted from a disk whose snapshot ends at index %d with applied index %d: a restart must start from the snapshot, neither replaying the log from the beginning nor applying entries not known to be committed",
			s.Index, v.AppliedIndex)
	case v.SnapshotIndex != s.Index || v.SnapshotTerm != s.Term:
		problem = fmt.Sprintf("booted from a disk whose snapshot ends at %d@t%d with a snapshot at %d@t%d",
			s.Index, s.Term, v.SnapshotIndex, v.SnapshotTerm)
	case s.Index > 0 && v.Store != nil:
		// Rare (once per restart), so the snapshot is decoded to compare states.
		restored, err := kv.Restore(s.Data)
		switch {
		case err != nil:
			problem = fmt.Sprintf("the disk's snapshot at index %d does not decode: %v", s.Index, err)
		case restored.Hash() != v.Store.Hash():
			problem = fmt.Sprintf("the state machine after boot (hash %#x) is not the disk's snapshot at index %d (hash %#x)",
				v.Store.Hash(), s.Index, restored.Hash())
		}
	}
	if problem == "" {
		return true
	}
	w.fail(&Failure{Check: RecoveryCheck, Rule: "§7", Time: w.now, Nodes: []node.ID{h.id}, Term: v.Term, Detail: problem})
	return false
}

// step feeds one input to h's server and carries out the output: durable part first
// (a snapshot to save starts its background write), then the checks, then the BeforeSend
// hook, then messages, then replies, then applies. If the hook crashed the node, nothing
// of the output leaves it.
func (w *World) step(h *host, in node.Input) node.Output {
	local := w.local(h)
	out := h.srv.Step(local, in)
	h.disk.write(&out)
	v := h.srv.View()
	h.lastView = v
	w.checkDurable(h, &v)
	if viol := w.check.Step(w.now, h.id, &out, &v); viol != nil {
		w.failWith(viol)
	}
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

// snapshotOutputs carries out the snapshot parts of a step's output (the disk write of an
// InstallSnapshot is already done): it counts and records an installed snapshot, and
// starts the background write of a snapshot the server took.
func (w *World) snapshotOutputs(h *host, in *node.Input, out *node.Output) {
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
		h.saveGen++
		h.saves = append(h.saves, pendingSave{gen: h.saveGen, since: w.now, snap: *s})
		w.queue.push(event{at: w.now + w.cfg.Node.SnapshotDelay, kind: evSnapshot, node: int32(h.id), arg: h.saveGen})
	}
}

// snapshotWritten ends a background snapshot write: the disk takes the snapshot and
// releases the log prefix it covers, then the server is told with InputSnapshotSaved. A
// write overtaken by a newer snapshot installed from the leader meanwhile is discarded
// (the disk keeps the newer one) and the server is not told: it dropped that save when it
// installed (node.Output.InstallSnapshot). The event of a write lost in a crash finds
// nothing and is not an event (like a superseded wake-up).
func (w *World) snapshotWritten(e event) {
	h := w.hosts[e.node-1]
	k := slices.IndexFunc(h.saves, func(p pendingSave) bool { return p.gen == e.arg })
	if !h.up || k < 0 {
		return
	}
	p := h.saves[k]
	h.saves = slices.Delete(h.saves, k, k+1)
	s := &p.snap
	w.countEvent(evSnapshot, h.id, uint64(s.Index), uint64(s.Term))
	if s.Index <= h.disk.snapshot.Index {
		if w.cfg.Trace != nil {
			w.tracef(h.id, "snapshot %d@t%d written after %v, overtaken by the installed snapshot at %d: discarded",
				s.Index, s.Term, w.now-p.since, h.disk.snapshot.Index)
		}
		return
	}
	if problem := h.disk.compact(s); problem != "" {
		w.fail(&Failure{Check: "Durable State", Rule: "§7", Time: w.now, Nodes: []node.ID{h.id}, Term: h.lastView.Term,
			Detail: "node.Output.SaveSnapshot: " + problem})
		return
	}
	w.counts.SnapshotsSaved++
	if w.cfg.Trace != nil {
		w.tracef(h.id, "snapshot %d@t%d written after %v (%d bytes); the disk log keeps %d entries after it",
			s.Index, s.Term, w.now-p.since, len(s.Data), len(h.disk.log))
	}
	w.note(HappenSnapshot, h.id, h.lastView.Term, fmt.Sprintf("node %d saved a snapshot at index %d", h.id, s.Index))
	w.step(h, node.Input{Kind: node.InputSnapshotSaved, Index: s.Index})
}

// checkDurable is the persistence check: after every step the server's term, vote,
// snapshot and log must equal what is on its disk, otherwise a crash now would lose state
// the server has already acted on ("persist before send", Figure 2). The server's view
// compacts its log when told InputSnapshotSaved, as the disk does, so the two stay equal.
func (w *World) checkDurable(h *host, v *node.View) {
	hs := h.disk.hardState
	if hs.Term != v.Term || hs.Vote != v.Vote {
		w.fail(&Failure{Check: "Durable State", Rule: "Figure 2", Time: w.now, Nodes: []node.ID{h.id}, Term: v.Term,
			Detail: fmt.Sprintf("server has term %d vote %d but its disk has term %d vote %d", v.Term, v.Vote, hs.Term, hs.Vote)})
		return
	}
	d := &h.disk
	if d.snapshot.Index != v.SnapshotIndex || d.snapshot.Term != v.SnapshotTerm {
		w.fail(&Failure{Check: "Durable State", Rule: "§7", Time: w.now, Nodes: []node.ID{h.id}, Term: v.Term,
			Detail: fmt.Sprintf("server has a snapshot at %d@t%d but its disk has one at %d@t%d",
				v.SnapshotIndex, v.SnapshotTerm, d.snapshot.Index, d.snapshot.Term)})
		return
	}
	n := len(d.log)
	if n != len(v.Log) || (n > 0 && (!d.log[n-1].SameAs(v.Log[n-1]) || !d.log[0].SameAs(v.Log[0]))) {
		w.fail(&Failure{Check: "Durable State", Rule: "Figure 2", Time: w.now, Nodes: []node.ID{h.id}, Term: v.Term,
			Detail: fmt.Sprintf("server log has last index %d but its disk log has %d (or their first or last entries differ)",
				v.LastIndex(), d.lastIndex())})
	}
}

// observeRole counts elections, pre-votes and leaders and records new leaders, leaders
// stepping down and pre-candidates on the timeline.
func (w *World) observeRole(h *host, v *node.View) {
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
func (w *World) send(h *host, m *node.Message) {
	w.counts.MessagesSent++
	if m.Type == node.MsgSnap {
		w.counts.SnapshotChunksSent++
	}
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

func (w *World) dropReason(h *host) string {
	if !h.up {
		return "node down"
	}
	return "partition"
}
