package sim

import (
	"math/rand/v2"
	"strconv"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/node/kv"
)

// This file holds the simulated key-value clients (see Clients and the package doc).

// clientBackoffDelay is how long a client waits before resending after a refusal without a
// usable leader hint, or after ReplyBusy, so that a client never loops hot.
const clientBackoffDelay = 10 * time.Millisecond

// clientAvoidFactor: a client that timed out on a server distrusts it (does not follow
// hints to it) for clientAvoidFactor * RequestTimeout, long enough for the cluster to
// replace a crashed leader, short enough that one lost message does not cost much.
const clientAvoidFactor = 2

// clientState is where a client is with its current operation.
type clientState uint8

const (
	clientIdle    clientState = iota // no operation outstanding (before Start, or done)
	clientWaiting                    // a request is out; waiting for a reply until deadline
	clientBackoff                    // waiting until deadline to resend
)

// client is one simulated client.
type client struct {
	id    int // 1-based; its kv.ClientID
	addr  int // network endpoint: len(hosts) + id
	rng   *rand.Rand
	state clientState

	target node.ID    // the server it believes leads
	seq    uint64     // the current (or last) operation's sequence number
	cmd    kv.Command // the current operation
	op     int        // index of the current operation in World.history; -1: none
	// cur holds the current operation when the history is not recorded
	// (Clients.NoHistory); op is then 0 while an operation is outstanding.
	cur linearizability.Op

	giveUpAt time.Duration // the current operation's give-up time
	deadline time.Duration // waiting: attempt deadline; backoff: when to resend
	attempt  time.Duration // when the current attempt was sent

	// avoidUntil[id-1]: until when server id is distrusted (a request to it timed out).
	avoidUntil []time.Duration

	// Timer bookkeeping, as for wake-ups: at most one live event per client. timerOn
	// says whether the client wants a timer at all, timerWant when; liveAt is the time of
	// the live event (valid if live); timerGen identifies it.
	timerOn   bool
	timerWant time.Duration
	live      bool
	liveAt    time.Duration
	timerGen  uint64
}

// initClients creates the clients and schedules their first operation at Clients.Start.
func (w *World) initClients() {
	cc := w.cfg.Clients
	if cc.Count == 0 {
		return
	}
	w.keys = make([]string, cc.Keys)
	for i := range w.keys {
		w.keys[i] = "k" + strconv.Itoa(i)
	}
	w.clients = make([]*client, cc.Count)
	for i := range w.clients {
		c := &client{
			id:         i + 1,
			addr:       len(w.hosts) + i + 1,
			rng:        rand.New(rand.NewPCG(deriveSeed(w.cfg.Seed, streamClient, uint64(i+1), 0), 4)),
			op:         -1,
			avoidUntil: make([]time.Duration, len(w.hosts)),
		}
		// The first target is one of the initial voters; later targets come from hints
		// or from all servers (otherServer).
		c.target = node.ID(c.rng.IntN(w.cfg.Nodes) + 1)
		w.clients[i] = c
		w.armClient(c, cc.Start)
	}
}

// ClientAddr is client c's network address (c is 1-based): scenarios pass it to Partition,
// Isolate, CutOneWay and Bridge to cut a client off from servers.
func (w *World) ClientAddr(c int) node.ID {
	if c < 1 || c > w.cfg.Clients.Count {
		panic("sim: ClientAddr(" + strconv.Itoa(c) + "): clients are numbered 1.." + strconv.Itoa(w.cfg.Clients.Count))
	}
	return node.ID(len(w.hosts) + c)
}

// History is the client history so far (read-only; the slice is the world's own).
func (w *World) History() []linearizability.Op { return w.history }

// armClient asks for c's timer at virtual time at.
func (w *World) armClient(c *client, at time.Duration) {
	c.timerOn, c.timerWant = true, at
	if c.live && c.liveAt <= at {
		return // the live event fires first and re-arms
	}
	c.timerGen++
	c.live, c.liveAt = true, at
	w.queue.push(event{at: at, kind: evClient, node: int32(c.id), arg: c.timerGen})
}

