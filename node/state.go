package node

import (
	"encoding/binary"
	"fmt"
	"time"
)

// This file fingerprints a node for the model checker (sim/explore): a compact, canonical
// binary encoding of everything in a node's state that can influence its future behaviour
// under abstract time, with server IDs optionally renamed for symmetry reduction. The
// explorer hashes the bytes; nothing here decodes them.
//
// Abstract time. The explorer lets any armed timer fire next, and a firing advances that
// node's local clock to the time it asked for (Output.WakeAt); messages are delivered
// without any clock moving. Under that model what a node does next never depends on
// absolute clock readings, nor on the value of its random election timeouts, only on a few
// facts relative to its own clock, which are encoded as ages, capped where further growth
// changes nothing (see appendAge):
//
//   - follower: whether it heard from its leader within ElectionTimeoutMin (PreVote and
//     CheckQuorum act on it). Under abstract time this is "no timer fired since": an
//     election deadline is always at least ElectionTimeoutMin after the last contact.
//   - leader, only with CheckQuorum or ReadLease (nothing else reads these): the age of
//     its leadership, of each follower's last acknowledged broadcast, and of the send time
//     of the broadcast rounds that can still be acknowledged, capped just above
//     ElectionTimeoutMax. The node reads a time of 0 there as "never", so a leader
//     elected while its clock still read 0 is told apart (see leaseAge); a search whose
//     clocks start above 0 never meets that case.
//   - leader: the age of a leadership transfer, capped at ElectionTimeoutMax (when it is
//     aborted), and of each snapshot chunk sent, capped at HeartbeatInterval (when it may
//     be sent again).
//
// Left out, because they cannot change behaviour under abstract time: the clock readings
// themselves (Node.now, electionDeadline, heartbeatDue, leaderContact, leaderSince,
// roundSentAt, ackedAt, transferSince, snapProgress.sentAt: only the ages above), and the
// election timer's random stream (rng): a timer fires at its deadline whatever it is, and a
// follower's deadline is never read except to fire. A leader's next heartbeat is always
// HeartbeatInterval after its clock under abstract time. Outside it (the simulator, where
// messages arrive at any clock reading, and wake-ups early or late) two states with equal
// fingerprints may behave differently; the fingerprint is meant for the explorer only.
//
// Counters are encoded as they are: a leader's broadcast round grows with every heartbeat,
// so each heartbeat makes a new state (the messages it sends do anyway). Rounds cannot be
// encoded relative to the current one, since messages in flight carry them absolute.

// stateVersion starts every AppendState encoding, so that a format change is visible.
const stateVersion = 1

