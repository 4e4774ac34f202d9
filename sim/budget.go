package sim

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"raftsim/netsim"
)

// The Work Bound check.
//
// A bug that makes messages multiply (a resend triggered by every reply, so that each
// duplicated or reordered reply starts one more chain of resends) makes a run's events grow
// exponentially: the run never reaches its deadline and its memory grows without bound.
// The Work Bound check turns that into an ordinary failure. It counts, in fixed windows of
// WorkWindow of virtual time, the events the world processes and the messages servers send,
// and after every event the packets in flight; when one of them exceeds its limit
// (Config.WorkLimits) the run fails with the check "Work Bound" at that event's virtual
// time. It reads counts and virtual time only, so a failure replays exactly, and it adds
// nothing to the trace hash, so it changes no passing run.

// WorkBoundCheck is the name of the check that fails a runaway run.
const WorkBoundCheck = "Work Bound"

// WorkWindow is the span of virtual time over which the Work Bound check counts events and
// messages: the fixed windows [0, WorkWindow), [WorkWindow, 2*WorkWindow), ...
const WorkWindow = time.Second

// WorkSafetyFactor is how far above what a healthy run can need (see Config.WorkLimits)
// the Work Bound's limits are set.
const WorkSafetyFactor = 10

// workDelayFloor is the shortest one-way delay the derivation assumes: with a zero
// DelayMin a healthy client could finish any number of operations without virtual time
// advancing, so the rate bound needs a floor (0.1 ms, ten times below the standard 1 ms).
const workDelayFloor = 100 * time.Microsecond

// WorkLimits are the Work Bound check's limits for one configuration.
type WorkLimits struct {
	// EventsPerWindow bounds the queue events processed (every event popped, including
	// ones deferred by a pause and popped again) in one WorkWindow.
	EventsPerWindow uint64
	// MessagesPerWindow bounds the Raft messages servers send (Counts.MessagesSent) in one
	// WorkWindow.
	MessagesPerWindow uint64
	// InFlight bounds the packets in flight at once: every copy of every Raft message,
	// client request and reply handed to the network and not yet delivered.
	InFlight uint64
	// Need is the healthy run's demand the limits derive from (each limit is
	// WorkSafetyFactor times the matching need), for the failure message.
	Need WorkNeed
}

// WorkNeed is what a healthy run of a configuration can need at most, per WorkWindow and in
// flight; see Config.WorkLimits for the derivation.
type WorkNeed struct {
	Events, Messages, InFlight uint64
}

// WorkLimits returns the Work Bound check's limits for c (with its initial network; the
// world recomputes them from the network in force at the start of every window, so that a
// scenario that raises the duplication rate mid-run gets the limits of that rate).
//
// The derivation bounds, per virtual second, what a correct Raft cluster of this
// configuration can do, with S servers (Nodes+Spares, P = S-1 peers each), C clients plus
// the admin client, heartbeat H, minimum election timeout E, minimum one-way delay d
// (DelayMin, at least 0.1 ms), duplication rate p and the built-in proposer's minimum
// interval I:
//
//   - heartbeats: every server leading at once (stale leaders in a partition included),
//     each sending P heartbeats and getting P answers per H: S*P*2/H;
//   - elections: every server starting a pre-vote and a vote round per E: S*P*4/E;
//   - catching a follower up: one append or snapshot chunk per answer, a chain per peer,
//     one message per d: P/d;
//   - operations: a client's operation takes at least a round trip (2d), and each one (or
//     each proposal of the proposer, one per I) costs the leader a broadcast and its
//     answers: (C/(2d) + 1/I) * 2P.
//
// Their sum R is the healthy message rate before duplication; a duplicated message is
// answered twice, so servers send at most R*(1+p) messages (the message need). Each is
// delivered at most twice (R*(1+p)^2 deliveries), client requests and replies add
// 2*(1+p) per operation plus one resend per client per request timeout, and timers add a
// wake per heartbeat and two per election timeout per server and a timer per client per
// request timeout (the event need). Packets in flight follow from Little's law: the
// packets sent per second times the longest delay a packet can have (DelayMax, TailMax if
// there is a tail, plus DelayMax if there is reordering), plus one per pair of servers and
// one per client (the in-flight need). Each limit is WorkSafetyFactor times its need.
//
// Measured, healthy runs stay far below (see the scenarios' work bound test: the standard
// scenario needs about 2,000 events per virtual second against a limit of several
// hundred thousand), while a runaway that doubles its messages every round trip crosses the
// in-flight limit within tens of virtual milliseconds.
func (c *Config) WorkLimits() WorkLimits { return c.workLimits(c.Net) }

