package node

import (
	"fmt"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"raftsim/node/kv"
)

// This file tests AppendState and the message encodings (state.go): that every field of
// Node is either encoded or deliberately left out, that clones encode alike and real
// changes do not, that absolute times and the random stream are left out (under abstract
// time), that renaming the servers of a cluster renames its encodings exactly, and that
// messages differing in any field encode apart.

// absWorld is a cluster run under the model checker's abstract time: each server has its
// own clock, which moves only when the test fires that server's timer (to the time the
// server asked for); messages are delivered, in any order the test picks, without moving
// any clock. The servers are 1..size, all in the bootstrap configuration. Disks are the
// harness's, written from every output; snapshots are saved at once.
type absWorld struct {
	t       *testing.T
	cfgs    []Config // by server ID - 1
	nodes   []*Node
	disks   []disk
	clock   []time.Duration
	wakeAt  []time.Duration
	queue   []Message // in flight, in the order sent
	sent    []Message // sent by the last action
	replies []Reply   // answered by the last action
}

// newAbsWorld makes size servers with seeds seedOf(id), their clocks all at start, not yet
// stepped (the first input arms their timers).
func newAbsWorld(t *testing.T, size int, start time.Duration, seedOf func(ID) uint64, tweak func(*Config)) *absWorld {
	w := &absWorld{t: t, disks: make([]disk, size)}
	for i := range size {
		cfg := testConfig(ID(i+1), size, seedOf(ID(i+1)))
		if tweak != nil {
			tweak(&cfg)
		}
		w.cfgs = append(w.cfgs, cfg)
		w.nodes = append(w.nodes, mustNew(t, cfg, DurableState{}))
		w.clock = append(w.clock, start)
		w.wakeAt = append(w.wakeAt, 0)
	}
	return w
}

func (w *absWorld) node(id ID) *Node { return w.nodes[id-1] }

// step feeds server id one input at its clock and carries out the output; a snapshot to
// save is saved at once and confirmed in a step of its own.
func (w *absWorld) step(id ID, in Input) {
	w.t.Helper()
	i := id - 1
	out := w.nodes[i].Step(w.clock[i], in)
	w.disks[i].write(w.t, &out)
	w.queue = append(w.queue, out.Messages...)
	w.sent = append(w.sent, out.Messages...)
	w.replies = append(w.replies, out.Replies...)
	w.wakeAt[i] = out.WakeAt
	if s := out.SaveSnapshot; s != nil {
		w.disks[i].save(s)
		w.step(id, Input{Kind: InputSnapshotSaved, Index: s.Index})
	}
}

// fire fires server id's timer: its clock moves to the time it asked for.
func (w *absWorld) fire(id ID) {
	w.t.Helper()
	if w.wakeAt[id-1] == 0 {
		w.t.Fatalf("server %d has no timer armed", id)
	}
	w.clock[id-1] = max(w.clock[id-1], w.wakeAt[id-1])
	w.step(id, Input{Kind: InputWake})
}

// restart crashes server id and boots it from its disk with seed, at the same clock.
func (w *absWorld) restart(id ID, seed uint64) {
	w.t.Helper()
	cfg := w.cfgs[id-1]
	cfg.Seed = seed
	w.nodes[id-1] = mustNew(w.t, cfg, w.disks[id-1].state())
	w.step(id, Input{Kind: InputWake})
}

// twin runs two absWorlds in lockstep: b is a renamed by perm (a's server i is b's server
// perm[i] and gets the renamed inputs), and possibly with other seeds and clocks. After
// every action, check compares their encodings.
type twin struct {
	t    *testing.T
	a, b *absWorld
	perm []ID
	// Counters of what the scenario exercised, in a.
	snapChunks, installs int
}

func (tw *twin) p(id ID) ID { return tw.perm[id] }

func (tw *twin) begin() { tw.a.sent, tw.b.sent, tw.a.replies, tw.b.replies = nil, nil, nil, nil }

// input gives server id the input in (b's server the renamed one).
func (tw *twin) input(id ID, in Input) {
	tw.t.Helper()
	tw.begin()
	tw.a.step(id, in)
	rin := in
	rin.Target, rin.Admin.Server = rename(in.Target, tw.perm), rename(in.Admin.Server, tw.perm)
	tw.b.step(tw.p(id), rin)
	tw.check(fmt.Sprintf("%v to %d", in.Kind, id))
}

func (tw *twin) fire(id ID) {
	tw.t.Helper()
	tw.begin()
	tw.a.fire(id)
	tw.b.fire(tw.p(id))
	tw.check(fmt.Sprintf("timer of %d", id))
}

func (tw *twin) restart(id ID, seedA, seedB uint64) {
	tw.t.Helper()
	tw.begin()
	tw.a.restart(id, seedA)
	tw.b.restart(tw.p(id), seedB)
	tw.check(fmt.Sprintf("restart of %d", id))
}

// take removes a's in-flight message k and its counterpart in b (the message encoding
// alike once renamed), failing if b has none.
func (tw *twin) take(k int) (Message, Message) {
	tw.t.Helper()
	m := tw.a.queue[k]
	tw.a.queue = slices.Delete(tw.a.queue, k, k+1)
	want := string(AppendMessage(nil, &m, tw.perm))
	for j := range tw.b.queue {
		if string(AppendMessage(nil, &tw.b.queue[j], nil)) == want {
			bm := tw.b.queue[j]
			tw.b.queue = slices.Delete(tw.b.queue, j, j+1)
			return m, bm
		}
	}
	tw.t.Fatalf("no counterpart in the renamed cluster of %v", m)
	return m, m
}

// deliverAll delivers every message in flight, first sent first, losing those drop
// returns true for (nil: none), until none is left.
func (tw *twin) deliverAll(drop func(Message) bool) {
	tw.t.Helper()
	for k := 0; len(tw.a.queue) > 0; k++ {
		if k > 10000 {
			tw.t.Fatal("messages never stop")
		}
		m, bm := tw.take(0)
		if drop != nil && drop(m) {
			continue
		}
		if m.Type == MsgSnap {
			tw.snapChunks++
		}
		tw.begin()
		tw.a.step(m.To, Input{Kind: InputMessage, Message: m})
		tw.b.step(bm.To, Input{Kind: InputMessage, Message: bm})
		if tw.a.sent != nil && tw.a.node(m.To).installed != nil {
			tw.installs++
		}
		tw.check(fmt.Sprintf("delivery of %v", m))
	}
}

