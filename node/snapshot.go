package node

import (
	"time"

	"raftsim/node/kv"
)

// This file is log compaction (§7, Figure 13). Each server snapshots its own state machine
// once it has applied SnapshotThreshold entries since its last snapshot; the host saves the
// snapshot in the background, and only when it is durable does the node discard the log
// prefix it covers. A leader whose log no longer holds the entries a follower needs sends
// its snapshot instead, in chunks, one at a time: the follower acknowledges the bytes it
// holds contiguously, so lost, duplicated or reordered chunks only cost a resend.

// maxSnapshotBytes bounds a snapshot a follower accepts from a leader, so that a faulty
// peer cannot make it buffer without limit.
const maxSnapshotBytes = 1 << 30

// snapProgress is a leader's transfer of its snapshot to one follower.
type snapProgress struct {
	active bool
	// snap is the snapshot being sent. A transfer keeps its snapshot to the end even when
	// the leader takes a newer one meanwhile: restarting from offset 0 at every new
	// snapshot never finishes when snapshots come faster than a transfer takes (swarm seed
	// 160: threshold 5, 16-byte chunks, 20% loss).
	snap   *Snapshot
	index  Index // snap.Index
	offset int   // bytes the follower has acknowledged
	// The chunk last sent and when: the same chunk is sent again at most once per
	// heartbeat interval, not with every broadcast (a busy leader broadcasts per write).
	sent   bool
	sentAt time.Duration
	sentOf int
}

// snapReceiver is a follower's partly received snapshot.
type snapReceiver struct {
	index Index
	term  Term
	buf   []byte
}

// cloneSnapshot returns a node-owned copy of a durable snapshot.
func cloneSnapshot(s Snapshot) *Snapshot {
	s.Config = cloneConfig(s.Config)
	return &s
}

// viewSnapshot is the snapshot for View: nil if there is none.
func (n *Node) viewSnapshot() *Snapshot {
	if n.snap.IsZero() {
		return nil
	}
	return n.snap
}

// maybeSnapshot takes a snapshot of the state machine when the threshold is reached and
// no other snapshot is being saved. The snapshot is of one consistent state, the store
// right after applying index applied; the node keeps serving while the host saves it.
func (n *Node) maybeSnapshot() *Snapshot {
	if n.snapshotThreshold == 0 || n.saving != nil || n.applied < n.snap.Index+n.snapshotThreshold {
		return nil
	}
	t, ok := n.log.term(n.applied)
	if !ok {
		n.broken("applied index %d not in log %d..%d", n.applied, n.log.snapIndex, n.log.lastIndex())
	}
	conf := n.configAt(n.applied)
	n.saving = &Snapshot{Index: n.applied, Term: t, Config: conf, Data: n.store.Encode()}
	return n.saving
}

// handleSnapshotSaved: the host made the snapshot at index durable (and dropped the log
// prefix from the disk); drop it from memory too. A save overtaken by a newer installed
// snapshot changes nothing.
func (n *Node) handleSnapshotSaved(index Index) {
	if n.saving == nil || n.saving.Index != index {
		n.stats.Rejected++ // the host confirms a save the node did not ask for
		return
	}
	s := n.saving
	n.saving = nil
	if s.Index <= n.snap.Index {
		return
	}
	n.snap = s
	n.compactConfigs(s.Index)
	n.log.compact(s.Index, s.Term)
}

// sendSnapshot sends peer i the next chunk of the leader's snapshot: the one at the
// offset the follower last acknowledged (so a lost chunk is sent again).
func (n *Node) sendSnapshot(i int) {
	p := &n.snapProg[i]
	if !p.active {
		*p = snapProgress{active: true, snap: n.snap, index: n.snap.Index}
	}
	if p.sent && p.sentOf == p.offset && n.now-p.sentAt < n.heartbeatInterval {
		return
	}
	p.sent, p.sentAt, p.sentOf = true, n.now, p.offset
	s := p.snap
	end := min(p.offset+n.snapshotChunkSize, len(s.Data))
	n.send(Message{Type: MsgSnap, To: n.peers[i], Term: n.term, Round: n.round, Snap: &SnapChunk{
		Index: s.Index, Term: s.Term, Config: s.Config,
		Offset: p.offset, Data: s.Data[p.offset:end], Done: end == len(s.Data)}})
}

