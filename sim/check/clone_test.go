package check

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"raftsim/node"
	"raftsim/node/kv"
)

// clone returns an independent copy of h: its checker cloned, its views copied with their
// state machines (the harness applies to them in place; logs and snapshots are replaced,
// never modified).
func (h *harness) clone() *harness {
	d := *h
	d.c = h.c.Clone()
	d.views = slices.Clone(h.views)
	for i := range d.views {
		if st := d.views[i].Store; st != nil {
			d.views[i].Store = st.Clone()
		}
	}
	return &d
}

// dump renders every field of c that a step can change, through whatever arrays c
// shares, except the copy-on-write marks: two checkers with equal dumps are in the same
// state, and a dump that changes shows a write.
func dump(c *Checker) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nodes %+v\nleaders %+v sumK %d\n", c.nodes, c.leaders, c.sumK)
	fmt.Fprintf(&b, "ledger %d@t%d %+v\nmeta %+v\n", c.base, c.baseTerm, c.committed, c.meta)
	fmt.Fprintf(&b, "ref %q hashes %d %v empty %#x\n", c.ref.Encode(), c.refBase, c.refHash, c.emptyHash)
	fmt.Fprintf(&b, "match %d %+v\nvotes %+v\nsessions %+v\n", c.matchBase, c.match, c.votes, c.sessions)
	fmt.Fprintf(&b, "outside %v %d none %+v\n", c.outside, c.outsideCount, *c.none)
	return b.String()
}

func records(c *Checker, perm []node.ID) []byte { return c.AppendRecords(nil, perm) }

// outcome is what a history leaves: its verdict, the checker's records and its dump.
type outcome struct {
	x       *Violation
	records []byte
	dump    string
}

func outcomeOf(h *harness, x *Violation) outcome {
	return outcome{x: x, records: records(h.c, nil), dump: dump(h.c)}
}

func sameOutcome(t *testing.T, what string, got, want outcome) {
	t.Helper()
	if !reflect.DeepEqual(got.x, want.x) {
		t.Errorf("%s: verdict %v, want %v", what, got.x, want.x)
	}
	if !bytes.Equal(got.records, want.records) {
		t.Errorf("%s: records differ", what)
	}
	if got.dump != want.dump {
		t.Errorf("%s: state differs:\n got %s\nwant %s", what, got.dump, want.dump)
	}
}

// branches are pairs of continuations of one prefix, each legal, that write different
// records: commits, elections, votes, sessions, snapshots, crashes and restarts.
var branches = []struct {
	name         string
	prefix, a, b []op
}{
	{"new leader or snapshots and a restart",
		cat([]op{elect(1, 1, 2, 3)}, clientLoad(1, 4), []op{replicate(1, 2, 5), replicate(1, 3, 5), commit(1, 5)}),
		cat([]op{replicate(1, 2, 5), takeSnapshot(1, nil), takeSnapshot(2, nil)}, clientLoad(5, 2),
			[]op{replicate(1, 2, 7), commit(1, 7), crash(3), restart(3, 5, nil), replicate(1, 3, 7), installFrom(1, 4, nil)}),
		[]op{elect(2, 2, 3, 4), replicate(2, 1, 6), replicate(2, 3, 6), commit(2, 6), proposeKV(2, 7, 1, "k", "x"),
			replicate(2, 4, 7), replicate(2, 1, 7), commit(2, 7), replicate(2, 1, 7), grant(5, 3, 3), crash(1)},
	},
	{"overwritten entries and divergent sessions",
		[]op{elect(1, 1, 2), proposeKV(1, 1, 1, "a", "1"), replicate(1, 2, 2), commit(1, 2), proposeKV(1, 1, 2, "a", "2")},
		// a: node 1's entry 3 commits; b: node 3 leads term 2 and overwrites it at node 1.
		[]op{replicate(1, 3, 3), commit(1, 3), replicate(1, 2, 3), replicate(1, 3, 3)},
		[]op{replicate(1, 3, 2), elect(3, 2, 4, 5), proposeKV(3, 1, 2, "a", "3"), replicate(3, 1, 4), replicate(3, 4, 4),
			commit(3, 4), replicate(3, 1, 4)},
	},
	// Commits without applies append to the ledger and nothing else writes it: the
	// appends must not land in an array the other shares.
	{"different nodes commit first",
		[]op{elect(1, 1, 2), propose(1, "a"), propose(1, "b"), propose(1, "c"), replicate(1, 2, 4),
			commit(1, 3), replicate(1, 2, 4)}, // the ledger has room for one more entry
		[]op{commitOnly(1, 4), commitOnly(2, 4)},
		[]op{commitOnly(2, 4), commitOnly(1, 4)},
	},
	{"membership",
		[]op{boot(conf(set(1, 2, 3), nil), 1, 2, 3), elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1)},
		[]op{proposeConfig(1, conf(set(1, 2, 3), nil, 4)), replicate(1, 3, 2), replicate(1, 4, 2), commit(1, 2)},
		[]op{proposeConfig(1, conf(set(2, 3), set(1, 2, 3))), replicate(1, 2, 2), replicate(1, 3, 2), commit(1, 2)},
	},
}