// check compares every server's state and disk, and the messages in flight and replies
// of the last action, a's encoded with perm against b's encoded as they are.
func (tw *twin) check(what string) {
	tw.t.Helper()
	for i, n := range tw.a.nodes {
		id := ID(i + 1)
		m := tw.b.node(tw.p(id))
		if x, y := n.AppendState(nil, tw.perm), m.AppendState(nil, nil); string(x) != string(y) {
			tw.t.Fatalf("after %s: server %d (renamed %d) encodes differently:\n a %x\n b %x\n a %+v\n b %+v",
				what, id, tw.p(id), x, y, n.View(), m.View())
		}
		da, db := tw.a.disks[i], tw.b.disks[tw.p(id)-1]
		if x, y := AppendDurableState(nil, &DurableState{HardState: da.hs, Snapshot: da.snap, Log: da.log}, tw.perm),
			AppendDurableState(nil, &DurableState{HardState: db.hs, Snapshot: db.snap, Log: db.log}, nil); string(x) != string(y) {
			tw.t.Fatalf("after %s: disk of server %d encodes differently", what, id)
		}
	}
	enc := func(ms []Message, rs []Reply, perm []ID) []string {
		var out []string
		for k := range ms {
			out = append(out, "m"+string(AppendMessage(nil, &ms[k], perm)))
		}
		for k := range rs {
			out = append(out, "r"+string(AppendReply(nil, &rs[k], perm)))
		}
		slices.Sort(out)
		return out
	}
	if x, y := enc(tw.a.sent, tw.a.replies, tw.perm), enc(tw.b.sent, tw.b.replies, nil); !slices.Equal(x, y) {
		tw.t.Fatalf("after %s: outputs differ:\n a %v %v\n b %v %v", what, tw.a.sent, tw.a.replies, tw.b.sent, tw.b.replies)
	}
	if x, y := enc(tw.a.queue, nil, tw.perm), enc(tw.b.queue, nil, nil); !slices.Equal(x, y) {
		tw.t.Fatalf("after %s: messages in flight differ", what)
	}
}

// leaderOf returns a's leader with the highest term, or None.
func (tw *twin) leaderOf() ID {
	best := None
	for i, n := range tw.a.nodes {
		if n.role == Leader && (best == None || n.term > tw.a.node(best).term) {
			best = ID(i + 1)
		}
	}
	return best
}

// scenarioConfigs are the configurations the twin scenario runs under: PreVote with
// ReadIndex reads, and CheckQuorum with lease reads (which encode the leader's clock
// facts); both with small snapshots sent in small chunks.
var scenarioConfigs = []struct {
	name  string
	tweak func(*Config)
}{
	{"prevote-readindex", func(c *Config) { c.PreVote, c.SnapshotThreshold, c.SnapshotChunkSize = true, 4, 16 }},
	{"checkquorum-lease", func(c *Config) {
		c.CheckQuorum, c.ReadMode, c.MaxClockDrift, c.SnapshotThreshold, c.SnapshotChunkSize = true, ReadLease, 0.01, 4, 16
	}},
}

// runScenario drives a 3-server twin through an election, writes and reads, a partition
// that makes a follower need a chunked snapshot, a membership change (remove a server,
// write on until it needs a snapshot of the smaller configuration, add it back through
// learner and joint consensus), a leadership transfer, a follower's timeout under a live
// leader, and a crash and restart.
func runScenario(tw *twin) {
	t := tw.t
	t.Helper()
	for id := ID(1); id <= 3; id++ {
		tw.input(id, Input{Kind: InputWake})
	}
	tw.fire(1)
	tw.deliverAll(nil)
	if tw.a.node(1).role != Leader {
		t.Fatalf("server 1 is %v after its timeout, want leader", tw.a.node(1).role)
	}
	seq := uint64(0)
	write := func(l ID, drop func(Message) bool) {
		seq++
		tw.input(l, request(1, seq, kv.OpAppend, fmt.Sprintf("k%d", seq%3), "v"))
		tw.deliverAll(drop)
	}
	write(1, nil)
	tw.input(2, request(2, 1, kv.OpGet, "k1", "")) // not the leader: answered with a hint
	tw.input(1, request(2, 1, kv.OpGet, "k1", ""))
	tw.deliverAll(nil)
	tw.fire(1)
	tw.deliverAll(nil)
	cut3 := func(m Message) bool { return m.To == 3 || m.From == 3 }
	for range 7 {
		write(1, cut3)
	}
	for range 3 {
		tw.fire(1)
		tw.deliverAll(nil)
	}
	if tw.snapChunks < 2 || tw.installs < 1 {
		t.Fatalf("%d snapshot chunks delivered, %d installed: want a chunked snapshot installed", tw.snapChunks, tw.installs)
	}
	tw.admin(1, AdminRequest{Client: 9, Seq: 1, Op: AdminRemoveServer, Server: 2}, []ID{1, 3})
	for range 8 {
		write(1, nil) // server 2 falls behind the snapshots, which now have voters {1, 3}
	}
	tw.admin(1, AdminRequest{Client: 9, Seq: 2, Op: AdminAddServer, Server: 2}, []ID{1, 2, 3})
	if tw.installs < 2 || !slices.Equal(tw.a.node(2).snap.Config.Voters, []ID{1, 3}) {
		t.Fatalf("%d snapshots installed, server 2's has %v: want it to catch up from a snapshot with voters [1 3]",
			tw.installs, tw.a.node(2).snap.Config)
	}
	tw.input(1, Input{Kind: InputTransfer, Target: 3})
	tw.deliverAll(nil)
	if tw.leaderOf() != 3 {
		t.Fatalf("leader %d after the transfer, want 3", tw.leaderOf())
	}
	tw.input(3, Input{Kind: InputTransfer, Target: 1}) // left to time out
	tw.fire(2)
	tw.deliverAll(nil)
	for range 7 {
		if l := tw.leaderOf(); l != None {
			tw.fire(l)
		}
		tw.deliverAll(nil)
	}
	tw.restart(1, 77, 78)
	tw.fire(1)
	tw.deliverAll(nil)
	if l := tw.leaderOf(); l != None {
		write(l, nil)
	}
}

// admin asks server l for a membership change and drives heartbeats until the voters are
// want.
func (tw *twin) admin(l ID, req AdminRequest, want []ID) {
	tw.t.Helper()
	tw.input(l, Input{Kind: InputAdmin, Admin: req})
	tw.deliverAll(nil)
	for k := 0; !slices.Equal(tw.a.node(l).conf.Voters, want) || tw.a.node(l).conf.Joint(); k++ {
		if k > 10 {
			tw.t.Fatalf("configuration %v, want voters %v", tw.a.node(l).conf, want)
		}
		tw.fire(l)
		tw.deliverAll(nil)
	}
}

// permutations returns every permutation of 1..n as a perm (perm[0] == 0).
func permutations(n int) [][]ID {
	if n == 0 {
		return [][]ID{{0}}
	}
	var out [][]ID
	for _, p := range permutations(n - 1) {
		for pos := 1; pos <= n; pos++ {
			q := slices.Insert(slices.Clone(p), pos, ID(n))
			out = append(out, q)
		}
	}
	return out
}

// Renaming the servers of a cluster renames its encodings exactly: with b's server p[i]
// in a's server i's role (same seed, renamed inputs), after every step a's server i
// encoded with p equals b's server p[i] encoded as it is, and so do the disks, the
// messages in flight and the replies. All 6 permutations of 3 servers, in each
// configuration.
func TestStateSymmetry(t *testing.T) {
	perms := permutations(3)
	if len(perms) != 6 {
		t.Fatalf("%d permutations", len(perms))
	}
	for _, sc := range scenarioConfigs {
		for _, p := range perms {
			t.Run(fmt.Sprintf("%s/%v", sc.name, p[1:]), func(t *testing.T) {
				inv := make([]ID, len(p))
				for i, x := range p {
					inv[x] = ID(i)
				}
				seed := func(id ID) uint64 { return 10 + uint64(id) }
				tw := &twin{t: t, perm: p,
					a: newAbsWorld(t, 3, 0, seed, sc.tweak),
					b: newAbsWorld(t, 3, 0, func(id ID) uint64 { return seed(inv[id]) }, sc.tweak)}
				runScenario(tw)
				// Not vacuous: unless p is the identity, some server encodes unlike its
				// counterpart without the renaming.
				differ := false
				for id := ID(1); id <= 3; id++ {
					differ = differ || string(tw.a.node(id).AppendState(nil, nil)) != string(tw.b.node(p[id]).AppendState(nil, nil))
				}
				if identity := slices.Equal(p, []ID{0, 1, 2, 3}); differ == identity {
					t.Fatalf("perm %v: encodings without renaming differ %v", p, differ)
				}
			})
		}
	}
}

