package node

import "time"

// This file is PreVote (thesis §9.6) and leadership transfer (thesis §3.10).

// startElection is what a follower or candidate does when its election timer fires: a
// pre-vote round first if PreVote is on, else a real election.
func (n *Node) startElection(now time.Duration) {
	if !n.canCampaign() {
		// A learner, or a server not (or no longer) in the configuration it knows,
		// never campaigns; it waits to hear from a leader. Nor does a server in term
		// MaxTerm: its election would need a term past the bound.
		n.resetElectionTimer(now)
		return
	}
	if n.preVote {
		n.becomePreCandidate(now)
		return
	}
	n.becomeCandidate(now, false)
}

// canCampaign reports whether this server may start an election: it votes, and a new
// term stays within MaxTerm.
func (n *Node) canCampaign() bool { return n.isVoter() && n.term < MaxTerm }

// becomePreCandidate asks the voters whether they would vote for this server in the next
// term, without raising its own term or anyone else's: if it cannot win (it is cut off,
// or its log is behind), it never disturbs the cluster with a higher term.
func (n *Node) becomePreCandidate(now time.Duration) {
	n.role, n.leader = PreCandidate, None
	n.stats.PreVotes++
	n.resetElectionTimer(now)
	clear(n.votes)
	n.votes[n.self] = true
	if n.wonElection() {
		n.becomeCandidate(now, false)
		return
	}
	for i, p := range n.peers {
		if i != n.self && (n.inNew[i] || n.inOld[i]) {
			n.send(Message{Type: MsgPreVote, To: p, Term: n.term + 1,
				LastLogIndex: n.log.lastIndex(), LastLogTerm: n.log.lastTerm()})
		}
	}
}

// heardFromLeader reports whether this server believes a live leader exists: it is the
// leader, or it heard from one within electionTimeoutMin.
func (n *Node) heardFromLeader() bool {
	return n.role == Leader || (n.leader != None && n.now-n.leaderContact < n.electionTimeoutMin)
}

// handlePreVote answers a pre-vote: granted only for a newer term, to a log at least as
// up-to-date as this one (§5.4.1), and only if this server has not heard from a leader
// within the minimum election timeout. Neither its term nor its vote changes.
func (n *Node) handlePreVote(now time.Duration, m *Message) {
	grant := m.Term > n.term && !n.heardFromLeader() && n.log.upToDate(m.LastLogTerm, m.LastLogIndex)
	r := Message{Type: MsgPreVoteResp, To: m.From, Term: n.term, Success: grant}
	if grant {
		r.Term = m.Term
	}
	n.send(r)
}

// handlePreVoteResp counts a pre-vote; with a majority the pre-candidate starts the real
// election.
func (n *Node) handlePreVoteResp(now time.Duration, m *Message) {
	if n.role != PreCandidate || !m.Success || m.Term != n.term+1 {
		return
	}
	n.votes[n.peerPos(m.From)] = true
	if n.wonElection() {
		n.becomeCandidate(now, false)
	}
}

// handleTransfer starts handing leadership to target: the leader stops taking new writes,
// brings the target's log up to date, then tells it to campaign at once. A transfer that
// has not completed within an election timeout is aborted (checkTransferTimeout).
func (n *Node) handleTransfer(now time.Duration, target ID) {
	if n.role != Leader || target == n.id || !n.conf.IsVoter(target) {
		n.stats.Rejected++
		return
	}
	if n.transferTarget == target {
		return // already under way
	}
	n.transferTarget, n.transferSince, n.timeoutNowSent = target, now, false
	n.stats.TransfersStarted++
	n.maybeSendTimeoutNow(n.peerPos(target))
}

// maybeSendTimeoutNow tells the transfer target to campaign once its log matches the
// leader's; until then it replicates to it.
func (n *Node) maybeSendTimeoutNow(i int) {
	if n.transferTarget == None || n.peers[i] != n.transferTarget || n.timeoutNowSent {
		return
	}
	if n.match[i] < n.log.lastIndex() {
		n.sendAppend(i)
		return
	}
	n.timeoutNowSent = true
	n.leaseRevoked = n.term // the target's votes now bypass the followers' leases (leaseValid)
	n.send(Message{Type: MsgTimeoutNow, To: n.transferTarget, Term: n.term})
}

// checkTransferTimeout aborts a transfer that has not completed within an election
// timeout: the leader serves again (thesis §3.10).
func (n *Node) checkTransferTimeout(now time.Duration) {
	if n.transferTarget != None && now-n.transferSince >= n.electionTimeoutMax {
		n.endTransfer()
		n.stats.TransfersAborted++
	}
}

func (n *Node) endTransfer() { n.transferTarget, n.timeoutNowSent = None, false }

// resendTimeoutNow sends TimeoutNow again with every heartbeat of a transfer: the first
// may have been lost, and a target that already campaigns ignores it (its term is newer).
func (n *Node) resendTimeoutNow() {
	if n.transferTarget != None && n.timeoutNowSent {
		n.timeoutNowSent = false
		n.maybeSendTimeoutNow(n.peerPos(n.transferTarget))
	}
}

// handleTimeoutNow: the leader of this term hands over leadership: campaign now, skipping
// PreVote, and mark the vote requests as a transfer so that voters answer them even while
// they still hear from the old leader.
func (n *Node) handleTimeoutNow(now time.Duration, m *Message) {
	if m.Term != n.term || n.role == Leader || !n.canCampaign() {
		return
	}
	n.becomeCandidate(now, true)
}