// commitOnly: id's commit index advances to c; it applies nothing yet.
func commitOnly(id node.ID, c node.Index) op {
	return edit(id, func(v *node.View) node.Output {
		v.CommitIndex = c
		return node.Output{}
	})
}

// TestCloneIndependent: after a Clone, each of the original and the clone, fed different
// steps (one after the other, or interleaved), ends exactly as a checker that never was
// cloned and saw its steps alone: same verdicts, records and state.
func TestCloneIndependent(t *testing.T) {
	for _, tc := range branches {
		t.Run(tc.name, func(t *testing.T) {
			fresh := func(cont []op) outcome {
				h := newHarness(5)
				if x := h.run(tc.prefix...); x != nil {
					t.Fatalf("prefix: %v", x)
				}
				return outcomeOf(h, h.run(cont...))
			}
			wantA, wantB := fresh(tc.a), fresh(tc.b)
			if wantA.x != nil || wantB.x != nil {
				t.Fatalf("branches must be legal: %v, %v", wantA.x, wantB.x)
			}
			if bytes.Equal(wantA.records, wantB.records) {
				t.Fatal("branches leave equal records: they test nothing")
			}
			for _, interleave := range []bool{false, true} {
				h := newHarness(5)
				if x := h.run(tc.prefix...); x != nil {
					t.Fatal(x)
				}
				d := h.clone()
				var xa, xb *Violation
				if interleave {
					for i := 0; i < max(len(tc.a), len(tc.b)); i++ {
						if i < len(tc.a) && xa == nil {
							xa = tc.a[i](h)
						}
						if i < len(tc.b) && xb == nil {
							xb = tc.b[i](d)
						}
					}
				} else {
					xa, xb = h.run(tc.a...), d.run(tc.b...)
				}
				sameOutcome(t, fmt.Sprintf("original (interleaved %v)", interleave), outcomeOf(h, xa), wantA)
				sameOutcome(t, fmt.Sprintf("clone (interleaved %v)", interleave), outcomeOf(d, xb), wantB)
			}
		})
	}
}

// TestCloneViolation: every hand-built violation, fed to a clone taken just before the
// step that breaks the property, fires on the clone only; fed then to the original, it
// fires identically.
func TestCloneViolation(t *testing.T) {
	type tc struct {
		name, check string
		ops         []op
	}
	var cases []tc
	for _, v := range violations {
		cases = append(cases, tc{v.name, v.check, v.ops})
	}
	for _, v := range quorumViolations {
		cases = append(cases, tc{v.name, v.check, v.ops})
	}
	for _, v := range snapshotViolations {
		cases = append(cases, tc{v.name, v.check, v.ops})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(5)
			k := 0
			for ; k < len(c.ops); k++ {
				scratch := h.clone()
				if x := c.ops[k](scratch); x != nil {
					break
				}
				if x := c.ops[k](h); x != nil {
					t.Fatalf("op %d fired on the original but not on its clone: %v", k, x)
				}
			}
			if k == len(c.ops) {
				t.Fatal("the history fires nowhere")
			}
			before := outcomeOf(h, nil)
			d := h.clone()
			x := c.ops[k](d)
			wantViolation(t, x, c.check)
			sameOutcome(t, "original after the clone's violation", outcomeOf(h, nil), before)
			if y := c.ops[k](h); !reflect.DeepEqual(x, y) {
				t.Fatalf("the original reports %v, the clone %v", y, x)
			}
		})
	}
}

