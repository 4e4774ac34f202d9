package node

import "fmt"

// wellFormed reports whether m could have been sent to this node by a correct peer, as far
// as the message alone can tell: a known type, from a peer other than itself, to itself, a
// positive term (every sender has voted or been elected at least once) no larger than
// MaxTerm, index fields no larger than MaxIndex, and fields consistent with the type.
// Checks that need the node's state are made by the handlers.
func (n *Node) wellFormed(m *Message) bool {
	if !m.Type.Valid() || m.To != n.id || m.From <= None || m.From == n.id || m.Term == 0 || m.Term > MaxTerm {
		return false
	}
	if max(m.LastLogIndex, m.PrevLogIndex, m.LeaderCommit, m.MatchIndex, m.ConflictIndex) > MaxIndex {
		return false
	}
	if m.Snap != nil && m.Snap.Index > MaxIndex {
		return false
	}
	// Requests may come from servers outside this server's configuration (a leader adding
	// it, a removed server still campaigning); responses answer requests this server
	// sent, so they come from its peers.
	switch m.Type {
	case MsgVoteResp, MsgAppResp, MsgSnapResp, MsgPreVoteResp:
		if n.peerPos(m.From) < 0 {
			return false
		}
	}
	if m.Type != MsgApp && len(m.Entries) != 0 {
		return false
	}
	switch m.Type {
	case MsgVote, MsgPreVote:
		return validLogPosition(m.LastLogIndex, m.LastLogTerm, m.Term)
	case MsgApp:
		return validApp(m)
	case MsgAppResp:
		// A rejection must carry a hint: ConflictIndex >= 1, and a ConflictTerm the
		// follower could hold.
		return m.Success || (m.ConflictIndex >= 1 && m.ConflictTerm <= m.Term)
	case MsgSnap:
		s := m.Snap
		return s != nil && s.Index >= 1 && s.Term >= 1 && s.Term <= m.Term && s.Offset >= 0 &&
			s.Config.Validate() == nil && (len(s.Data) > 0 || s.Done)
	case MsgSnapResp:
		return m.Snap != nil && m.Snap.Offset >= 0 && m.Snap.Term <= m.Term
	}
	if m.Snap != nil {
		return false
	}
	return true
}

// validLogPosition reports whether (index, term) can name a log position of a server in
// term current: index 0 has term 0, and any entry has a term in [1, current].
func validLogPosition(index Index, term, current Term) bool {
	if index == 0 {
		return term == 0
	}
	return term >= 1 && term <= current
}

// validApp checks an AppendEntries: a valid previous position, and entries with
// consecutive indexes from PrevLogIndex+1, ending at most at MaxIndex, whose terms never
// decrease (starting from PrevLogTerm) nor exceed the message's term, of a known kind.
// PrevLogIndex is at most MaxIndex (wellFormed), so the index arithmetic cannot wrap.
func validApp(m *Message) bool {
	if !validLogPosition(m.PrevLogIndex, m.PrevLogTerm, m.Term) {
		return false
	}
	if uint64(len(m.Entries)) > uint64(MaxIndex-m.PrevLogIndex) {
		return false
	}
	prevTerm := max(m.PrevLogTerm, 1)
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Index != m.PrevLogIndex+Index(i)+1 {
			return false
		}
		if e.Term < prevTerm || e.Term > m.Term || !e.Kind.Valid() {
			return false
		}
		if e.Kind == EntryConfig {
			if _, err := DecodeConfiguration(e.Data); err != nil {
				return false
			}
		}
		prevTerm = e.Term
	}
	return true
}

// checkInvariants panics, naming the invariant, if the node's state is impossible. It runs
// at the end of every step and costs O(peers), never a scan of the log.
func (n *Node) checkInvariants() {
	n.checkDurability()
	last := n.log.lastIndex()
	switch {
	case n.commit > last:
		n.broken("commit index beyond last index: commit %d, last %d", n.commit, last)
	case n.applied > n.commit:
		n.broken("applied index beyond commit index: applied %d, commit %d", n.applied, n.commit)
	case n.commit < n.stepCommit:
		n.broken("commit index decreased: %d -> %d", n.stepCommit, n.commit)
	case n.term < n.stepHardState.Term:
		n.broken("term decreased: %d -> %d", n.stepHardState.Term, n.term)
	case n.term > MaxTerm:
		n.broken("term %d above MaxTerm", n.term)
	case n.term == n.stepHardState.Term && n.stepHardState.Vote != None && n.vote != n.stepHardState.Vote:
		n.broken("two votes in term %d: %d then %d", n.term, n.stepHardState.Vote, n.vote)
	case n.term == 0 && n.vote != None:
		n.broken("vote for %d in term 0", n.vote)
	case n.log.lastTerm() > n.term:
		n.broken("last log term %d above current term %d", n.log.lastTerm(), n.term)
	case len(n.log.entries) > 0 && n.log.entries[len(n.log.entries)-1].Index != last:
		n.broken("log indexes not consecutive: last entry %v, last index %d", n.log.entries[len(n.log.entries)-1], last)
	case n.log.snapIndex > n.applied || n.snap.Index != n.log.snapIndex:
		n.broken("snapshot at %d (log compacted to %d) beyond applied index %d", n.snap.Index, n.log.snapIndex, n.applied)
	case n.written != 0 && n.written > last:
		n.broken("written index %d beyond last index %d", n.written, last)
	case n.written != 0 && n.written <= n.stepCommit:
		n.broken("committed entry %d rewritten (commit index %d)", n.written, n.stepCommit)
	}
	if n.role != Leader && n.transferTarget != None {
		n.broken("%v transferring leadership to %d", n.role, n.transferTarget)
	}
	if n.role != Leader && len(n.waiters)+len(n.reads) > 0 {
		n.broken("%v holds %d waiting writes and %d waiting reads", n.role, len(n.waiters), len(n.reads))
	}
	if len(n.waiters)+len(n.reads) > n.maxPending {
		n.broken("%d pending client requests, limit %d", len(n.waiters)+len(n.reads), n.maxPending)
	}
	switch n.role {
	case Leader:
		n.checkLeader()
	case PreCandidate:
		if n.leader != None {
			n.broken("pre-candidate of term %d believes in leader %d", n.term, n.leader)
		}
	case Candidate:
		if n.vote != n.id || n.leader != None {
			n.broken("candidate of term %d with vote %d and leader %d", n.term, n.vote, n.leader)
		}
	}
}

// checkLeader checks the leader's own state and its per-peer progress.
func (n *Node) checkLeader() {
	last := n.log.lastIndex()
	if n.vote != n.id || n.leader != n.id {
		n.broken("leader of term %d with vote %d and leader %d", n.term, n.vote, n.leader)
	}
	if n.stepRole == Leader && n.written != 0 && n.written <= n.stepLast {
		n.broken("leader rewrote its log from %d, last index was %d (Leader Append-Only, §5.3)", n.written, n.stepLast)
	}
	if n.match[n.self] != n.selfMatch() {
		n.broken("leader's own match index %d is not its last (durable) index %d of %d", n.match[n.self], n.selfMatch(), last)
	}
	for i := range n.peers {
		if i == n.self {
			continue
		}
		if n.next[i] == 0 || n.next[i] > last+1 || n.match[i] >= n.next[i] {
			n.broken("progress of peer %d out of range: match %d, next %d, last %d", n.peers[i], n.match[i], n.next[i], last)
		}
	}
}

// broken panics with a message naming a broken invariant.
func (n *Node) broken(format string, args ...any) {
	panic(fmt.Sprintf("raft: invariant broken: node %d: ", n.id) + fmt.Sprintf(format, args...))
}
