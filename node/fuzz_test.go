package node

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node/kv"
)

// This file is the native fuzz target for the node (go test -fuzz FuzzNodeStep). The
// fuzzer's bytes are decoded into a configuration and a sequence of operations on server
// 1 of a cluster whose other servers the fuzzer plays: any input kind, any message with
// any field values (unknown peers, wild terms and indexes, oversized entries, snapshot
// chunks at any offset), cooperative replies to what the node sent (so that it reaches
// leadership, commits, snapshots and transfers), and restarts from the disk its outputs
// built. After every step the node is checked from outside (nodeObserver).

// fuzzMaxOps bounds the operations one fuzz input runs, so that executions stay fast.
const fuzzMaxOps = 256

// fuzzMaxData bounds the data of one entry or chunk ("oversized": far above what the
// test configurations send, small enough for many executions per second).
const fuzzMaxData = 1 << 16

// byteReader decodes the fuzzer's bytes; past the end every read returns zero, so any
// byte string is a valid input.
type byteReader struct{ b []byte }

func (r *byteReader) done() bool { return len(r.b) == 0 }

func (r *byteReader) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *byteReader) bool() bool { return r.u8()&1 == 1 }

func (r *byteReader) u64raw() uint64 {
	var buf [8]byte
	n := copy(buf[:], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// Value tags: a tag below tagRel is the value itself; tagRel..tagSpecial-1 is ref plus
// (tag - tagRel - relBias), so ref itself is tagRel+relBias; tagSpecial..tagRaw-1 picks
// from specialValues (the bounds and their neighbours, the integer limits); tagRaw is
// followed by 8 little-endian bytes.
const (
	tagRel     = 0x80
	relBias    = 16
	tagSpecial = 0xC0
	tagRaw     = 0xFF
)

var specialValues = []uint64{
	uint64(MaxTerm) - 1, uint64(MaxTerm), uint64(MaxTerm) + 1,
	1<<63 - 1, 1 << 63, 1<<64 - 2, 1<<64 - 1,
	1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32,
}

// num reads a value, relative to ref where the tag says so.
func (r *byteReader) num(ref uint64) uint64 {
	t := r.u8()
	switch {
	case t < tagRel:
		return uint64(t)
	case t < tagSpecial:
		return ref + uint64(t-tagRel) - relBias
	case t < tagRaw:
		return specialValues[int(t-tagSpecial)%len(specialValues)]
	}
	return r.u64raw()
}

// data reads a string: a length, then that many bytes, or, if fewer remain, the length
// repeated of one byte (so short inputs can still make oversized entries).
func (r *byteReader) data() string {
	n := int(min(r.num(0), fuzzMaxData))
	if n <= len(r.b) {
		s := string(r.b[:n])
		r.b = r.b[n:]
		return s
	}
	return strings.Repeat(string(rune('a'+r.u8()%26)), n)
}

// byteWriter is byteReader's inverse, for building the seed corpus.
type byteWriter struct{ b []byte }

func (w *byteWriter) u8(c byte) *byteWriter { w.b = append(w.b, c); return w }

func (w *byteWriter) bool(v bool) *byteWriter {
	if v {
		return w.u8(1)
	}
	return w.u8(0)
}

// num writes an absolute value.
func (w *byteWriter) num(v uint64) *byteWriter {
	if v < tagRel {
		return w.u8(byte(v))
	}
	w.u8(tagRaw)
	w.b = binary.LittleEndian.AppendUint64(w.b, v)
	return w
}

// rel writes ref+d, for d in [-relBias, 63-relBias].
func (w *byteWriter) rel(d int) *byteWriter { return w.u8(byte(tagRel + relBias + d)) }

func (w *byteWriter) data(s string) *byteWriter {
	w.num(uint64(len(s)))
	w.b = append(w.b, s...)
	return w
}

// Operations, one per leading byte (modulo fuzzOpCount).
const (
	opWake     = iota // advance the clock by a number of ms, then InputWake
	opWakeDue         // advance the clock to the node's WakeAt, then InputWake
	opMessage         // any Message, every field from the bytes
	opReply           // a correct peer's answer to a message the node sent
	opPropose         // InputPropose
	opCampaign        // InputCampaign
	opClient          // InputClient with any command
	opSaved           // InputSnapshotSaved with any index (relative to the pending save)
	opTransfer        // InputTransfer to any target
	opAdmin           // InputAdmin with any request
	opRawKind         // an Input of any kind byte, with nothing else set
	opRestart         // crash, and New from the disk the outputs built
	fuzzOpCount
)

// fuzzConfig decodes server 1's configuration: cluster size 1..5, PreVote, CheckQuorum,
// the read mode, and small snapshot and message limits so that those paths are reached.
func fuzzConfig(r *byteReader) Config {
	size := 1 + int(r.u8()%5)
	cfg := testConfig(1, size, uint64(r.u8()))
	flags := r.u8()
	cfg.PreVote = flags&1 != 0
	cfg.CheckQuorum = flags&2 != 0
	cfg.ReadMode = ReadMode((flags >> 2) % 3)
	if cfg.ReadMode == ReadLease {
		cfg.CheckQuorum = true
	}
	cfg.SnapshotThreshold = int(r.u8() % 8)
	cfg.SnapshotChunkSize = 1 + int(r.u8()%32)
	cfg.MaxEntriesPerMessage = 1 + int(r.u8()%8)
	return cfg
}

// fuzzMessage decodes a message to the node, every field from the bytes; terms are
// relative to the node's term, indexes to its last index.
func fuzzMessage(r *byteReader, n *Node) Message {
	term, last := uint64(n.term), uint64(n.log.lastIndex())
	m := Message{Type: MsgType(r.u8()), From: ID(int64(r.num(1))), To: ID(int64(r.num(1)))}
	m.Term = Term(r.num(term))
	m.LastLogIndex, m.LastLogTerm, m.Transfer = Index(r.num(last)), Term(r.num(term)), r.bool()
	m.PrevLogIndex, m.PrevLogTerm = Index(r.num(last)), Term(r.num(term))
	for i := range int(r.u8() % 8) {
		next := uint64(m.PrevLogIndex) + uint64(i) + 1
		m.Entries = append(m.Entries, Entry{Index: Index(r.num(next)), Term: Term(r.num(term)), Kind: EntryKind(r.u8()), Data: r.data()})
	}
	m.LeaderCommit, m.Round = Index(r.num(last)), r.num(n.round)
	m.Success, m.MatchIndex = r.bool(), Index(r.num(last))
	m.ConflictTerm, m.ConflictIndex = Term(r.num(term)), Index(r.num(last))
	if r.bool() {
		c := &SnapChunk{Index: Index(r.num(last)), Term: Term(r.num(term)), Offset: int(int64(r.num(0))), Data: r.data(), Done: r.bool()}
		if conf, err := DecodeConfiguration(r.data()); err == nil {
			c.Config = conf
		} else {
			c.Config = Configuration{Voters: slices.Clone(n.conf.Voters)}
		}
		m.Snap = c
	}
	return m
}

// writeMessage encodes m for fuzzMessage with absolute values (for the seed corpus).
func writeMessage(w *byteWriter, m Message) {
	w.u8(byte(m.Type)).num(uint64(m.From)).num(uint64(m.To)).num(uint64(m.Term))
	w.num(uint64(m.LastLogIndex)).num(uint64(m.LastLogTerm)).bool(m.Transfer)
	w.num(uint64(m.PrevLogIndex)).num(uint64(m.PrevLogTerm))
	w.u8(byte(len(m.Entries)))
	for _, e := range m.Entries {
		w.num(uint64(e.Index)).num(uint64(e.Term)).u8(byte(e.Kind)).data(e.Data)
	}
	w.num(uint64(m.LeaderCommit)).num(m.Round).bool(m.Success).num(uint64(m.MatchIndex))
	w.num(uint64(m.ConflictTerm)).num(uint64(m.ConflictIndex))
	w.bool(m.Snap != nil)
	if c := m.Snap; c != nil {
		w.num(uint64(c.Index)).num(uint64(c.Term)).num(uint64(int64(c.Offset))).data(c.Data).bool(c.Done).data(c.Config.Encode())
	}
}

// correctReply is what a correct peer would answer to m, a message the node sent (nil if
// m needs no answer): votes granted, entries accepted, snapshot chunks acknowledged.
func correctReply(m Message) *Message {
	r := Message{From: m.To, To: m.From, Term: m.Term, Round: m.Round, Success: true}
	switch m.Type {
	case MsgVote:
		r.Type = MsgVoteResp
	case MsgPreVote:
		r.Type = MsgPreVoteResp
	case MsgApp:
		r.Type, r.MatchIndex = MsgAppResp, m.PrevLogIndex+Index(len(m.Entries))
	case MsgSnap:
		c := m.Snap
		r.Type, r.Snap = MsgSnapResp, &SnapChunk{Index: c.Index, Term: c.Term, Offset: c.Offset + len(c.Data)}
		r.Success, r.MatchIndex = c.Done, c.Index
		if !c.Done {
			r.MatchIndex = 0
		}
	default:
		return nil
	}
	return &r
}

// nodeFuzz runs one fuzz input: server 1, the disk its outputs build, the messages it
// sent (for opReply), and the observer's records.
type nodeFuzz struct {
	t      *testing.T
	cfg    Config
	n      *Node
	now    time.Duration
	wakeAt time.Duration
	disk   disk
	sent   []Message
	saving *Snapshot // the snapshot the node asked to save, saved on the disk, not yet confirmed
	boots  uint64
	obs    nodeObserver
	// What this input exercised, for the seed corpus's coverage test: input kinds and
	// message types stepped (accepted or not), message types sent, and the roles and
	// events reached.
	stepped map[string]int
	reached map[string]int
}

func runNodeFuzz(t *testing.T, data []byte) { playNodeFuzz(t, data) }

// playNodeFuzz runs one fuzz input and returns what it exercised.
func playNodeFuzz(t *testing.T, data []byte) *nodeFuzz {
	r := &byteReader{b: data}
	f := &nodeFuzz{t: t, cfg: fuzzConfig(r), stepped: map[string]int{}, reached: map[string]int{}}
	f.n = mustNew(t, f.cfg, DurableState{})
	f.obs.votes = map[Term]ID{}
	f.step(Input{Kind: InputWake})
	for k := 0; k < fuzzMaxOps && !r.done(); k++ {
		f.op(r)
	}
	f.restart() // the disk rebuilds what the node held
	return f
}

// op decodes and runs one operation.
func (f *nodeFuzz) op(r *byteReader) {
	n := f.n
	switch r.u8() % fuzzOpCount {
	case opWake:
		f.now += time.Duration(r.num(0)%1000) * time.Millisecond
		f.step(Input{Kind: InputWake})
	case opWakeDue:
		f.now = max(f.now, f.wakeAt)
		f.step(Input{Kind: InputWake})
	case opMessage:
		f.step(Input{Kind: InputMessage, Message: fuzzMessage(r, n)})
	case opReply:
		k := int(r.u8()) // read even when unused, so the bytes after it keep their meaning
		if len(f.sent) == 0 {
			return
		}
		if m := correctReply(f.sent[k%len(f.sent)]); m != nil {
			f.step(Input{Kind: InputMessage, Message: *m})
		}
	case opPropose:
		f.step(Input{Kind: InputPropose, Data: r.data()})
	case opCampaign:
		f.step(Input{Kind: InputCampaign})
	case opClient:
		cmd := kv.Command{Client: kv.ClientID(r.num(1)), Seq: r.num(1), Op: kv.Op(r.u8()), Key: r.data(), Value: r.data()}
		f.step(Input{Kind: InputClient, Request: cmd})
	case opSaved:
		ref := uint64(0)
		if f.saving != nil {
			ref = uint64(f.saving.Index)
		}
		idx := Index(r.num(ref))
		if f.saving != nil && idx == f.saving.Index {
			f.saving = nil
		}
		f.step(Input{Kind: InputSnapshotSaved, Index: idx})
	case opTransfer:
		f.step(Input{Kind: InputTransfer, Target: ID(int64(r.num(2)))})
	case opAdmin:
		req := AdminRequest{Client: kv.ClientID(r.num(1)), Seq: r.num(1), Op: AdminOp(r.u8()), Server: ID(int64(r.num(2)))}
		f.step(Input{Kind: InputAdmin, Admin: req})
	case opRawKind:
		f.step(Input{Kind: InputKind(r.u8())})
	case opRestart:
		f.restart()
	}
}

// step feeds in to the node, carries out its output as a host must (disk, then the
// messages, which the fuzzer keeps for opReply), and checks the node.
func (f *nodeFuzz) step(in Input) {
	before := f.obs.snapshot(f.n)
	out := f.n.Step(f.now, in)
	f.obs.check(f.t, f.n, in, before, &out)
	f.disk.write(f.t, &out)
	if s := out.SaveSnapshot; s != nil {
		// The host saves it at once; the node learns of it when the fuzzer says so
		// (opSaved), or never, if it restarts first.
		f.disk.save(s)
		f.saving = s
	}
	f.wakeAt = out.WakeAt
	f.sent = append(f.sent[:0], out.Messages...)
	f.note(in, &out)
	if f.disk.hs != (HardState{f.n.term, f.n.vote}) {
		f.t.Fatalf("disk hard state %+v, node term %d vote %d", f.disk.hs, f.n.term, f.n.vote)
	}
	if v := f.n.View(); v.SnapshotIndex <= f.disk.snap.Index && !slices.EqualFunc(f.logAfter(f.disk.snap.Index), f.disk.log, Entry.SameAs) {
		f.t.Fatalf("disk log %v (after %d), node log %v (after %d)", f.disk.log, f.disk.snap.Index, v.Log, v.SnapshotIndex)
	}
}

// note records what a step exercised.
func (f *nodeFuzz) note(in Input, out *Output) {
	f.stepped[in.Kind.String()]++
	if in.Kind == InputMessage {
		f.stepped["recv "+in.Message.Type.String()]++
	}
	for _, m := range out.Messages {
		f.reached["send "+m.Type.String()]++
	}
	f.reached[f.n.role.String()]++
	if out.InstallSnapshot != nil {
		f.reached["install snapshot"]++
	}
	if out.SaveSnapshot != nil {
		f.reached["save snapshot"]++
	}
	if len(out.Apply) > 0 {
		f.reached["apply"]++
	}
	if len(out.Replies) > 0 {
		f.reached["reply"]++
	}
	if f.n.conf.Joint() {
		f.reached["joint"]++
	}
	if f.n.transferTarget != None {
		f.reached["transfer"]++
	}
}

// logAfter is the node's log after index i (which is at or after its snapshot).
func (f *nodeFuzz) logAfter(i Index) []Entry {
	v := f.n.View()
	if k := int(i - v.SnapshotIndex); k <= len(v.Log) {
		return v.Log[k:]
	}
	return nil
}

// restart crashes the node and boots it from its disk: New must accept the state the
// node's own outputs wrote, and it must hold the node's term, vote and log.
func (f *nodeFuzz) restart() {
	old := f.n.View()
	f.boots++
	cfg := f.cfg
	cfg.Seed += 1000 * f.boots
	n, err := New(cfg, f.disk.state())
	if err != nil {
		f.t.Fatalf("restart: New refused the node's own durable state: %v", err)
	}
	v := n.View()
	if v.Term != old.Term || v.Vote != old.Vote || v.LastIndex() != old.LastIndex() {
		f.t.Fatalf("restart: term %d vote %d last %d, was term %d vote %d last %d", v.Term, v.Vote, v.LastIndex(), old.Term, old.Vote, old.LastIndex())
	}
	f.n, f.saving, f.sent = n, nil, nil
	f.obs.applied = v.AppliedIndex
	f.step(Input{Kind: InputWake})
}

// nodeObserver checks a node from outside after every step, across restarts.
type nodeObserver struct {
	votes   map[Term]ID // the vote given in each term (one vote per term, §5.2)
	applied Index       // the last index applied in this life
}

// nodeState is what the observer compares across one step.
type nodeState struct {
	view     View
	last     Index
	rejected uint64
}

func (o *nodeObserver) snapshot(n *Node) nodeState {
	v := n.View()
	return nodeState{view: v, last: v.LastIndex(), rejected: n.Stats().Rejected}
}

// check checks one step: what must hold of any step, and, for an input that is hostile
// by construction, that it was rejected, counted and changed nothing.
func (o *nodeObserver) check(t *testing.T, n *Node, in Input, b nodeState, out *Output) {
	t.Helper()
	a := o.snapshot(n)
	av := a.view
	switch {
	case av.Term < b.view.Term:
		t.Fatalf("term decreased: %d -> %d after %+v", b.view.Term, av.Term, in)
	case av.Term > MaxTerm:
		t.Fatalf("term %d above MaxTerm after %+v", av.Term, in)
	case av.CommitIndex > a.last || av.AppliedIndex > av.CommitIndex:
		t.Fatalf("commit %d, applied %d, last %d after %+v", av.CommitIndex, av.AppliedIndex, a.last, in)
	case av.CommitIndex < b.view.CommitIndex:
		t.Fatalf("commit decreased: %d -> %d after %+v", b.view.CommitIndex, av.CommitIndex, in)
	case a.rejected < b.rejected:
		t.Fatalf("Stats.Rejected decreased: %d -> %d", b.rejected, a.rejected)
	}
	if av.Vote != None {
		if v, ok := o.votes[av.Term]; ok && v != av.Vote {
			t.Fatalf("two votes in term %d: %d and %d", av.Term, v, av.Vote)
		}
		o.votes[av.Term] = av.Vote
	}
	if s := out.InstallSnapshot; s != nil {
		o.applied = s.Index
	}
	for _, e := range out.Apply {
		if o.applied++; e.Index != o.applied {
			t.Fatalf("applied %v, want index %d", e, o.applied)
		}
	}
	for _, m := range out.Messages {
		o.checkSent(t, n, m)
	}
	if hostile(n.id, in) {
		if a.rejected != b.rejected+1 || len(out.Messages) != 0 || len(out.Entries) != 0 || out.HardStateChanged ||
			len(out.Apply) != 0 || out.InstallSnapshot != nil || av.Term != b.view.Term || av.Role != b.view.Role || a.last != b.last {
			t.Fatalf("hostile input %+v not rejected: rejected %d -> %d, output %+v", in, b.rejected, a.rejected, out)
		}
	}
}

// checkSent checks a message the node sent: from itself, to another server, in its term
// (a pre-vote proposes the next term; a granted pre-vote answer echoes the proposed one),
// and well formed for its receiver. A node whose log a faulty peer pushed to MaxIndex
// may send entries past it (see MaxIndex); those are the receiver's to reject.
func (o *nodeObserver) checkSent(t *testing.T, n *Node, m Message) {
	t.Helper()
	switch {
	case m.From != n.id || m.To <= None || m.To == n.id:
		t.Fatalf("node %d sent %v", n.id, m)
	case m.Type == MsgPreVote && m.Term != n.term+1:
		t.Fatalf("node of term %d sent %v", n.term, m)
	case m.Type == MsgPreVoteResp && m.Success && m.Term <= n.term:
		t.Fatalf("node of term %d granted %v", n.term, m)
	case m.Type != MsgPreVote && !(m.Type == MsgPreVoteResp && m.Success) && m.Term != n.term:
		t.Fatalf("node of term %d sent %v", n.term, m)
	}
	if n.log.lastIndex() >= MaxIndex {
		return
	}
	// The receiver's view: it knows the sender as a peer.
	recv := &Node{id: m.To, peers: []ID{m.From, m.To}}
	if !recv.wellFormed(&m) {
		t.Fatalf("node %d sent a message its receiver rejects: %v", n.id, m)
	}
}

// hostile reports whether in is malformed on its face, whatever the node's state: the
// fuzz target's own oracle, written independently of wellFormed.
func hostile(id ID, in Input) bool {
	if in.Kind < InputWake || in.Kind > InputAdmin {
		return true
	}
	if in.Kind != InputMessage {
		return false
	}
	m := in.Message
	if m.Type < MsgVote || m.Type > MsgTimeoutNow || m.From <= 0 || m.From == id || m.To != id || m.Term == 0 || m.Term > MaxTerm {
		return true
	}
	for _, i := range []Index{m.LastLogIndex, m.PrevLogIndex, m.LeaderCommit, m.MatchIndex, m.ConflictIndex} {
		if i > MaxIndex {
			return true
		}
	}
	if m.Snap != nil && m.Snap.Index > MaxIndex {
		return true
	}
	return len(m.Entries) > 0 && (m.Type != MsgApp || m.Entries[len(m.Entries)-1].Index > MaxIndex)
}

// FuzzNodeStep feeds server 1 arbitrary sequences of inputs and messages decoded from
// the fuzzer's bytes (see runNodeFuzz). It must never panic (no internal invariant
// breaks), must reject and count every input that is hostile on its face, and must keep
// what a checker sees sound: term never decreasing nor passing MaxTerm, commit <= last
// index, applied <= commit, one vote per term, applies in order, messages well formed,
// and a disk from which a restart rebuilds the node.
func FuzzNodeStep(f *testing.F) {
	for _, s := range nodeSeeds() {
		f.Add(s)
	}
	f.Fuzz(runNodeFuzz)
}

// seedBuilder writes a fuzz input: a configuration, then operations.
type seedBuilder struct{ w byteWriter }

// newSeed starts an input for a cluster of size servers; flags as in fuzzConfig.
func newSeed(size int, flags byte, snapThreshold, chunk, maxEntries byte) *seedBuilder {
	s := &seedBuilder{}
	s.w.u8(byte(size - 1)).u8(7).u8(flags).u8(snapThreshold).u8(chunk - 1).u8(maxEntries - 1)
	return s
}

func (s *seedBuilder) op(o byte) *seedBuilder { s.w.u8(o); return s }

// u8, num, rel and data write an operation's arguments (see byteWriter).
func (s *seedBuilder) u8(c byte) *seedBuilder     { s.w.u8(c); return s }
func (s *seedBuilder) num(v uint64) *seedBuilder  { s.w.num(v); return s }
func (s *seedBuilder) rel(d int) *seedBuilder     { s.w.rel(d); return s }
func (s *seedBuilder) data(v string) *seedBuilder { s.w.data(v); return s }

// msg adds an opMessage.
func (s *seedBuilder) msg(m Message) *seedBuilder { s.op(opMessage); writeMessage(&s.w, m); return s }

// reply adds an opReply to the k-th message the node sent in its last step.
func (s *seedBuilder) reply(k byte) *seedBuilder { return s.op(opReply).op(k) }

// elect makes server 1 the leader of term 1 in a cluster of 3: its timer fires, server 2
// grants its vote, and server 2 acknowledges the no-op.
func (s *seedBuilder) elect() *seedBuilder { return s.op(opWakeDue).reply(0).reply(0) }

func (s *seedBuilder) client(op kv.Op, seq uint64, key, value string) *seedBuilder {
	s.op(opClient)
	s.num(1).num(seq).u8(byte(op)).data(key).data(value)
	return s
}

func (s *seedBuilder) bytes() []byte { return slices.Clone(s.w.b) }

// nodeSeeds is the seed corpus of FuzzNodeStep: each input kind, each message type, the
// known overflow, elections, replication, snapshots, membership and transfer.
func nodeSeeds() [][]byte {
	conf := Configuration{Voters: []ID{1, 2, 3}}
	put := kv.Command{Client: 2, Seq: 1, Op: kv.OpPut, Key: "k", Value: "v"}.Encode()
	app := Message{Type: MsgApp, From: 2, To: 1, Term: 1, LeaderCommit: 2, Round: 1, Entries: []Entry{
		{Index: 1, Term: 1, Kind: EntryNoOp}, {Index: 2, Term: 1, Kind: EntryCommand, Data: put},
		{Index: 3, Term: 1, Kind: EntryConfig, Data: conf.Encode()}}}
	chunk := func(offset int, data string, done bool) Message {
		return Message{Type: MsgSnap, From: 2, To: 1, Term: 2, Snap: &SnapChunk{Index: 5, Term: 2, Config: conf, Offset: offset, Data: data, Done: done}}
	}
	store := kv.NewStore().Encode()
	seeds := []*seedBuilder{
		// The known case: a RequestVote of term 2^64-1, then the election timeout.
		newSeed(3, 0, 0, 8, 4).msg(Message{Type: MsgVote, From: 2, To: 1, Term: 1<<64 - 1}).op(opWakeDue),
		newSeed(3, 0, 0, 8, 4).msg(Message{Type: MsgVote, From: 2, To: 1, Term: MaxTerm}).op(opWakeDue).op(opCampaign),
		// Each message type, hand-made.
		newSeed(3, 0, 0, 8, 4).msg(Message{Type: MsgVote, From: 2, To: 1, Term: 1, LastLogIndex: 1, LastLogTerm: 1}),
		newSeed(3, 0, 0, 8, 4).op(opWakeDue).msg(Message{Type: MsgVoteResp, From: 2, To: 1, Term: 1, Success: true}),
		newSeed(3, 0, 0, 8, 4).msg(app).msg(Message{Type: MsgApp, From: 2, To: 1, Term: 1, PrevLogIndex: 9, PrevLogTerm: 1}),
		newSeed(3, 0, 0, 8, 4).elect().msg(Message{Type: MsgAppResp, From: 3, To: 1, Term: 1, ConflictIndex: 1, Round: 1}),
		newSeed(3, 0, 0, 8, 4).msg(chunk(0, store[:1], false)).msg(chunk(1<<40, "x", false)).msg(chunk(1, store[1:], true)),
		newSeed(3, 0, 0, 8, 4).elect().msg(Message{Type: MsgSnapResp, From: 2, To: 1, Term: 1, Snap: &SnapChunk{Index: 1, Term: 1, Offset: -1}}),
		newSeed(3, 1, 0, 8, 4).msg(Message{Type: MsgPreVote, From: 2, To: 1, Term: 1}).op(opWakeDue).reply(0).reply(0),
		newSeed(3, 1, 0, 8, 4).op(opWakeDue).msg(Message{Type: MsgPreVoteResp, From: 3, To: 1, Term: 1, Success: true}),
		newSeed(3, 0, 0, 8, 4).msg(Message{Type: MsgTimeoutNow, From: 2, To: 1, Term: 1}),
		// Every other input kind.
		newSeed(1, 0, 0, 8, 4).op(opWake).u8(100).op(opPropose).data("p").op(opRawKind),
		newSeed(3, 0, 0, 8, 4).op(opCampaign).op(opRawKind).u8(200).op(opWake).u8(0x7f),
		// A leader serving clients (a put, an append, a get), snapshotting and
		// sending its snapshot to a follower that lags behind.
		newSeed(3, 2, 2, 4, 2).elect().client(kv.OpPut, 1, "k", "v").reply(0).client(kv.OpAppend, 2, "k", "w").reply(0).
			client(kv.OpGet, 3, "k", "").reply(0).op(opSaved).rel(0).
			msg(Message{Type: MsgAppResp, From: 3, To: 1, Term: 1, ConflictIndex: 1, Round: 1}).reply(0).reply(0).reply(0),
		// Membership: add server 4, remove server 3; then a leadership transfer.
		newSeed(3, 0, 0, 8, 4).elect().op(opAdmin).num(1).num(1).u8(byte(AdminAddServer)).num(4).reply(2).op(opWakeDue).reply(0).reply(0).op(opWakeDue).reply(0).reply(2).
			op(opAdmin).num(1).num(2).u8(byte(AdminRemoveServer)).num(3).
			op(opTransfer).num(2).reply(0).op(opRestart),
		// A committed command entry that kv.Decode once panicked on (key length near the
		// int limit).
		newSeed(3, 0, 0, 8, 4).msg(Message{Type: MsgApp, From: 2, To: 1, Term: 1, LeaderCommit: 1,
			Entries: []Entry{{Index: 1, Term: 1, Kind: EntryCommand, Data: "1 2 2 9223372036854775807:k v"}}}),
		// Lease reads with CheckQuorum.
		newSeed(3, 2|1<<2, 0, 8, 4).elect().client(kv.OpGet, 1, "k", "").reply(0).op(opWakeDue).op(opWakeDue),
	}
	out := make([][]byte, len(seeds))
	for i, s := range seeds {
		out[i] = s.bytes()
	}
	return out
}

// The seed corpus reaches every input kind, every message type (received and sent), every
// role, and the events the fuzzer should start from: applies, client replies, snapshots
// saved and installed, a joint configuration, a leadership transfer. Without it, fuzzing
// would have to find them from nothing.
func TestNodeFuzzSeedsCoverEveryKind(t *testing.T) {
	stepped, reached := map[string]int{}, map[string]int{}
	for _, s := range nodeSeeds() {
		f := playNodeFuzz(t, s)
		for k, v := range f.stepped {
			stepped[k] += v
		}
		for k, v := range f.reached {
			reached[k] += v
		}
	}
	for k := InputWake; k <= InputAdmin; k++ {
		if stepped[k.String()] == 0 {
			t.Errorf("no seed steps a %v input", k)
		}
	}
	for m := MsgVote; m < msgTypeLimit; m++ {
		if stepped["recv "+m.String()] == 0 {
			t.Errorf("no seed delivers a %v message", m)
		}
		if reached["send "+m.String()] == 0 {
			t.Errorf("no seed makes the node send a %v message", m)
		}
	}
	for _, k := range []string{"follower", "candidate", "leader", "pre-candidate", "apply", "reply",
		"save snapshot", "install snapshot", "joint", "transfer"} {
		if reached[k] == 0 {
			t.Errorf("no seed reaches %q", k)
		}
	}
	if stepped["input(0)"]+stepped["input(200)"] == 0 {
		t.Error("no seed steps an unknown input kind")
	}
}