// TestCloneTrimming: a clone taken before the ledger is trimmed, stepped on with the
// original through several trims, ends as a fresh checker would (trimming writes the
// shared records in place unless it copies them).
func TestCloneTrimming(t *testing.T) {
	run := func(h *harness, from, n int, key string) {
		for i := from; i < from+n; i++ {
			last := h.views[1].LastIndex() + 1
			ops := []op{proposeKV(1, kv.ClientID(1+i%4), uint64(i), key, "v"),
				replicate(1, 2, last), replicate(1, 3, last), commit(1, last), replicate(1, 2, last), replicate(1, 3, last)}
			if i%50 == 0 {
				ops = append(ops, takeSnapshot(1, nil), takeSnapshot(2, nil), takeSnapshot(3, nil))
			}
			if x := h.run(ops...); x != nil {
				t.Fatalf("entry %d: %v", i, x)
			}
		}
	}
	h := newHarness(3)
	longRun(t, h, 300, func(int) {})
	f := newHarness(3)
	longRun(t, f, 300, func(int) {})
	g := f.clone()
	d := h.clone()
	for r := 0; r < 6; r++ { // interleaved rounds
		run(h, 301+100*r, 100, "a")
		run(d, 301+100*r, 100, "b")
	}
	for r := 0; r < 6; r++ {
		run(f, 301+100*r, 100, "a")
	}
	for r := 0; r < 6; r++ {
		run(g, 301+100*r, 100, "b")
	}
	if h.c.CommittedFloor() <= 300 {
		t.Fatalf("no trim after the clone (floor %d)", h.c.CommittedFloor())
	}
	sameOutcome(t, "original", outcomeOf(h, h.final()), outcomeOf(f, f.final()))
	sameOutcome(t, "clone", outcomeOf(d, d.final()), outcomeOf(g, g.final()))
}

// TestCloneRecords: a clone encodes as the original; a commit, a new leader or a vote
// changes the encoding of the checker it is fed to only.
func TestCloneRecords(t *testing.T) {
	base := []op{elect(1, 1, 2, 3), propose(1, "a"), replicate(1, 2, 2), replicate(1, 3, 2)}
	tests := []struct {
		name string
		step op
	}{
		{"a commit", commit(1, 2)},
		{"a new leader", takeOfficeWithout(4, 2)},
		{"a vote", grant(5, 2, 2)},
		{"a crash", crash(3)},
		{"a session", proposeKV(1, 1, 1, "k", "v")}, // written only: the sessions change at the commit below
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(5)
			if x := h.run(base...); x != nil {
				t.Fatal(x)
			}
			d := h.clone()
			want := records(h.c, nil)
			if !bytes.Equal(records(d.c, nil), want) {
				t.Fatal("a clone encodes differently")
			}
			if x := d.run(tc.step); x != nil {
				t.Fatal(x)
			}
			if bytes.Equal(records(d.c, nil), want) {
				t.Fatalf("%s leaves the records unchanged", tc.name)
			}
			if !bytes.Equal(records(h.c, nil), want) {
				t.Fatal("the original's records changed")
			}
		})
	}
	t.Run("sessions", func(t *testing.T) {
		h := newHarness(3)
		if x := h.run(elect(1, 1, 2), proposeKV(1, 1, 1, "k", "v"), replicate(1, 2, 2)); x != nil {
			t.Fatal(x)
		}
		d := h.clone()
		if x := d.run(commit(1, 2)); x != nil {
			t.Fatal(x)
		}
		e := h.clone()
		if x := e.run(edit(1, func(v *node.View) node.Output { // commits the same without the command taking effect
			var out node.Output
			advance(v, 2, &out)
			out.Commands = nil
			return out
		})); x != nil {
			t.Fatal(x)
		}
		if bytes.Equal(records(d.c, nil), records(e.c, nil)) {
			t.Fatal("sessions are not in the records")
		}
	})
}

