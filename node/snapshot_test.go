package node

import (
	"testing"

	"pgregory.net/rapid"

	"raftsim/node/kv"
)

// snapshotConfig turns snapshots on with a small threshold and chunk size.
func snapshotConfig(threshold, chunk int) func(*Config) {
	return func(cfg *Config) { cfg.SnapshotThreshold, cfg.SnapshotChunkSize = threshold, chunk }
}

// writeN makes the leader of c commit n appends from client 9, delivering everything.
func writeN(c *cluster, l ID, first, n int) {
	for k := first; k < first+n; k++ {
		c.step(l, request(9, uint64(k), kv.OpAppend, "x", string(rune('a'+k%26))))
		c.deliverAll()
	}
}

// §7: a server snapshots on its own once it has applied SnapshotThreshold entries since its
// last snapshot; the log keeps its entries until the host says the snapshot is durable, and
// then really releases the prefix (the retained suffix is a fresh array).
func TestSnapshotTakenAtThreshold_7(t *testing.T) {
	c, l := committedCluster(t, snapshotConfig(5, 0))
	writeN(c, l, 1, 12)
	n := c.node(l)
	v := n.View()
	if v.SnapshotIndex < 5 || v.Snapshot.Index != v.SnapshotIndex || v.Snapshot.Term == 0 {
		t.Fatalf("leader snapshot at %d (view snapshot %+v), want one at or after index 5", v.SnapshotIndex, v.Snapshot.Index)
	}
	if got := n.log.lastIndex() - n.log.snapIndex; got > 12 {
		t.Fatalf("leader retains %d entries after compacting", got)
	}
	restored, err := kv.Restore(v.Snapshot.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(restored.Get("x")) != int(v.Snapshot.Index)-1 { // every entry but the no-op appended one letter
		t.Fatalf("snapshot at %d holds x = %q", v.Snapshot.Index, restored.Get("x"))
	}
	for _, node := range c.nodes {
		if node.snap.Index == 0 {
			t.Fatalf("server %d took no snapshot", node.id)
		}
	}
}

// §7, Figure 13: a follower whose next entries the leader has compacted away catches up
// through InstallSnapshot, in chunks, then ordinary replication; its state equals the
// leader's.
func TestInstallSnapshotToLaggingFollower_7(t *testing.T) {
	c, l := committedCluster(t, snapshotConfig(5, 16))
	lag := ID(1)
	if lag == l {
		lag = 2
	}
	c.drop = func(m Message) bool { return m.To == lag || m.From == lag }
	writeN(c, l, 1, 20)
	if c.node(l).log.snapIndex < 10 {
		t.Fatalf("leader compacted only to %d", c.node(l).log.snapIndex)
	}
	chunks := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			chunks++
		}
		return false
	}
	writeN(c, l, 21, 3)
	c.run(100, func() bool { return c.node(lag).applied == c.node(l).applied })
	if chunks < 2 {
		t.Fatalf("%d snapshot chunks sent, want several (16-byte chunks)", chunks)
	}
	if a, b := c.node(lag).store.Hash(), c.node(l).store.Hash(); a != b {
		t.Fatalf("follower state %#x differs from leader state %#x", a, b)
	}
	c.checkSafety()
}

// snapFollower is server 2 of 3 with durable state d, for hand-fed InstallSnapshots.
func snapFollower(t *testing.T, d DurableState) *Node {
	n := mustNew(t, testConfig(2, 3, 1), d)
	n.Step(0, Input{Kind: InputWake})
	return n
}

// snapMsg is a one-chunk InstallSnapshot from leader 1 of term 5.
func snapMsg(index Index, term Term, data string) Message {
	return Message{Type: MsgSnap, From: 1, To: 2, Term: 5, Snap: &SnapChunk{Index: index, Term: term,
		Config: Configuration{Voters: []ID{1, 2, 3}}, Data: data, Done: true}}
}

// storeWith returns an encoded store with x = v.
func storeWith(v string) string {
	s := kv.NewStore()
	s.Apply(kv.Command{Client: 1, Seq: 1, Op: kv.OpPut, Key: "x", Value: v})
	return s.Encode()
}