// A leader's followers that have acknowledged nothing yet (ackedAt 0, "never") encode
// alike whatever the leader's clock, even below the cap on ages: a cluster whose clocks
// start at 0 encodes like one starting an hour later through an election and heartbeats.
func TestStateNeverAckedIgnoresClock(t *testing.T) {
	tw := &twin{t: t, perm: []ID{0, 1, 2, 3},
		a: newAbsWorld(t, 3, 0, func(id ID) uint64 { return uint64(id) }, scenarioConfigs[1].tweak),
		b: newAbsWorld(t, 3, time.Hour, func(id ID) uint64 { return 50 + uint64(id) }, scenarioConfigs[1].tweak)}
	for id := ID(1); id <= 3; id++ {
		tw.input(id, Input{Kind: InputWake})
	}
	tw.fire(1)
	tw.deliverAll(func(m Message) bool { return m.Type == MsgAppResp && m.From == 3 })
	if l := tw.a.node(1); l.role != Leader || l.now >= l.leaseAgeLimit() || l.ackedAt[2] != 0 {
		t.Fatalf("%v at %v with ackedAt %v: want a leader below the age cap with a follower that never acknowledged", l.role, l.now, l.ackedAt)
	}
	for range 3 {
		tw.fire(1)
		tw.deliverAll(nil)
	}
}

// Absolute clock readings and the random stream are left out: a cluster with other seeds
// (other election timeouts) whose clocks all start an hour later encodes exactly like the
// original after every step, under abstract time. The original starts at 1s, not 0: a
// leader elected at clock 0 (here server 3, by the transfer, before its clock first moves)
// really behaves differently, since the node takes a broadcast sent at 0 for none (see
// leaseAge).
func TestStateIgnoresClocksAndSeeds(t *testing.T) {
	identity := []ID{0, 1, 2, 3}
	for _, sc := range scenarioConfigs {
		t.Run(sc.name, func(t *testing.T) {
			tw := &twin{t: t, perm: identity,
				a: newAbsWorld(t, 3, time.Second, func(id ID) uint64 { return uint64(id) }, sc.tweak),
				b: newAbsWorld(t, 3, time.Hour, func(id ID) uint64 { return 1000 + 7*uint64(id) }, sc.tweak)}
			runScenario(tw)
			if tw.a.node(1).electionDeadline == tw.b.node(1).electionDeadline {
				t.Fatal("the twins' deadlines are equal: the test shows nothing")
			}
		})
	}
}

// deliverAll delivers every message in flight of w in order, until none is left.
func (w *absWorld) deliverAll() {
	w.t.Helper()
	for k := 0; len(w.queue) > 0; k++ {
		if k > 10000 {
			w.t.Fatal("messages never stop")
		}
		m := w.queue[0]
		w.queue = w.queue[1:]
		w.step(m.To, Input{Kind: InputMessage, Message: m})
	}
}

// stateBases returns a leader, a follower and a candidate of a 3-server cluster with
// CheckQuorum and lease reads (so that the leader's clock facts are encoded), after an
// election and a few writes: the states the field tests perturb.
func stateBases(t *testing.T) map[string]*Node {
	w := newAbsWorld(t, 3, time.Second, func(id ID) uint64 { return uint64(id) }, scenarioConfigs[1].tweak)
	for id := ID(1); id <= 3; id++ {
		w.step(id, Input{Kind: InputWake})
	}
	w.fire(1)
	w.deliverAll()
	for k := range 3 {
		w.step(1, request(1, uint64(k+1), kv.OpPut, fmt.Sprintf("k%d", k), "v"))
		w.deliverAll()
	}
	bases := map[string]*Node{"leader": w.node(1).Clone(), "follower": w.node(2).Clone()}
	w.fire(3)
	bases["candidate"] = w.node(3).Clone()
	for name, want := range map[string]Role{"leader": Leader, "follower": Follower, "candidate": Candidate} {
		if bases[name].role != want {
			t.Fatalf("base %s is a %v", name, bases[name].role)
		}
	}
	return bases
}

// fieldChange perturbs one field of a base node: prep (if any) runs on both the base and
// the copy, so that the field matters; change runs on the copy only. Changes replace what
// clones share (log entries, configurations, snapshots, the store) rather than writing
// into it.
type fieldChange struct {
	base         string
	prep, change func(n *Node)
}

// other is a peer position of the leader other than itself.
func other(n *Node) int { return (n.self + 1) % len(n.peers) }

// withEntry returns a copy of n's log entries with entry k changed by f.
func withEntry(n *Node, k int, f func(e *Entry)) []Entry {
	es := slices.Clone(n.log.entries)
	f(&es[k])
	return es
}

func withSnap(s *Snapshot, f func(s *Snapshot)) *Snapshot {
	c := *s
	f(&c)
	return &c
}

func prepLease(n *Node) { n.leaderSince = n.now - 10*time.Millisecond }
func prepProg(n *Node) {
	n.snapProg[other(n)] = snapProgress{active: true, snap: n.snap, index: n.snap.Index, sent: true, sentAt: n.now}
}
func prepTransfer(n *Node) { n.transferTarget, n.transferSince = n.peers[other(n)], n.now }

