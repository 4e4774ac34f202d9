package node

import (
	"time"

	"raftsim/node/kv"
)

// This file serves clients (thesis chapter 6): writes go through the log as EntryCommand
// entries and are answered once applied; the kv store's sessions make retries take effect
// once (§6.3). Reads do not enter the log: they are served according to the ReadMode
// (§6.4).

// roundRing is how many recent broadcast rounds a leader remembers the send time of. An
// acknowledgement of an older round dates nothing: it is at least roundRing heartbeat
// intervals old, far past any lease.
const roundRing = 64

// waiter is a write this leader appended in its term and will answer once it is applied.
type waiter struct {
	client kv.ClientID
	seq    uint64
}

// pendingRead is a read waiting for leadership to be confirmed (a majority acknowledging
// broadcast round) and for the state machine to reach readIndex. An admin one is the
// answer to a membership change already in force (confirmAdmin): ReplyOK, no value.
type pendingRead struct {
	client    kv.ClientID
	seq       uint64
	key       string
	round     uint64
	readIndex Index
	admin     bool
}

// handleClient answers or queues one client request.
func (n *Node) handleClient(req kv.Command) {
	if err := req.Validate(); err != nil {
		n.stats.Rejected++
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyInvalid})
		return
	}
	if n.role != Leader {
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyNotLeader, Leader: n.leader})
		return
	}
	if req.Op == kv.OpGet {
		n.handleRead(req)
		return
	}
	n.handleWrite(req)
}

// handleWrite appends a write command, unless the request is a retry of one already
// applied (answered at once with the stored result), one already waiting in this term's
// log (answered when it applies), or stale (the client has moved on: no answer).
func (n *Node) handleWrite(req kv.Command) {
	if seq, result, ok := n.store.LastApplied(req.Client); ok && req.Seq <= seq {
		if req.Seq == seq {
			n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyOK, Value: result})
		}
		return
	}
	for _, w := range n.waiters {
		if w.client == req.Client && w.seq == req.Seq {
			return
		}
	}
	if n.pendingFull() || n.transferTarget != None {
		// Full, or handing leadership over: no new writes until that ends (thesis §3.10).
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyBusy, Leader: n.id})
		return
	}
	n.appendLocal(EntryCommand, req.Encode())
	n.waiters = append(n.waiters, waiter{client: req.Client, seq: req.Seq})
	n.broadcastAppend()
	n.maybeCommit() // a single voter commits on its own
}

// handleRead serves a get according to the read mode (§6.4).
func (n *Node) handleRead(req kv.Command) {
	if n.readMode == ReadLocal {
		// No check at all: a deposed leader that has not noticed answers stale data.
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyOK, Value: n.store.Get(req.Key)})
		return
	}
	if n.pendingFull() {
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyBusy, Leader: n.id})
		return
	}
	// A new leader may not know which entries are committed until it has committed an
	// entry of its own term (its no-op): read at least up to it (§6.4, step 1). Every
	// entry committed before this term lies below the no-op (Leader Completeness).
	r := pendingRead{client: req.Client, seq: req.Seq, key: req.Key, readIndex: max(n.commit, n.termStart)}
	if n.readMode == ReadLease && n.leaseValid() {
		r.round = 0 // the lease stands in for the round of heartbeats (§6.4.1)
		n.leaseRead = n.term
	} else {
		// Confirm leadership with a broadcast sent after this read arrived (step 2). The
		// broadcast happens at the end of the step, so reads of one step share it.
		r.round = n.round + 1
		n.readBroadcast = true
	}
	n.reads = append(n.reads, r)
}

func (n *Node) pendingFull() bool { return len(n.waiters)+len(n.reads) >= n.maxPending }

// confirmAdmin queues the answer to an admin request whose change is already in force and
// committed: like a ReadIndex read of the configuration, it is answered once a broadcast
// round sent after it has been acknowledged by a majority (never by a lease: a removal
// or an addition is rare, and the round costs one heartbeat).
func (n *Node) confirmAdmin(req AdminRequest) {
	if n.pendingFull() {
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyBusy, Leader: n.id})
		return
	}
	n.reads = append(n.reads, pendingRead{client: req.Client, seq: req.Seq, round: n.round + 1, readIndex: n.commit, admin: true})
	n.readBroadcast = true
}

// reply queues an answer for the host.
func (n *Node) reply(r Reply) { n.replies = append(n.replies, r) }

// serveReads answers the pending reads whose round a majority has acknowledged and whose
// read index the state machine has reached (§6.4, steps 3 and 4). Reads are answered in
// arrival order; a read waits for the ones before it, which costs nothing in practice
// (rounds and read indexes grow with arrival) and keeps this simple.
func (n *Node) serveReads() {
	if len(n.reads) == 0 {
		return
	}
	confirmed := n.confirmedRound()
	k := 0
	for ; k < len(n.reads); k++ {
		r := &n.reads[k]
		if r.round > confirmed || r.readIndex > n.applied {
			break
		}
		if r.admin {
			n.reply(Reply{Client: r.client, Seq: r.seq, Status: ReplyOK})
			continue
		}
		n.reply(Reply{Client: r.client, Seq: r.seq, Status: ReplyOK, Value: n.store.Get(r.key)})
	}
	n.reads = append(n.reads[:0], n.reads[k:]...)
}

