package sim

import (
	"math/rand/v2"
	"strconv"
	"time"

	"raftsim/node"
)

// This file is the retrying requester shared by the key-value clients (client.go) and the
// operator's admin client (admin.go): one request at a time, identified by a sequence
// number; each attempt goes to the server believed to lead and is bounded by a timer; an
// attempt that times out is retried, with the same sequence number, on another server,
// which is then distrusted for a while; ReplyNotLeader hints are followed (unless they
// point at a distrusted server), ReplyBusy is answered by waiting; a request not answered
// by its give-up time ends (for the clients) with an unknown outcome. The two kinds differ
// only in the data of their requester and in a requestOwner.

// requestOwner is what differs between the kinds of requester: what a request is, how it
// travels, and what happens when it ends.
type requestOwner interface {
	// what describes the current request for trace lines ("c3#17 get \"k1\"").
	what() string
	// idle handles the timer while no request is outstanding.
	idle(w *World)
	// giveUp ends the current request, unanswered at its give-up time.
	giveUp(w *World)
	// load puts the current request into a packet about to be sent.
	load(p *packet)
	// countRetry counts an attempt resent for a request already sent.
	countRetry(w *World)
	// complete ends the current request with r, a ReplyOK from server from.
	complete(w *World, from node.ID, r *node.Reply)
	// refuse handles a reply the protocol has no answer to (ReplyInvalid, an unknown
	// status): it fails the run.
	refuse(w *World, from node.ID, status node.ReplyStatus)
}

// clientState is where a requester is with its current request.
type clientState uint8

const (
	clientIdle    clientState = iota // no request outstanding (a client: before Start, or done)
	clientWaiting                    // an attempt is out; waiting for a reply until it times out
	clientBackoff                    // waiting to resend (after a refusal)
)

// requester is the state of a retrying requester (see the file comment). Its first block
// of fields is the kind's data, set once; the rest changes as requests come and go.
type requester struct {
	owner      requestOwner
	addr       int           // network endpoint
	who        string        // trace lines' endpoint name ("c3", "op")
	name       string        // requests are named name#seq in trace lines ("c3", "admin")
	timerKind  eventKind     // the kind of its timer events
	timerNode  int32         // the node field of its timer events
	packetKind packetKind    // the kind of its request packets
	timeout    time.Duration // an attempt's timeout
	busyDelay  time.Duration // how long to wait after ReplyBusy
	// terseTimeouts: timeout trace lines name the request by its number only.
	terseTimeouts bool
	rng           *rand.Rand // draws the servers to try

	state    clientState
	target   node.ID       // the server it believes leads
	seq      uint64        // the current (or last) request's sequence number
	giveUpAt time.Duration // the current request's give-up time
	attempt  time.Duration // when the current attempt was sent
	// avoidUntil[id-1]: until when server id is distrusted (a request to it timed out).
	avoidUntil []time.Duration

	// Timer bookkeeping, as for wake-ups: at most one live event per requester. timerOn
	// says whether it wants a timer at all, timerWant when; liveAt is the time of the live
	// event (valid if live); timerGen identifies it.
	timerOn   bool
	timerWant time.Duration
	live      bool
	liveAt    time.Duration
	timerGen  uint64
}

// never is a give-up time that is never reached.
const never = time.Duration(1<<63 - 1)

// tag names request seq of r in trace lines: "c3#17", "admin#2".
func (r *requester) tag(seq uint64) string { return r.name + "#" + strconv.FormatUint(seq, 10) }

// armRequester asks for r's timer at virtual time at.
func (w *World) armRequester(r *requester, at time.Duration) {
	r.timerOn, r.timerWant = true, at
	if r.live && r.liveAt <= at {
		return // the live event fires first and re-arms
	}
	r.timerGen++
	r.live, r.liveAt = true, at
	w.queue.push(event{at: at, kind: r.timerKind, node: r.timerNode, arg: r.timerGen})
}

// countRequesterTimer counts r's timer event that is due.
func (w *World) countRequesterTimer(r *requester) {
	w.countEvent(r.timerKind, node.ID(r.addr), r.seq, uint64(r.state))
}