// encodedFields lists every field AppendState encodes (directly, or as an age relative to
// the clock: now, leaderContact, leaderSince, roundSentAt, ackedAt, transferSince, sentAt),
// keyed "Type.field", with a change that must alter the encoding.
var encodedFields = map[string]fieldChange{
	"Node.id":       {"follower", nil, func(n *Node) { n.id = 7 }},
	"Node.conf":     {"leader", nil, func(n *Node) { n.conf = Configuration{Voters: []ID{1, 2}} }},
	"Node.snapConf": {"leader", nil, func(n *Node) { n.snapConf = Configuration{Voters: []ID{1, 2, 3, 4}} }},
	"Node.peers":    {"leader", nil, func(n *Node) { n.peers = []ID{1, 2, 4} }},
	"Node.change":   {"leader", nil, func(n *Node) { n.change = confChange{op: AdminAddServer, server: 4} }},
	"Node.term":     {"follower", nil, func(n *Node) { n.term++ }},
	"Node.vote":     {"follower", nil, func(n *Node) { n.vote = n.vote%3 + 1 }},
	"Node.log":      {"follower", nil, func(n *Node) { n.log.entries = n.log.entries[:len(n.log.entries)-1] }},
	"Node.role":     {"follower", nil, func(n *Node) { n.role = PreCandidate }},
	"Node.leader":   {"follower", nil, func(n *Node) { n.leader = n.leader%3 + 1 }},
	"Node.commit":   {"follower", nil, func(n *Node) { n.commit-- }},
	"Node.applied":  {"follower", nil, func(n *Node) { n.applied-- }},
	"Node.store": {"follower", nil, func(n *Node) {
		n.store = n.store.Clone()
		n.store.Apply(kv.Command{Client: 5, Seq: 1, Op: kv.OpPut, Key: "z", Value: "w"})
	}},
	"Node.snap":          {"follower", nil, func(n *Node) { n.snap = &Snapshot{Index: 1, Term: 1} }},
	"Node.saving":        {"follower", nil, func(n *Node) { n.saving = &Snapshot{Index: 1, Term: 1} }},
	"Node.snapProg":      {"leader", nil, prepProg},
	"Node.snapRecv":      {"follower", nil, func(n *Node) { n.snapRecv = snapReceiver{index: 9, term: 1} }},
	"Node.now":           {"leader", prepLease, func(n *Node) { n.now += time.Millisecond }},
	"Node.leaderContact": {"follower", func(n *Node) { n.leaderContact = n.now }, func(n *Node) { n.leaderContact -= n.electionTimeoutMin }},
	"Node.timerArmed":    {"follower", nil, func(n *Node) { n.timerArmed = false }},
	"Node.votes":         {"candidate", nil, func(n *Node) { n.votes[other(n)] = !n.votes[other(n)] }},
	"Node.next":          {"leader", nil, func(n *Node) { n.next[other(n)]-- }},
	"Node.match":         {"leader", nil, func(n *Node) { n.match[other(n)]-- }},
	"Node.leaderSince":   {"leader", prepLease, func(n *Node) { n.leaderSince -= time.Millisecond }},
	"Node.termStart":     {"leader", nil, func(n *Node) { n.termStart++ }},
	"Node.round":         {"leader", nil, func(n *Node) { n.round += 100 }},
	"Node.roundSentAt": {"leader", func(n *Node) { n.roundSentAt[n.round%roundRing] = n.now },
		func(n *Node) { n.roundSentAt[n.round%roundRing] -= time.Millisecond }},
	"Node.acked":          {"leader", nil, func(n *Node) { n.acked[other(n)]-- }},
	"Node.ackedAt":        {"leader", func(n *Node) { n.ackedAt[other(n)] = n.now }, func(n *Node) { n.ackedAt[other(n)] -= time.Millisecond }},
	"Node.transferTarget": {"leader", nil, prepTransfer},
	"Node.transferSince":  {"leader", prepTransfer, func(n *Node) { n.transferSince -= time.Millisecond }},
	"Node.timeoutNowSent": {"leader", prepTransfer, func(n *Node) { n.timeoutNowSent = true }},
	"Node.leaseRevoked":   {"leader", func(n *Node) { n.readMode = ReadLease }, func(n *Node) { n.leaseRevoked = n.term }},
	"Node.waiters":        {"leader", nil, func(n *Node) { n.waiters = []waiter{{client: 1, seq: 9}} }},
	"Node.reads":          {"leader", nil, func(n *Node) { n.reads = []pendingRead{{client: 1, seq: 9}} }},

	"Configuration.Voters":   {"leader", nil, func(n *Node) { n.conf = Configuration{Voters: []ID{1, 2, 4}} }},
	"Configuration.Outgoing": {"leader", nil, func(n *Node) { n.conf = Configuration{Voters: n.conf.Voters, Outgoing: []ID{1}} }},
	"Configuration.Learners": {"leader", nil, func(n *Node) { n.conf = Configuration{Voters: n.conf.Voters, Learners: []ID{4}} }},

	"confChange.op":      {"leader", nil, func(n *Node) { n.change.op = AdminRemoveServer }},
	"confChange.server":  {"leader", nil, func(n *Node) { n.change.server = 2 }},
	"confChange.waiters": {"leader", nil, func(n *Node) { n.change.waiters = []waiter{{client: 1, seq: 1}} }},
	"waiter.client": {"leader", func(n *Node) { n.waiters = []waiter{{client: 1, seq: 1}} },
		func(n *Node) { n.waiters = []waiter{{client: 2, seq: 1}} }},
	"waiter.seq": {"leader", func(n *Node) { n.waiters = []waiter{{client: 1, seq: 1}} },
		func(n *Node) { n.waiters = []waiter{{client: 1, seq: 2}} }},

	"raftLog.snapIndex": {"follower", nil, func(n *Node) { n.log.snapIndex++ }},
	"raftLog.snapTerm":  {"follower", nil, func(n *Node) { n.log.snapTerm++ }},
	"raftLog.entries":   {"follower", nil, func(n *Node) { n.log.entries = nil }},
	"Entry.Term":        {"follower", nil, func(n *Node) { n.log.entries = withEntry(n, 1, func(e *Entry) { e.Term++ }) }},
	"Entry.Kind":        {"follower", nil, func(n *Node) { n.log.entries = withEntry(n, 1, func(e *Entry) { e.Kind = EntryNormal }) }},
	"Entry.Data":        {"follower", nil, func(n *Node) { n.log.entries = withEntry(n, 1, func(e *Entry) { e.Data += "x" }) }},

	"Snapshot.Index": {"follower", nil, func(n *Node) { n.snap = withSnap(n.snap, func(s *Snapshot) { s.Index++ }) }},
	"Snapshot.Term":  {"follower", nil, func(n *Node) { n.snap = withSnap(n.snap, func(s *Snapshot) { s.Term++ }) }},
	"Snapshot.Config": {"follower", nil, func(n *Node) {
		n.snap = withSnap(n.snap, func(s *Snapshot) { s.Config = Configuration{Voters: []ID{1}} })
	}},
	"Snapshot.Data": {"follower", nil, func(n *Node) { n.snap = withSnap(n.snap, func(s *Snapshot) { s.Data += "x" }) }},

	"snapProgress.active": {"leader", nil, func(n *Node) { n.snapProg[other(n)].active = true }},
	"snapProgress.snap": {"leader", prepProg, func(n *Node) {
		n.snapProg[other(n)].snap = withSnap(n.snap, func(s *Snapshot) { s.Data += "x" })
	}},
	"snapProgress.offset": {"leader", prepProg, func(n *Node) { n.snapProg[other(n)].offset++ }},
	"snapProgress.sent":   {"leader", prepProg, func(n *Node) { n.snapProg[other(n)].sent = false }},
	"snapProgress.sentAt": {"leader", prepProg, func(n *Node) { n.snapProg[other(n)].sentAt -= time.Millisecond }},
	"snapProgress.sentOf": {"leader", prepProg, func(n *Node) { n.snapProg[other(n)].sentOf++ }},

	"snapReceiver.index": {"follower", nil, func(n *Node) { n.snapRecv.index++ }},
	"snapReceiver.term":  {"follower", nil, func(n *Node) { n.snapRecv.term++ }},
	"snapReceiver.buf":   {"follower", nil, func(n *Node) { n.snapRecv.buf = []byte("x") }},

	"pendingRead.client":    {"leader", prepRead, func(n *Node) { n.reads[0].client++ }},
	"pendingRead.seq":       {"leader", prepRead, func(n *Node) { n.reads[0].seq++ }},
	"pendingRead.key":       {"leader", prepRead, func(n *Node) { n.reads[0].key += "x" }},
	"pendingRead.round":     {"leader", prepRead, func(n *Node) { n.reads[0].round++ }},
	"pendingRead.readIndex": {"leader", prepRead, func(n *Node) { n.reads[0].readIndex++ }},
	"pendingRead.admin":     {"leader", prepRead, func(n *Node) { n.reads[0].admin = true }},
}