// Figure 13: a follower keeps the entries after the snapshot when it holds the snapshot's
// last entry, discards its whole log otherwise, and ignores a snapshot older than what it
// has committed; the state machine is reset from the snapshot.
func TestInstallSnapshotRules_Figure13(t *testing.T) {
	d := DurableState{HardState: HardState{Term: 3}, Log: logOf(1, 2, 2, 3)}
	t.Run("matching entry: suffix kept", func(t *testing.T) {
		n := snapFollower(t, d)
		out := deliver(n, 1, snapMsg(2, 2, storeWith("s")))
		if out.InstallSnapshot == nil || n.log.snapIndex != 2 || n.log.lastIndex() != 4 || n.store.Get("x") != "s" {
			t.Fatalf("log %d..%d, x=%q, install %v", n.log.snapIndex, n.log.lastIndex(), n.store.Get("x"), out.InstallSnapshot)
		}
		if n.commit != 2 || n.applied != 2 {
			t.Fatalf("commit %d applied %d, want both at the snapshot", n.commit, n.applied)
		}
	})
	t.Run("conflicting entry: log discarded", func(t *testing.T) {
		n := snapFollower(t, d)
		deliver(n, 1, snapMsg(3, 3, storeWith("s")))
		if n.log.snapIndex != 3 || n.log.lastIndex() != 3 {
			t.Fatalf("log %d..%d, want empty after the snapshot at 3", n.log.snapIndex, n.log.lastIndex())
		}
	})
	t.Run("older than commit: ignored", func(t *testing.T) {
		n := snapFollower(t, d)
		n.commit = 3 // as if the leader had told it
		out := deliver(n, 1, snapMsg(2, 2, storeWith("s")))
		r := only(t, out, MsgSnapResp)
		if out.InstallSnapshot != nil || n.log.snapIndex != 0 || !r.Success || r.MatchIndex != 3 {
			t.Fatalf("install %v, log from %d, reply %v: want it ignored with match 3", out.InstallSnapshot, n.log.snapIndex, r)
		}
	})
}

// Figure 13 with a faulty network: chunks arriving out of order or twice are not taken;
// the follower says how many bytes it holds, and the transfer completes.
func TestInstallSnapshotChunksOutOfOrder_Figure13(t *testing.T) {
	n := snapFollower(t, DurableState{HardState: HardState{Term: 3}})
	data := storeWith("chunked")
	chunk := func(off, end int) Message {
		m := snapMsg(7, 3, data[off:end])
		m.Snap.Offset, m.Snap.Done = off, end == len(data)
		return m
	}
	third := len(data) / 3
	if r := only(t, deliver(n, 1, chunk(third, 2*third)), MsgSnapResp); r.Snap.Offset != 0 || r.Success {
		t.Fatalf("chunk before the first: reply %v, want offset 0", r)
	}
	deliver(n, 1, chunk(0, third))
	if r := only(t, deliver(n, 1, chunk(0, third)), MsgSnapResp); r.Snap.Offset != third {
		t.Fatalf("duplicate first chunk: reply %v, want offset %d", r, third)
	}
	deliver(n, 1, chunk(third, 2*third))
	out := deliver(n, 1, chunk(2*third, len(data)))
	if out.InstallSnapshot == nil || n.store.Get("x") != "chunked" || n.applied != 7 {
		t.Fatalf("after the last chunk: install %v, x=%q, applied %d", out.InstallSnapshot, n.store.Get("x"), n.applied)
	}
}

// §7: a restarted server loads its snapshot and then the log after it; it never replays
// from the beginning, and its commit and applied indexes start at the snapshot.
func TestRestartFromSnapshot_7(t *testing.T) {
	snap := Snapshot{Index: 4, Term: 2, Config: Configuration{Voters: []ID{1, 2, 3}}, Data: storeWith("before")}
	log := []Entry{{Index: 5, Term: 3, Kind: EntryNoOp}}
	n := mustNew(t, testConfig(1, 3, 1), DurableState{HardState: HardState{Term: 3}, Snapshot: snap, Log: log})
	v := n.View()
	if v.CommitIndex != 4 || v.AppliedIndex != 4 || v.LastIndex() != 5 || v.Store.Get("x") != "before" {
		t.Fatalf("restarted: commit %d applied %d last %d x=%q", v.CommitIndex, v.AppliedIndex, v.LastIndex(), v.Store.Get("x"))
	}
	if _, err := New(testConfig(1, 3, 1), DurableState{HardState: HardState{Term: 3}, Snapshot: snap, Log: logOf(1, 1)}); err == nil {
		t.Fatal("a log that does not continue the snapshot was accepted")
	}
	bad := snap
	bad.Data = "garbage"
	if _, err := New(testConfig(1, 3, 1), DurableState{HardState: HardState{Term: 3}, Snapshot: bad}); err == nil {
		t.Fatal("a corrupt snapshot was accepted")
	}
}

