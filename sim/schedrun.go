package sim

import (
	"fmt"
	"slices"
	"time"

	"raftsim/linearizability"
	"raftsim/netsim"
	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim/schedule"
)

// This file runs a schedule (package sim/schedule) through the world: the schedule, not
// the event queue and the network's random streams, decides what happens next, one action
// per virtual millisecond. It is how a model checker's counterexample, and later any
// exported or shrunk run, is replayed with every check, the trace, the timeline and the
// history of a normal run.
//
// Abstract time (schedule version 1): a server's local clock moves only when its timer
// fires, to the time it asked to be woken at; every other input reaches it at its current
// local time. Packets are numbered m1, m2... in the order they are put in flight (a step's
// messages in output order, then its replies; a client's request when invoked or
// retried; a duplicate's copy). Clients do only what the schedule says: an OK reply to
// the outstanding operation completes it, any other reply is ignored. A packet delivered
// to a crashed server is dropped. These are exactly the explorer's (sim/explore)
// transitions, so a counterexample fails here as it failed there.

// scheduled is a world's schedule mode.
type scheduled struct {
	s        *schedule.Schedule
	inflight []schedPacket // ascending number
	next     uint64        // the number of the next packet put in flight
	local    []time.Duration
}

// schedPacket is a packet in flight in schedule mode: its number and its slab slot.
type schedPacket struct {
	num  uint64
	slot uint32
}

// ScheduleConfig is the configuration a schedule runs with: its cluster, seed and Raft
// options; perfect clocks; no network faults (the schedule says what each packet does);
// clients that do only what the schedule says; and one virtual millisecond per action.
func ScheduleConfig(s *schedule.Schedule) Config {
	c := DefaultConfig()
	c.Scenario = s.Scenario
	if c.Scenario == "" {
		c.Scenario = "schedule"
	}
	c.Seed, c.Nodes, c.Spares = s.Seed, s.Nodes, s.Spares
	o := &s.Node
	c.Node = NodeOptions{
		HeartbeatInterval: o.HeartbeatInterval, ElectionTimeoutMin: o.ElectionTimeoutMin, ElectionTimeoutMax: o.ElectionTimeoutMax,
		MaxEntriesPerMessage: o.MaxEntriesPerMessage, ReadMode: o.ReadMode, CheckQuorum: o.CheckQuorum, PreVote: o.PreVote,
		MaxClockDrift: o.MaxClockDrift, LearnerCatchUpMax: o.LearnerCatchUpMax, SnapshotThreshold: o.SnapshotThreshold,
		SnapshotChunkSize: o.SnapshotChunkSize,
	}
	c.Net = netsim.Config{DelayMin: time.Millisecond, DelayMax: time.Millisecond}
	c.Clients.Count, c.Clients.Keys = s.Clients, 1
	c.Clients.Start = never // the world's own clients never invoke: the schedule's do
	c.Duration = time.Duration(len(s.Actions)+1) * time.Millisecond
	return c
}

// RunSchedule runs s through a world built from cfg (ScheduleConfig(s), with the caller's
// Trace and NewServer): action k at virtual time k ms, then the end-of-run cross-check.
// A schedule whose expectation is a Liveness failure also gets the explorer's bounded
// liveness condition checked at its end (a leader, no client operation outstanding).
// It returns a *schedule.Error if an action does not fit the run: an action on a packet
// that is not in flight, or whose path or type is not what the schedule says, a fire
// without an armed timer, a crash of a crashed server or a restart of a running one, an
// invoke by a client with an operation outstanding, and the like.
func RunSchedule(cfg Config, s *schedule.Schedule) (res Result, err error) {
	if err := s.Validate(); err != nil {
		return Result{}, err
	}
	if s.Version != schedule.Version {
		return Result{}, fmt.Errorf("sim: RunSchedule runs version %d schedules (abstract time); a version %d (timed) schedule is replayed through its scenario, with Config.Replay", schedule.Version, s.Version)
	}
	w, err := newWorld(cfg, &scheduled{s: s, next: 1, local: make([]time.Duration, s.Servers())})
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if r := recover(); r != nil {
			w.recordPanic(r)
			res = w.result()
		}
	}()
	for k := range s.Actions {
		if w.stopped {
			break
		}
		w.now = time.Duration(k+1) * time.Millisecond
		if err := w.runScheduled(&s.Actions[k]); err != "" {
			return Result{}, s.ActionError(k, err)
		}
	}
	if w.failure == nil {
		w.now = cfg.Duration
		if s.Expect.Kind == schedule.ExpectFail && s.Expect.Check == LivenessCheck {
			w.checkScheduledLiveness()
		}
		if w.failure == nil {
			w.finalCheck()
		}
	}
	return w.result(), nil
}

// LivenessCheck is the name of the bounded liveness check of the model checker, which a
// schedule replay repeats at its end (RunSchedule).
const LivenessCheck = "Liveness"

