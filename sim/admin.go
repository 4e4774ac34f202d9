package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// This file is the operator: membership changes sent like client requests (World.Admin),
// leadership transfers (World.Transfer), and the configuration in force (World.Voters).

// adminBusyDelay is how long the admin client waits before resending after ReplyBusy: a
// membership change (catching a learner up, two configuration entries to commit) takes a
// while, and another may be under way.
const adminBusyDelay = 50 * time.Millisecond

// adminDefaultTimeout is the admin client's attempt timeout when Clients.RequestTimeout is
// not set (a run without clients).
const adminDefaultTimeout = 100 * time.Millisecond

// adminClient is the operator's client for membership changes. It is a requester
// (requester.go) like a key-value client, with one request at a time, but it never gives
// up: a scenario bounds it with its own probes (AdminPending). Its state is clientIdle
// exactly when no request is pending.
type adminClient struct {
	requester                   // addr: after the servers and the clients; seq: req.Seq
	id        kv.ClientID       // Clients.Count+1: distinct from every client
	req       node.AdminRequest // the current (or last) request
	// sent holds every request made, sent[seq-1] for sequence number seq: packets in flight
	// carry only the sequence number.
	sent  []node.AdminRequest
	done  func(w *World)
	since time.Duration // when the request was made
	// used is set once the operator is used (or its address is given to a fault), so that
	// network descriptions name its links only from then on: runs without an operator
	// describe (and hash) exactly what they did before it existed.
	used bool
}

func (w *World) initAdmin() {
	a := &w.admin
	a.id = kv.ClientID(len(w.clients) + 1)
	a.requester = requester{
		owner:         a,
		addr:          len(w.hosts) + len(w.clients) + 1,
		who:           "op",
		name:          "admin",
		timerKind:     evAdmin,
		packetKind:    pkAdmin,
		timeout:       w.adminTimeout(),
		busyDelay:     adminBusyDelay,
		terseTimeouts: true,
		rng:           rand.New(rand.NewPCG(deriveSeed(w.cfg.Seed, streamAdmin, 0, 0), 5)),
		giveUpAt:      never,
		avoidUntil:    make([]time.Duration, len(w.hosts)),
		target:        node.None, // drawn at the first request, among the initial voters
	}
}

func (a *adminClient) what() string {
	return a.tag(a.seq) + " " + a.req.Op.String() + " " + strconv.Itoa(int(a.req.Server))
}

// idle: the admin client's timer has nothing to do while no request is pending.
func (a *adminClient) idle(w *World) {}

func (a *adminClient) giveUp(w *World) {
	panic("sim: the admin client gave up a request: it never gives up (its give-up time is never)")
}

// load: admin packets carry only the request's sequence number (see packet).
func (a *adminClient) load(p *packet)      { p.req.Client, p.req.Seq = a.id, a.req.Seq }
func (a *adminClient) countRetry(w *World) { w.counts.AdminRetries++ }

// complete ends the pending request and runs its done callback.
func (a *adminClient) complete(w *World, from node.ID, r *node.Reply) {
	a.state, a.timerOn = clientIdle, false
	w.counts.AdminCompleted++
	text := fmt.Sprintf("admin: %v %d done after %v", a.req.Op, a.req.Server, w.now-a.since)
	w.tracef(0, "%s (#%d, answered by n%d)", text, a.req.Seq, from)
	w.note(HappenAdmin, a.req.Server, 0, text)
	if done := a.done; done != nil {
		a.done = nil
		done(w)
	}
}

func (a *adminClient) refuse(w *World, from node.ID, status node.ReplyStatus) {
	if status == node.ReplyInvalid {
		w.Failf("Client protocol", "node %d answered the admin request #%d %v %d with ReplyInvalid: the operator asked for something that can never be done, or sent a malformed request",
			from, a.req.Seq, a.req.Op, a.req.Server)
		return
	}
	w.Failf("Client protocol", "node %d answered the admin request #%d with unknown status %v", from, a.req.Seq, status)
}

// AdminAddr is the admin client's network address (after the clients'): scenarios pass it
// to Partition, Isolate, CutOneWay and Bridge like a client address.
func (w *World) AdminAddr() node.ID { return node.ID(w.admin.addr) }

// AdminPending reports whether an admin request is outstanding (made and not yet answered
// OK).
func (w *World) AdminPending() bool { return w.admin.state != clientIdle }

