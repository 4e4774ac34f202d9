package node

import (
	"fmt"
	"time"
)

// handlePropose appends a client command if this node is the leader and sends it at once
// (§5.3). Any other node refuses with the leader it believes in, which is not an error.
func (n *Node) handlePropose(data string) {
	if n.role != Leader || n.transferTarget != None {
		n.proposal = Proposal{Leader: n.leader}
		return
	}
	e := n.appendLocal(EntryNormal, data)
	n.proposal = Proposal{Accepted: true, Index: e.Index, Term: e.Term, Leader: n.id}
	n.broadcastAppend()
	n.maybeCommit() // a single voter commits on its own
}

// appendLocal appends a new entry of the current term to the leader's log.
func (n *Node) appendLocal(kind EntryKind, data string) Entry {
	e := Entry{Index: n.log.lastIndex() + 1, Term: n.term, Kind: kind, Data: data}
	n.log.append(e)
	n.noteWritten(e.Index)
	if kind == EntryConfig {
		n.noteConfigEntries([]Entry{e})
	}
	n.match[n.self] = n.selfMatch()
	return e
}

// broadcastAppend sends an AppendEntries to every other server, as a new broadcast round
// (see Message.Round).
func (n *Node) broadcastAppend() {
	n.round++
	n.roundSentAt[n.round%roundRing] = n.now
	for i := range n.peers {
		if i != n.self {
			n.sendAppend(i)
		}
	}
}

// sendAppend sends peer i an AppendEntries with the entries from its nextIndex, at most
// maxEntriesPerMessage of them (none: a heartbeat). Replication is pipelined: nextIndex
// moves past what was sent without waiting for the reply; a rejection moves it back.
func (n *Node) sendAppend(i int) {
	next := n.next[i]
	if next-1 < n.log.snapIndex {
		n.sendSnapshot(i) // the entries this follower needs are compacted away (§7)
		return
	}
	prevTerm, ok := n.log.term(next - 1)
	if !ok {
		panic(fmt.Sprintf("raft: invariant broken: nextIndex %d of peer %d beyond last index %d", next, n.peers[i], n.log.lastIndex()))
	}
	hi := min(n.log.lastIndex()+1, next+Index(n.maxEntriesPerMessage))
	n.send(Message{Type: MsgApp, To: n.peers[i], Term: n.term,
		PrevLogIndex: next - 1, PrevLogTerm: prevTerm,
		Entries: n.log.slice(next, hi), LeaderCommit: n.commit, Round: n.round})
	n.next[i] = hi
}

// handleApp is the AppendEntries receiver (Figure 2). The term has been brought up to date.
func (n *Node) handleApp(now time.Duration, m *Message) {
	if m.Term < n.term {
		// Stale leader: the reply carries our term so that it steps down (§5.1).
		n.send(Message{Type: MsgAppResp, To: m.From, Term: n.term, ConflictIndex: n.log.lastIndex() + 1})
		return
	}
	if n.role == Leader || (n.leader != None && n.leader != m.From) {
		// Two leaders in one term: no correct server sends this (Election Safety, §5.2).
		n.stats.Rejected++
		return
	}
	// A candidate that hears from the leader of its own term steps down (§5.2); a
	// follower learns who leads and restarts its election timer.
	n.becomeFollower(now, m.Term, m.From)
	n.leaderContact = now
	if m.PrevLogIndex < n.log.snapIndex {
		n.skipCompacted(m)
	}
	if t, ok := n.log.term(m.PrevLogIndex); !ok || t != m.PrevLogTerm {
		n.rejectApp(m, t, ok)
		return
	}
	if !n.appendFromLeader(m) {
		n.stats.Rejected++
		return
	}
	last := m.PrevLogIndex + Index(len(m.Entries))
	// Commit only what this message proved to match the leader's log (Figure 2).
	if c := min(m.LeaderCommit, last); c > n.commit {
		n.commit = c
	}
	n.send(Message{Type: MsgAppResp, To: m.From, Term: n.term, Success: true, MatchIndex: last, Round: m.Round})
}

// skipCompacted drops from an AppendEntries the entries at or below this follower's
// snapshot: they are committed (a snapshot covers only applied entries), so they match the
// leader's (Leader Completeness), and the message continues from the snapshot's last
// entry. m is the handler's own copy.
func (n *Node) skipCompacted(m *Message) {
	skip := min(int(n.log.snapIndex-m.PrevLogIndex), len(m.Entries))
	m.Entries = m.Entries[skip:]
	m.PrevLogIndex, m.PrevLogTerm = n.log.snapIndex, n.log.snapTerm
}