func prepRead(n *Node) {
	n.reads = []pendingRead{{client: 1, seq: 1, key: "k", round: 1, readIndex: 1}}
}

// omittedField is a field AppendState leaves out, with why, and (where one exists) a
// change that must leave the encoding as it is.
type omittedField struct {
	why    string
	change *fieldChange
}

func noEffect(base string, f func(n *Node)) *fieldChange { return &fieldChange{base: base, change: f} }

const (
	whyConst   = "a configuration constant, the same for every node of a search"
	whyStep    = "per-step scratch, reset by beginStep before it is read"
	whyClock   = "an absolute clock reading: encoded as an age relative to now where it matters"
	whyDerived = "derived from what is encoded"
)

var omittedFields = map[string]omittedField{
	"Node.confs": {whyDerived + ": the configuration entries of the log after the snapshot",
		noEffect("leader", func(n *Node) { n.confs = nil })},
	"Node.self": {whyDerived + ": the position of id in peers", nil},
	"Node.inNew": {whyDerived + ": the voters of conf",
		noEffect("leader", func(n *Node) { n.inNew = make([]bool, len(n.inNew)) })},
	"Node.inOld": {whyDerived + ": the outgoing voters of conf",
		noEffect("leader", func(n *Node) { n.inOld = []bool{true, true, true} })},
	"Node.catchUp":              {whyConst, noEffect("leader", func(n *Node) { n.catchUp++ })},
	"Node.electionTimeoutMin":   {whyConst, nil},
	"Node.electionTimeoutMax":   {whyConst, nil},
	"Node.heartbeatInterval":    {whyConst, nil},
	"Node.maxEntriesPerMessage": {whyConst, noEffect("leader", func(n *Node) { n.maxEntriesPerMessage++ })},
	"Node.readMode":             {whyConst, nil},
	"Node.checkQuorum":          {whyConst, nil},
	"Node.preVote":              {whyConst, noEffect("leader", func(n *Node) { n.preVote = !n.preVote })},
	"Node.snapshotThreshold":    {whyConst, noEffect("leader", func(n *Node) { n.snapshotThreshold++ })},
	"Node.snapshotChunkSize":    {whyConst, noEffect("leader", func(n *Node) { n.snapshotChunkSize++ })},
	"Node.leaseDuration":        {whyConst + " (derived from the timeouts and the drift bound)", nil},
	"Node.maxPending":           {whyConst, noEffect("leader", func(n *Node) { n.maxPending++ })},
	"Node.rng": {"the election timer's random stream: under abstract time a timer fires at its deadline, whatever it is",
		noEffect("follower", func(n *Node) { n.rng.Seed(12345, 678) })},
	"Node.installed": {whyStep, noEffect("follower", func(n *Node) { n.installed = n.snap })},
	"Node.electionDeadline": {whyClock + "; a follower's deadline is never compared but to fire, and a firing leaves every contact stale",
		noEffect("follower", func(n *Node) { n.electionDeadline += time.Hour })},
	"Node.heartbeatDue": {whyClock + "; under abstract time always HeartbeatInterval after a leader's clock",
		noEffect("leader", func(n *Node) { n.heartbeatDue += time.Hour })},
	"Node.readBroadcast": {whyStep, noEffect("leader", func(n *Node) { n.readBroadcast = true })},
	"Node.stepHardState": {whyStep, noEffect("leader", func(n *Node) { n.stepHardState = HardState{Term: 99} })},
	"Node.stepCommit":    {whyStep, noEffect("leader", func(n *Node) { n.stepCommit = 99 })},
	"Node.stepLast":      {whyStep, noEffect("leader", func(n *Node) { n.stepLast = 99 })},
	"Node.stepRole":      {whyStep, noEffect("leader", func(n *Node) { n.stepRole = Candidate })},
	"Node.written":       {whyStep, noEffect("leader", func(n *Node) { n.written = 1 })},
	"Node.msgs":          {whyStep + " (Output.Messages)", noEffect("leader", func(n *Node) { n.msgs = make([]Message, 1) })},
	"Node.replies":       {whyStep + " (Output.Replies)", noEffect("leader", func(n *Node) { n.replies = make([]Reply, 1) })},
	"Node.commands":      {whyStep + " (Output.Commands)", noEffect("leader", func(n *Node) { n.commands = make([]AppliedCommand, 1) })},
	"Node.proposal":      {whyStep + " (Output.Proposal)", noEffect("leader", func(n *Node) { n.proposal.Accepted = true })},
	"Node.leaseRead":     {whyStep + " (Output.LeaseRead)", noEffect("leader", func(n *Node) { n.leaseRead = n.term })},
	"Node.stats":         {"counters for the host, never read by the node", noEffect("leader", func(n *Node) { n.stats.Elections++ })},
	"Entry.Index": {"implied by the position in the log (raftLog's invariant); AppendMessage and AppendDurableState encode it",
		noEffect("follower", func(n *Node) { n.log.entries = withEntry(n, 1, func(e *Entry) { e.Index += 5 }) })},
	"Node.dur": {"the asynchronous disk's writes in flight: the model checker steps synchronous disks only, and AppendState panics on a node with an asynchronous one", nil},
	"snapProgress.index": {whyDerived + ": snap.Index",
		&fieldChange{"leader", prepProg, func(n *Node) { n.snapProg[other(n)].index = 99 }}},
}