func (w *World) adminTimeout() time.Duration {
	if t := w.cfg.Clients.RequestTimeout; t > 0 {
		return t
	}
	return adminDefaultTimeout
}

// Admin starts an operator's membership change: op on server (node.AdminAddServer adds it,
// first as a learner and then, once caught up, as a voter; node.AdminRemoveServer removes
// it). The request travels like a client request: from the admin client's own network
// endpoint (AdminAddr), as node.InputAdmin with kv.ClientID Clients.Count+1 and a sequence
// number per request, to the server the admin client believes leads (at first a random
// initial voter). It may be lost, duplicated, delayed or cut like any packet. The admin
// client retries the same request (same sequence number) on another server after each
// attempt timeout (Clients.RequestTimeout, 100 ms without clients), follows
// ReplyNotLeader hints as clients do, and waits 50 ms after ReplyBusy before asking the
// same server again. It never gives up by itself: a scenario bounds it with a probe on
// AdminPending. When a ReplyOK for the request arrives, done (if not nil) runs once.
// ReplyInvalid fails the run ("Client protocol").
//
// One admin request at a time: calling Admin while one is pending panics (a scenario bug).
func (w *World) Admin(op node.AdminOp, server node.ID, done func(w *World)) {
	a := &w.admin
	if w.AdminPending() {
		panic(fmt.Sprintf("sim: Admin(%v, %d) while the admin request %v %d (#%d) is still pending: one admin request at a time (wait for its done callback, or check AdminPending)",
			op, server, a.req.Op, a.req.Server, a.req.Seq))
	}
	a.used = true
	a.done, a.since = done, w.now
	a.req = node.AdminRequest{Client: a.id, Seq: a.req.Seq + 1, Op: op, Server: server}
	a.seq = a.req.Seq
	a.sent = append(a.sent, a.req)
	if a.target == node.None {
		a.target = node.ID(a.rng.IntN(w.cfg.Nodes) + 1)
	}
	w.counts.AdminRequests++
	w.countEvent(evAdmin, node.ID(a.addr), a.req.Seq, uint64(op)<<32|uint64(uint32(server)))
	text := fmt.Sprintf("admin: %v %d requested", op, server)
	w.tracef(0, "%s (#%d)", text, a.req.Seq)
	w.note(HappenAdmin, server, 0, text)
	w.sendRequest(&a.requester, false)
}

// adminTimer handles the admin client's timer: an attempt timeout (try another server) or
// the end of a backoff (resend).
func (w *World) adminTimer(e event) { w.requesterTimer(&w.admin.requester, e.arg) }

// deliverAdmin hands the admin request to its server, if the server is up and the link
// still connects them.
func (w *World) deliverAdmin(slot uint64, p *packet) {
	req, from, to := w.admin.sent[p.req.Seq-1], int(p.from), int(p.to)
	p.req = kv.Command{}
	w.release(slot)
	h := w.hosts[to-1]
	w.countEvent(evDeliver, h.id, uint64(pkAdmin)<<56|uint64(req.Op)<<48|uint64(uint32(req.Server)), req.Seq)
	if !h.up || !w.net.Arrive(from, to) {
		if w.cfg.Trace != nil {
			w.tracef(h.id, "drop admin request #%d %v %d (%s)", req.Seq, req.Op, req.Server, w.dropReason(h))
		}
		return
	}
	if w.cfg.Trace != nil {
		w.tracef(h.id, "admin request #%d %v %d", req.Seq, req.Op, req.Server)
	}
	w.step(h, node.Input{Kind: node.InputAdmin, Admin: req})
}

// deliverAdminReply hands a reply to the admin client (the packet's slot is released).
func (w *World) deliverAdminReply(r *node.Reply, from int) {
	w.deliverToRequester(&w.admin.requester, r, from)
}

// Transfer asks the current leader (World.Leader) to hand leadership to target (thesis
// §3.10): node.InputTransfer is stepped directly on the leader's host, as by an operator
// logged in on the leader's machine, so the request itself cannot be lost (the messages
// of the transfer can). It returns false, and does nothing, if there is no leader. The
// leader ignores a target that is not a voter; otherwise it stops taking writes, brings
// the target up to date and sends it MsgTimeoutNow, and aborts if the transfer has not
// completed within an election timeout (the Transfer Liveness check holds it to that).
func (w *World) Transfer(target node.ID) bool {
	l := w.Leader()
	if l == node.None {
		w.tracef(0, "transfer to n%d requested: no leader", target)
		return false
	}
	h := w.host(l)
	w.counts.Transfers++
	w.countEvent(evAction, l, uint64(node.InputTransfer), uint64(target))
	text := fmt.Sprintf("operator asked leader %d to transfer leadership to node %d", l, target)
	w.tracef(l, "%s", text)
	w.note(HappenTransfer, l, h.lastView.Term, text)
	w.step(h, node.Input{Kind: node.InputTransfer, Target: target})
	return true
}

