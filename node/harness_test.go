package node

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Test timing, as in the design's standard scenario.
const (
	testElectionTimeoutMin = 150 * time.Millisecond
	testElectionTimeoutMax = 300 * time.Millisecond
	testHeartbeatInterval  = 50 * time.Millisecond
)

// tb is the part of testing.TB the harness needs; *rapid.T has it too.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Fatal(args ...any)
}

// testConfig is the configuration of server id in a cluster of servers 1..size.
func testConfig(id ID, size int, seed uint64) Config {
	peers := make([]ID, size)
	for i := range peers {
		peers[i] = ID(i + 1)
	}
	return Config{
		ID:                 id,
		Peers:              peers,
		ElectionTimeoutMin: testElectionTimeoutMin,
		ElectionTimeoutMax: testElectionTimeoutMax,
		HeartbeatInterval:  testHeartbeatInterval,
		Seed:               seed,
	}
}

// mustNew is New for tests.
func mustNew(t tb, cfg Config, d DurableState) *Node {
	t.Helper()
	n, err := New(cfg, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

// logOf builds a log with the given terms at indexes 1, 2, ...
func logOf(terms ...Term) []Entry {
	es := make([]Entry, len(terms))
	for i, t := range terms {
		es[i] = Entry{Index: Index(i + 1), Term: t, Data: fmt.Sprintf("e%d", i+1)}
	}
	return es
}

// disk is a host's durable state, written from outputs exactly as a host must.
type disk struct {
	hs   HardState
	snap Snapshot
	log  []Entry // entries after snap
}

// write applies an output's durable part.
func (d *disk) write(t tb, out *Output) {
	t.Helper()
	if out.HardStateChanged {
		d.hs = out.HardState
	}
	if s := out.InstallSnapshot; s != nil {
		// Figure 13: keep the suffix after the snapshot only if the log holds its entry.
		var keep []Entry
		if k := int(s.Index) - int(d.snap.Index); k >= 1 && k <= len(d.log) && d.log[k-1].Term == s.Term {
			keep = slices.Clone(d.log[k:])
		}
		d.snap, d.log = *s, keep
	}
	if len(out.Entries) > 0 {
		first := out.Entries[0].Index
		if first <= d.snap.Index || first > d.snap.Index+Index(len(d.log))+1 {
			t.Fatalf("durable write at %d outside disk log %d..%d", first, d.snap.Index+1, d.snap.Index+Index(len(d.log)))
		}
		if k := int(first - d.snap.Index - 1); k < len(d.log) {
			// Truncating: cap, so the append below cannot overwrite entries others share.
			d.log = d.log[:k:k]
		}
		d.log = append(d.log, out.Entries...)
	}
}

// state is the DurableState a restart would read.
func (d *disk) state() DurableState {
	return DurableState{HardState: d.hs, Snapshot: d.snap, Log: slices.Clone(d.log)}
}

// save makes a snapshot durable and drops the log prefix it covers, as a host does before
// telling the node InputSnapshotSaved; an older snapshot than the disk's changes nothing.
func (d *disk) save(s *Snapshot) {
	if s.Index <= d.snap.Index {
		return
	}
	d.log = slices.Clone(d.log[s.Index-d.snap.Index:])
	d.snap = *s
}

// cluster wires servers 1..n with a perfect in-memory network: FIFO delivery of every
// message (unless drop says otherwise), and a fake clock advanced to the earliest wake-up
// when nothing is in flight.
type cluster struct {
	t         tb
	now       time.Duration
	nodes     []*Node // nodes[i] is server i+1
	disks     []disk
	wakeAt    []time.Duration
	applied   [][]Entry // what each server applied, in order, in this life (after its snapshot)
	applyBase []Index   // the index each server's applied list starts after (its boot snapshot)
	queue     []Message
	// drop, if set, loses the messages for which it returns true.
	drop func(m Message) bool
	// tweak, if set, adjusts every server's configuration (at start and at restarts).
	tweak func(*Config)
	// voters is the size of the bootstrap configuration; servers above it are spares.
	voters int
	// installs counts the snapshots installed from a leader.
	installs uint64
	// replies collects every client reply, in order.
	replies []Reply

	// Safety checks run after every step (§5.2 Election Safety, §5.4 Leader
	// Completeness, §5.4.3 State Machine Safety).
	leaders map[Term]ID // the leader of each term seen
	ledger  []Entry     // the committed entries, as applied by anyone
	// ledgerTerm[k] is the term of the first server seen applying ledger[k]: at least the
	// term in which the entry was committed.
	ledgerTerm []Term
}

// newCluster starts size servers with empty state and gives each its first wake.
func newCluster(t tb, size int, seed uint64) *cluster {
	return newClusterWith(t, size, seed, nil)
}

// newClusterWith is newCluster with every configuration adjusted by tweak (nil: none).
func newClusterWith(t tb, size int, seed uint64, tweak func(*Config)) *cluster {
	return newClusterWithSpares(t, size, 0, seed, tweak)
}

// newClusterWithSpares is newClusterWith plus spares servers size+1..size+spares that
// boot empty, outside the configuration, waiting to be added (§6).
func newClusterWithSpares(t tb, size, spares int, seed uint64, tweak func(*Config)) *cluster {
	t.Helper()
	all := size + spares
	c := &cluster{t: t, disks: make([]disk, all), wakeAt: make([]time.Duration, all),
		applied: make([][]Entry, all), applyBase: make([]Index, all), tweak: tweak, voters: size}
	for i := range all {
		c.nodes = append(c.nodes, mustNew(t, c.config(ID(i+1), all, seed*100+uint64(i)), DurableState{}))
		c.step(ID(i+1), Input{Kind: InputWake})
	}
	return c
}

// config is testConfig adjusted by the cluster's tweak; spares boot with no peers.
func (c *cluster) config(id ID, size int, seed uint64) Config {
	cfg := testConfig(id, c.voters, seed)
	if int(id) > c.voters {
		cfg.Peers = nil
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	return cfg
}

// node returns server id.
func (c *cluster) node(id ID) *Node { return c.nodes[id-1] }

// step feeds one input to server id and carries out its output: durable part, then
// messages, then applies, checking that applies continue exactly where the last ended.
func (c *cluster) step(id ID, in Input) Output {
	c.t.Helper()
	i := id - 1
	out := c.nodes[i].Step(c.now, in)
	c.disks[i].write(c.t, &out)
	for _, m := range out.Messages {
		if c.drop == nil || !c.drop(m) {
			c.queue = append(c.queue, m)
		}
	}
	if s := out.InstallSnapshot; s != nil {
		c.installs++
		// The state machine jumps to the snapshot: applies continue after it.
		c.applied[i], c.applyBase[i] = nil, s.Index
	}
	for _, e := range out.Apply {
		if want := c.applyBase[i] + Index(len(c.applied[i])+1); e.Index != want {
			c.t.Fatalf("server %d applied %v, want index %d", id, e, want)
		}
		c.applied[i] = append(c.applied[i], e)
	}
	c.wakeAt[i] = out.WakeAt
	c.replies = append(c.replies, out.Replies...)
	c.checkStep(id, &out)
	if s := out.SaveSnapshot; s != nil {
		// Saved at once; the node learns of it in a step of its own.
		c.disks[i].save(s)
		c.step(id, Input{Kind: InputSnapshotSaved, Index: s.Index})
	}
	return out
}

// checkStep checks Election Safety, Leader Completeness and State Machine Safety after
// server id's step.
func (c *cluster) checkStep(id ID, out *Output) {
	c.t.Helper()
	v := c.node(id).View()
	if v.Role == Leader {
		if c.leaders == nil {
			c.leaders = map[Term]ID{}
		}
		l, ok := c.leaders[v.Term]
		if ok && l != id {
			c.t.Fatalf("Election Safety: servers %d and %d both lead term %d", l, id, v.Term)
		}
		if !ok {
			c.leaders[v.Term] = id
			for k, e := range c.ledger {
				// Only entries committed in an earlier term bind this leader: a stale
				// leader of an old term may lack later commits (Figure 8). Entries its
				// snapshot covers are checked through the state machine elsewhere.
				if c.ledgerTerm[k] >= v.Term || e.Index <= v.SnapshotIndex {
					continue
				}
				if got, ok := v.EntryAt(e.Index); !ok || !got.SameAs(e) {
					c.t.Fatalf("Leader Completeness: new leader %d of term %d lacks committed %v", id, v.Term, e)
				}
			}
		}
	}
	for _, e := range out.Apply {
		if k := int(e.Index) - 1; k < len(c.ledger) {
			if !c.ledger[k].SameAs(e) {
				c.t.Fatalf("State Machine Safety: server %d applied %v, another applied %v", id, e, c.ledger[k])
			}
		} else {
			c.ledger = append(c.ledger, e)
			c.ledgerTerm = append(c.ledgerTerm, v.Term)
		}
	}
}

// restart crashes server id and boots it from its disk with a fresh seed.
func (c *cluster) restart(id ID, seed uint64) {
	c.t.Helper()
	i := id - 1
	c.nodes[i] = mustNew(c.t, c.config(id, len(c.nodes), seed), c.disks[i].state())
	c.applied[i], c.applyBase[i] = nil, c.disks[i].snap.Index
	c.step(id, Input{Kind: InputWake})
}

// deliverAll delivers messages until none are in flight (at most limit).
func (c *cluster) deliverAll() {
	c.t.Helper()
	for k := 0; len(c.queue) > 0; k++ {
		if k > 100000 {
			c.t.Fatal("messages never stop")
		}
		m := c.queue[0]
		c.queue = c.queue[1:]
		c.step(m.To, Input{Kind: InputMessage, Message: m})
	}
}

// tick advances the clock to the earliest wake-up and wakes every server due.
func (c *cluster) tick() {
	c.t.Helper()
	next := time.Duration(-1)
	for _, w := range c.wakeAt {
		if w > 0 && (next < 0 || w < next) {
			next = w
		}
	}
	if next < 0 {
		c.t.Fatal("no server wants a wake-up")
	}
	c.now = max(c.now, next)
	for i, w := range c.wakeAt {
		if w > 0 && w <= c.now {
			c.step(ID(i+1), Input{Kind: InputWake})
		}
	}
}

// run alternates delivery and ticks until cond holds, failing after maxTicks ticks.
func (c *cluster) run(maxTicks int, cond func() bool) {
	c.t.Helper()
	for range maxTicks {
		c.deliverAll()
		if cond() {
			return
		}
		c.tick()
	}
	c.deliverAll()
	if !cond() {
		c.t.Fatalf("condition not reached after %d ticks", maxTicks)
	}
}

// leader returns the leader with the highest term, or None.
func (c *cluster) leader() ID {
	best, term := None, Term(0)
	for _, n := range c.nodes {
		if v := n.View(); v.Role == Leader && v.Term >= term {
			best, term = v.ID, v.Term
		}
	}
	return best
}

// electLeader runs until some server leads and every server follows it.
func (c *cluster) electLeader() ID {
	c.t.Helper()
	c.run(1000, func() bool {
		l := c.leader()
		if l == None {
			return false
		}
		for _, n := range c.nodes {
			if !c.node(l).conf.IsMember(n.id) {
				continue // spares and removed servers hear from no leader
			}
			if n.View().Leader != l || n.View().Term != c.node(l).View().Term {
				return false
			}
		}
		return true
	})
	return c.leader()
}

// timeout makes server id's election timer fire now.
func (c *cluster) timeout(id ID) Output {
	c.t.Helper()
	c.now = max(c.now, c.node(id).electionDeadline)
	return c.step(id, Input{Kind: InputWake})
}

// checkLogMatching fails if two servers disagree on an entry both hold at one (index,
// term), or on anything before it (§5.3), or if applied prefixes differ (§5.4.3).
func (c *cluster) checkSafety() {
	c.t.Helper()
	for i, a := range c.nodes {
		for _, b := range c.nodes[i+1:] {
			va, vb := a.View(), b.View()
			lo := max(va.SnapshotIndex, vb.SnapshotIndex) + 1
			for k := min(va.LastIndex(), vb.LastIndex()); k >= lo; k-- {
				ea, _ := va.EntryAt(k)
				eb, _ := vb.EntryAt(k)
				if ea.Term != eb.Term {
					continue
				}
				for j := lo; j <= k; j++ {
					x, _ := va.EntryAt(j)
					y, _ := vb.EntryAt(j)
					if !x.SameAs(y) {
						c.t.Fatalf("Log Matching: servers %d and %d share %v but differ at %v / %v", a.id, b.id, ea, x, y)
					}
				}
				break
			}
		}
	}
	// Applied entries agree with the ledger of committed entries, whatever each server's
	// snapshot base (§5.4.3).
	for i := range c.applied {
		for _, e := range c.applied[i] {
			if k := int(e.Index) - 1; k < len(c.ledger) && !c.ledger[k].SameAs(e) {
				c.t.Fatalf("State Machine Safety: server %d applied %v, the ledger has %v", i+1, e, c.ledger[k])
			}
		}
	}
	// Replicas at the same applied index have the same state, snapshots included.
	for i, a := range c.nodes {
		for _, b := range c.nodes[i+1:] {
			if a.applied == b.applied && a.store.Hash() != b.store.Hash() {
				c.t.Fatalf("State Machine Safety: servers %d and %d both applied %d entries but their states differ", a.id, b.id, a.applied)
			}
		}
	}
}

// msg is a message to the node under test, for hand-built scenarios.
func msg(t MsgType, from, to ID, term Term) Message {
	return Message{Type: t, From: from, To: to, Term: term}
}

// deliver steps n with message m at time now.
func deliver(n *Node, now time.Duration, m Message) Output {
	return n.Step(now, Input{Kind: InputMessage, Message: m})
}

// only returns the single message of out with type typ, failing otherwise.
func only(t testing.TB, out Output, typ MsgType) Message {
	t.Helper()
	if len(out.Messages) != 1 || out.Messages[0].Type != typ {
		t.Fatalf("want exactly one %v message, got %v", typ, out.Messages)
	}
	return out.Messages[0]
}

// makeLeader returns server 1 of a cluster of size servers, with durable state d, as the
// leader of term d.HardState.Term+1, elected by votes from servers 2..majority. The
// output of the step that made it leader is returned too.
func makeLeader(t testing.TB, size int, d DurableState) (*Node, Output) {
	t.Helper()
	n := mustNew(t, testConfig(1, size, 1), d)
	n.Step(0, Input{Kind: InputWake})
	out := n.Step(n.electionDeadline, Input{Kind: InputWake})
	var last Output
	for id := ID(2); n.role != Leader; id++ {
		last = deliver(n, n.electionDeadline, Message{Type: MsgVoteResp, From: id, To: 1, Term: n.term, Success: true})
	}
	if size == 1 {
		last = out
	}
	return n, last
}