// clientTimer handles a client's timer event.
func (w *World) clientTimer(e event) {
	c := w.clients[e.node-1]
	if e.arg != c.timerGen {
		return // superseded: not an event
	}
	c.live = false
	if !c.timerOn {
		return
	}
	if c.timerWant > w.now {
		w.armClient(c, c.timerWant)
		return
	}
	c.timerOn = false
	w.countEvent(evClient, node.ID(c.addr), c.seq, uint64(c.state))
	switch c.state {
	case clientIdle:
		w.invoke(c)
	case clientWaiting, clientBackoff:
		switch {
		case w.now >= c.giveUpAt:
			w.giveUp(c)
		case c.state == clientBackoff:
			w.sendAttempt(c, true)
		default:
			if w.cfg.Trace != nil {
				w.ctracef(c, "timeout c%d#%d %v %q at n%d after %v", c.id, c.seq, c.cmd.Op, c.cmd.Key, c.target, w.now-c.attempt)
			}
			c.avoidUntil[c.target-1] = w.now + clientAvoidFactor*w.cfg.Clients.RequestTimeout
			c.target = w.otherServer(c, c.target)
			w.sendAttempt(c, true)
		}
	}
}

// invoke starts c's next operation, unless clients have stopped.
func (w *World) invoke(c *client) {
	cc := &w.cfg.Clients
	c.state, c.op = clientIdle, -1
	if cc.Stop > 0 && w.now >= cc.Stop {
		return
	}
	c.seq++
	cmd := kv.Command{Client: kv.ClientID(c.id), Seq: c.seq, Key: w.keys[c.rng.IntN(len(w.keys))]}
	kind := linearizability.Get
	switch r := c.rng.IntN(cc.GetWeight + cc.PutWeight + cc.AppendWeight); {
	case r < cc.GetWeight:
		cmd.Op = kv.OpGet
	case r < cc.GetWeight+cc.PutWeight:
		cmd.Op, kind = kv.OpPut, linearizability.Put
	default:
		cmd.Op, kind = kv.OpAppend, linearizability.Append
	}
	if cmd.Op != kv.OpGet {
		// A unique, short token per operation, so that every write is recognisable in
		// every value read: "c3.17 " is client 3's 17th operation.
		var b [24]byte
		v := append(b[:0], 'c')
		v = strconv.AppendInt(v, int64(c.id), 10)
		v = append(v, '.')
		v = strconv.AppendUint(v, c.seq, 10)
		cmd.Value = string(append(v, ' '))
	}
	c.cmd = cmd
	c.giveUpAt = w.now + cc.GiveUpAfter
	op := linearizability.Op{
		Client: c.id - 1, Kind: kind, Key: cmd.Key, Value: cmd.Value,
		Call: w.nextStamp(), CallTime: w.now,
	}
	if cc.NoHistory {
		c.op, c.cur = 0, op
	} else {
		c.op = len(w.history)
		w.history = append(w.history, op)
	}
	w.counts.ClientOps++
	w.hash.str(cmd.Key)
	w.hash.word(uint64(cmd.Op))
	if w.cfg.Trace != nil {
		w.ctracef(c, "invoke %v", cmd)
	}
	w.sendAttempt(c, false)
}

// sendAttempt sends c's current command to c.target and waits for the reply.
func (w *World) sendAttempt(c *client, retry bool) {
	if retry {
		w.counts.ClientRetries++
	}
	c.state, c.attempt = clientWaiting, w.now
	c.deadline = w.now + w.cfg.Clients.RequestTimeout
	w.armClient(c, min(c.deadline, c.giveUpAt))
	delays, copies := w.net.Send(c.addr, int(c.target))
	if w.cfg.Trace != nil {
		w.ctracef(c, "request c%d#%d %v %q -> n%d", c.id, c.seq, c.cmd.Op, c.cmd.Key, c.target)
		if copies == 0 {
			w.ctracef(c, "   request c%d#%d dropped at send (loss or partition)", c.id, c.seq)
		}
	}
	for k := 0; k < copies; k++ {
		slot, p := w.slot(pkRequest, c.addr, int(c.target))
		p.req = c.cmd
		w.queue.push(event{at: w.now + delays[k], kind: evDeliver, node: int32(c.target), arg: uint64(slot)})
	}
}