// handleSnap is the InstallSnapshot receiver (Figure 13). The term has been brought up to
// date.
func (n *Node) handleSnap(now time.Duration, m *Message) {
	c := m.Snap
	ack := &SnapChunk{Index: c.Index, Term: c.Term}
	if m.Term < n.term {
		n.send(Message{Type: MsgSnapResp, To: m.From, Term: n.term, Snap: ack})
		return
	}
	if n.role == Leader || (n.leader != None && n.leader != m.From) {
		n.stats.Rejected++ // two leaders in one term: no correct server sends this
		return
	}
	n.becomeFollower(now, m.Term, m.From)
	n.leaderContact = now
	r := Message{Type: MsgSnapResp, To: m.From, Term: n.term, Round: m.Round, Snap: ack}
	if c.Index <= n.commit {
		// Older than what this server has committed: ignore it, and tell the leader how
		// far this log is known to match (committed entries match every later leader's).
		n.snapRecv = snapReceiver{}
		r.Success, r.MatchIndex = true, n.commit
		n.send(r)
		return
	}
	rv := &n.snapRecv
	if c.Offset == 0 && (rv.index != c.Index || rv.term != c.Term) {
		*rv = snapReceiver{index: c.Index, term: c.Term} // a new transfer starts
	}
	if rv.index == c.Index && rv.term == c.Term && c.Offset == len(rv.buf) {
		if len(rv.buf)+len(c.Data) > maxSnapshotBytes {
			n.stats.Rejected++
			n.snapRecv = snapReceiver{}
		} else {
			rv.buf = append(rv.buf, c.Data...)
			if c.Done {
				n.installSnapshot(c, &r)
				n.send(r)
				return
			}
		}
	}
	// A chunk out of order, a duplicate, or one of another transfer: say what is held.
	if rv.index == c.Index && rv.term == c.Term {
		ack.Offset = len(rv.buf)
	}
	n.send(r)
}

// installSnapshot installs the completely received snapshot: the log keeps its entries
// after the snapshot only if it holds the snapshot's last entry, and the state machine is
// reset from the snapshot (Figure 13).
func (n *Node) installSnapshot(c *SnapChunk, r *Message) {
	data := string(n.snapRecv.buf)
	n.snapRecv = snapReceiver{}
	store, err := kv.Restore(data)
	if err != nil {
		n.stats.Rejected++ // a leader sends only snapshots it made: this one is corrupt
		return
	}
	s := &Snapshot{Index: c.Index, Term: c.Term, Config: cloneConfig(c.Config), Data: data}
	if t, ok := n.log.term(s.Index); !ok || t != s.Term {
		n.clipDurable(s.Index + 1) // the log after the snapshot is discarded
	}
	n.log.restore(s.Index, s.Term)
	// The configuration: the snapshot's, then any configuration entries of the kept
	// suffix.
	kept := n.confs[:0:0]
	for _, ce := range n.confs {
		if ce.index > s.Index && ce.index <= n.log.lastIndex() {
			kept = append(kept, ce)
		}
	}
	n.confs, n.snapConf = kept, s.Config
	n.configFromLog()
	n.snap, n.installed, n.store = s, s, store
	n.commit, n.applied = s.Index, s.Index
	if n.saving != nil && n.saving.Index <= s.Index {
		n.saving = nil // overtaken: its InputSnapshotSaved will be ignored
	}
	r.Success, r.MatchIndex = true, s.Index
}

// handleSnapResp is the leader's side of InstallSnapshot: the next chunk, or, once the
// follower has the snapshot, ordinary replication from just after it.
func (n *Node) handleSnapResp(m *Message) {
	if m.Term < n.term || n.role != Leader {
		return
	}
	i := n.peerPos(m.From)
	if m.Round > n.round || m.MatchIndex > n.log.lastIndex() {
		n.stats.Rejected++
		return
	}
	n.recordAck(i, m.Round)
	p := &n.snapProg[i]
	if m.Success {
		*p = snapProgress{}
		n.match[i] = max(n.match[i], m.MatchIndex)
		n.next[i] = max(n.next[i], m.MatchIndex+1)
		n.maybeCommit()
		if n.next[i] <= n.log.lastIndex() {
			n.sendAppend(i)
		}
		return
	}
	c := m.Snap
	if !p.active || c.Index != p.index || c.Offset < 0 || c.Offset > len(p.snap.Data) {
		return // about a transfer the leader is no longer making
	}
	if c.Offset != p.offset {
		p.offset = c.Offset
		n.sendSnapshot(i)
	}
}
