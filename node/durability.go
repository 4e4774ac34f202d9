package node

import "slices"

// This file is asynchronous storage (Config.AsyncStorage), modelled on etcd-raft's
// asynchronous storage writes. The host makes a step's durable part durable in the
// background and tells the node later, with InputDurable, which of its writes have
// completed. Until then the node acts on nothing that depends on them:
//
//   - Every output with a durable part is one write, numbered by Output.Write (1, 2, ...
//     per life). Writes complete in that order.
//   - A response that reports this server's state (MsgVoteResp, MsgAppResp, MsgSnapResp)
//     depends on everything the node wrote so far: it is held by the node and leaves in
//     the output of the InputDurable step that covers the latest write of the step that
//     made it. If nothing is pending, it leaves at once. So no vote is granted and no
//     entry acknowledged before it is durable (Figure 2, "respond to RPCs only after
//     updating stable storage").
//   - A candidate counts its own vote only once its term and vote are durable, and a
//     leader counts its own log toward a commit only up to its durable index. Requests
//     (RequestVote, AppendEntries, InstallSnapshot chunks, TimeoutNow) leave at once: a
//     candidate whose term is lost in a crash was never counted by itself, and entries a
//     leader has not made durable are counted only by the followers that have.
//   - The node applies committed entries only up to its durable index, so the state
//     machine, and the snapshots taken of it, never run ahead of the node's own disk.
//
// The durable index is the index up to which the disk's log agrees with the node's log:
// it becomes a write's last index when that write completes, and a truncation (a
// conflicting AppendEntries, or an installed snapshot that discards the log) lowers it,
// and the last index of every write still pending, to the point where the logs part.

// maxPendingWrites bounds the writes a node may have in flight. A host that never
// completes writes is a bug of the host; past the bound the node panics rather than grow.
const maxPendingWrites = 1 << 16

// durability is a node's asynchronous-storage state.
type durability struct {
	writeSeq     uint64    // the last write issued (Output.Write)
	durable      HardState // the hard state of the last write reported durable
	durableIndex Index     // the disk's log agrees with the node's up to here
	pending      []pendingWrite
	held         []heldMessage
	after        []Message // per step: the responses made in it
}

// clone returns an independent copy of d.
func (d *durability) clone() *durability {
	c := *d
	c.pending = slices.Clone(d.pending)
	c.held = slices.Clone(d.held)
	c.after = nil
	return &c
}

// pendingWrite is a write the host has not yet reported durable.
type pendingWrite struct {
	seq  uint64    // Output.Write
	hs   HardState // the term and vote it makes durable
	last Index     // the last index of the log it leaves, lowered by later truncations
}

// heldMessage is a response waiting for write seq to be durable.
type heldMessage struct {
	seq uint64
	msg Message
}

// dependsOnDisk reports whether a message of type t reports this server's durable state,
// and so may leave only once everything written before it is durable.
func dependsOnDisk(t MsgType) bool {
	return t == MsgVoteResp || t == MsgAppResp || t == MsgSnapResp
}

// selfMatch is how far the leader counts its own log toward a commit: all of it on a
// synchronous disk, up to its durable index on an asynchronous one.
func (n *Node) selfMatch() Index {
	if d := n.dur; d != nil {
		return min(d.durableIndex, n.log.lastIndex())
	}
	return n.log.lastIndex()
}

// selfVote reports whether a candidate may count its own vote: at once on a synchronous
// disk, once its term and vote are durable on an asynchronous one.
func (n *Node) selfVote() bool {
	return n.dur == nil || n.dur.durable == HardState{Term: n.term, Vote: n.id}
}

// applyLimit is the highest index the node may apply: its commit index, and on an
// asynchronous disk no further than its durable log (or its installed snapshot).
func (n *Node) applyLimit() Index {
	if d := n.dur; d != nil {
		return min(n.commit, max(d.durableIndex, n.applied))
	}
	return n.commit
}

// clipDurable records that the node's log was cut from index from on: the disk agrees
// with it at most up to from-1, now and after every write still pending.
func (n *Node) clipDurable(from Index) {
	d := n.dur
	if d == nil || from == 0 {
		return
	}
	d.durableIndex = min(d.durableIndex, from-1)
	for k := range d.pending {
		d.pending[k].last = min(d.pending[k].last, from-1)
	}
}

// finishWrite numbers the step's write, if it has a durable part, and decides when the
// step's responses leave: now if nothing is pending, else with the latest write.
func (n *Node) finishWrite(out *Output) {
	d := n.dur
	if out.HardStateChanged || out.InstallSnapshot != nil || len(out.Entries) > 0 {
		if len(d.pending) >= maxPendingWrites {
			n.broken("%d writes pending: the host does not complete them", len(d.pending))
		}
		d.writeSeq++
		out.Write = d.writeSeq
		d.pending = append(d.pending, pendingWrite{seq: d.writeSeq, hs: out.HardState, last: n.log.lastIndex()})
	}
	if len(d.after) == 0 {
		return
	}
	if len(d.pending) == 0 {
		n.msgs = append(n.msgs, d.after...)
	} else {
		for _, m := range d.after {
			d.held = append(d.held, heldMessage{seq: d.writeSeq, msg: m})
		}
	}
	clear(d.after)
	d.after = d.after[:0]
}

// handleDurable: the host reports writes up to seq durable. The node advances its durable
// markers, releases the responses that waited for them, counts its own vote or log, and
// applies what it now may.
func (n *Node) handleDurable(seq uint64) {
	d := n.dur
	if d == nil || seq > d.writeSeq {
		n.stats.Rejected++ // a write the node never made
		return
	}
	k := 0
	for ; k < len(d.pending) && d.pending[k].seq <= seq; k++ {
		d.durable, d.durableIndex = d.pending[k].hs, d.pending[k].last
	}
	d.pending = d.pending[:copy(d.pending, d.pending[k:])]
	k = 0
	for ; k < len(d.held) && d.held[k].seq <= seq; k++ {
		n.msgs = append(n.msgs, d.held[k].msg)
	}
	kept := copy(d.held, d.held[k:])
	clear(d.held[kept:]) // the vacated tail keeps no entry references
	d.held = d.held[:kept]
	switch n.role {
	case Candidate:
		if n.selfVote() && !n.votes[n.self] {
			n.votes[n.self] = true
			if n.wonElection() {
				n.becomeLeader(n.now)
			}
		}
	case Leader:
		n.maybeCommit()
	}
}

// checkDurability checks the asynchronous-storage state.
func (n *Node) checkDurability() {
	d := n.dur
	if d == nil {
		return
	}
	if d.durable.Term > n.term {
		n.broken("durable term %d above the current term %d", d.durable.Term, n.term)
	}
	for k := 1; k < len(d.pending); k++ {
		if d.pending[k].seq <= d.pending[k-1].seq {
			n.broken("pending writes out of order: %d after %d", d.pending[k].seq, d.pending[k-1].seq)
		}
	}
	if len(d.held) > 0 && len(d.pending) == 0 {
		n.broken("%d responses held with no write pending", len(d.held))
	}
}