// rejectApp answers an AppendEntries whose consistency check failed (§5.3) with the hint
// for fast backtracking: the term at PrevLogIndex and the first index of that term, or
// (term 0) the index just past a log that is too short.
func (n *Node) rejectApp(m *Message, prevTerm Term, ok bool) {
	r := Message{Type: MsgAppResp, To: m.From, Term: n.term, Round: m.Round}
	if !ok {
		r.ConflictIndex = n.log.lastIndex() + 1
	} else {
		r.ConflictTerm = prevTerm
		r.ConflictIndex = n.log.firstIndexOfTerm(prevTerm, m.PrevLogIndex)
	}
	n.send(r)
}

// appendFromLeader merges the entries of an AppendEntries whose consistency check passed
// (§5.3). Entries already present with the same term are kept: a stale or duplicated
// message must never remove entries that match. Only at the first real conflict (same
// index, different term) is the log truncated, and then the rest appended. It refuses,
// changing nothing, a message that would truncate a committed entry.
func (n *Node) appendFromLeader(m *Message) bool {
	k := 0
	for ; k < len(m.Entries); k++ {
		t, ok := n.log.term(m.Entries[k].Index)
		if !ok {
			break
		}
		if t != m.Entries[k].Term {
			if m.Entries[k].Index <= n.commit {
				return false // the leader lacks a committed entry: Leader Completeness (§5.4)
			}
			n.truncateLog(m.Entries[k].Index)
			break
		}
	}
	if k < len(m.Entries) {
		n.log.append(m.Entries[k:]...)
		n.noteWritten(m.Entries[k].Index)
		n.noteConfigEntries(m.Entries[k:])
	}
	return true
}

// truncateLog drops the follower's entries from index from on (see raftLog's rule).
func (n *Node) truncateLog(from Index) {
	if n.role == Leader {
		panic(fmt.Sprintf("raft: invariant broken: leader truncates its own log at %d (Leader Append-Only, §5.3)", from))
	}
	if from <= n.commit {
		panic(fmt.Sprintf("raft: invariant broken: truncating committed entry %d (commit index %d)", from, n.commit))
	}
	n.log.truncate(from)
	n.clipDurable(from)
	n.noteWritten(from)
	n.forgetConfigsFrom(from)
}

// handleAppResp is the leader's side of AppendEntries (§5.3). Responses of older terms, or
// arriving when the node is no longer leader, are stale and ignored.
func (n *Node) handleAppResp(m *Message) {
	if m.Term < n.term || n.role != Leader {
		return
	}
	i := n.peerPos(m.From)
	if m.Round > n.round {
		n.stats.Rejected++ // acknowledges a broadcast the leader never sent
		return
	}
	n.recordAck(i, m.Round)
	if !m.Success {
		n.handleAppReject(i, m)
		return
	}
	if m.MatchIndex > n.log.lastIndex() {
		n.stats.Rejected++ // the follower claims entries the leader never had
		return
	}
	// Responses may arrive out of order or twice: progress only moves forward.
	n.match[i] = max(n.match[i], m.MatchIndex)
	n.next[i] = max(n.next[i], m.MatchIndex+1)
	n.maybeCommit()
	if n.next[i] <= n.log.lastIndex() {
		n.sendAppend(i) // entries the previous message had no room for
	}
	n.maybeSendTimeoutNow(i)
}

// handleAppReject moves peer i's nextIndex back using the follower's conflict hint (the
// optimisation at the end of §5.3): if the leader has entries of ConflictTerm it resumes
// just past its last one, else at ConflictIndex. A hint that would not move nextIndex back,
// or would move it to or below matchIndex, answers a request the leader has moved past,
// and is ignored.
func (n *Node) handleAppReject(i int, m *Message) {
	next := m.ConflictIndex
	if m.ConflictTerm != 0 {
		if last, ok := n.log.lastIndexOfTerm(m.ConflictTerm); ok {
			next = last + 1
		}
	}
	next = min(max(next, 1), n.log.lastIndex()+1)
	if next <= n.match[i] || next >= n.next[i] {
		return
	}
	n.next[i] = next
	n.sendAppend(i)
}

// maybeCommit advances the leader's commit index (§5.4.2, Figure 8): to the largest N
// held by a majority, counting the leader itself at its last index (the host makes the
// leader's entries durable before sending them; on an asynchronous disk, at its durable
// index, selfMatch), but only if log[N] is of the current
// term. Entries of earlier terms are never committed by counting replicas; they commit
// with the first entry of the current term. Checking N alone suffices: terms never
// decrease along the log, so no smaller index can be of the current term either.
func (n *Node) maybeCommit() {
	n.match[n.self] = n.selfMatch()
	q := quorumOver(n, n.match)
	if q <= n.commit {
		return
	}
	if t, _ := n.log.term(q); t == n.term {
		n.commit = q
	}
}