// Every field of Node, and of the node types it encodes, is either encoded (with a change
// that alters the encoding) or listed as left out, with why: a field added later fails
// this test until it is put in one of the tables. Types of other packages are leaves
// (kv.Store has its own test); the tables must not name fields that do not exist.
func TestStateFieldsCovered(t *testing.T) {
	seen := map[string]bool{}
	visited := map[reflect.Type]bool{}
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Array {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || rt.PkgPath() != reflect.TypeFor[Node]().PkgPath() || visited[rt] {
			return
		}
		visited[rt] = true
		for f := range rt.Fields() {
			key := rt.Name() + "." + f.Name
			seen[key] = true
			_, enc := encodedFields[key]
			om, omit := omittedFields[key]
			switch {
			case enc && omit:
				t.Errorf("%s is listed both as encoded and as left out (%s)", key, om.why)
			case !enc && !omit:
				t.Errorf("%s is neither encoded nor listed as left out: encode it in AppendState (and add a change to encodedFields) or say why not in omittedFields", key)
			case enc:
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Node]())
	for _, keys := range []iter.Seq[string]{maps.Keys(encodedFields), maps.Keys(omittedFields)} {
		for _, key := range slices.Sorted(keys) {
			if !seen[key] {
				t.Errorf("the tables list %s, which is not a field of an encoded type", key)
			}
		}
	}
}

// Each encoded field's change alters the encoding (with and without renaming), each
// omitted field's change does not, and neither touches the base (a clone) it started from.
func TestStateFieldChanges(t *testing.T) {
	bases := stateBases(t)
	perm := []ID{0, 2, 3, 1, 5, 4, 6, 7, 8}
	try := func(key string, fc *fieldChange, wantDiff bool) {
		t.Helper()
		base := bases[fc.base].Clone()
		if fc.prep != nil {
			fc.prep(base)
		}
		for _, p := range [][]ID{nil, perm} {
			before := string(base.AppendState(nil, p))
			n := base.Clone()
			if string(n.AppendState(nil, p)) != before {
				t.Fatalf("%s: a clone encodes differently", key)
			}
			fc.change(n)
			if after := string(n.AppendState(nil, p)); (after != before) != wantDiff {
				t.Errorf("%s (perm %v): changing it changed the encoding: %v, want %v", key, p, after != before, wantDiff)
			}
			if string(base.AppendState(nil, p)) != before {
				t.Fatalf("%s: changing a clone changed the original", key)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(encodedFields)) {
		fc := encodedFields[key]
		try(key, &fc, true)
	}
	for _, key := range slices.Sorted(maps.Keys(omittedFields)) {
		if fc := omittedFields[key].change; fc != nil {
			try(key, fc, false)
		}
	}
}

// A clone encodes like its original; a step that changes the state (a vote, an append, a
// commit) changes the encoding; a step that only moves times and the random stream (a
// repeated heartbeat) does not.
func TestStateStepChanges(t *testing.T) {
	n := follower(t, 2, 3, DurableState{})
	enc := func() string { return string(n.AppendState(nil, nil)) }
	if enc() != string(n.Clone().AppendState(nil, nil)) {
		t.Fatal("a clone encodes differently")
	}
	app := Message{Type: MsgApp, From: 1, To: 2, Term: 1, Entries: []Entry{{Index: 1, Term: 1, Kind: EntryNoOp}}}
	hb := Message{Type: MsgApp, From: 1, To: 2, Term: 1, PrevLogIndex: 1, PrevLogTerm: 1, LeaderCommit: 1}
	steps := []struct {
		name   string
		in     Message
		change bool
	}{
		{"vote", Message{Type: MsgVote, From: 1, To: 2, Term: 1}, true},
		{"append", app, true},
		{"append again", app, false},
		{"commit", hb, true},
		{"heartbeat again", hb, false},
	}
	now := time.Duration(0)
	for _, s := range steps {
		before := enc()
		now += time.Millisecond
		deliver(n, now, s.in)
		if changed := enc() != before; changed != s.change {
			t.Errorf("%s: encoding changed %v, want %v", s.name, changed, s.change)
		}
	}
	if n.vote != 1 || n.log.lastIndex() != 1 || n.commit != 1 {
		t.Fatalf("vote %d, last %d, commit %d: the steps did not do what they say", n.vote, n.log.lastIndex(), n.commit)
	}
}

// variants returns a deep copy of v with one leaf changed, for every leaf reachable from
// it through structs, pointers and the first element of slices (a pointer and a slice are
// leaves too: set to nil, and shortened): numbers +1, booleans flipped, strings extended.
func variants(v reflect.Value) (names []string, out []reflect.Value) {
	var walk func(path string, get func(root reflect.Value) reflect.Value, t reflect.Type)
	add := func(path string, get func(reflect.Value) reflect.Value, change func(reflect.Value)) {
		c := deepCopy(v)
		change(get(c))
		names, out = append(names, path), append(out, c)
	}
	walk = func(path string, get func(reflect.Value) reflect.Value, t reflect.Type) {
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				walk(path+"."+t.Field(i).Name, func(r reflect.Value) reflect.Value { return get(r).Field(i) }, t.Field(i).Type)
			}
		case reflect.Pointer:
			add(path+"=nil", get, func(x reflect.Value) { x.SetZero() })
			walk(path, func(r reflect.Value) reflect.Value { return get(r).Elem() }, t.Elem())
		case reflect.Slice:
			add(path+"[:len-1]", get, func(x reflect.Value) { x.Set(x.Slice(0, x.Len()-1)) })
			walk(path+"[0]", func(r reflect.Value) reflect.Value { return get(r).Index(0) }, t.Elem())
		case reflect.Bool:
			add(path, get, func(x reflect.Value) { x.SetBool(!x.Bool()) })
		case reflect.String:
			add(path, get, func(x reflect.Value) { x.SetString(x.String() + "x") })
		case reflect.Int, reflect.Int64:
			add(path, get, func(x reflect.Value) { x.SetInt(x.Int() + 1) })
		case reflect.Uint8, reflect.Uint64:
			add(path, get, func(x reflect.Value) { x.SetUint(x.Uint() + 1) })
		default:
			panic("variants: unhandled kind " + t.Kind().String() + " at " + path)
		}
	}
	walk(v.Type().Name(), func(r reflect.Value) reflect.Value { return r.Elem() }, v.Type().Elem())
	return names, out
}

// deepCopy copies a pointer to a struct of values, pointers and slices.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			c.Field(i).Set(deepCopy(v.Field(i)))
		}
		return c
	}
	return v
}

// fullMessage has every field set, a configuration entry, a command and a snapshot chunk.
func fullMessage() *Message {
	return &Message{Type: MsgApp, From: 1, To: 2, Term: 5, LastLogIndex: 3, LastLogTerm: 2, Transfer: true,
		PrevLogIndex: 4, PrevLogTerm: 3, LeaderCommit: 4, Round: 7, Success: true, MatchIndex: 6, ConflictTerm: 2, ConflictIndex: 3,
		Entries: []Entry{{Index: 5, Term: 4, Kind: EntryConfig, Data: "v 1 2 3|o 1 2|l 4"}, {Index: 6, Term: 5, Kind: EntryCommand, Data: "c"}},
		Snap: &SnapChunk{Index: 3, Term: 2, Config: Configuration{Voters: []ID{1, 2, 3}, Outgoing: []ID{1, 2}, Learners: []ID{4}},
			Offset: 16, Data: "abc", Done: true}}
}

// The encodings of messages, replies, inputs and durable states tell apart any two values
// that differ in one field (and the variants from each other), with and without renaming.
func TestEncodingsDistinguishFields(t *testing.T) {
	m := fullMessage()
	tests := []struct {
		v      any
		encode func(v any, perm []ID) []byte
	}{
		{m, func(v any, p []ID) []byte { return AppendMessage(nil, v.(*Message), p) }},
		{&Reply{Client: 1, Seq: 2, Status: ReplyNotLeader, Value: "v", Leader: 3},
			func(v any, p []ID) []byte { return AppendReply(nil, v.(*Reply), p) }},
		{&Input{Kind: InputMessage, Message: *m, Data: "d", Index: 2, Target: 3, Write: 4,
			Request: kv.Command{Client: 1, Seq: 2, Op: kv.OpPut, Key: "k", Value: "v"},
			Admin:   AdminRequest{Client: 1, Seq: 2, Op: AdminAddServer, Server: 4}},
			func(v any, p []ID) []byte { return AppendInput(nil, v.(*Input), p) }},
		{&DurableState{HardState: HardState{Term: 5, Vote: 2}, Log: m.Entries,
			Snapshot: Snapshot{Index: 4, Term: 3, Config: m.Snap.Config, Data: "s"}},
			func(v any, p []ID) []byte { return AppendDurableState(nil, v.(*DurableState), p) }},
	}
	for _, tt := range tests {
		names, vs := variants(reflect.ValueOf(tt.v))
		for _, perm := range [][]ID{nil, {0, 3, 1, 2, 5, 4, 6, 7}} {
			seen := map[string]string{string(tt.encode(tt.v, perm)): "the original"}
			for k, v := range vs {
				e := string(tt.encode(v.Interface(), perm))
				if was, dup := seen[e]; dup {
					t.Errorf("perm %v: %s encodes like %s", perm, names[k], was)
				}
				seen[e] = names[k]
			}
		}
		if len(vs) < 5 {
			t.Fatalf("%T: only %d variants", tt.v, len(vs))
		}
	}
}

