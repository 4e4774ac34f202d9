package node

import (
	"fmt"
	"math/bits"
	"time"
)

// resetElectionTimer draws a fresh election timeout, uniform in
// [electionTimeoutMin, electionTimeoutMax), from the node's own stream (§5.2: randomized
// timeouts make split votes rare).
func (n *Node) resetElectionTimer(now time.Duration) {
	span := uint64(n.electionTimeoutMax - n.electionTimeoutMin)
	// The high word of a 64x64-bit product is uniform in [0, span) up to a bias of
	// span/2^64, without a division.
	offset, _ := bits.Mul64((&n.rng).Uint64(), span)
	n.electionDeadline = now + n.electionTimeoutMin + time.Duration(offset)
	n.timerArmed = true
}

// becomeFollower makes the node a follower in term, believing in leader (None if
// unknown). Moving to a newer term clears the vote (§5.1: one vote per term).
func (n *Node) becomeFollower(now time.Duration, term Term, leader ID) {
	if term < n.term {
		panic(fmt.Sprintf("raft: invariant broken: term decreases: follower of term %d in term %d", term, n.term))
	}
	if term > n.term {
		n.term = term
		n.vote = None
	}
	n.role = Follower
	n.leader = leader
	n.resetElectionTimer(now)
}

// stepDown moves the node to a newer term it saw in a message, as a follower (§5.1).
//
// Unlike becomeFollower it keeps a follower's or candidate's election deadline: Figure 2
// restarts the election timer only on AppendEntries from the current leader or on granting
// a vote. That matters for liveness: a server rejoining from a partition with an inflated
// term must not postpone the elections of the servers that can actually win. If each of
// its (hopeless) RequestVotes restarted their timers, its own timeouts, drawn from the
// same range, would keep the cluster leaderless for as long as it kept losing. A leader has
// no election deadline running, so it arms one.
func (n *Node) stepDown(now time.Duration, term Term, leader ID) {
	if term <= n.term {
		panic(fmt.Sprintf("raft: invariant broken: step down to term %d from term %d", term, n.term))
	}
	wasLeader := n.role == Leader
	n.term, n.vote = term, None
	n.role, n.leader = Follower, leader
	if wasLeader {
		n.resetElectionTimer(now)
		n.abandonClients()
		n.abandonChange()
		if n.transferTarget != None {
			n.endTransfer()
			n.stats.TransfersCompleted++
		}
	}
}

// stepDownFromLeader makes a leader a follower of its own term, with no known leader
// (CheckQuorum found no active majority). It keeps its term and its vote.
func (n *Node) stepDownFromLeader(now time.Duration) {
	n.role, n.leader = Follower, None
	n.resetElectionTimer(now)
	n.abandonClients()
	n.abandonChange()
	if n.transferTarget != None {
		n.endTransfer()
		n.stats.TransfersAborted++
	}
}

// becomeCandidate starts an election (§5.2): a new term, a vote for itself, and a
// RequestVote to every other server. A single-voter cluster wins at once.
func (n *Node) becomeCandidate(now time.Duration, transfer bool) {
	n.term++
	n.vote = n.id
	n.role = Candidate
	n.leader = None
	n.stats.Elections++
	n.resetElectionTimer(now)
	clear(n.votes)
	n.votes[n.self] = n.selfVote() // on an asynchronous disk, once the vote is durable
	if n.wonElection() {
		n.becomeLeader(now)
		return
	}
	for i, p := range n.peers {
		if i == n.self || !(n.inNew[i] || n.inOld[i]) {
			continue
		}
		n.send(Message{Type: MsgVote, To: p, Term: n.term, Transfer: transfer,
			LastLogIndex: n.log.lastIndex(), LastLogTerm: n.log.lastTerm()})
	}
}

// wonElection reports whether a majority of the configuration in force (of each, while
// joint) has granted this candidate its vote.
func (n *Node) wonElection() bool { return n.majorityOf(n.votes) }

// becomeLeader takes office (§5.2, §5.3): nextIndex just past the log and matchIndex 0 for
// every peer, then a no-op entry of the new term (§8; it lets entries of earlier terms
// commit, §5.4.2), sent at once to everyone. nextIndex is set before the no-op is
// appended, so the first AppendEntries already carries it.
func (n *Node) becomeLeader(now time.Duration) {
	n.role = Leader
	n.leader = n.id
	last := n.log.lastIndex()
	for i := range n.peers {
		n.next[i] = last + 1
		n.match[i] = 0
		n.acked[i], n.ackedAt[i] = 0, 0
		n.snapProg[i] = snapProgress{}
	}
	n.round, n.leaderSince = 0, now
	n.endTransfer()
	n.waiters, n.reads = n.waiters[:0], n.reads[:0]
	n.termStart = n.appendLocal(EntryNoOp, "").Index
	n.broadcastAppend()
	n.heartbeatDue = now + n.heartbeatInterval
	n.maybeCommit() // a single voter commits on its own
}

// handleVote answers a RequestVote (§5.2, §5.4.1). The term has been brought up to date.
func (n *Node) handleVote(now time.Duration, m *Message) {
	if m.Term < n.term {
		// Stale candidate: the reply carries our term so that it steps down (§5.1).
		n.send(Message{Type: MsgVoteResp, To: m.From, Term: n.term})
		return
	}
	// One vote per term, first come first served; a repeated request from the candidate
	// we voted for is granted again (its first reply may have been lost).
	grant := (n.vote == None || n.vote == m.From) && n.log.upToDate(m.LastLogTerm, m.LastLogIndex)
	if grant {
		n.vote = m.From
		n.resetElectionTimer(now)
	}
	n.send(Message{Type: MsgVoteResp, To: m.From, Term: n.term, Success: grant})
}

// handleVoteResp counts a vote for this candidate. Responses of older terms, or arriving
// when the node is no longer a candidate, are stale and ignored.
func (n *Node) handleVoteResp(now time.Duration, m *Message) {
	if m.Term < n.term || n.role != Candidate || !m.Success {
		return
	}
	n.votes[n.peerPos(m.From)] = true
	if n.wonElection() {
		n.becomeLeader(now)
	}
}