// AppendState appends to b a canonical binary encoding of every part of n's state that can
// influence its future behaviour under abstract time (see above), and returns the extended
// slice. Two nodes of one search (the same configuration constants) that encode alike
// behave alike: given the same inputs, timers fired at the times they ask for, they give
// the same outputs (but for the absolute WakeAt) and again encode alike. It does not
// allocate when b has the capacity (except for configurations of more than 16 servers).
//
// Included: the server's ID; term, vote, role and leader; whether the election timer is
// armed; the log (snapshot index and term, then each entry's term, kind and data, its
// index being implied by its position; configuration entries decoded, renamed and
// re-encoded); commit and applied index; the state machine (kv.Store.AppendState); the
// snapshot's configuration, the configuration in force, the latest snapshot, the one being
// saved, and a follower's partly received snapshot; the membership change under way and
// its waiting requests; the writes and reads waiting for an answer; the leadership
// transfer; and per peer (every member and the server itself, ordered by renamed ID): a
// candidate's granted votes, and a leader's nextIndex, matchIndex, acknowledged round and
// snapshot transfer, with its term start and broadcast round. Leader and (pre-)candidate
// state is encoded only in those roles: it is reset before it is read again (becomeLeader,
// becomeCandidate, becomePreCandidate), and so is the leader's own slot (match, acked and their times are
// overwritten before each use; next and the snapshot progress are never read). The time
// facts are the ages listed in the file comment.
//
// Left out: absolute clock readings and the random stream (see above); the configuration
// constants, which are the same for every node of a search (timeouts, heartbeat interval,
// read mode, CheckQuorum, PreVote, limits, snapshot threshold and chunk size, the learner
// catch-up bound, the lease duration): a fingerprint compares nodes of one cluster
// configuration only; state derived from what is encoded (the peer list and its voter
// masks, from the configuration and the ID; the configuration entries list, from the log;
// the state machine's hash); the per-step scratch fields (Output under construction,
// step-start values) and the counters (Stats).
//
// Renaming. perm == nil is the identity. Otherwise perm[id] is the new name of server id:
// len(perm) must exceed every ID in the state, perm[0] must be 0 (None stays None), and
// perm must be a permutation of the IDs. Every ID is renamed (own ID, vote, leader, peers,
// transfer target, membership change, configurations in force, in the log and in
// snapshots) and every set of IDs and per-peer list is emitted in ascending order of the
// renamed IDs, so that AppendState(b, perm) of a server equals AppendState(b, nil) of the
// server named perm[id] in a cluster renamed by perm, in which that server got the renamed
// inputs. Client IDs are not server IDs and are not renamed; neither is the state machine.
// An ID outside perm panics.
func (n *Node) AppendState(b []byte, perm []ID) []byte {
	if n.dur != nil {
		// The model checker steps synchronous disks only (sim/host); the writes in flight
		// of an asynchronous one are not part of this encoding.
		n.broken("AppendState of a node on an asynchronous disk: %d writes pending are not encoded", len(n.dur.pending))
	}
	b = append(b, stateVersion)
	b = appendID(b, n.id, perm)
	b = binary.AppendUvarint(b, uint64(n.term))
	b = appendID(b, n.vote, perm)
	b = append(b, byte(n.role))
	b = appendID(b, n.leader, perm)
	contact := n.role != Leader && n.leader != None && n.now-n.leaderContact < n.electionTimeoutMin
	b = appendFlags(b, n.timerArmed, contact)
	b = binary.AppendUvarint(b, uint64(n.commit))
	b = binary.AppendUvarint(b, uint64(n.applied))
	b = n.appendLog(b, perm)
	b = n.store.AppendState(b)
	b = appendConfig(b, &n.snapConf, perm)
	b = appendConfig(b, &n.conf, perm)
	b = appendSnapshot(b, n.snap, perm)
	b = appendSnapshot(b, n.saving, perm)
	b = binary.AppendUvarint(b, uint64(n.snapRecv.index))
	b = binary.AppendUvarint(b, uint64(n.snapRecv.term))
	b = appendBytes(b, n.snapRecv.buf)
	b = n.appendClients(b, perm)
	if n.role == Leader {
		b = n.appendLeader(b)
	}
	return n.appendPeers(b, perm)
}

// appendLog appends the log after the snapshot: entry indexes follow from the snapshot
// index (an invariant checkInvariants and raftLog.append keep).
func (n *Node) appendLog(b []byte, perm []ID) []byte {
	b = binary.AppendUvarint(b, uint64(n.log.snapIndex))
	b = binary.AppendUvarint(b, uint64(n.log.snapTerm))
	b = binary.AppendUvarint(b, uint64(len(n.log.entries)))
	for i := range n.log.entries {
		b = appendEntryBody(b, &n.log.entries[i], perm)
	}
	return b
}

// appendClients appends the requests the node holds: the membership change and its
// waiters, the writes and reads waiting for an answer, and the leadership transfer. All
// are empty outside the leader role (checkInvariants, abandonClients, abandonChange).
func (n *Node) appendClients(b []byte, perm []ID) []byte {
	b = append(b, byte(n.change.op))
	b = appendID(b, n.change.server, perm)
	b = appendWaiters(b, n.change.waiters)
	b = appendWaiters(b, n.waiters)
	b = binary.AppendUvarint(b, uint64(len(n.reads)))
	for i := range n.reads {
		r := &n.reads[i]
		b = binary.AppendUvarint(b, uint64(r.client))
		b = binary.AppendUvarint(b, r.seq)
		b = appendString(b, r.key)
		b = binary.AppendUvarint(b, r.round)
		b = binary.AppendUvarint(b, uint64(r.readIndex))
		b = appendFlags(b, r.admin, false)
	}
	b = appendID(b, n.transferTarget, perm)
	b = appendFlags(b, n.timeoutNowSent, n.readMode == ReadLease && n.leaseRevoked == n.term)
	if n.transferTarget != None {
		b = appendAge(b, n.now, n.transferSince, n.electionTimeoutMax)
	}
	return b
}