func (w *World) checkScheduledLiveness() {
	pending := 0
	for _, c := range w.clients {
		if c.op >= 0 {
			pending++
		}
	}
	if w.Leader() != node.None && pending == 0 {
		return
	}
	w.fail(&Failure{Check: LivenessCheck, Time: w.now,
		Detail: fmt.Sprintf("at the end of the schedule, with faults off: leader %d, %d client operations outstanding", w.Leader(), pending)})
}

// runScheduled carries out one action; it returns why the action does not fit, or "".
func (w *World) runScheduled(a *schedule.Action) string {
	switch a.Kind {
	case schedule.ActionDeliver, schedule.ActionDrop, schedule.ActionDup:
		return w.scheduledPacket(a)
	case schedule.ActionFire:
		return w.scheduledFire(a.Node)
	case schedule.ActionCrash:
		if !w.host(a.Node).up {
			return fmt.Sprintf("n%d is already down", a.Node)
		}
		w.Crash(a.Node)
	case schedule.ActionRestart:
		if w.host(a.Node).up {
			return fmt.Sprintf("n%d is running; only a crashed server restarts", a.Node)
		}
		w.Restart(a.Node)
	case schedule.ActionSave:
		h := w.host(a.Node)
		if !h.up || len(h.unit.Saves()) == 0 {
			return fmt.Sprintf("n%d has no snapshot write in progress", a.Node)
		}
		w.snapshotWritten(event{kind: evSnapshot, node: int32(a.Node), arg: h.unit.Saves()[0].Gen})
	case schedule.ActionInvoke, schedule.ActionRetry:
		return w.scheduledRequest(a)
	case schedule.ActionTransfer:
		h := w.host(a.Node)
		if !h.up {
			return fmt.Sprintf("n%d is down", a.Node)
		}
		w.counts.Transfers++
		w.countEvent(evAction, h.id, uint64(node.InputTransfer), uint64(a.Target))
		w.note(HappenTransfer, h.id, h.lastView.Term, fmt.Sprintf("operator asked node %d to transfer leadership to node %d", h.id, a.Target))
		w.step(h, node.Input{Kind: node.InputTransfer, Target: a.Target})
	case schedule.ActionAdmin, schedule.ActionAdminRetry:
		return w.scheduledAdmin(a)
	default:
		return fmt.Sprintf("action kind %v is not known to this simulator", a.Kind)
	}
	return ""
}

// scheduledFire fires server id's armed timer: its local clock moves to the time it asked
// to be woken at (if later), and it steps with a wake-up.
func (w *World) scheduledFire(id node.ID) string {
	h := w.host(id)
	if !h.up || h.wakeWant == 0 {
		return fmt.Sprintf("n%d has no armed timer", id)
	}
	l := &w.sched.local[id-1]
	*l = max(*l, h.wakeWant)
	w.countEvent(evWake, h.id, 0, 0)
	w.tracef(h.id, "wake (local clock %v)", *l)
	w.step(h, node.Input{Kind: node.InputWake})
	return ""
}

// schedPut puts the packet in slab slot in flight with the next number.
func (w *World) schedPut(slot uint32) {
	sc := w.sched
	sc.inflight = append(sc.inflight, schedPacket{num: sc.next, slot: slot})
	if w.cfg.Trace != nil {
		p := &w.slab[slot]
		w.traceAs("", "   m%d in flight: %s->%s", sc.next, w.endpointName(int(p.from)), w.endpointName(int(p.to)))
	}
	sc.next++
}

// scheduledPacket delivers, drops or duplicates a packet in flight.
func (w *World) scheduledPacket(a *schedule.Action) string {
	sc := w.sched
	k := slices.IndexFunc(sc.inflight, func(p schedPacket) bool { return p.num == a.Packet })
	if k < 0 {
		return fmt.Sprintf("m%d is not in flight", a.Packet)
	}
	slot := sc.inflight[k].slot
	if problem := w.schedMatches(&w.slab[slot], a); problem != "" {
		return problem
	}
	if a.Kind == schedule.ActionDup {
		copySlot, p := w.slot(w.slab[slot].kind, int(w.slab[slot].from), int(w.slab[slot].to))
		*p = w.slab[slot]
		w.hash.word(a.Packet)
		w.schedPut(copySlot)
		return ""
	}
	sc.inflight = slices.Delete(sc.inflight, k, k+1)
	p := &w.slab[slot]
	if a.Kind == schedule.ActionDrop {
		w.counts.MessagesDropped++
		w.hash.word(a.Packet<<1 | 1)
		w.tracef(0, "drop m%d", a.Packet)
		*p = packet{}
		w.free = append(w.free, slot)
		return ""
	}
	e := event{at: w.now, kind: evDeliver, node: p.to, arg: uint64(slot)}
	if p.kind == pkReply && int(p.to) != w.admin.addr {
		w.scheduledReply(slot, p)
		return ""
	}
	w.deliver(e)
	return ""
}