// renamedHistory is a history on 5 nodes with every server ID passed through r: a spare,
// membership changes by joint consensus (configuration entries name servers), client
// sessions, votes, a crash and a new leader.
func renamedHistory(h *harness, r func(node.ID) node.ID) *Violation {
	rs := func(ids ...node.ID) []node.ID {
		out := make([]node.ID, len(ids))
		for i, id := range ids {
			out[i] = r(id)
		}
		slices.Sort(out)
		return out
	}
	h.c.Spare(r(5))
	return h.run(
		boot(conf(rs(1, 2, 3), nil), rs(1, 2, 3)...),
		elect(r(1), 1, r(2)), replicate(r(1), r(2), 1), commit(r(1), 1),
		proposeConfig(r(1), conf(rs(1, 2, 3), nil, r(4))), replicate(r(1), r(3), 2), replicate(r(1), r(4), 2), commit(r(1), 2),
		proposeConfig(r(1), conf(rs(1, 2, 3, 4), rs(1, 2, 3))), replicate(r(1), r(2), 3), replicate(r(1), r(4), 3), commit(r(1), 3),
		proposeKV(r(1), 1, 1, "k", "x"), proposeKV(r(1), 2, 1, "j", "y"),
		replicate(r(1), r(2), 5), replicate(r(1), r(3), 5), replicate(r(1), r(4), 5), commit(r(1), 5),
		replicate(r(1), r(2), 5), replicate(r(1), r(4), 5),
		crash(r(1)),
		elect(r(4), 2, r(2), r(3)), replicate(r(4), r(2), 6), replicate(r(4), r(3), 6), commit(r(4), 6),
		grant(r(3), r(2), 3),
	)
}

// TestRecordsRenaming: the records of a history, renamed by a permutation, encode exactly
// as the records of the same history played with the servers named that way.
func TestRecordsRenaming(t *testing.T) {
	perms := [][]node.ID{
		{0, 1, 2, 3, 4, 5},
		{0, 2, 1, 3, 4, 5},
		{0, 5, 4, 3, 2, 1},
		{0, 3, 5, 1, 2, 4},
	}
	plain := newHarness(5)
	if x := renamedHistory(plain, func(id node.ID) node.ID { return id }); x != nil {
		t.Fatal(x)
	}
	if got := plain.c.Outside(); !slices.Equal(got, []node.ID{5}) {
		t.Fatalf("Outside() = %v, want [5]", got)
	}
	for _, perm := range perms {
		t.Run(fmt.Sprint(perm), func(t *testing.T) {
			h := newHarness(5)
			if x := renamedHistory(h, func(id node.ID) node.ID { return perm[id] }); x != nil {
				t.Fatal(x)
			}
			if !bytes.Equal(records(plain.c, perm), records(h.c, nil)) {
				t.Fatal("renamed records differ from the renamed history's")
			}
			inv := make([]node.ID, len(perm))
			for i, p := range perm {
				inv[p] = node.ID(i)
			}
			if !bytes.Equal(records(h.c, inv), records(plain.c, nil)) {
				t.Fatal("the renamed history's records, renamed back, differ from the history's")
			}
			if !slices.Equal(perm, perms[0]) && bytes.Equal(records(plain.c, nil), records(h.c, nil)) {
				t.Fatal("a renamed history encodes as the original: the records name no server")
			}
		})
	}
}