func appendWaiters(b []byte, ws []waiter) []byte {
	b = binary.AppendUvarint(b, uint64(len(ws)))
	for _, w := range ws {
		b = binary.AppendUvarint(b, uint64(w.client))
		b = binary.AppendUvarint(b, w.seq)
	}
	return b
}

// leaseTimes reports whether a leader's acknowledgement times can influence it: only
// CheckQuorum (quorumActive) and lease reads (leaseValid) read them.
func (n *Node) leaseTimes() bool { return n.checkQuorum || n.readMode == ReadLease }

// leaseAgeLimit caps the ages a leader's lease and CheckQuorum compare: no comparison
// tells apart two ages above it (the widest window is ElectionTimeoutMax, compared with
// <=).
func (n *Node) leaseAgeLimit() time.Duration {
	return max(n.electionTimeoutMax, n.leaseDuration) + 1
}

// appendLeader appends the leader's term start and broadcast round and, when they can
// matter (leaseTimes), its clock facts: the age of its leadership, and the ages of the
// send times of the rounds a response can still date (recordAck: the last roundRing
// rounds of the term), newest first, run-length encoded.
func (n *Node) appendLeader(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(n.termStart))
	b = binary.AppendUvarint(b, n.round)
	if !n.leaseTimes() {
		return b
	}
	limit := n.leaseAgeLimit()
	zeroIsTime := n.leaderSince == 0
	b = appendFlags(b, zeroIsTime, false)
	if zeroIsTime {
		b = appendAge(b, n.now, 0, limit)
	}
	b = appendAge(b, n.now, n.leaderSince, limit)
	lo := uint64(1)
	if n.round >= roundRing {
		lo = n.round - roundRing + 1
	}
	// The run lengths add up to round-lo+1, which round determines: prefix-free.
	for hi := n.round; hi >= lo && hi > 0; {
		a, run := n.leaseAge(n.roundSentAt[hi%roundRing]), uint64(1)
		for hi-run >= lo && n.leaseAge(n.roundSentAt[(hi-run)%roundRing]) == a {
			run++
		}
		b = binary.AppendVarint(b, int64(a))
		b = binary.AppendUvarint(b, run)
		hi -= run
	}
	return b
}

// leaseAge is the capped age of t, an acknowledgement time (ackedAt) or a broadcast's send
// time (roundSentAt), in which 0 means "never". A leader elected at a clock reading above
// 0 sent every round of its term later than 0, and "never" then behaves exactly as an age
// past every window: it is encoded as the cap, whatever the clock. Only a leader elected
// at clock 0 (by a campaign input or a TimeoutNow before its clock first moved) may have
// sent a round at 0, which the node then takes for none: it really behaves unlike the same
// leader elected later (its lease starts only with a round sent after its clock moved).
// For it (appendLeader's flag, with the capped clock reading) 0 is an ordinary time. A
// search whose clocks start above 0 never meets the case.
func (n *Node) leaseAge(t time.Duration) time.Duration {
	limit := n.leaseAgeLimit()
	if t == 0 && n.leaderSince != 0 {
		return limit
	}
	return min(n.now-t, limit)
}