// Configuration is the configuration in force at the current leader (World.Leader) or,
// with no leader, at the server with the highest commit index (ties: the longer log, then
// the lower ID; a crashed server counts with its last view; servers with an empty
// configuration, spares that never joined, are skipped unless all are empty). It is the
// configuration the cluster is in, or is moving to: the last one in that server's log,
// committed or not (a configuration takes effect when appended, §6). Read-only.
func (w *World) Configuration() node.Configuration {
	if l := w.Leader(); l != node.None {
		return w.hosts[l-1].lastView.Config
	}
	var best *node.View
	for _, h := range w.hosts {
		v := &h.lastView
		if len(v.Config.Voters) == 0 {
			continue
		}
		if best == nil || v.CommitIndex > best.CommitIndex ||
			(v.CommitIndex == best.CommitIndex && v.LastIndex() > best.LastIndex()) {
			best = v
		}
	}
	if best == nil {
		return node.Configuration{}
	}
	return best.Config
}

// Voters is the servers that vote in the configuration in force (World.Configuration):
// its voters, and in a joint configuration also the outgoing ones, ascending, each once.
// The slice is fresh.
func (w *World) Voters() []node.ID {
	c := w.Configuration()
	if !c.Joint() {
		return append([]node.ID(nil), c.Voters...)
	}
	out := make([]node.ID, 0, len(c.Voters)+len(c.Outgoing))
	i, j := 0, 0
	for i < len(c.Voters) || j < len(c.Outgoing) {
		switch {
		case j == len(c.Outgoing) || (i < len(c.Voters) && c.Voters[i] < c.Outgoing[j]):
			out = append(out, c.Voters[i])
			i++
		case i == len(c.Voters) || c.Outgoing[j] < c.Voters[i]:
			out = append(out, c.Outgoing[j])
			j++
		default:
			out = append(out, c.Voters[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// briefConfig describes a configuration in a few words for Describe: "voters [1 2 3]",
// "voters [1 2 4] joint with [1 2 3] learners [5]", "outside" (empty).
func briefConfig(c *node.Configuration) string {
	if len(c.Voters) == 0 && len(c.Learners) == 0 {
		return "outside any configuration"
	}
	s := "voters " + idList(c.Voters)
	if c.Joint() {
		s += " joint with " + idList(c.Outgoing)
	}
	if len(c.Learners) > 0 {
		s += " learners " + idList(c.Learners)
	}
	return s
}

func idList(ids []node.ID) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(append(b, ']'))
}

// TransferLiveness is the name of the host's check that a leadership transfer ends in time
// (thesis §3.10): a leader that started one must complete it (step down for the target) or
// abort it (lead again) within an election timeout. The host checks it after a leader's
// steps: if its view still shows a transfer (View.TransferTarget) begun more than
// ElectionTimeoutMax + 2*HeartbeatInterval ago on its local clock (View.TransferSince),
// the run fails. The slack covers the leader acting on its timers only when woken (its
// heartbeats). A step that is not a wake-up while the host's own wake-up is due now is
// excused: after a clock jump the leader may see an overdue transfer before its wake-up,
// at the same virtual time, lets it abort.
const TransferLiveness = "Transfer Liveness"

// stepTransfer notices a transfer starting or ending in h's step and runs
// TransferLiveness; the host calls it only while a transfer is under way or just ended.
func (w *World) stepTransfer(h *machine, v *node.View, local time.Duration) {
	if v.TransferTarget != h.transfer {
		w.observeTransfer(h, v)
	}
	if v.TransferTarget != node.None {
		w.checkTransferLiveness(h, v, local)
	}
}

// checkTransferLiveness runs TransferLiveness after a step of h (local: its clock reading
// for the step; v: its view after it), whose view shows a transfer.
func (w *World) checkTransferLiveness(h *machine, v *node.View, local time.Duration) {
	if v.Role != node.Leader {
		return
	}
	bound := w.cfg.Node.ElectionTimeoutMax + 2*w.cfg.Node.HeartbeatInterval
	elapsed := local - v.TransferSince
	if elapsed <= bound || (h.wakeAt != 0 && h.wakeAt <= w.now) {
		return
	}
	w.fail(&Failure{Check: TransferLiveness, Rule: "thesis §3.10", Time: w.now, Nodes: []node.ID{h.id, v.TransferTarget}, Term: v.Term,
		Detail: fmt.Sprintf("leader %d began transferring leadership to node %d at local time %v and, %v later, has neither completed nor aborted the transfer (bound: ElectionTimeoutMax + 2*HeartbeatInterval = %v)",
			h.id, v.TransferTarget, v.TransferSince, elapsed, bound)})
}

// observeTransfer records a change of h's transfer target (View.TransferTarget): a
// transfer started, or ended. One that ends while h still leads in the same term was
// aborted; one that ends as h steps down is completed when its target takes office
// (observeRole), or fails if another server does.
func (w *World) observeTransfer(h *machine, v *node.View) {
	was := h.transfer
	h.transfer = v.TransferTarget
	if v.TransferTarget != node.None {
		w.counts.TransfersStarted++
		w.transferFrom, w.transferTo = h.id, v.TransferTarget
		w.note(HappenTransfer, h.id, v.Term, fmt.Sprintf("node %d (leader of term %d) started transferring leadership to node %d", h.id, v.Term, v.TransferTarget))
		return
	}
	if v.Role == node.Leader && v.Term == h.lastTerm {
		w.counts.TransfersAborted++
		if w.transferFrom == h.id {
			w.transferFrom, w.transferTo = node.None, node.None
		}
		w.note(HappenTransfer, h.id, v.Term, fmt.Sprintf("node %d aborted its leadership transfer to node %d: it leads term %d again", h.id, was, v.Term))
		return
	}
	w.note(HappenTransfer, h.id, v.Term, fmt.Sprintf("node %d stopped leading (term %d) while transferring leadership to node %d", h.id, v.Term, was))
}

// endTransferWatch is called when id takes office in term while a transfer is watched: it
// completed if id is its target.
func (w *World) endTransferWatch(id node.ID, term node.Term) {
	from, to := w.transferFrom, w.transferTo
	w.transferFrom, w.transferTo = node.None, node.None
	if id == to {
		w.counts.TransfersCompleted++
		w.note(HappenTransfer, id, term, fmt.Sprintf("leadership transfer from node %d to node %d completed: node %d leads term %d", from, to, to, term))
		return
	}
	if id != from {
		w.note(HappenTransfer, id, term, fmt.Sprintf("leadership transfer from node %d to node %d did not complete: node %d leads term %d", from, to, id, term))
	}
}

// observeConfigs traces the configuration entries among es, just written by h (the host
// calls it for leaders, and for everyone when tracing), and puts a leader's on the timeline ("node 1 (leader) appended configuration voters [1 2 3 4]
// (joint with [1 2 3])"). Their commitment is noted by observeCommits.
func (w *World) observeConfigs(h *machine, es []node.Entry, v *node.View) {
	for i := range es {
		if es[i].Kind != node.EntryConfig {
			continue
		}
		w.configNote(h, &es[i], v)
	}
}

//go:noinline
func (w *World) configNote(h *machine, e *node.Entry, v *node.View) {
	conf, err := node.DecodeConfiguration(e.Data)
	desc := conf.String()
	if err != nil {
		desc = fmt.Sprintf("%q (undecodable: %v)", e.Data, err)
	}
	if v.Role == node.Leader {
		w.note(HappenConfig, h.id, v.Term, fmt.Sprintf("node %d (leader) appended configuration %s at index %d", h.id, desc, e.Index))
	}
	if w.cfg.Trace != nil {
		w.tracef(h.id, "   configuration %s written at index %d (in force on this node from now)", desc, e.Index)
	}
}

// noteConfigCommitted puts a newly committed configuration entry on the timeline.
func (w *World) noteConfigCommitted(e node.Entry) {
	conf, err := node.DecodeConfiguration(e.Data)
	desc := conf.String()
	if err != nil {
		desc = fmt.Sprintf("%q (undecodable: %v)", e.Data, err)
	}
	text := fmt.Sprintf("configuration %s committed at index %d", desc, e.Index)
	w.tracef(0, "%s", text)
	w.note(HappenConfig, node.None, e.Term, text)
}