// requesterTimer handles r's timer event gen: the start of its next request (idle), the
// give-up time, the end of a backoff (resend), or an attempt timeout (try another server).
func (w *World) requesterTimer(r *requester, gen uint64) {
	if gen != r.timerGen {
		return // superseded: not an event
	}
	r.live = false
	if !r.timerOn {
		return
	}
	if r.timerWant > w.now {
		w.armRequester(r, r.timerWant)
		return
	}
	r.timerOn = false
	if r.state == clientIdle {
		r.owner.idle(w)
		return
	}
	w.countRequesterTimer(r)
	switch {
	case w.now >= r.giveUpAt:
		r.owner.giveUp(w)
	case r.state == clientBackoff:
		w.sendRequest(r, true)
	default:
		if w.cfg.Trace != nil {
			what := r.tag(r.seq)
			if !r.terseTimeouts {
				what = r.owner.what()
			}
			w.traceAs(r.who, "timeout %s at n%d after %v", what, r.target, w.now-r.attempt)
		}
		r.avoidUntil[r.target-1] = w.now + clientAvoidFactor*r.timeout
		r.target = pickOther(r.rng, r.avoidUntil, w.now, r.target)
		w.sendRequest(r, true)
	}
}

// sendRequest sends r's current request to r.target and waits for the reply; retry says
// it was sent before.
func (w *World) sendRequest(r *requester, retry bool) {
	if retry {
		r.owner.countRetry(w)
	}
	r.state, r.attempt = clientWaiting, w.now
	w.armRequester(r, min(w.now+r.timeout, r.giveUpAt))
	delays, copies := w.netSend(r.addr, int(r.target), r.packetKind, 0)
	if w.cfg.Trace != nil {
		w.traceAs(r.who, "request %s -> n%d", r.owner.what(), r.target)
		if copies == 0 {
			w.traceAs(r.who, "   request %s dropped at send (loss or partition)", r.tag(r.seq))
		}
	}
	for k := 0; k < copies; k++ {
		slot, p := w.slot(r.packetKind, r.addr, int(r.target))
		r.owner.load(p)
		w.queue.push(event{at: w.now + delays[k], kind: evDeliver, node: int32(r.target), arg: uint64(slot)})
	}
}

// backoffRequest makes r resend its current request after d.
func (w *World) backoffRequest(r *requester, d time.Duration) {
	r.state = clientBackoff
	w.armRequester(r, min(w.now+d, r.giveUpAt))
}

// deliverToRequester hands reply rep, sent by server from, to r: an answer to the current
// request ends it (whichever attempt it answers); a refusal of the current attempt is
// followed (a leader hint, a backoff); anything else is ignored.
func (w *World) deliverToRequester(r *requester, rep *node.Reply, from int) {
	w.countEvent(evDeliver, node.ID(r.addr), uint64(pkReply)<<56|uint64(rep.Status)<<48|uint64(uint32(from)), rep.Seq)
	if !w.net.Arrive(from, r.addr) {
		if w.cfg.Trace != nil {
			w.traceAs(r.who, "drop reply %s %v from n%d (partition)", r.tag(rep.Seq), rep.Status, from)
		}
		return
	}
	if r.state == clientIdle || rep.Seq != r.seq {
		if w.cfg.Trace != nil {
			w.traceAs(r.who, "ignore reply %s %v from n%d: not waiting for it", r.tag(rep.Seq), rep.Status, from)
		}
		return
	}
	src := node.ID(from)
	switch rep.Status {
	case node.ReplyOK:
		r.target = src
		r.owner.complete(w, src, rep)
	case node.ReplyNotLeader, node.ReplyBusy:
		w.redirect(r, rep, src)
	default:
		r.owner.refuse(w, src, rep.Status)
	}
}

// redirect follows a ReplyNotLeader or ReplyBusy from src to r's current request.
func (w *World) redirect(r *requester, rep *node.Reply, src node.ID) {
	if r.state != clientWaiting || src != r.target {
		if w.cfg.Trace != nil {
			w.traceAs(r.who, "ignore reply %s %v from n%d: an earlier attempt", r.tag(rep.Seq), rep.Status, src)
		}
		return
	}
	if w.cfg.Trace != nil {
		w.traceAs(r.who, "reply %s %v%s from n%d", r.tag(rep.Seq), rep.Status, replyDetail(rep), src)
	}
	if rep.Status == node.ReplyBusy {
		w.backoffRequest(r, r.busyDelay)
		return
	}
	hint := rep.Leader
	if hint > 0 && hint != src && int(hint) <= len(w.hosts) && w.now >= r.avoidUntil[hint-1] {
		r.target = hint
		w.sendRequest(r, true)
		return
	}
	r.target = pickOther(r.rng, r.avoidUntil, w.now, src)
	w.backoffRequest(r, clientBackoffDelay)
}

// pickOther picks a random server among 1..len(avoidUntil) other than not (among all
// servers, spares included: they may have joined), preferring those not distrusted at now
// (avoidUntil[id-1] <= now), falling back to any other server, and to not itself in a
// one-server world.
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