// backoff makes c resend its current command after clientBackoffDelay.
func (w *World) backoff(c *client) {
	c.state = clientBackoff
	c.deadline = w.now + clientBackoffDelay
	w.armClient(c, min(c.deadline, c.giveUpAt))
}

// deliverRequest hands a client's request to its server, if the server is up and the link
// still connects them.
func (w *World) deliverRequest(slot uint64, p *packet) {
	cmd, from, to := p.req, int(p.from), int(p.to)
	p.req = kv.Command{}
	w.release(slot)
	h := w.hosts[to-1]
	w.countEvent(evDeliver, h.id, uint64(pkRequest)<<56|uint64(cmd.Client)<<32|uint64(uint32(from)), cmd.Seq)
	if !h.up || !w.net.Arrive(from, to) {
		if w.cfg.Trace != nil {
			w.tracef(h.id, "drop request %v (%s)", cmd, w.dropReason(h))
		}
		return
	}
	if w.cfg.Trace != nil {
		w.tracef(h.id, "request %v", cmd)
	}
	w.step(h, node.Input{Kind: node.InputClient, Request: cmd})
}

// sendReply hands a server's reply to the network, addressed to its client (or to the
// admin client, kv.ClientID len(clients)+1, whose address follows the clients').
func (w *World) sendReply(h *host, r *node.Reply) {
	if r.Client < 1 || r.Client > kv.ClientID(len(w.clients)+1) {
		w.Failf("Client protocol", "node %d replied to client %d, which does not exist (clients are 1..%d, the admin client %d): %+v",
			h.id, r.Client, len(w.clients), len(w.clients)+1, *r)
		return
	}
	to := len(w.hosts) + int(r.Client)
	delays, copies := w.net.Send(int(h.id), to)
	if w.cfg.Trace != nil {
		w.tracef(h.id, "   reply c%d#%d %v%s", r.Client, r.Seq, r.Status, replyDetail(r))
		if copies == 0 {
			w.tracef(h.id, "   reply c%d#%d dropped at send (loss or partition)", r.Client, r.Seq)
		}
	}
	for k := 0; k < copies; k++ {
		slot, p := w.slot(pkReply, int(h.id), to)
		p.reply = *r
		w.queue.push(event{at: w.now + delays[k], kind: evDeliver, node: int32(to), arg: uint64(slot)})
	}
}

func replyDetail(r *node.Reply) string {
	switch r.Status {
	case node.ReplyOK:
		return " " + strconv.Quote(r.Value)
	case node.ReplyNotLeader:
		return " (hint: n" + strconv.Itoa(int(r.Leader)) + ")"
	}
	return ""
}

// deliverReply hands a reply to its client.
func (w *World) deliverReply(slot uint64, p *packet) {
	r, from, to := p.reply, int(p.from), int(p.to)
	p.reply = node.Reply{}
	w.release(slot)
	if to == w.admin.addr {
		w.deliverAdminReply(&r, from)
		return
	}
	c := w.clients[to-len(w.hosts)-1]
	w.countEvent(evDeliver, node.ID(to), uint64(pkReply)<<56|uint64(r.Status)<<48|uint64(uint32(from)), r.Seq)
	if !w.net.Arrive(from, to) {
		if w.cfg.Trace != nil {
			w.ctracef(c, "drop reply c%d#%d %v from n%d (partition)", r.Client, r.Seq, r.Status, from)
		}
		return
	}
	if c.state == clientIdle || r.Seq != c.seq {
		if w.cfg.Trace != nil {
			w.ctracef(c, "ignore reply c%d#%d %v from n%d: not waiting for it", r.Client, r.Seq, r.Status, from)
		}
		return
	}
	src := node.ID(from)
	switch r.Status {
	case node.ReplyOK:
		// An answer for the current command ends it, whichever attempt it answers.
		w.complete(c, src, &r)
	case node.ReplyInvalid:
		w.Failf("Client protocol", "node %d answered %v with ReplyInvalid: the simulated client sent a request the server calls malformed", src, c.cmd)
	case node.ReplyNotLeader, node.ReplyBusy:
		if c.state != clientWaiting || src != c.target {
			if w.cfg.Trace != nil {
				w.ctracef(c, "ignore reply c%d#%d %v from n%d: an earlier attempt", r.Client, r.Seq, r.Status, from)
			}
			return
		}
		if w.cfg.Trace != nil {
			w.ctracef(c, "reply c%d#%d %v%s from n%d", r.Client, r.Seq, r.Status, replyDetail(&r), from)
		}
		if r.Status == node.ReplyBusy {
			w.backoff(c)
			return
		}
		hint := r.Leader
		if hint != node.None && hint != src && int(hint) <= len(w.hosts) && hint > 0 && w.now >= c.avoidUntil[hint-1] {
			c.target = hint
			w.sendAttempt(c, true)
			return
		}
		c.target = w.otherServer(c, src)
		w.backoff(c)
	default:
		w.Failf("Client protocol", "node %d answered %v with unknown status %v", src, c.cmd, r.Status)
	}
}

