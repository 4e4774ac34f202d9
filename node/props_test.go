package node

import (
	"raftsim/node/kv"

	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// quorumIndex equals its definition: the largest N such that more than half of the
// values are >= N. It leaves its argument alone.
func TestQuorumIndexProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		raw := rapid.SliceOfN(rapid.Uint64Range(0, 30), 1, 2*maxInlineVoters).Draw(t, "match")
		match := make([]Index, len(raw))
		for i, v := range raw {
			match[i] = Index(v)
		}
		orig := slices.Clone(match)
		got := quorumIndex(match)
		want := Index(0)
		for n := Index(30); n > 0; n-- {
			held := 0
			for _, m := range match {
				if m >= n {
					held++
				}
			}
			if held > len(match)/2 {
				want = n
				break
			}
		}
		if got != want {
			t.Fatalf("quorumIndex(%v) = %d, want %d", match, got, want)
		}
		if !slices.Equal(match, orig) {
			t.Fatalf("quorumIndex modified its argument: %v -> %v", orig, match)
		}
	})
}

func TestQuorumIndexDoesNotAllocate(t *testing.T) {
	match := []Index{5, 3, 9, 1, 7}
	if a := testing.AllocsPerRun(100, func() { quorumIndex(match) }); a != 0 {
		t.Fatalf("quorumIndex allocates %v times", a)
	}
}

// A sequence of appends and truncations keeps the log's indexes consecutive from 1,
// matches a plain model, and never changes an entry that an earlier slice of the log
// (held by a message, an output or a disk) still sees. The term searches agree with a
// linear scan.
func TestLogOperationsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var l raftLog
		var model []Entry
		type held struct{ shared, copied []Entry }
		var views []held
		serial := 0
		for range rapid.IntRange(1, 40).Draw(t, "ops") {
			views = append(views, held{l.entries, slices.Clone(l.entries)})
			if l.lastIndex() > 0 && rapid.IntRange(0, 3).Draw(t, "truncate?") == 0 {
				from := Index(rapid.IntRange(1, int(l.lastIndex())).Draw(t, "from"))
				l.truncate(from)
				model = model[:from-1]
			} else {
				k := rapid.IntRange(1, 5).Draw(t, "count")
				term := l.lastTerm() + Term(rapid.IntRange(0, 2).Draw(t, "term step"))
				term = max(term, 1)
				var es []Entry
				for j := range k {
					serial++
					es = append(es, Entry{Index: l.lastIndex() + 1 + Index(j), Term: term, Data: string(rune('a' + serial%26))})
				}
				l.append(es...)
				model = append(model, es...)
			}
			if !slices.EqualFunc(l.entries, model, Entry.SameAs) {
				t.Fatalf("log %v, model %v", l.entries, model)
			}
			for i, e := range l.entries {
				if e.Index != Index(i+1) {
					t.Fatalf("entry %v at position %d", e, i)
				}
			}
			for _, v := range views {
				if !slices.EqualFunc(v.shared, v.copied, Entry.SameAs) {
					t.Fatalf("a shared slice changed: %v, was %v", v.shared, v.copied)
				}
			}
			checkTermSearch(t, &l)
		}
	})
}

// checkTermSearch compares firstIndexOfTerm and lastIndexOfTerm with linear scans.
func checkTermSearch(t *rapid.T, l *raftLog) {
	for term := Term(0); term <= l.lastTerm()+1; term++ {
		first, last := Index(0), Index(0)
		for _, e := range l.entries {
			if e.Term == term {
				if first == 0 {
					first = e.Index
				}
				last = e.Index
			}
		}
		got, ok := l.lastIndexOfTerm(term)
		if ok != (last != 0) || got != last {
			t.Fatalf("lastIndexOfTerm(%d) = %d, %v; want %d", term, got, ok, last)
		}
		if first != 0 {
			if got := l.firstIndexOfTerm(term, last); got != first {
				t.Fatalf("firstIndexOfTerm(%d) = %d, want %d", term, got, first)
			}
		}
	}
}