func (c *Config) workLimits(net netsim.Config) WorkLimits {
	s := uint64(c.Nodes + c.Spares)
	p := max(s-1, 1)
	clients := uint64(c.Clients.Count) + 1 // and the admin client
	d := max(net.DelayMin, workDelayFloor)
	dup := uint64(math.Ceil(float64(net.DuplicateProbability * 100))) // in percent, rounded up
	// perSec is how many periods of t fit in a second, rounded up (the need is an upper bound).
	perSec := func(t time.Duration) uint64 { t = max(t, 1); return uint64((time.Second + t - 1) / t) }
	ops := clients * perSec(2*d)
	if c.Load.IntervalMax > 0 {
		ops += perSec(c.Load.IntervalMin)
	}
	rate := s*p*2*perSec(c.Node.HeartbeatInterval) + s*p*4*perSec(c.Node.ElectionTimeoutMin) +
		p*perSec(d) + ops*2*p
	msgs := rate * (100 + dup) / 100
	retries := clients * perSec(c.Clients.RequestTimeout)
	if c.Clients.Count == 0 {
		retries = 0
	}
	packets := msgs*(100+dup)/100 + ops*2*(100+dup)/100 + retries
	timers := s*(perSec(c.Node.HeartbeatInterval)+2*perSec(c.Node.ElectionTimeoutMin)) + retries
	longest := net.DelayMax
	if net.TailProbability > 0 {
		longest = max(longest, net.TailMax)
	}
	if net.ReorderProbability > 0 {
		longest += net.DelayMax + 1
	}
	need := WorkNeed{
		Events:   packets + timers,
		Messages: msgs,
		InFlight: min(inFlightNeed(packets, longest)+s*s+clients, math.MaxUint64/WorkSafetyFactor),
	}
	return WorkLimits{
		EventsPerWindow:   WorkSafetyFactor * need.Events,
		MessagesPerWindow: WorkSafetyFactor * need.Messages,
		InFlight:          WorkSafetyFactor * need.InFlight,
		Need:              need,
	}
}

// inFlightNeed is Little's law: packets sent per second times the time each can stay in
// flight, rounded up. It saturates (delays may be as long as netsim.MaxDelayBound) at a
// value that the safety factor cannot overflow.
func inFlightNeed(perSecond uint64, longest time.Duration) uint64 {
	const sec, most = uint64(time.Second), math.MaxUint64 / (2 * WorkSafetyFactor)
	hi, lo := bits.Mul64(perSecond, uint64(max(longest, 0)))
	if hi >= sec {
		return most
	}
	q, r := bits.Div64(hi, lo, sec)
	if r > 0 {
		q++
	}
	return min(q, most)
}

// workBudget is the world's Work Bound state: the current window and what it has used.
type workBudget struct {
	limits     WorkLimits
	windowEnd  time.Duration // end of the current window (0 before the first event)
	events     uint64        // events processed in the current window
	sentBefore uint64        // Counts.MessagesSent at the start of the current window
}

// budgetEvent accounts for one processed event (call it after the event, so that its
// messages are counted) and fails the run if the window's events or messages, or the
// packets in flight, are over their limits.
func (w *World) budgetEvent() {
	b := &w.budget
	if w.now >= b.windowEnd {
		b.windowEnd = (w.now/WorkWindow + 1) * WorkWindow
		b.events = 0
		b.sentBefore = w.counts.MessagesSent
		b.limits = w.cfg.workLimits(w.net.Config())
	}
	b.events++
	sent := w.counts.MessagesSent - b.sentBefore
	inFlight := uint64(len(w.slab) - len(w.free))
	c := &w.counts
	c.PeakWindowEvents = max(c.PeakWindowEvents, b.events)
	c.PeakWindowMessages = max(c.PeakWindowMessages, sent)
	c.PeakInFlight = max(c.PeakInFlight, inFlight)
	if inFlight <= b.limits.InFlight && sent <= b.limits.MessagesPerWindow && b.events <= b.limits.EventsPerWindow {
		return
	}
	window := fmt.Sprintf("in the window [%v, %v) of virtual time", b.windowEnd-WorkWindow, b.windowEnd)
	switch {
	case inFlight > b.limits.InFlight:
		w.failWork(fmt.Sprintf("%d packets in flight at once", inFlight), b.limits.InFlight, b.limits.Need.InFlight)
	case sent > b.limits.MessagesPerWindow:
		w.failWork(fmt.Sprintf("%d messages sent %s", sent, window), b.limits.MessagesPerWindow, b.limits.Need.Messages)
	default:
		w.failWork(fmt.Sprintf("%d events processed %s", b.events, window), b.limits.EventsPerWindow, b.limits.Need.Events)
	}
}

// failWork fails the run with the Work Bound check.
func (w *World) failWork(what string, limit, need uint64) {
	w.fail(&Failure{Check: WorkBoundCheck, Time: w.now, Detail: fmt.Sprintf(
		"%s, over the limit of %d (%d times the %d a healthy run of this configuration can need: "+
			"%d servers, %d clients, heartbeat %v, election timeout from %v, delay from %v, duplication %.0f%%): "+
			"the run's work is growing without bound (messages multiplying?)",
		what, limit, WorkSafetyFactor, need,
		w.cfg.Nodes+w.cfg.Spares, w.cfg.Clients.Count, w.cfg.Node.HeartbeatInterval, w.cfg.Node.ElectionTimeoutMin,
		w.net.Config().DelayMin, float64(w.net.Config().DuplicateProbability*100))})
}