// confirmedRound is the highest broadcast round of this term that a majority (counting
// the leader itself) has acknowledged.
func (n *Node) confirmedRound() uint64 {
	n.acked[n.self] = n.round
	return quorumOver(n, n.acked)
}

// leaseStart is the latest local time by which a majority (counting the leader) had
// received a broadcast of this term: the send time of the newest round each follower
// acknowledged, taken at the majority. Zero if no majority has acknowledged anything yet.
func (n *Node) leaseStart() time.Duration {
	n.ackedAt[n.self] = n.now
	return quorumOver(n, n.ackedAt)
}

// leaseValid reports whether the leader's lease holds now (thesis §6.4.1): no follower of
// the acknowledging majority will vote for anyone else within electionTimeoutMin of its
// own clock, and the lease is shortened by the clock drift bound so that this holds on
// the leader's clock too.
//
// A leadership transfer ends the lease for the rest of the term, from the first
// MsgTimeoutNow on: the target's vote requests carry the transfer flag, which followers
// answer even within their lease (thesis §3.10), so a new leader can take office at any
// moment, and a TimeoutNow delayed or duplicated in the network can still start that
// election after the transfer was aborted. Reads then go through ReadIndex. (Found by
// the Lease Safety check: the old leader accepted a read under its lease after the
// target had taken office.)
func (n *Node) leaseValid() bool {
	start := n.leaseStart()
	return start > 0 && n.now < start+n.leaseDuration && n.commit >= n.termStart && n.leaseRevoked != n.term
}

// recordAck notes that peer i acknowledged broadcast round r of this term.
func (n *Node) recordAck(i int, r uint64) {
	if r <= n.acked[i] {
		return
	}
	n.acked[i] = r
	if n.round-r < roundRing {
		n.ackedAt[i] = max(n.ackedAt[i], n.roundSentAt[r%roundRing])
	}
}

// applyCommitted applies the newly committed entries to the state machine, reporting
// each command's outcome and answering the writes this leader is waiting on.
func (n *Node) applyCommitted(entries []Entry) {
	for i := range entries {
		e := &entries[i]
		if e.Kind != EntryCommand {
			continue
		}
		cmd, err := kv.Decode(e.Data)
		if err != nil || cmd.Op == kv.OpGet {
			// A leader validates commands before appending them, so this came from a faulty
			// peer. Every replica skips it alike, so the state machines stay equal.
			n.stats.Rejected++
			continue
		}
		result, outcome := n.store.Apply(cmd)
		n.commands = append(n.commands, AppliedCommand{Index: e.Index, Client: cmd.Client, Seq: cmd.Seq, Outcome: outcome})
		if outcome != kv.Stale {
			n.answerWaiter(cmd, result)
		}
	}
}

// answerWaiter replies to the client waiting on cmd, if this leader has one.
func (n *Node) answerWaiter(cmd kv.Command, result string) {
	for k, w := range n.waiters {
		if w.client == cmd.Client && w.seq == cmd.Seq {
			n.reply(Reply{Client: cmd.Client, Seq: cmd.Seq, Status: ReplyOK, Value: result})
			n.waiters = append(n.waiters[:k], n.waiters[k+1:]...)
			return
		}
	}
}

// abandonClients answers every waiting request with the leader hint when this node stops
// leading. Writes may still take effect (their entries may commit under the next leader):
// the client retries with the same sequence number, and the session makes that safe.
func (n *Node) abandonClients() {
	for _, w := range n.waiters {
		n.reply(Reply{Client: w.client, Seq: w.seq, Status: ReplyNotLeader, Leader: n.leader})
	}
	for _, r := range n.reads {
		n.reply(Reply{Client: r.client, Seq: r.seq, Status: ReplyNotLeader, Leader: n.leader})
	}
	n.waiters, n.reads = n.waiters[:0], n.reads[:0]
}

// quorumActive reports whether a majority (counting the leader) has acknowledged a
// broadcast sent within window of now. A leader in office for less than window has not
// had the chance to hear from anyone, and counts as active.
func (n *Node) quorumActive(window time.Duration) bool {
	if n.now-n.leaderSince < window {
		return true
	}
	return n.leaseStart() >= n.now-window
}

// inLease reports whether this node heard from a live leader (or, as leader, from a
// majority) within electionTimeoutMin: with CheckQuorum it then ignores RequestVotes, so
// that a server that cannot see the leader cannot depose it (thesis §6.2, §9.6).
func (n *Node) inLease() bool {
	switch {
	case !n.checkQuorum:
		return false
	case n.role == Leader:
		return n.quorumActive(n.electionTimeoutMin)
	case n.leader != None:
		return n.now-n.leaderContact < n.electionTimeoutMin
	}
	return false
}