// appendPeers appends the per-peer state in ascending order of renamed ID: each peer's
// renamed ID, then a leader's progress for every other server, or a (pre-)candidate's
// votes.
func (n *Node) appendPeers(b []byte, perm []ID) []byte {
	var buf [maxInlineVoters]int
	order := n.peerOrder(buf[:0], perm)
	b = binary.AppendUvarint(b, uint64(len(order)))
	leader, lease := n.role == Leader, n.leaseTimes()
	for _, i := range order {
		b = appendID(b, n.peers[i], perm)
		switch {
		case leader && i != n.self:
			b = binary.AppendUvarint(b, uint64(n.next[i]))
			b = binary.AppendUvarint(b, uint64(n.match[i]))
			b = binary.AppendUvarint(b, n.acked[i])
			if lease {
				b = binary.AppendVarint(b, int64(n.leaseAge(n.ackedAt[i])))
			}
			b = n.appendSnapProgress(b, &n.snapProg[i], perm)
		case n.role == Candidate || n.role == PreCandidate:
			b = appendFlags(b, n.votes[i], false)
		}
	}
	return b
}

// peerOrder appends to order the positions in peers, ascending by renamed ID (peers is
// ascending, so with perm == nil that is 0, 1, 2...).
func (n *Node) peerOrder(order []int, perm []ID) []int {
	for i := range n.peers {
		order = append(order, i)
	}
	if perm == nil {
		return order
	}
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && rename(n.peers[order[j]], perm) < rename(n.peers[order[j-1]], perm); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return order
}

// appendSnapProgress appends a leader's snapshot transfer to one follower. The snapshot
// is usually the leader's latest (one byte); p.index is p.snap.Index.
func (n *Node) appendSnapProgress(b []byte, p *snapProgress, perm []ID) []byte {
	if !p.active {
		return append(b, 0)
	}
	if sameSnapshot(p.snap, n.snap) {
		b = append(b, 1)
	} else {
		b = append(b, 2)
		b = appendSnapshot(b, p.snap, perm)
	}
	b = binary.AppendVarint(b, int64(p.offset))
	b = appendFlags(b, p.sent, false)
	if p.sent {
		b = binary.AppendVarint(b, int64(p.sentOf))
		b = appendAge(b, n.now, p.sentAt, n.heartbeatInterval)
	}
	return b
}

// sameSnapshot reports whether a and b are the same snapshot value.
func sameSnapshot(a, b *Snapshot) bool {
	if a == b {
		return true
	}
	return a != nil && b != nil && a.Index == b.Index && a.Term == b.Term && a.Data == b.Data && a.Config.Equal(&b.Config)
}

// appendAge appends how long before now the clock read t, capped at limit: the node only
// compares such ages with thresholds up to limit, and under abstract time they only grow,
// so ages at or above limit behave alike forever. (A negative age, from a clock that went
// back, is kept exact.)
func appendAge(b []byte, now, t, limit time.Duration) []byte {
	return binary.AppendVarint(b, int64(min(now-t, limit)))
}

// AppendMessage appends to b a canonical binary encoding of every field of m, with server
// IDs renamed by perm (see Node.AppendState for the convention: From, To, the IDs of
// configuration entries and of a snapshot chunk's configuration), and returns the
// extended slice. Two messages encode alike exactly when their fields are equal (with the
// same perm). A configuration entry's data in Configuration.Encode's exact form is decoded
// and encoded as its renamed sets, which are re-sorted; other data (only a faulty peer
// sends it) is encoded raw, tagged apart, and not renamed; an ID list that is not strictly
// ascending is kept in its order, also tagged apart. So m renamed by perm encodes as the
// message a renamed cluster sends. It does not allocate when b has the capacity.
func AppendMessage(b []byte, m *Message, perm []ID) []byte {
	b = append(b, byte(m.Type))
	b = appendID(b, m.From, perm)
	b = appendID(b, m.To, perm)
	for _, v := range [...]uint64{uint64(m.Term), uint64(m.LastLogIndex), uint64(m.LastLogTerm),
		uint64(m.PrevLogIndex), uint64(m.PrevLogTerm), uint64(m.LeaderCommit), m.Round,
		uint64(m.MatchIndex), uint64(m.ConflictTerm), uint64(m.ConflictIndex)} {
		b = binary.AppendUvarint(b, v)
	}
	b = appendFlags(b, m.Transfer, m.Success)
	b = appendEntries(b, m.Entries, perm)
	if s := m.Snap; s == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(s.Index))
		b = binary.AppendUvarint(b, uint64(s.Term))
		b = appendConfig(b, &s.Config, perm)
		b = binary.AppendVarint(b, int64(s.Offset))
		b = appendString(b, s.Data)
		b = appendFlags(b, s.Done, false)
	}
	return b
}