// schedMatches checks that the packet is what action a says it is.
func (w *World) schedMatches(p *packet, a *schedule.Action) string {
	from, to := w.schedEndpoint(int(p.from)), w.schedEndpoint(int(p.to))
	var typ schedule.PacketType
	switch p.kind {
	case pkMessage:
		typ, _ = schedule.MessagePacket(p.msg.Type)
	case pkRequest:
		typ = schedule.PacketRequest
	case pkAdmin:
		typ = schedule.PacketAdminRequest
	case pkReply:
		typ = schedule.PacketReply
		if int(p.to) == w.admin.addr {
			typ = schedule.PacketAdminReply
		}
	}
	if from != a.From || to != a.To || typ != a.PacketType {
		return fmt.Sprintf("m%d is %v %v->%v, not %v %v->%v", a.Packet, typ, from, to, a.PacketType, a.From, a.To)
	}
	return ""
}

func (w *World) schedEndpoint(e int) schedule.Endpoint {
	switch {
	case e <= len(w.hosts):
		return schedule.ServerEndpoint(node.ID(e))
	case e == w.admin.addr:
		return schedule.AdminEndpoint()
	}
	return schedule.ClientEndpoint(e - len(w.hosts))
}

// scheduledRequest invokes a client's next operation, as the schedule gives it, or
// resends its outstanding one.
func (w *World) scheduledRequest(a *schedule.Action) string {
	c := w.clients[a.Client-1]
	if a.Kind == schedule.ActionRetry {
		if c.op < 0 {
			return fmt.Sprintf("c%d has no operation outstanding to retry", a.Client)
		}
		w.counts.ClientRetries++
	} else {
		if c.op >= 0 {
			return fmt.Sprintf("c%d already has an operation outstanding (c%d#%d)", a.Client, a.Client, c.seq)
		}
		w.scheduledInvoke(c, a)
	}
	c.target, c.state = a.Node, clientWaiting
	w.traceAs(c.who, "request %s -> n%d", c.what(), a.Node)
	slot, p := w.slot(pkRequest, c.addr, int(a.Node))
	p.req = c.cmd
	w.schedPut(slot)
	return ""
}

func (w *World) scheduledInvoke(c *client, a *schedule.Action) {
	c.seq++
	c.cmd = kv.Command{Client: kv.ClientID(c.id), Seq: c.seq, Op: a.Op, Key: a.Key, Value: a.Value}
	c.op = len(w.history)
	w.history = append(w.history, linearizability.Op{Client: c.id - 1, Kind: historyKind(a.Op), Key: a.Key, Value: a.Value,
		Call: w.nextStamp(), CallTime: w.now})
	w.counts.ClientOps++
	w.hash.str(a.Key)
	w.hash.word(uint64(a.Op))
	w.traceAs(c.who, "invoke %v", c.cmd)
}

// scheduledReply gives a client a reply: an OK to its outstanding operation completes
// it; any other reply is ignored (the schedule retries explicitly).
func (w *World) scheduledReply(slot uint32, p *packet) {
	r, from := p.reply, node.ID(p.from)
	c := w.clients[int(p.to)-len(w.hosts)-1]
	*p = packet{}
	w.free = append(w.free, slot)
	w.countEvent(evDeliver, node.ID(c.addr), uint64(pkReply)<<56|uint64(r.Status)<<48|uint64(from), r.Seq)
	switch {
	case r.Status == node.ReplyInvalid:
		c.refuse(w, from, r.Status)
	case c.op >= 0 && r.Seq == c.seq && r.Status == node.ReplyOK:
		op := w.current(c)
		op.Return, op.ReturnTime = w.nextStamp(), w.now
		op.Output, op.HasOutput = r.Value, true
		op.Server = int(from)
		w.counts.ClientOK++
		w.hash.str(r.Value)
		w.traceAs(c.who, "ok c%d#%d %v %q = %q from n%d", c.id, c.seq, c.cmd.Op, c.cmd.Key, r.Value, from)
		c.op, c.state = -1, clientIdle
	default:
		w.traceAs(c.who, "ignore reply c%d#%d %v from n%d", c.id, r.Seq, r.Status, from)
	}
}

// scheduledAdmin sends a membership change from the admin client (or resends the last).
func (w *World) scheduledAdmin(a *schedule.Action) string {
	ad := &w.admin
	if a.Kind == schedule.ActionAdmin {
		ad.seq++
		ad.req = node.AdminRequest{Client: ad.id, Seq: ad.seq, Op: a.AdminOp, Server: a.Target}
		ad.sent = append(ad.sent, ad.req)
	} else if ad.seq == 0 {
		return "the admin client has sent no request to retry"
	}
	ad.used = true
	slot, p := w.slot(pkAdmin, ad.addr, int(a.Node))
	p.req.Client, p.req.Seq = ad.id, ad.seq
	w.traceAs(ad.who, "admin request #%d %v %d -> n%d", ad.seq, ad.req.Op, ad.req.Server, a.Node)
	w.schedPut(slot)
	return ""
}