// Configuration entry data is renamed when in Configuration.Encode's exact form, and is
// otherwise kept raw, so that no other spelling of a configuration encodes like it.
func TestConfigDataCanonical(t *testing.T) {
	perm := []ID{0, 3, 1, 2, 4}
	enc := func(data string, p []ID) string { return string(appendConfigData(nil, data, p)) }
	c := Configuration{Voters: []ID{1, 2, 3}, Outgoing: []ID{1, 2}, Learners: []ID{4}}
	renamed := Configuration{Voters: []ID{1, 2, 3}, Outgoing: []ID{3, 1}, Learners: []ID{4}}
	slices.Sort(renamed.Outgoing)
	if enc(c.Encode(), perm) != enc(renamed.Encode(), nil) {
		t.Error("a renamed configuration entry encodes unlike the renamed configuration")
	}
	for _, bad := range []string{"v 1 2 3|o 1 2|l 4 ", "v 1 2 3|o 01 2|l 4", "v 1 2 3|o 2 1|l 4", "v 1 2 3|o 1 2|l 4|", "v 1  2 3|o 1 2|l 4",
		"v 1 2 3|o 1 2", "o 1 2 3|v 1 2|l 4", "v 1 2 3|o 1 2|l 4x", "v 1 2 3|o 1 2|l 0", "v 1 2 3|o 1 2|l -4", "v 1 2 3|o 1 2|l 99999999999999999999"} {
		if got := enc(bad, nil); got == enc(c.Encode(), nil) || got[0] != 0 {
			t.Errorf("%q: not kept raw", bad)
		}
		if enc(bad, perm) != enc(bad, nil) {
			t.Errorf("%q: raw data was renamed", bad)
		}
	}
}

// AppendState, AppendMessage and kv.Store.AppendState do not allocate when the buffer has
// room, renamed or not, in every role.
func TestStateEncodingDoesNotAllocate(t *testing.T) {
	bases := stateBases(t)
	buf := make([]byte, 0, 1<<14)
	perm := []ID{0, 2, 3, 1, 4}
	m := fullMessage()
	for _, p := range [][]ID{nil, perm} {
		for _, name := range slices.Sorted(maps.Keys(bases)) {
			n := bases[name]
			prepProg(n)
			n.log.entries = append(n.log.entries[:len(n.log.entries):len(n.log.entries)],
				Entry{Index: n.log.lastIndex() + 1, Term: n.term, Kind: EntryConfig, Data: "v 1 2 3|o 1 3|l"})
			if a := testing.AllocsPerRun(100, func() { buf = n.AppendState(buf[:0], p) }); a != 0 {
				t.Errorf("AppendState of a %s (perm %v): %v allocations", name, p, a)
			}
		}
		if a := testing.AllocsPerRun(100, func() { buf = AppendMessage(buf[:0], m, p) }); a != 0 {
			t.Errorf("AppendMessage (perm %v): %v allocations", p, a)
		}
	}
	if a := testing.AllocsPerRun(100, func() { buf = bases["leader"].store.AppendState(buf[:0]) }); a != 0 {
		t.Errorf("kv.Store.AppendState: %v allocations", a)
	}
}

// benchLeader is a 3-server harness cluster whose leader holds 5 entries (its no-op and
// 4 client writes), all applied everywhere.
func benchLeader(t tb) *Node {
	c := newCluster(t, 3, 1)
	l := c.electLeader()
	for k := range 4 {
		c.step(l, request(1, uint64(k+1), kv.OpPut, fmt.Sprintf("k%d", k), "v"))
		c.deliverAll()
	}
	c.step(l, Input{Kind: InputWake}) // early: nothing due, but the commit index is sent
	c.deliverAll()
	if n := c.node(l); n.log.lastIndex() != 5 || n.commit != 5 {
		t.Fatalf("leader last %d, commit %d", n.log.lastIndex(), n.commit)
	}
	return c.node(l)
}

// BenchmarkAppendState encodes the leader of a 3-server cluster with 5 entries.
func BenchmarkAppendState(b *testing.B) {
	n := benchLeader(b)
	buf := make([]byte, 0, 1024)
	for _, bc := range []struct {
		name string
		perm []ID
	}{{"identity", nil}, {"renamed", []ID{0, 3, 1, 2}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = n.AppendState(buf[:0], bc.perm)
			}
			b.ReportMetric(float64(len(buf)), "bytes")
		})
	}
}

// A clone is one allocation of at most 2048 bytes (a size class), plus its state
// machine's maps.
func TestCloneAllocations(t *testing.T) {
	if size := reflect.TypeFor[cloneArena]().Size(); size > 2048 {
		t.Errorf("cloneArena is %d bytes, past the 2048-byte size class: lower cloneArenaPeers", size)
	}
	n := benchLeader(t)
	if a := testing.AllocsPerRun(100, func() { _ = n.Clone() }); a != 5 {
		t.Errorf("Clone: %v allocations, want 5 (the node, two maps of two each)", a)
	}
}

// BenchmarkClone clones the leader of a 3-server cluster with 5 entries.
func BenchmarkClone(b *testing.B) {
	n := benchLeader(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = n.Clone()
	}
}

// fork returns a copy of the fuzz run whose node is a Clone, with its own disk and sent
// messages.
func (f *nodeFuzz) fork() *nodeFuzz {
	g := *f
	g.n = f.n.Clone()
	g.disk.log = slices.Clone(f.disk.log)
	g.sent = slices.Clone(f.sent)
	g.obs.votes = maps.Clone(f.obs.votes)
	return &g
}

// playCloneFuzz runs a FuzzNodeStep input, and before every operation forks the run: the
// original and the clone run the same operation (the same decoded input at the same
// clock) and must end in states that encode alike, having sent the same messages, while
// a clone taken before and never stepped keeps its encoding. The run goes on with the
// clone every other operation, so that clones of clones are stepped too.
func playCloneFuzz(t *testing.T, data []byte) {
	r := &byteReader{b: data}
	f := &nodeFuzz{t: t, cfg: fuzzConfig(r), stepped: map[string]int{}, reached: map[string]int{}}
	f.n = mustNew(t, f.cfg, DurableState{})
	f.obs.votes = map[Term]ID{}
	f.step(Input{Kind: InputWake})
	for k := 0; k < fuzzMaxOps && !r.done(); k++ {
		h := f.fork() // stepped only after the check that f's operation left it alone
		want := string(h.n.AppendState(nil, nil))
		g, rg := f.fork(), *r
		f.op(r)
		g.op(&rg)
		if x, y := f.n.AppendState(nil, nil), g.n.AppendState(nil, nil); string(x) != string(y) {
			t.Fatalf("op %d: a clone given the same input encodes differently:\n %x\n %x", k, x, y)
		}
		if !slices.EqualFunc(f.sent, g.sent, func(a, b Message) bool {
			return string(AppendMessage(nil, &a, nil)) == string(AppendMessage(nil, &b, nil))
		}) {
			t.Fatalf("op %d: a clone given the same input sent %v, the original %v", k, g.sent, f.sent)
		}
		if string(h.n.AppendState(nil, nil)) != want {
			t.Fatalf("op %d: stepping a node changed a clone taken before", k)
		}
		// The clone taken before the operation gets the next one instead: the runs then
		// write different things where they share memory, which must change neither.
		df, dg, rh := dump(f.n), dump(g.n), *r
		h.op(&rh)
		if dump(f.n) != df || dump(g.n) != dg {
			t.Fatalf("op %d: stepping a clone changed the node it was cloned from", k)
		}
		if k%2 == 1 {
			f = g
		}
	}
}