// AppendReply appends to b a canonical binary encoding of every field of r, the leader
// hint renamed by perm (see Node.AppendState), and returns the extended slice.
func AppendReply(b []byte, r *Reply, perm []ID) []byte {
	b = binary.AppendUvarint(b, uint64(r.Client))
	b = binary.AppendUvarint(b, r.Seq)
	b = append(b, byte(r.Status))
	b = appendString(b, r.Value)
	return appendID(b, r.Leader, perm)
}

// AppendInput appends to b a canonical binary encoding of every field of in (the message
// as AppendMessage encodes it), server IDs renamed by perm (see Node.AppendState: the
// message's, Target, Admin.Server), and returns the extended slice. The explorer uses it
// for inputs it holds back, such as client and operator requests.
func AppendInput(b []byte, in *Input, perm []ID) []byte {
	b = append(b, byte(in.Kind))
	b = AppendMessage(b, &in.Message, perm)
	b = appendString(b, in.Data)
	q := &in.Request
	b = binary.AppendUvarint(b, uint64(q.Client))
	b = binary.AppendUvarint(b, q.Seq)
	b = append(b, byte(q.Op))
	b = appendString(b, q.Key)
	b = appendString(b, q.Value)
	b = binary.AppendUvarint(b, uint64(in.Index))
	b = appendID(b, in.Target, perm)
	a := &in.Admin
	b = binary.AppendUvarint(b, uint64(a.Client))
	b = binary.AppendUvarint(b, a.Seq)
	b = append(b, byte(a.Op))
	b = appendID(b, a.Server, perm)
	return binary.AppendUvarint(b, in.Write)
}

// AppendDurableState appends to b a canonical binary encoding of d (a host's disk: the
// hard state, the snapshot, the log with each entry's index), server IDs renamed by perm
// as in Node.AppendState, and returns the extended slice.
func AppendDurableState(b []byte, d *DurableState, perm []ID) []byte {
	b = binary.AppendUvarint(b, uint64(d.HardState.Term))
	b = appendID(b, d.HardState.Vote, perm)
	b = appendSnapshot(b, &d.Snapshot, perm)
	return appendEntries(b, d.Log, perm)
}

// appendEntries appends entries with their indexes (in a message or on a disk they are
// not implied by a position).
func appendEntries(b []byte, es []Entry, perm []ID) []byte {
	b = binary.AppendUvarint(b, uint64(len(es)))
	for i := range es {
		b = binary.AppendUvarint(b, uint64(es[i].Index))
		b = appendEntryBody(b, &es[i], perm)
	}
	return b
}

// appendEntryBody appends an entry's term, kind and data; a configuration entry's data
// as its renamed configuration.
func appendEntryBody(b []byte, e *Entry, perm []ID) []byte {
	b = binary.AppendUvarint(b, uint64(e.Term))
	b = append(b, byte(e.Kind))
	if e.Kind == EntryConfig {
		return appendConfigData(b, e.Data, perm)
	}
	return appendString(b, e.Data)
}

// appendSnapshot appends a snapshot (nil encodes apart from every snapshot).
func appendSnapshot(b []byte, s *Snapshot, perm []ID) []byte {
	if s == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(s.Index))
	b = binary.AppendUvarint(b, uint64(s.Term))
	b = appendConfig(b, &s.Config, perm)
	return appendString(b, s.Data)
}

// appendConfig appends a configuration's three sets, renamed.
func appendConfig(b []byte, c *Configuration, perm []ID) []byte {
	b = appendIDSet(b, c.Voters, perm)
	b = appendIDSet(b, c.Outgoing, perm)
	return appendIDSet(b, c.Learners, perm)
}

