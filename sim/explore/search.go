package explore

import (
	"math/rand/v2"
)

// Verdict is a search's outcome.
type Verdict uint8

// The verdicts.
const (
	// Exhausted: every state within the bounds was explored and no check failed.
	Exhausted Verdict = iota + 1
	// Violation: a check failed; Result.Failure and Result.Path say which and how.
	Violation
	// Inconclusive: a budget (MaxStates, Interrupt) ran out before the space was
	// exhausted, or a linearizability check ran out of time. Never a pass. Random walks
	// that find nothing are also inconclusive: they sample, they do not exhaust.
	Inconclusive
)

func (v Verdict) String() string {
	switch v {
	case Exhausted:
		return "exhausted"
	case Violation:
		return "violation"
	case Inconclusive:
		return "inconclusive"
	}
	return "unknown"
}

// Stats are a search's counters.
type Stats struct {
	States   uint64 // transitions taken (successor states generated, duplicates included)
	Distinct int    // distinct states (fingerprints) reached
	Depth    int    // breadth-first: the level being expanded; otherwise the deepest state reached
	Frontier int    // breadth-first: the states of the next level found so far
	Pruned   uint64 // successors beyond the highest term, not taken
	Leaves   uint64 // states with no transition left (end-of-path checks run on each)
	// AtBound counts the leaves cut by the depth bound rather than ended by the others.
	AtBound uint64
	// LinChecks is the number of distinct histories checked for linearizability.
	LinChecks int
	// VisitedBytes is the memory of the visited set.
	VisitedBytes int
	// Walks is the number of random walks taken (Mode Walk).
	Walks int
}

// Result is a search's outcome, with its counterexample if a check failed.
type Result struct {
	Verdict Verdict
	Failure *Failure
	// Path is the counterexample: the actions from the initial state to the failure, as
	// a schedule the simulator replays (Result.Schedule).
	Path  []Step
	Stats Stats
}

// Explore runs the search o describes. It returns an error for invalid options.
func Explore(o Options) (*Result, error) {
	md, err := newModel(o)
	if err != nil {
		return nil, err
	}
	switch o.Mode {
	case DFS:
		return md.dfs(), nil
	case Walk:
		return md.walks(), nil
	}
	return md.bfs(), nil
}

func (md *model) bfs() *Result {
	b := &bfs{md: md, ps: perms(md.nodes, md.opt.Symmetry), seen: newVisited()}
	for range workerCount(md.opt.Workers) {
		w, fail := newWorker(md)
		if fail != nil {
			return md.failed(fail, nil)
		}
		b.workers = append(b.workers, w)
	}
	b.run()
	res := &b.res
	for _, w := range b.workers {
		res.Stats.LinChecks += w.leaf.checks
		if w.leaf.inconclusive > 0 && res.Verdict == Exhausted {
			res.Verdict = Inconclusive
		}
	}
	res.Stats.VisitedBytes = b.seen.bytes()
	if f := b.found; f != nil {
		res.Failure = f.failure
		res.Path = md.describe(append(b.path(f.level, f.idx), f.extra...))
	}
	return res
}

// failed is the result of a failure at the initial state or along path.
func (md *model) failed(f *Failure, path []action) *Result {
	return &Result{Verdict: Violation, Failure: f, Path: md.describe(path)}
}

// dfs searches depth-first with an explicit stack of live states (at most Depth+1 of
// them): little memory. A state is expanded again when reached at a smaller depth than
// before, since it then has more transitions left within the bound. Single-threaded.
func (md *model) dfs() *Result {
	root, fail := md.initial()
	if fail != nil {
		return md.failed(fail, nil)
	}
	ps := perms(md.nodes, md.opt.Symmetry)
	var h hasher
	leaf := newLeafChecker(md)
	seen := newVisited()
	seen.put(h.canonical(root, ps), 0)
	res := &Result{Stats: Stats{Distinct: 1}}
	type frame struct {
		s    *state
		acts []action
		next int
		via  action
	}
	stack := []frame{{s: root, acts: md.actions(nil, root, &sleep{})}}
	path := func(extra ...action) []action {
		var out []action
		for _, f := range stack[1:] {
			out = append(out, f.via)
		}
		return append(out, extra...)
	}
	for polls := 0; len(stack) > 0; polls++ {
		top := &stack[len(stack)-1]
		if top.next == 0 {
			if f, extra := md.stateChecks(top.s, len(top.acts) == 0, res, leaf); f != nil {
				return md.endDFS(res, leaf, seen, f, path(extra...))
			}
		}
		if top.next >= len(top.acts) {
			stack = stack[:len(stack)-1]
			continue
		}
		a := top.acts[top.next]
		top.next++
		next, fail, pruned := md.apply(top.s, a)
		res.Stats.States++
		if fail != nil {
			return md.endDFS(res, leaf, seen, fail, path(a))
		}
		if pruned {
			res.Stats.Pruned++
			continue
		}
		fp := h.canonical(next, ps)
		if v, ok := seen.get(fp); ok && int(v) <= next.depth {
			continue
		}
		if seen.put(fp, int32(next.depth)) {
			res.Stats.Distinct++
		}
		res.Stats.Depth = max(res.Stats.Depth, next.depth)
		stack = append(stack, frame{s: next, acts: md.actions(nil, next, &sleep{}), via: a})
		if m := md.opt.MaxStates; m > 0 && res.Stats.Distinct >= m {
			res.Verdict = Inconclusive
			return md.endDFS(res, leaf, seen, nil, nil)
		}
		if polls%4096 == 0 && md.poll(res) {
			return md.endDFS(res, leaf, seen, nil, nil)
		}
	}
	res.Verdict = Exhausted
	return md.endDFS(res, leaf, seen, nil, nil)
}