// complete records c's current operation as done with reply r and starts the next.
func (w *World) complete(c *client, from node.ID, r *node.Reply) {
	op := w.current(c)
	op.Return, op.ReturnTime = w.nextStamp(), w.now
	op.Output, op.HasOutput = r.Value, true
	w.counts.ClientOK++
	w.hash.str(r.Value)
	c.target = from
	if w.cfg.Trace != nil {
		w.ctracef(c, "ok c%d#%d %v %q = %q from n%d after %v", c.id, c.seq, c.cmd.Op, c.cmd.Key, r.Value, from, w.now-op.CallTime)
	}
	w.invoke(c)
}

// giveUp ends c's current operation with an unknown outcome and starts the next.
func (w *World) giveUp(c *client) {
	op := w.current(c)
	op.Return, op.ReturnTime, op.Unknown = w.nextStamp(), w.now, true
	w.counts.ClientUnknown++
	if w.cfg.Trace != nil {
		w.ctracef(c, "give up c%d#%d %v %q after %v: outcome unknown", c.id, c.seq, c.cmd.Op, c.cmd.Key, w.now-op.CallTime)
	}
	w.invoke(c)
}

// finishClients marks the operations still pending at the end of the run as unknown. It
// touches neither the trace hash nor the event count.
func (w *World) finishClients() {
	for _, c := range w.clients {
		if c.op < 0 {
			continue
		}
		op := w.current(c)
		op.Return, op.ReturnTime, op.Unknown = w.nextStamp(), w.now, true
		w.counts.ClientUnknown++
		c.op, c.state, c.timerOn = -1, clientIdle, false
	}
}

// current is c's outstanding operation (c.op >= 0).
func (w *World) current(c *client) *linearizability.Op {
	if w.cfg.Clients.NoHistory {
		return &c.cur
	}
	return &w.history[c.op]
}

// nextStamp is the next history timestamp: invocations and responses get strictly
// increasing stamps in the order the simulator processes them.
func (w *World) nextStamp() int64 {
	w.stamp++
	return w.stamp
}

// otherServer picks a random server other than not, among all servers (spares included:
// they may have joined), preferring servers c does not distrust (falling back to any other
// server, and to not itself in a one-server world).
func (w *World) otherServer(c *client, not node.ID) node.ID {
	return pickOther(c.rng, c.avoidUntil, w.now, not)
}

// pickOther picks a random server among 1..len(avoidUntil) other than not, preferring
// those not distrusted at now (avoidUntil[id-1] <= now).
func pickOther(rng *rand.Rand, avoidUntil []time.Duration, now time.Duration, not node.ID) node.ID {
	n := len(avoidUntil)
	if n == 1 {
		return not
	}
	trusted := 0
	for i := 1; i <= n; i++ {
		if node.ID(i) != not && now >= avoidUntil[i-1] {
			trusted++
		}
	}
	if trusted == 0 {
		k := rng.IntN(n - 1)
		id := node.ID(k + 1)
		if id >= not {
			id++
		}
		return id
	}
	k := rng.IntN(trusted)
	for i := 1; ; i++ {
		if node.ID(i) == not || now < avoidUntil[i-1] {
			continue
		}
		if k == 0 {
			return node.ID(i)
		}
		k--
	}
}

// ctracef emits a trace line for client c.
func (w *World) ctracef(c *client, format string, args ...any) {
	w.traceAs("c"+strconv.Itoa(c.id), format, args...)
}