// A node fed random inputs, well-formed and malformed, never panics (so no internal
// invariant breaks), and from outside: term and commit never go back, one vote per term,
// applies continue exactly where they stopped, a leader only appends, messages come from
// it in its term, its outputs rebuild its state on a disk, and a restart from that disk
// has the same term, vote and log. Shared entries are never modified.
func TestRandomInputsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{1, 3, 5}).Draw(t, "size")
		n := mustNew(t, testConfig(1, size, rapid.Uint64().Draw(t, "seed")), DurableState{})
		f := &fuzzer{t: t, n: n, size: size}
		f.step(Input{Kind: InputWake})
		for range rapid.IntRange(50, 300).Draw(t, "steps") {
			f.step(f.input())
		}
		r := mustNew(t, testConfig(1, size, 7), f.disk.state())
		if rv, nv := r.View(), n.View(); rv.Term != nv.Term || rv.Vote != nv.Vote || !slices.EqualFunc(rv.Log, nv.Log, Entry.SameAs) {
			t.Fatalf("restart: term %d vote %d log %v, was term %d vote %d log %v", rv.Term, rv.Vote, rv.Log, nv.Term, nv.Vote, nv.Log)
		}
		for _, h := range f.held {
			if !slices.EqualFunc(h[0], h[1], Entry.SameAs) {
				t.Fatalf("shared entries changed: %v, were %v", h[0], h[1])
			}
		}
	})
}

// fuzzer drives one node with random inputs and checks it from outside.
type fuzzer struct {
	t       *rapid.T
	n       *Node
	size    int
	now     time.Duration
	disk    disk
	applied Index
	held    [][2][]Entry // slices the node handed out, and copies of them
}

// input draws a random input: mostly messages near the node's term and log, some
// malformed.
func (f *fuzzer) input() Input {
	t := f.t
	switch rapid.IntRange(0, 9).Draw(t, "kind") {
	case 0, 1:
		f.now += time.Duration(rapid.IntRange(0, 400).Draw(t, "advance ms")) * time.Millisecond
		return Input{Kind: InputWake}
	case 2:
		if rapid.Bool().Draw(t, "client") {
			return request(kv.ClientID(rapid.IntRange(0, 3).Draw(t, "client id")), uint64(rapid.IntRange(0, 5).Draw(t, "seq")),
				kv.Op(rapid.IntRange(0, 4).Draw(t, "op")), "k", "v")
		}
		return Input{Kind: InputPropose, Data: "p"}
	case 3:
		return Input{Kind: InputKind(rapid.IntRange(0, 255).Draw(t, "raw kind"))}
	}
	return Input{Kind: InputMessage, Message: f.message()}
}

// message draws a random message to the node.
func (f *fuzzer) message() Message {
	t, n := f.t, f.n
	m := Message{
		Type: MsgType(rapid.IntRange(0, 5).Draw(t, "type")),
		From: ID(rapid.IntRange(0, f.size+1).Draw(t, "from")),
		To:   1,
		Term: Term(max(0, int(n.term)+rapid.IntRange(-2, 2).Draw(t, "term delta"))),
	}
	if rapid.IntRange(0, 20).Draw(t, "misaddress") == 0 {
		m.To = 2
	}
	last := int(n.log.lastIndex())
	m.LastLogIndex = Index(rapid.IntRange(0, last+2).Draw(t, "last index"))
	m.LastLogTerm = Term(rapid.IntRange(0, int(m.Term)+1).Draw(t, "last term"))
	m.PrevLogIndex = Index(rapid.IntRange(0, last+2).Draw(t, "prev index"))
	if pt, ok := n.log.term(m.PrevLogIndex); ok && rapid.Bool().Draw(t, "matching prev") {
		m.PrevLogTerm = pt
	} else {
		m.PrevLogTerm = Term(rapid.IntRange(0, int(m.Term)+1).Draw(t, "prev term"))
	}
	term := max(m.PrevLogTerm, 1)
	for i := range rapid.IntRange(0, 4).Draw(t, "entries") {
		term += Term(rapid.IntRange(0, 1).Draw(t, "entry term step"))
		e := Entry{Index: m.PrevLogIndex + 1 + Index(i), Term: term, Data: "x"}
		if rapid.IntRange(0, 30).Draw(t, "garble") == 0 {
			e.Index++
		}
		m.Entries = append(m.Entries, e)
	}
	m.LeaderCommit = Index(rapid.IntRange(0, last+4).Draw(t, "leader commit"))
	m.Success = rapid.Bool().Draw(t, "success")
	m.MatchIndex = Index(rapid.IntRange(0, last+2).Draw(t, "match"))
	m.ConflictTerm = Term(rapid.IntRange(0, int(m.Term)+1).Draw(t, "conflict term"))
	m.ConflictIndex = Index(rapid.IntRange(0, last+2).Draw(t, "conflict index"))
	return m
}