// stateChecks runs, on a state depth-first search reaches for the first time, the
// end-of-path checks if it is a leaf and the sampled liveness check. It returns the
// failure and the actions after the state that show it.
func (md *model) stateChecks(s *state, leaf bool, res *Result, lc *leafChecker) (*Failure, []action) {
	if leaf {
		res.Stats.Leaves++
		if f := lc.check(s); f != nil {
			return f, nil
		}
	}
	if md.opt.Liveness > 0 && (s.depth*7919+res.Stats.Distinct)%max(md.opt.LivenessEvery, 1) == 0 {
		return md.liveness(s)
	}
	return nil, nil
}

// poll reports progress and whether the search was interrupted.
func (md *model) poll(res *Result) bool {
	if p := md.opt.Progress; p != nil {
		p(res.Stats)
	}
	if f := md.opt.Interrupt; f != nil && f() {
		res.Verdict = Inconclusive
		return true
	}
	return false
}

func (md *model) endDFS(res *Result, leaf *leafChecker, seen *visited, f *Failure, path []action) *Result {
	res.Stats.LinChecks = leaf.checks
	res.Stats.VisitedBytes = seen.bytes()
	if f != nil {
		res.Verdict, res.Failure, res.Path = Violation, f, md.describe(path)
	} else if leaf.inconclusive > 0 && res.Verdict == Exhausted {
		res.Verdict = Inconclusive
	}
	return res
}

// walkResult is one random walk's outcome.
type walkResult struct {
	fail   *Failure
	path   []action
	states uint64
	depth  int
}

// walks takes Options.Walks seeded random walks, in parallel; walk k draws from its own
// stream (seed, k), and the failure reported is that of the lowest-numbered failing walk,
// so the result does not depend on the number of workers.
func (md *model) walks() *Result {
	res := &Result{}
	workers := workerCount(md.opt.Workers)
	leaves := make([]*leafChecker, workers)
	for i := range leaves {
		leaves[i] = newLeafChecker(md)
	}
	const batch = 256
	for w0 := 0; w0 < md.opt.Walks; w0 += batch {
		n := min(batch, md.opt.Walks-w0)
		out := make([]walkResult, n)
		parallel(n, workers, func(wk, k int) { out[k] = md.walk(uint64(w0+k), leaves[wk]) })
		for k := range out {
			res.Stats.Walks++
			res.Stats.States += out[k].states
			res.Stats.Depth = max(res.Stats.Depth, out[k].depth)
			if out[k].fail != nil {
				res.Verdict, res.Failure, res.Path = Violation, out[k].fail, md.describe(out[k].path)
				return res
			}
		}
		if md.poll(res) {
			return res
		}
	}
	res.Verdict = Inconclusive
	for _, l := range leaves {
		res.Stats.LinChecks += l.checks
	}
	return res
}

// walk takes random walk k: up to Depth transitions, each drawn uniformly among the
// enabled ones (a successor beyond the term bound is skipped and another drawn), then
// the end-of-path checks.
func (md *model) walk(k uint64, leaf *leafChecker) walkResult {
	rng := rand.New(rand.NewPCG(md.opt.Seed, k^0x5851f42d4c957f2d))
	s, fail := md.initial()
	if fail != nil {
		return walkResult{fail: fail}
	}
	var r walkResult
	var acts []action
	for {
		acts = md.actions(acts[:0], s, &sleep{})
		var next *state
		for len(acts) > 0 && next == nil {
			i := rng.IntN(len(acts))
			a := acts[i]
			n, fail, pruned := md.apply(s, a)
			r.states++
			if fail != nil {
				r.fail, r.path = fail, append(r.path, a)
				return r
			}
			if pruned {
				acts = append(acts[:i], acts[i+1:]...)
				continue
			}
			next = n
			r.path = append(r.path, a)
		}
		if next == nil {
			break
		}
		s = next
		r.depth = s.depth
	}
	if f := leaf.check(s); f != nil {
		r.fail = f
		return r
	}
	if md.opt.Liveness > 0 {
		if f, extra := md.liveness(s); f != nil {
			r.fail, r.path = f, append(r.path, extra...)
		}
	}
	return r
}