// Clone is a faithful, independent copy (FuzzNodeStep's seeds, then random and mutated
// inputs; see playCloneFuzz).
func TestCloneBehavesAlike(t *testing.T) {
	seeds := nodeSeeds()
	for _, s := range seeds {
		playCloneFuzz(t, s)
	}
	rapid.Check(t, func(rt *rapid.T) {
		data := slices.Clone(rapid.SampledFrom(seeds).Draw(rt, "seed"))
		for range rapid.IntRange(0, 8).Draw(rt, "flips") {
			if len(data) > 0 {
				data[rapid.IntRange(0, len(data)-1).Draw(rt, "at")] = rapid.Byte().Draw(rt, "to")
			}
		}
		data = append(data, rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(rt, "more")...)
		playCloneFuzz(t, data)
	})
}

// dump writes out everything reachable from v, unexported fields, pointers and map
// contents (in sorted order) included: two values with equal dumps are deeply equal.
func dump(v any) string {
	var b strings.Builder
	dumpTo(&b, reflect.ValueOf(v))
	return b.String()
}

func dumpTo(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteByte('&')
		dumpTo(b, v.Elem())
	case reflect.Struct:
		b.WriteByte('{')
		for i := range v.NumField() {
			dumpTo(b, v.Field(i))
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		fmt.Fprintf(b, "[%d:", v.Len())
		for i := range v.Len() {
			dumpTo(b, v.Index(i))
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case reflect.Map:
		var kvs []string
		for it := v.MapRange(); it.Next(); {
			var e strings.Builder
			dumpTo(&e, it.Key())
			e.WriteByte(':')
			dumpTo(&e, it.Value())
			kvs = append(kvs, e.String())
		}
		slices.Sort(kvs)
		fmt.Fprintf(b, "map%q", kvs)
	case reflect.Bool:
		fmt.Fprint(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprint(b, v.Uint())
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	default:
		panic("dump: unhandled kind " + v.Kind().String())
	}
}

// A clone and its original may share memory that only grows (the log, a snapshot being
// received, the state machine's key lists, a change's waiters) or that is changed in place
// (configuration entries truncated and regrown, answered waiters removed): when each then
// takes a different step, in either order, each ends exactly (dump) like a node built the
// same way and never cloned.
func TestCloneIndependentWrites(t *testing.T) {
	conf := func(ids ...ID) string { return Configuration{Voters: ids}.Encode() }
	chunk := func(off int, data string) Input {
		return Input{Kind: InputMessage, Message: Message{Type: MsgSnap, From: 1, To: 2, Term: 1, Snap: &SnapChunk{Index: 9, Term: 1,
			Config: Configuration{Voters: []ID{1, 2, 3}}, Offset: off, Data: data}}}
	}
	// app is an AppendEntries to server 2 of leader 1 (term 1) or 3 (term 3) after the
	// entry from-1, which has term 1.
	app := func(term Term, from Index, es ...Entry) Input {
		prev := Term(1)
		if from == 1 {
			prev = 0
		}
		return Input{Kind: InputMessage, Message: Message{Type: MsgApp, From: ID(term), To: 2, Term: term,
			PrevLogIndex: from - 1, PrevLogTerm: prev, Entries: es}}
	}
	cfgEntry := func(i Index, term Term, ids ...ID) Entry {
		return Entry{Index: i, Term: term, Kind: EntryConfig, Data: conf(ids...)}
	}
	follower2 := func(t *testing.T) *Node { return follower(t, 2, 3, DurableState{}) }
	// leader1 is server 1 of 3, leader of term 1 with its no-op committed.
	leader1 := func(t *testing.T) *Node {
		l, _ := makeLeader(t, 3, DurableState{})
		deliver(l, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Success: true, MatchIndex: 1, Round: 1})
		return l
	}
	ack := func(match Index) Input {
		return Input{Kind: InputMessage, Message: Message{Type: MsgAppResp, From: 2, To: 1, Term: 1, Success: true, MatchIndex: match, Round: 1}}
	}
	admin := func(client kv.ClientID) Input {
		return Input{Kind: InputAdmin, Admin: AdminRequest{Client: client, Seq: 1, Op: AdminAddServer, Server: 4}}
	}
	tests := []struct {
		name        string
		base        func(t *testing.T) *Node
		setup       []Input
		orig, clone Input
	}{
		{"snapshot chunks", follower2, []Input{chunk(0, "ab")}, chunk(2, "cd"), chunk(2, "XY")},
		// Three entries appended one by one: the log's array has room for a fourth.
		{"log", follower2, []Input{app(1, 1, Entry{Index: 1, Term: 1}), app(1, 2, Entry{Index: 2, Term: 1}), app(1, 3, Entry{Index: 3, Term: 1})},
			app(1, 4, Entry{Index: 4, Term: 1, Data: "a"}), app(1, 4, Entry{Index: 4, Term: 1, Data: "b"})},
		{"configuration entries", follower2, []Input{app(1, 1, Entry{Index: 1, Term: 1}, cfgEntry(2, 1, 1, 2, 3), cfgEntry(3, 1, 1, 2))},
			app(3, 2, cfgEntry(2, 3, 1, 3)), app(3, 3, cfgEntry(3, 3, 2, 3))},
		{"waiters", leader1, []Input{request(1, 1, kv.OpPut, "a", "v"), request(2, 1, kv.OpPut, "b", "v")},
			ack(2), request(3, 1, kv.OpPut, "c", "v")},
		{"change waiters", leader1, []Input{admin(9), admin(10), admin(11)}, admin(12), admin(13)},
		{"state machine keys", leader1, []Input{request(1, 1, kv.OpPut, "m", "v"), ack(2)},
			request(2, 1, kv.OpPut, "a", "v"), request(3, 1, kv.OpPut, "b", "v")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := func(extra ...Input) *Node {
				n := tt.base(t)
				for _, in := range append(slices.Clone(tt.setup), extra...) {
					n.Step(0, in)
				}
				return n
			}
			for _, cloneFirst := range []bool{false, true} {
				n := build()
				c := n.Clone()
				if cloneFirst {
					c.Step(0, tt.clone)
					n.Step(0, tt.orig)
				} else {
					n.Step(0, tt.orig)
					c.Step(0, tt.clone)
				}
				if dump(n) != dump(build(tt.orig)) || dump(c) != dump(build(tt.clone)) {
					t.Fatalf("clone stepped first %v: the original and the clone do not end as if never cloned", cloneFirst)
				}
			}
		})
	}
}