// The whole-cluster fuzz with snapshots on: tiny thresholds and chunks, lost, duplicated and
// reordered messages, restarts; Raft's safety properties hold throughout and the cluster
// still makes progress.
func TestClusterRandomFaultsWithSnapshotsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{3, 5}).Draw(t, "size")
		threshold := rapid.IntRange(1, 6).Draw(t, "threshold")
		c := newClusterWith(t, size, rapid.Uint64().Draw(t, "seed"), snapshotConfig(threshold, rapid.IntRange(1, 64).Draw(t, "chunk")))
		boots := uint64(1000)
		for range rapid.IntRange(200, 600).Draw(t, "actions") {
			c.randomAction(t, &boots)
		}
		c.checkSafety()
		c.queue = nil
		l := c.electLeader()
		p := c.step(l, Input{Kind: InputPropose, Data: "final"})
		c.run(200, func() bool { return c.node(l).commit >= p.Proposal.Index || c.node(l).role != Leader })
		c.checkSafety()
	})
}

// L5: compaction really releases the prefix: the retained suffix is copied into a fresh
// array of exactly its size, so the old array (and the prefix in it) can be collected.
func TestCompactReleasesPrefix_7(t *testing.T) {
	l := raftLog{}
	for i := 1; i <= 100; i++ {
		l.append(Entry{Index: Index(i), Term: 1})
	}
	old := l.entries
	l.compact(60, 1)
	if len(l.entries) != 40 || cap(l.entries) != 40 || &l.entries[0] == &old[60] {
		t.Fatalf("after compacting to 60: len %d cap %d, shares the old array: %v", len(l.entries), cap(l.entries), &l.entries[0] == &old[60])
	}
	if tm, ok := l.term(60); !ok || tm != 1 || l.lastIndex() != 100 {
		t.Fatalf("term at the snapshot %d %v, last %d", tm, ok, l.lastIndex())
	}
	if _, ok := l.term(59); ok {
		t.Fatal("a compacted entry's term is still known")
	}
}

// A transfer keeps its snapshot to the end: a leader that takes a newer snapshot while
// sending one goes on from the follower's offset instead of restarting at 0 (which never
// finishes when snapshots come faster than a transfer takes).
func TestSnapshotTransferKeepsItsSnapshot_7(t *testing.T) {
	c, l := committedCluster(t, snapshotConfig(5, 8))
	lag := ID(1)
	if lag == l {
		lag = 2
	}
	c.drop = func(m Message) bool { return m.To == lag || m.From == lag }
	writeN(c, l, 1, 12)
	first := c.node(l).snap.Index
	// Let a few chunks through, then make the leader snapshot again.
	c.drop = nil
	c.now += testHeartbeatInterval
	c.step(l, Input{Kind: InputWake})
	acks := 0
	for k := 0; k < 100 && acks < 2 && len(c.queue) > 0; k++ {
		m := c.queue[0]
		c.queue = c.queue[1:]
		if m.Type == MsgSnapResp && m.From == lag {
			acks++
		}
		c.step(m.To, Input{Kind: InputMessage, Message: m})
	}
	c.drop = func(m Message) bool { return m.To == lag || m.From == lag }
	writeN(c, l, 13, 8)
	if c.node(l).snap.Index <= first {
		t.Fatalf("the leader did not take a newer snapshot (still %d)", first)
	}
	p := c.node(l).snapProg[c.node(l).peerPos(lag)]
	if !p.active || p.index != first || p.offset == 0 {
		t.Fatalf("transfer state %+v after a newer snapshot, want the snapshot at %d continued from its offset (%d chunks acknowledged)", p, first, acks)
	}
	c.drop = nil
	c.run(200, func() bool { return c.node(lag).applied == c.node(l).applied })
}
