package explore

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-states.txt with the distinct-state counts found")

// small is the quick exhaustive search of go test: 3 nodes, one client operation,
// highest term 2, every check on.
func small(depth int) Options {
	o := DefaultOptions()
	o.Depth = depth
	return o
}

// goldenSearches are the searches whose distinct-state counts are kept in testdata, so
// that any change of the node's behaviour (or of the explorer's) shows.
func goldenSearches() []struct {
	name string
	opt  Options
} {
	faults := small(6)
	faults.Crashes, faults.Restarts, faults.Drops, faults.Dups = 1, 1, 1, 1
	sym := small(8)
	sym.Symmetry = true
	return []struct {
		name string
		opt  Options
	}{
		{"bfs-depth8", small(8)},
		{"bfs-depth6-faults", faults},
		{"bfs-depth8-symmetry", sym},
	}
}

// TestExhaustiveGolden runs the small exhaustive searches with every check on and
// compares their distinct-state counts with testdata/golden-states.txt.
func TestExhaustiveGolden(t *testing.T) {
	want := readGolden(t)
	var out strings.Builder
	for _, g := range goldenSearches() {
		r := mustExplore(t, g.opt)
		if r.Verdict != Exhausted {
			t.Fatalf("%s: %v (%v)", g.name, r.Verdict, r.Failure)
		}
		fmt.Fprintf(&out, "%s %d\n", g.name, r.Stats.Distinct)
		if w, ok := want[g.name]; !*update && (!ok || w != r.Stats.Distinct) {
			t.Errorf("%s: %d distinct states, golden %d (a behaviour change? regenerate with -update in its own commit)", g.name, r.Stats.Distinct, w)
		}
	}
	if *update {
		if err := os.WriteFile("testdata/golden-states.txt", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readGolden(t *testing.T) map[string]int {
	data, err := os.ReadFile("testdata/golden-states.txt")
	if err != nil {
		if *update {
			return nil
		}
		t.Fatal(err)
	}
	m := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatal(err)
		}
		m[f[0]] = n
	}
	return m
}

// TestWorkersDoNotChangeResults: distinct states, transitions, the verdict and the first
// counterexample are the same for any number of workers.
func TestWorkersDoNotChangeResults(t *testing.T) {
	bug := small(8)
	bug.Ops = 0
	bug.NewServer = bugNoUpToDateCheck()
	for _, o := range []Options{small(7), bug} {
		var first *Result
		for _, w := range []int{1, 2, 3} {
			o.Workers = w
			r := mustExplore(t, o)
			if first == nil {
				first = r
				continue
			}
			if r.Verdict != first.Verdict || r.Stats.Distinct != first.Stats.Distinct || r.Stats.States != first.Stats.States ||
				!slices.Equal(r.Path, first.Path) {
				t.Errorf("workers %d: %v, %d distinct, %d states, path %v; with 1 worker: %v, %d, %d, %v",
					w, r.Verdict, r.Stats.Distinct, r.Stats.States, r.Path, first.Verdict, first.Stats.Distinct, first.Stats.States, first.Path)
			}
		}
	}
}

// TestDFSReachesTheSameStates: depth-first search, which re-expands a state reached at
// a smaller depth, reaches exactly the states breadth-first search does.
func TestDFSReachesTheSameStates(t *testing.T) {
	o := small(6)
	o.Crashes, o.Restarts = 1, 1
	b := mustExplore(t, o)
	o.Mode = DFS
	d := mustExplore(t, o)
	if b.Verdict != Exhausted || d.Verdict != Exhausted || b.Stats.Distinct != d.Stats.Distinct {
		t.Errorf("bfs %v with %d distinct states, dfs %v with %d", b.Verdict, b.Stats.Distinct, d.Verdict, d.Stats.Distinct)
	}
}

// TestReductionsFindTheSameBugs: with symmetry, with independence and with both, every
// planted bug is found, failing the same check with a counterexample of the same
// (shortest) length, and the counterexample still replays in the simulator.
func TestReductionsFindTheSameBugs(t *testing.T) {
	for _, tc := range plantedCases() {
		for _, red := range []struct{ sym, ind bool }{{true, false}, {false, true}, {true, true}} {
			o := DefaultOptions()
			o.NewServer = tc.bug()
			tc.bounds(&o)
			o.Symmetry, o.Independence = red.sym, red.ind
			r := mustExplore(t, o)
			if r.Verdict != Violation || r.Failure.Check != tc.check || len(r.Path) != tc.length {
				t.Errorf("%s, symmetry %v, independence %v: %v %v, path of %d; want %s in %d",
					tc.name, red.sym, red.ind, r.Verdict, r.Failure, len(r.Path), tc.check, tc.length)
				continue
			}
			replayFails(t, r.Schedule(&o), o.NewServer, tc.check)
		}
	}
}

// TestIndependenceKeepsEveryState: the independence reduction skips orderings, never
// states: the same distinct states, fewer transitions.
func TestIndependenceKeepsEveryState(t *testing.T) {
	for _, o := range []Options{small(8), withFaults(small(6))} {
		full := mustExplore(t, o)
		o.Independence = true
		red := mustExplore(t, o)
		if red.Verdict != Exhausted || red.Stats.Distinct != full.Stats.Distinct || red.Stats.States >= full.Stats.States {
			t.Errorf("independence: %v, %d distinct, %d transitions; full: %v, %d, %d",
				red.Verdict, red.Stats.Distinct, red.Stats.States, full.Verdict, full.Stats.Distinct, full.Stats.States)
		}
	}
}

func withFaults(o Options) Options {
	o.Crashes, o.Restarts, o.Drops, o.Dups = 1, 1, 1, 1
	return o
}

// TestSymmetryKeepsEveryOrbit: the symmetric search reaches exactly the orbits (states up
// to renaming of the servers) the full search reaches.
func TestSymmetryKeepsEveryOrbit(t *testing.T) {
	for _, o := range []Options{small(7), withFaults(small(5))} {
		full := orbits(t, o)
		o.Symmetry = true
		sym := orbits(t, o)
		if !slices.Equal(full, sym) {
			t.Errorf("full search: %d orbits, symmetric search: %d orbits (or different ones)", len(full), len(sym))
		}
	}
}

// orbits runs a breadth-first search and returns the canonical (symmetric) fingerprints
// of every distinct state it reached, sorted.
func orbits(t *testing.T, o Options) []fp128 {
	t.Helper()
	md, err := newModel(o)
	if err != nil {
		t.Fatal(err)
	}
	b := &bfs{md: md, ps: perms(md.nodes, o.Symmetry), seen: newVisited()}
	w, fail := newWorker(md)
	if fail != nil {
		t.Fatal(fail)
	}
	b.workers = []*worker{w}
	b.run()
	if b.res.Verdict != Exhausted {
		t.Fatalf("%v", b.res.Verdict)
	}
	all := perms(md.nodes, true)
	var out []fp128
	seen := map[fp128]bool{}
	for d := range b.levels {
		for i := range b.levels[d] {
			f := w.h.canonical(w.materialize(b, d, i), all)
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, cmpFP)
	return out
}
