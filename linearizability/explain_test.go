package linearizability

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// tokenRE finds the written values of the histories in these tests: single letters
// (hand-built), "<n>" (generated) or "x 3 17 y" (Jepsen's).
var tokenRE = regexp.MustCompile(`x \d+ \d+ y|<\d+>|[a-z]`)

// checkClosed fails the test unless every value observed in set is made of values written
// in set, each token split off by tokenRE independently of the package's own spelling (so
// that the guard is tested, not restated). Observations that no writes of the whole
// history full could explain (a token nobody wrote, an append result without its own
// value) are exempt: they are the anomaly.
func checkClosed(t *testing.T, set, full []Op) {
	t.Helper()
	writes := func(ops []Op) map[string]bool {
		w := make(map[string]bool)
		for _, op := range ops {
			if op.Kind != Get && op.Key == set[0].Key {
				w[op.Value] = true
			}
		}
		return w
	}
	inSet, inFull := writes(set), writes(full)
	for _, op := range set {
		if op.Unknown || !op.HasOutput || op.Kind == Put {
			continue
		}
		toks := tokenRE.FindAllString(op.Output, -1)
		if strings.Join(toks, "") != op.Output {
			t.Errorf("%s observed %q, which is not made of tokens", op.describe(), op.Output)
		}
		explainable := op.Kind == Get || strings.HasSuffix(op.Output, op.Value)
		for _, tok := range toks {
			explainable = explainable && inFull[tok]
		}
		for _, tok := range toks {
			if explainable && !inSet[tok] {
				t.Errorf("not closed: %s observed %q, but no operation of the set wrote %q", op.describe(), op.Output, tok)
			}
		}
	}
}

// checkExplanation checks the contract of an explanation of ops: present exactly for
// NotLinearizable, its operations are ops' (Indexes), on one key, in call order, closed,
// without a linearization, and (if Minimal) each needed.
func checkExplanation(t *testing.T, ops []Op, res Result) *Explanation {
	t.Helper()
	e := res.Explanation
	if (e != nil) != (res.Verdict == NotLinearizable) {
		t.Fatalf("verdict %v with explanation %v", res.Verdict, e)
	}
	if e == nil {
		return nil
	}
	if len(e.Ops) == 0 || len(e.Ops) != len(e.Indexes) || e.Why == "" || e.KeyOps < len(e.Ops) {
		t.Fatalf("malformed explanation %+v", e)
	}
	for i, op := range e.Ops {
		if ops[e.Indexes[i]] != op || op.Key != e.Key || (i > 0 && op.Call < e.Ops[i-1].Call) {
			t.Fatalf("op %d of the explanation (%+v) is not op %d of the history in call order on %q", i, op, e.Indexes[i], e.Key)
		}
	}
	checkClosed(t, e.Ops, ops)
	again, err := Check(e.Ops, testBudget)
	if err != nil || again.Verdict != NotLinearizable {
		t.Fatalf("the explanation's operations alone: %v, %v; want %v", again, err, NotLinearizable)
	}
	if e.Minimal {
		for k := range e.Ops {
			rest := dropWithDependents(e.Ops, k)
			if r, err := Check(rest, testBudget); err != nil || r.Verdict != Linearizable {
				t.Errorf("Minimal, but without [%d] %s (and what observed it) the set is %v, %v", k+1, e.Ops[k].describe(), r, err)
			}
		}
	}
	if text := e.Text(); !strings.Contains(text, e.Why) || strings.Count(text, "\n") != len(e.Ops)+2 {
		t.Errorf("Text does not have a heading, one line per op and the reason:\n%s", text)
	}
	return e
}

// dropWithDependents removes ops[k] and every observation that holds a token only it wrote.
func dropWithDependents(ops []Op, k int) []Op {
	var rest []Op
	for i, op := range ops {
		if i == k {
			continue
		}
		needs := ops[k].Kind != Get && !op.Unknown && op.HasOutput && op.Kind != Put &&
			slices.Contains(tokenRE.FindAllString(op.Output, -1), ops[k].Value)
		if !needs {
			rest = append(rest, op)
		}
	}
	return rest
}