// TestRecordsCanonical: the encoding of configuration data, ID sets and Log Matching
// records does not depend on arrival order, and distinguishes data it cannot rename.
func TestRecordsCanonical(t *testing.T) {
	enc := func(data string, perm []node.ID) []byte { return appendData(nil, perm, node.EntryConfig, data) }
	perm := []node.ID{0, 3, 1, 2}
	if got, want := enc("v 1 2|o 1 3|l 2", perm), enc("v 1 3|o 2 3|l 1", nil); !bytes.Equal(got, want) {
		t.Errorf("renamed configuration %x, want %x", got, want)
	}
	for _, bad := range []string{"v 2 1|o|l", "v 01|o|l", "v 1|o|l|", "v +1|o|l", "v 1 |o|l", "v 1|o 1|x", "v -1|o|l", "v 1  2|o|l", ""} {
		raw := enc(bad, perm)
		if raw[0] != 0 || !bytes.Contains(raw, []byte(bad)) {
			t.Errorf("non-canonical configuration %q encoded %x, want it raw", bad, raw)
		}
	}
	if !bytes.Equal(appendIDSet(nil, nil, []node.ID{3, 1, 2}), appendIDSet(nil, nil, []node.ID{1, 2, 3})) ||
		bytes.Equal(appendIDSet(nil, nil, []node.ID{-1, 2}), appendIDSet(nil, nil, []node.ID{1, 2})) {
		t.Error("ID sets are not encoded as sorted sets")
	}
	// Log Matching records of one index in either arrival order.
	a, b := New(3), New(3)
	a.match = []matchSlot{{first: matchRec{term: 1, by: 1}, more: []matchRec{{term: 3, by: 2}, {term: 2, by: 3}}}}
	b.match = []matchSlot{{first: matchRec{term: 2, by: 3}, more: []matchRec{{term: 1, by: 1}, {term: 3, by: 2}}}}
	if !bytes.Equal(records(a, nil), records(b, nil)) {
		t.Error("Log Matching records encode in arrival order")
	}
}

// TestRecordsAllocs: AppendRecords allocates nothing when the buffer has room, renamed or
// not.
func TestRecordsAllocs(t *testing.T) {
	h := newHarness(5)
	if x := renamedHistory(h, func(id node.ID) node.ID { return id }); x != nil {
		t.Fatal(x)
	}
	buf := make([]byte, 0, 4096)
	perm := []node.ID{0, 5, 4, 3, 2, 1}
	for _, p := range [][]node.ID{nil, perm} {
		if n := testing.AllocsPerRun(100, func() { buf = h.c.AppendRecords(buf[:0], p) }); n != 0 {
			t.Errorf("perm %v: %v allocations per AppendRecords", p, n)
		}
	}
}

// TestRecordsBadPerm: a perm that does not rename exactly the cluster's servers panics.
func TestRecordsBadPerm(t *testing.T) {
	c := New(3)
	for _, perm := range [][]node.ID{{}, {0, 1, 2}, {1, 2, 3, 0}, {0, 1, 1, 2}, {0, 1, 2, 4}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("perm %v: no panic", perm)
				}
			}()
			c.AppendRecords(nil, perm)
		}()
	}
}

// clone copies a model with its harness.
func (m *model) clone() *model {
	d := *m
	d.h = m.h.clone()
	d.live = slices.Clone(m.live)
	d.match = make([][]node.Index, len(m.match))
	for i := range m.match {
		d.match[i] = slices.Clone(m.match[i])
	}
	return &d
}