// appendIDSet appends a set of IDs, renamed and in ascending order. A list that is not
// strictly ascending (an invalid configuration, which only a faulty peer sends) is not a
// set: it is flagged (the count's low bit) and kept in its order, so that it encodes apart
// from every other list.
func appendIDSet(b []byte, ids []ID, perm []ID) []byte {
	start := len(b)
	b = binary.AppendUvarint(b, uint64(len(ids))<<1)
	ascending := true
	if perm == nil {
		for i, id := range ids {
			ascending = ascending && (i == 0 || ids[i-1] < id)
			b = binary.AppendVarint(b, int64(id))
		}
		if !ascending {
			b[start] |= 1 // the first byte of a uvarint holds its low bits
		}
		return b
	}
	for i := 1; i < len(ids); i++ {
		ascending = ascending && ids[i-1] < ids[i]
	}
	if !ascending {
		b[start] |= 1
		for _, id := range ids {
			b = appendID(b, id, perm)
		}
		return b
	}
	var buf [maxInlineVoters]ID
	s := buf[:0]
	for _, id := range ids {
		s = append(s, rename(id, perm))
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	for _, id := range s {
		b = binary.AppendVarint(b, int64(id))
	}
	return b
}

// appendConfigData appends the data of a configuration entry: tag 1 and its renamed sets
// if it is in Configuration.Encode's exact form ("v 1 2 3|o|l 4", sets strictly
// ascending), which is then the configuration's only spelling; else tag 0 and the raw
// bytes.
func appendConfigData(b []byte, data string, perm []ID) []byte {
	start := len(b)
	b = append(b, 1)
	rest := data
	for k := range 3 {
		if k > 0 {
			if rest == "" || rest[0] != '|' {
				return appendString(append(b[:start], 0), data)
			}
			rest = rest[1:]
		}
		if rest == "" || rest[0] != "vol"[k] {
			return appendString(append(b[:start], 0), data)
		}
		var buf [maxInlineVoters]ID
		ids, ok := buf[:0], true
		for rest = rest[1:]; ok && rest != "" && rest[0] == ' '; {
			var id ID
			id, rest, ok = parseID(rest[1:])
			ok = ok && (len(ids) == 0 || ids[len(ids)-1] < id)
			ids = append(ids, id)
		}
		if !ok {
			return appendString(append(b[:start], 0), data)
		}
		b = appendIDSet(b, ids, perm)
	}
	if rest != "" {
		return appendString(append(b[:start], 0), data)
	}
	return b
}

// parseID reads a positive decimal ID without leading zeros (strconv.Itoa's form) from
// the start of s, up to the next ' ', '|' or the end.
func parseID(s string) (ID, string, bool) {
	k := 0
	var v int64
	for ; k < len(s) && s[k] >= '0' && s[k] <= '9'; k++ {
		if k == 0 && s[k] == '0' || v > (1<<62)/10 {
			return 0, s, false
		}
		v = v*10 + int64(s[k]-'0')
	}
	if k == 0 || (k < len(s) && s[k] != ' ' && s[k] != '|') {
		return 0, s, false
	}
	return ID(v), s[k:], true
}

// rename is perm's name for id (see Node.AppendState).
func rename(id ID, perm []ID) ID {
	if perm == nil {
		return id // None included: perm[0] is 0
	}
	if uint(id) >= uint(len(perm)) {
		outsidePerm(id, perm)
	}
	return perm[id]
}

// outsidePerm panics: apart from rename so that rename is inlined.
func outsidePerm(id ID, perm []ID) {
	panic(fmt.Sprintf("node: AppendState: server %d outside perm (len %d)", id, len(perm)))
}

// appendID appends a renamed server ID (zigzag, so that a negative ID from a faulty peer
// is exact too).
func appendID(b []byte, id ID, perm []ID) []byte {
	if perm != nil {
		id = rename(id, perm)
	}
	return binary.AppendVarint(b, int64(id))
}

func appendFlags(b []byte, x, y bool) []byte {
	var f byte
	if x {
		f |= 1
	}
	if y {
		f |= 2
	}
	return append(b, f)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