// The anomaly shapes, each on hand-built operations with servers and virtual times, and
// each with unrelated operations around it that the explanation must leave out.
func TestExplanationShapes(t *testing.T) {
	noise := []Op{
		vt(via(put(5, "other", "z", 100, 101), 2), 900, 901),
		vt(via(get(5, "other", "z", 102, 103), 2), 902, 903),
	}
	tests := []struct {
		name   string
		ops    []Op
		maxOps int
		why    []string // substrings of Why, in order
	}{
		{
			name: "stale read",
			ops: []Op{
				vt(via(put(0, "k1", "a", 1, 2), 1), 1000, 1100),
				vt(via(get(3, "k1", "a", 3, 4), 1), 1200, 1300),
				vt(via(put(1, "k1", "b", 5, 6), 1), 3000, 3100),
				vt(via(get(0, "k1", "a", 7, 8), 3), 3150, 3200),
				vt(via(get(4, "k1", "a", 9, 10), 3), 3300, 3400),
			},
			maxOps: 3,
			why: []string{`stale read: get("k1") by c1 via n3 returned "a" at 3.200s, after put("k1", "b") by c2 via n1 had completed at 3.100s`,
				"invoked at 3.150s, the get must reflect that write"},
		},
		{
			name: "non-monotonic reads",
			ops: []Op{
				vt(via(appendOp(0, "k", "a", "a", 1, 2), 1), 100, 200),
				vt(via(blind(1, "k", "b", 3, 20), 1), 300, 2000),
				vt(via(get(2, "k", "ab", 5, 6), 1), 500, 600),
				vt(via(get(3, "k", "a", 7, 8), 2), 700, 800),
			},
			maxOps: 4,
			why: []string{`non-monotonic reads: get("k") by c4 via n2 returned "a" at 0.800s, but get("k") by c3 via n1 had already returned "ab" at 0.600s`,
				`yet "b" from append("k", "b") by c2 via n1 is gone`},
		},
		{
			name: "appends seen in different orders",
			ops: []Op{
				vt(blind(0, "k", "a", 1, 10), 100, 1000),
				vt(blind(1, "k", "b", 2, 11), 200, 1100),
				vt(via(get(2, "k", "ab", 12, 13), 1), 1200, 1300),
				vt(via(get(3, "k", "ba", 14, 15), 2), 1400, 1500),
			},
			maxOps: 4,
			why:    []string{"appends seen in different orders:", `after 0 writes in common one goes on with "a"`},
		},
		{
			name: "appends out of real-time order",
			ops: []Op{
				vt(blind(0, "k", "a", 1, 2), 100, 200),
				vt(blind(1, "k", "b", 3, 4), 300, 400),
				vt(via(get(2, "k", "ba", 5, 6), 1), 500, 600),
			},
			maxOps: 3,
			why:    []string{`appends seen out of real-time order: get("k") by c3 via n1 returned "ba" at 0.600s, with "b" before "a"`},
		},
		{
			name: "lost write behind a later append",
			ops: []Op{
				vt(blind(0, "k", "a", 1, 4), 100, 400),
				vt(blind(1, "k", "b", 5, 6), 500, 600),
				vt(via(get(2, "k", "b", 3, 8), 1), 300, 800),
			},
			maxOps: 3,
			why:    []string{`lost write: get("k") by c3 via n1 returned "b" at 0.800s, which holds "b" but not "a"`},
		},
		{
			name: "read of a later write",
			ops: []Op{
				vt(via(get(0, "k", "a", 1, 2), 1), 100, 200),
				vt(via(put(1, "k", "a", 3, 4), 1), 300, 400),
			},
			maxOps: 2,
			why:    []string{`read of a later write: get("k") by c1 via n1 returned "a" at 0.200s, which holds "a", but put("k", "a") by c2 via n1 was invoked only at 0.300s`},
		},
		{
			name: "value nobody wrote",
			ops: []Op{
				vt(via(put(0, "k", "a", 1, 2), 1), 100, 200),
				vt(via(get(1, "k", "az", 3, 4), 1), 300, 400),
			},
			maxOps: 1,
			why:    []string{`impossible value: get("k") by c2 via n1 returned "az" at 0.400s`, `no write's value starts its part "z"`},
		},
		{
			name: "generic: concurrent puts, reads disagree after both",
			ops: []Op{
				vt(put(0, "k", "a", 1, 10), 100, 1000),
				vt(put(1, "k", "b", 2, 11), 200, 1100),
				vt(get(2, "k", "a", 12, 13), 1200, 1300),
				vt(get(3, "k", "b", 14, 15), 1400, 1500),
			},
			maxOps: 4,
			why:    []string{"every order real time allows fails: ", `[1 2] then [3] returned "a" while the value is "b"`, `[2 1 3] then [4] returned "b" while the value is "a"`},
		},
		{
			name: "generic: an unknown write seen, then unseen",
			ops: []Op{
				vt(lost(put(0, "k", "a", 1, 0)), 100, 5000),
				vt(via(get(1, "k", "a", 2, 3), 2), 200, 300),
				vt(via(get(1, "k", "", 4, 5), 2), 400, 500),
			},
			maxOps: 3,
			why:    []string{`every order real time allows fails: [1 2] then [3] returned "" while the value is "a"`, `first, [2] returned "a" while the value is ""`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := append(slices.Clone(noise), tt.ops...)
			res, err := Check(ops, testBudget)
			if err != nil {
				t.Fatal(err)
			}
			e := checkExplanation(t, ops, res)
			if e == nil {
				t.Fatalf("%v: no explanation", res)
			}
			t.Logf("\n%s", e.Text())
			if len(e.Ops) > tt.maxOps || !e.Minimal {
				t.Errorf("%d ops (minimal %v), want at most %d, minimal", len(e.Ops), e.Minimal, tt.maxOps)
			}
			rest := e.Why
			for _, want := range tt.why {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("Why lacks %q (in order):\n%s", want, e.Why)
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

// TestExplanationText pins the rendering of every kind of line.
func TestExplanationText(t *testing.T) {
	e := &Explanation{
		Key: "k1", KeyOps: 9, Minimal: true, Why: "because",
		Ops: []Op{
			vt(via(put(1, "k1", "b", 1, 2), 2), 3000, 3100),
			vt(via(get(0, "k1", "a", 3, 4), 3), 3150, 3200),
			vt(via(appendOp(2, "k1", "c", "bc", 5, 6), 1), 3300, 3400),
			vt(blind(3, "k1", "d", 7, 8), 3500, 3600),
			vt(lost(blind(4, "k1", "e", 9, 0)), 3700, 9000),
		},
	}
	want := `key "k1": these 5 of its 9 operations have no linearization; without any one of them they have one:
  [1] c2 put("k1", "b") via n2: invoked 3.000s, completed at 3.100s
  [2] c1 get("k1") via n3: invoked 3.150s, returned "a" at 3.200s
  [3] c3 append("k1", "c") via n1: invoked 3.300s, returned "bc" at 3.400s
  [4] c4 append("k1", "d"): invoked 3.500s, completed (result not observed) at 3.600s
  [5] c5 append("k1", "e"), no reply: invoked 3.700s, outcome unknown
  why: because
`
	if got := e.Text(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	e = &Explanation{Key: "k", KeyOps: 2, Why: "w", Ops: []Op{put(0, "k", "a", 1, 2), get(1, "k", "", 3, 4)}}
	want = `key "k": these 2 of its 2 operations have no linearization (maybe not the fewest):
  [1] c1 put("k", "a"): invoked t=1, completed at t=2
  [2] c2 get("k"): invoked t=3, returned "" at t=4
  why: w
`
	if got := e.Text(); got != want {
		t.Errorf("without virtual times: got\n%s\nwant\n%s", got, want)
	}
}

// The guard: a read must keep the writes it observed. Here the anomaly is the stale get
// at 9-10; without the guard, delta debugging would keep a get of "pq" and drop the
// writes of "p" and "q", a set that fails only because a value now comes from nowhere.
func TestExplanationStaysClosed(t *testing.T) {
	ops := []Op{
		put(0, "k", "p", 1, 2),
		blind(1, "k", "q", 3, 4),
		get(2, "k", "pq", 5, 6),
		blind(1, "k", "r", 7, 8),
		get(3, "k", "pq", 9, 10),
	}
	res, err := Check(ops, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	e := checkExplanation(t, ops, res)
	if e == nil || len(e.Ops) != 4 || !strings.HasPrefix(e.Why, `stale read: get("k") by c4 returned "pq" at t=10, after append("k", "r") by c2 had completed at t=8`) {
		t.Fatalf("want the 4 operations of the stale read (p, q, r, the last get), got %+v", e)
	}
	// The same shrinking without the guard does produce the artefact.
	s := newShrinker(ops, res.parts[res.failing].ops, res.parts[res.failing].steps, time.Now().Add(testBudget))
	clear(s.deps)
	naive := s.shrink()
	if len(naive) != 1 || s.ops[naive[0]].Kind != Get {
		t.Fatalf("unguarded shrinking kept %v; the test no longer shows what the guard prevents", naive)
	}
}

// Without a prefix code (here an empty put value), writes are never removed: the
// explanation is still closed and still fails, the reason is the generic one, and it does
// not claim to be minimal (the put of "" could go too).
func TestExplanationWithoutSpelling(t *testing.T) {
	ops := []Op{
		put(0, "k", "", 1, 2),
		blind(1, "k", "a", 3, 4),
		get(2, "k", "a", 5, 6),
		blind(1, "k", "b", 7, 8),
		get(3, "k", "a", 9, 10),
	}
	res, err := Check(ops, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	e := checkExplanation(t, ops, res)
	if e == nil || len(e.Ops) != 4 || e.Minimal || !strings.HasPrefix(e.Why, `every order real time allows fails: [1 2 3] then [4] returned "a" while the value is "ab"`) {
		t.Fatalf("want the three writes and the stale get with the generic reason, not minimal, got %+v", e)
	}
}

// porcupine's non-linearizable kv histories: a few operations explain each.
func TestExplanationOfPorcupineHistories(t *testing.T) {
	tests := []struct {
		file   string
		maxOps int
	}{
		{"c01-bad.txt", 3},
		{"c10-bad.txt", 6},
		{"c50-bad.txt", 12},
		{"c01-ok.txt", 0},
		{"c10-ok.txt", 0},
		{"c50-ok.txt", 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ops := loadKV(t, filepath.Join(dataDir, "kv", tt.file))
			res, err := Check(ops, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			e := checkExplanation(t, ops, res)
			if tt.maxOps == 0 {
				if res.Verdict != Linearizable {
					t.Fatalf("%v, want %v", res, Linearizable)
				}
				return
			}
			if e == nil || len(e.Ops) > tt.maxOps || !e.Minimal {
				t.Fatalf("%v: explanation %+v, want at most %d ops, minimal", res, e, tt.maxOps)
			}
			t.Logf("%v: %d of %d operations on key %q explain it\n%s", res, len(e.Ops), e.KeyOps, e.Key, e.Text())
		})
	}
}

// Same history, same explanation, whatever the goroutines did; and the order of the
// history's slice does not matter either.
func TestExplanationIsDeterministic(t *testing.T) {
	for _, file := range []string{"c10-bad.txt", "c50-bad.txt"} {
		ops := loadKV(t, filepath.Join(dataDir, "kv", file))
		reversed := slices.Clone(ops)
		slices.Reverse(reversed)
		var first *Explanation
		for run, h := range [][]Op{ops, ops, ops, reversed} {
			res, err := Check(h, 20*time.Second)
			if err != nil || res.Explanation == nil {
				t.Fatalf("%s run %d: %v, %v", file, run, res, err)
			}
			e := *res.Explanation
			e.Indexes = nil // positions in the slice, which reversing changes
			if first == nil {
				first = &e
			} else if !reflect.DeepEqual(*first, e) {
				t.Fatalf("%s run %d explains differently:\n%s\nvs\n%s", file, run, e.Text(), first.Text())
			}
		}
	}
}

// Generated linearizable histories with one corrupted result: every one is explained by a
// closed, failing set (the corruption makes values nobody wrote, or stale ones).
func TestExplanationOfCorruptedHistories(t *testing.T) {
	sizes := make(map[int]int)
	for seed := uint64(1); seed <= 30; seed++ {
		cfg := benchConfig
		cfg.seed = seed
		ops := genHistory(cfg)
		var victims []int
		for i, op := range ops {
			if !op.Unknown && op.HasOutput && op.Output != "" {
				victims = append(victims, i)
			}
		}
		v := victims[int(seed)%len(victims)]
		// Drop the last token: a read that misses a write it saw before (stale), or an
		// append result without its own value.
		toks := tokenRE.FindAllString(ops[v].Output, -1)
		ops[v].Output = strings.Join(toks[:len(toks)-1], "")
		res, err := Check(ops, testBudget)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// Still linearizable if the read could have come before the write it lost.
		if e := checkExplanation(t, ops, res); e != nil {
			sizes[len(e.Ops)]++
		}
	}
	explained := 0
	for _, n := range sizes {
		explained += n
	}
	if explained < 10 {
		t.Fatalf("only %d of 30 corrupted histories are not linearizable: the corruption is too weak to test anything", explained)
	}
	t.Logf("%d explained; explanation sizes (ops: histories): %v", explained, sizes)
}

// Check explains only a NotLinearizable verdict.
func TestNoExplanationUnlessNotLinearizable(t *testing.T) {
	for _, tt := range []struct {
		ops    []Op
		budget time.Duration
		want   Verdict
	}{
		{[]Op{put(0, "k", "a", 1, 2), get(1, "k", "a", 3, 4)}, testBudget, Linearizable},
		{nil, testBudget, Linearizable},
		{hardAppends(10, "no such order"), time.Microsecond, Inconclusive},
	} {
		res, err := Check(tt.ops, tt.budget)
		if err != nil || res.Verdict != tt.want || res.Explanation != nil {
			t.Errorf("%v, %v, explanation %v; want %v without one", res, err, res.Explanation, tt.want)
		}
	}
}

func ExampleExplanation_Text() {
	ops := []Op{
		vt(via(put(1, "k1", "b", 1, 2), 1), 3000, 3100),
		vt(via(get(0, "k1", "a", 3, 4), 3), 3150, 3200),
		vt(via(put(2, "k1", "a", 5, 6), 2), 3300, 3400),
	}
	res, _ := Check(ops, 10*time.Second)
	fmt.Print(res.Explanation.Text())
	// Output:
	// key "k1": these 2 of its 3 operations have no linearization; without any one of them they have one:
	//   [1] c1 get("k1") via n3: invoked 3.150s, returned "a" at 3.200s
	//   [2] c3 put("k1", "a") via n2: invoked 3.300s, completed at 3.400s
	//   why: read of a later write: get("k1") by c1 via n3 returned "a" at 3.200s, which holds "a", but put("k1", "a") by c3 via n2 was invoked only at 3.300s, after that
}