// TestCloneModel drives the property test's model, clones it at a random point, and goes
// on stepping the original and the clone in a random interleaving: no step of one may
// change the other's state, and each must still pass (correct) or be caught by the
// incremental checks before Final (with a bug), as in TestModelAgreesWithFinal.
func TestCloneModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(3, 5).Draw(t, "nodes")
		m := &model{h: newHarness(n), n: n, live: make([]bool, n+1), match: make([][]node.Index, n+1)}
		m.bug = bug(rapid.IntRange(0, int(numBugs)-1).Draw(t, "bug"))
		m.h.installKeepsLog = m.bug == bugInstallKeepsLog
		for i := range m.live {
			m.live[i] = true
		}
		var x [2]*Violation
		for s := rapid.IntRange(0, 100).Draw(t, "prefix"); s > 0 && x[0] == nil; s-- {
			x[0] = m.act(t)
		}
		if x[0] != nil {
			return
		}
		ms := [2]*model{m, m.clone()}
		if !bytes.Equal(records(ms[0].h.c, nil), records(ms[1].h.c, nil)) {
			t.Fatal("a clone encodes differently")
		}
		for s := rapid.IntRange(1, 200).Draw(t, "steps"); s > 0 && (x[0] == nil || x[1] == nil); s-- {
			k := rapid.IntRange(0, 1).Draw(t, "which")
			if x[k] != nil {
				k = 1 - k
			}
			other := dump(ms[1-k].h.c)
			x[k] = ms[k].act(t)
			if dump(ms[1-k].h.c) != other {
				t.Fatalf("a step of checker %d changed checker %d", k, 1-k)
			}
		}
		for k := range ms {
			switch {
			case x[k] != nil && m.bug == noBug:
				t.Fatalf("checker %d: correct model failed: %v", k, x[k])
			case x[k] == nil:
				if y := ms[k].h.final(); y != nil {
					t.Fatalf("checker %d: Final found what the incremental checker missed (bug %d): %v", k, m.bug, y)
				}
			}
		}
	})
}

// TestRecordsSensitive: changing any record the encoding holds changes it, and changing
// what it leaves out does not.
func TestRecordsSensitive(t *testing.T) {
	history := func() *Checker {
		h := newHarness(5)
		if x := renamedHistory(h, func(id node.ID) node.ID { return id }); x != nil {
			t.Fatal(x)
		}
		return h.c
	}
	want := records(history(), nil)
	tests := []struct {
		name  string
		edit  func(c *Checker)
		moves bool
	}{
		{"live", func(c *Checker) { c.nodes[2].live = false }, true},
		{"spare", func(c *Checker) { c.outside[4] = true }, true},
		{"in office", func(c *Checker) { c.nodes[4].officeTerm = 1 }, true},
		{"durable snapshot", func(c *Checker) { c.nodes[3].durableSnap = 1 }, true},
		{"applied", func(c *Checker) { c.nodes[3].applied-- }, true},
		{"configuration", func(c *Checker) { c.nodes[3].conf.Learners = []node.ID{5} }, true},
		{"crashed node's log", func(c *Checker) { c.nodes[1].log = c.nodes[1].log[:len(c.nodes[1].log)-1] }, true},
		{"session", func(c *Checker) { c.sessions[0].seq++ }, true},
		{"leader", func(c *Checker) { c.leaders[0].ID = 2 }, true},
		{"ledger entry", func(c *Checker) { c.committed[3].Data = "other" }, true},
		{"committed in term", func(c *Checker) { c.meta[3].term = 2 }, true},
		{"committed by", func(c *Checker) { c.meta[3].by = 3 }, true},
		{"applied by", func(c *Checker) { c.meta[3].appliedBy = 3 }, true},
		{"floor", func(c *Checker) { c.base, c.baseTerm = 0, 1 }, true},
		{"state at the floor", func(c *Checker) { c.refHash[0]++ }, true},
		{"Log Matching predecessor", func(c *Checker) { c.match[2].first.prevTerm = 0 }, true},
		{"Log Matching writer", func(c *Checker) { c.match[2].first.by = 5 }, true},
		{"vote", func(c *Checker) { c.votes[0].cand = 5 }, true},
		{"leader's time", func(c *Checker) { c.leaders[0].Time = 0 }, false},
		{"leader's entries", func(c *Checker) { c.leaders[0].First, c.leaders[0].Last = 0, 0 }, false},
		{"leader search hint", func(c *Checker) { c.sumK = 7 }, false},
		{"cached vote", func(c *Checker) { c.nodes[2].voteTerm, c.nodes[2].vote = 0, 0 }, false},
		{"lazy reference states", func(c *Checker) { c.refHash = c.refHash[:1] }, false},
		{"copy-on-write marks", func(c *Checker) { c.shared = sharedAll }, false},
	}
	for _, tc := range tests {
		c := history()
		tc.edit(c)
		if moved := !bytes.Equal(records(c, nil), want); moved != tc.moves {
			t.Errorf("%s: encoding changed %v, want %v", tc.name, moved, tc.moves)
		}
	}
}
