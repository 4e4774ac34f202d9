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

// client is one simulated client: a requester (requester.go) of key-value operations, one
// after another, each given up after Clients.GiveUpAfter.
type client struct {
	requester            // addr: len(hosts) + id; seq: the current (or last) operation's
	id        int        // 1-based; its kv.ClientID
	cmd       kv.Command // the current operation
	op        int        // index of the current operation in World.history; -1: none
	// cur holds the current operation when the history is not recorded
	// (Clients.NoHistory); op is then 0 while an operation is outstanding.
	cur linearizability.Op
	// draws is the client's stream of operations (keys and kinds) and of its first
	// server; pick seeds requester.rng, the servers an operation tries, afresh for each
	// operation (streamClientPick).
	draws *rand.Rand
	pick  rand.PCG
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
		c := &client{id: i + 1, op: -1}
		c.requester = requester{
			owner:      c,
			addr:       len(w.hosts) + i + 1,
			who:        "c" + strconv.Itoa(i+1),
			name:       "c" + strconv.Itoa(i+1),
			timerKind:  evClient,
			timerNode:  int32(i + 1),
			packetKind: pkRequest,
			timeout:    cc.RequestTimeout,
			busyDelay:  clientBackoffDelay,
			avoidUntil: make([]time.Duration, len(w.hosts)),
		}
		c.draws = rand.New(rand.NewPCG(deriveSeed(w.cfg.Seed, streamClient, uint64(i+1), 0), 4))
		c.rng = rand.New(&c.pick)
		// The first target is one of the initial voters; later targets come from hints
		// or from all servers (pickOther).
		c.target = node.ID(c.draws.IntN(w.cfg.Nodes) + 1)
		w.clients[i] = c
		w.armRequester(&c.requester, cc.Start)
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

// clientTimer handles a client's timer event.
func (w *World) clientTimer(e event) {
	c := w.clients[e.node-1]
	w.requesterTimer(&c.requester, e.arg)
}

func (c *client) what() string {
	return "c" + strconv.Itoa(c.id) + "#" + strconv.FormatUint(c.seq, 10) + " " + c.cmd.Op.String() + " " + strconv.Quote(c.cmd.Key)
}

// idle starts the client's next operation (its timer at Clients.Start, or after one ended).
func (c *client) idle(w *World) {
	w.countRequesterTimer(&c.requester)
	w.invoke(c)
}

func (c *client) giveUp(w *World)                                { w.giveUp(c) }
func (c *client) load(p *packet)                                 { p.req = c.cmd }
func (c *client) countRetry(w *World)                            { w.counts.ClientRetries++ }
func (c *client) complete(w *World, from node.ID, r *node.Reply) { w.complete(c, from, r) }

func (c *client) refuse(w *World, from node.ID, status node.ReplyStatus) {
	if status == node.ReplyInvalid {
		w.Failf("Client protocol", "node %d answered %v with ReplyInvalid: the simulated client sent a request the server calls malformed", from, c.cmd)
		return
	}
	w.Failf("Client protocol", "node %d answered %v with unknown status %v", from, c.cmd, status)
}

// invoke starts c's next operation, unless clients have stopped.
func (w *World) invoke(c *client) {
	cc := &w.cfg.Clients
	c.state, c.op = clientIdle, -1
	if cc.Stop > 0 && w.now >= cc.Stop {
		return
	}
	cmd := w.drawCommand(c)
	at := w.now
	if w.timed != nil {
		var ok bool
		if at, ok = w.nextOp(c, &cmd); !ok {
			return
		}
	}
	c.pick.Seed(deriveSeed(w.cfg.Seed, streamClientPick, uint64(c.id), uint64(at)), 6)
	c.seq = cmd.Seq
	kind := historyKind(cmd.Op)
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
	w.sendRequest(&c.requester, false)
}

// historyKind is the history's kind of a key-value operation.
func historyKind(op kv.Op) linearizability.OpKind {
	switch op {
	case kv.OpPut:
		return linearizability.Put
	case kv.OpAppend:
		return linearizability.Append
	}
	return linearizability.Get
}

// drawCommand draws c's next operation from its stream: a key and a kind by the
// configured weights; a write's value is a unique token.
func (w *World) drawCommand(c *client) kv.Command {
	cc := &w.cfg.Clients
	cmd := kv.Command{Client: kv.ClientID(c.id), Seq: c.seq + 1, Key: w.keys[c.draws.IntN(len(w.keys))]}
	switch r := c.draws.IntN(cc.GetWeight + cc.PutWeight + cc.AppendWeight); {
	case r < cc.GetWeight:
		cmd.Op = kv.OpGet
	case r < cc.GetWeight+cc.PutWeight:
		cmd.Op = kv.OpPut
	default:
		cmd.Op = kv.OpAppend
	}
	if cmd.Op != kv.OpGet {
		// A unique, short token per operation, so that every write is recognisable in
		// every value read: "c3.17 " is client 3's 17th operation.
		var b [24]byte
		v := append(b[:0], 'c')
		v = strconv.AppendInt(v, int64(c.id), 10)
		v = append(v, '.')
		v = strconv.AppendUint(v, cmd.Seq, 10)
		cmd.Value = string(append(v, ' '))
	}
	return cmd
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
func (w *World) sendReply(h *machine, r *node.Reply) {
	if r.Client < 1 || r.Client > kv.ClientID(len(w.clients)+1) {
		w.Failf("Client protocol", "node %d replied to client %d, which does not exist (clients are 1..%d, the admin client %d): %+v",
			h.id, r.Client, len(w.clients), len(w.clients)+1, *r)
		return
	}
	to := len(w.hosts) + int(r.Client)
	if w.sched != nil {
		w.tracef(h.id, "   reply c%d#%d %v%s", r.Client, r.Seq, r.Status, replyDetail(r))
		slot, p := w.slot(pkReply, int(h.id), to)
		p.reply = *r
		w.schedPut(slot)
		return
	}
	delays, copies := w.netSend(int(h.id), to, pkReply, 0)
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
	w.deliverToRequester(&w.clients[to-len(w.hosts)-1].requester, &r, from)
}

// complete records c's current operation as done with reply r and starts the next.
func (w *World) complete(c *client, from node.ID, r *node.Reply) {
	op := w.current(c)
	op.Return, op.ReturnTime = w.nextStamp(), w.now
	op.Output, op.HasOutput = r.Value, true
	op.Server = int(from)
	w.counts.ClientOK++
	w.hash.str(r.Value)
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

// ctracef emits a trace line for client c.
func (w *World) ctracef(c *client, format string, args ...any) {
	w.traceAs("c"+strconv.Itoa(c.id), format, args...)
}