// step feeds in to the node and checks the step from outside.
func (f *fuzzer) step(in Input) {
	t, n := f.t, f.n
	before := n.View()
	beforeLast := before.LastIndex()
	out := n.Step(f.now, in)
	after := n.View()
	if after.Term < before.Term || after.CommitIndex < before.CommitIndex {
		t.Fatalf("term %d -> %d, commit %d -> %d", before.Term, after.Term, before.CommitIndex, after.CommitIndex)
	}
	if after.Term == before.Term && before.Vote != None && after.Vote != before.Vote {
		t.Fatalf("two votes in term %d: %d and %d", after.Term, before.Vote, after.Vote)
	}
	if before.Role == Leader && after.Role == Leader && len(out.Entries) > 0 && out.Entries[0].Index != beforeLast+1 {
		t.Fatalf("leader rewrote its log from %d, last was %d", out.Entries[0].Index, beforeLast)
	}
	for _, e := range out.Apply {
		if f.applied++; e.Index != f.applied {
			t.Fatalf("applied %v, want index %d", e, f.applied)
		}
	}
	for _, m := range out.Messages {
		// Replies may go to servers outside the configuration (requests from them are
		// answered); nothing goes to the node itself or to no one.
		if m.From != 1 || m.To == 1 || m.To < 1 || m.Term != after.Term || !m.Type.Valid() {
			t.Fatalf("node in term %d sent %v", after.Term, m)
		}
		f.hold(m.Entries)
	}
	f.hold(out.Entries)
	f.hold(out.Apply)
	f.disk.write(t, &out)
	if f.disk.hs != (HardState{after.Term, after.Vote}) || !slices.EqualFunc(f.disk.log, after.Log, Entry.SameAs) {
		t.Fatalf("disk %v %v, node term %d vote %d log %v", f.disk.hs, f.disk.log, after.Term, after.Vote, after.Log)
	}
	if out.WakeAt <= f.now {
		t.Fatalf("WakeAt %v not after now %v", out.WakeAt, f.now)
	}
}

// hold remembers a slice the node handed out, to check later that it never changes.
func (f *fuzzer) hold(es []Entry) {
	if len(es) > 0 {
		f.held = append(f.held, [2][]Entry{es, slices.Clone(es)})
	}
}

// A cluster under random message loss, duplication, reordering, proposals and restarts
// keeps Election Safety, Leader Completeness, Log Matching and State Machine Safety
// (checked after every step by the harness), and elects a leader that commits once the
// faults stop.
func TestClusterRandomFaultsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.SampledFrom([]int{3, 5}).Draw(t, "size")
		c := newCluster(t, size, rapid.Uint64().Draw(t, "seed"))
		boots := uint64(1000)
		for range rapid.IntRange(200, 600).Draw(t, "actions") {
			c.randomAction(t, &boots)
		}
		c.checkSafety()
		c.queue = nil
		l := c.electLeader()
		p := c.step(l, Input{Kind: InputPropose, Data: "final"})
		c.run(100, func() bool { return c.node(l).commit >= p.Proposal.Index || c.node(l).role != Leader })
		c.checkSafety()
	})
}

// randomAction does one random thing to the cluster. Time advances (tick) mostly when
// nothing is in flight, so that elections are not continually disrupted.
func (c *cluster) randomAction(t *rapid.T, boots *uint64) {
	pick := func(label string) int { return rapid.IntRange(0, len(c.queue)-1).Draw(t, label) }
	a := rapid.IntRange(0, 99).Draw(t, "action")
	switch {
	case a < 70 && len(c.queue) > 0: // deliver one message, in any order
		k := pick("deliver")
		m := c.queue[k]
		c.queue = slices.Delete(c.queue, k, k+1)
		c.step(m.To, Input{Kind: InputMessage, Message: m})
	case a < 75 && len(c.queue) > 0: // lose one
		k := pick("drop")
		c.queue = slices.Delete(c.queue, k, k+1)
	case a < 80 && len(c.queue) > 0: // deliver a duplicate
		m := c.queue[pick("duplicate")]
		c.step(m.To, Input{Kind: InputMessage, Message: m})
	case a < 92:
		id := c.leader() // clients mostly find the leader
		if id == None || rapid.IntRange(0, 3).Draw(t, "misdirected") == 0 {
			id = ID(rapid.IntRange(1, len(c.nodes)).Draw(t, "proposer"))
		}
		if rapid.Bool().Draw(t, "client request") {
			client := kv.ClientID(rapid.IntRange(1, 3).Draw(t, "client"))
			op := kv.Op(rapid.IntRange(int(kv.OpGet), int(kv.OpAppend)).Draw(t, "op"))
			value := ""
			if op != kv.OpGet {
				value = "v"
			}
			c.step(id, request(client, uint64(rapid.IntRange(1, 4).Draw(t, "seq")), op, "k", value))
		} else {
			c.step(id, Input{Kind: InputPropose, Data: "v"})
		}
	case a < 94:
		*boots++
		c.restart(ID(rapid.IntRange(1, len(c.nodes)).Draw(t, "restarted")), *boots)
	default:
		c.tick()
	}
}
