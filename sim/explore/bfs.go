package explore

import (
	"raftsim/node"
)

// record is one distinct state of a breadth-first search, stored as the path that first
// reached it: its parent's index in the previous level and the action from there. The
// frontier and every level are records, not live states, so memory is bounded by the
// visited set; a worker rebuilds the states it expands from the root (materialize).
type record struct {
	parent uint32
	act    action
}

// Search sizes: records per chunk of work, chunks per wave (the unit merged between two
// polls of Interrupt and Progress). Results do not depend on them.
const (
	chunkRecords = 32
	waveChunks   = 256
)

type bfs struct {
	md      *model
	ps      [][]node.ID
	levels  [][]record
	sleeps  [][]sleep // per level, per record (Independence only)
	seen    *visited
	workers []*worker
	res     Result
	found   *found
}

// found is the first failure of a search: the state (level, index) it starts from and
// the actions after it (the failing transition, or the liveness check's schedule).
type found struct {
	failure *Failure
	level   int
	idx     int
	extra   []action
}

// worker is one goroutine's scratch: its own root (states are never shared between
// workers, since their fingerprint caches fill as they are used), the states of the
// path it last rebuilt, per level, and its hasher and end-of-path checker.
type worker struct {
	md    *model
	root  *state
	cache []cachedState
	h     hasher
	leaf  *leafChecker
	acts  []action
}

type cachedState struct {
	idx int
	s   *state
}

func newWorker(md *model) (*worker, *Failure) {
	root, fail := md.initial()
	if fail != nil {
		return nil, fail
	}
	return &worker{md: md, root: root, cache: make([]cachedState, md.opt.Depth+2), leaf: newLeafChecker(md)}, nil
}

// materialize rebuilds the state of record idx of level d by replaying its path from the
// deepest state of the worker's cached path it shares.
func (w *worker) materialize(b *bfs, d, idx int) *state {
	if d == 0 {
		return w.root
	}
	c := &w.cache[d]
	if c.s != nil && c.idx == idx {
		return c.s
	}
	r := b.levels[d][idx]
	parent := w.materialize(b, d-1, int(r.parent))
	s, fail, pruned := w.md.apply(parent, r.act)
	if fail != nil || pruned {
		panic("explore: invariant broken: replaying a stored path did not reach the state it reached before (a server is not deterministic?)")
	}
	c.idx, c.s = idx, s
	return s
}

// succ is a successor found by a worker, to merge.
type succ struct {
	fp     fp128
	parent uint32
	act    action
	z      sleep
}

// chunkResult is what expanding one chunk of a level produced, in record order.
type chunkResult struct {
	succs  []succ
	fail   *found
	failAt int // the number of succs found before the failure
	states uint64
	pruned uint64
	leaves uint64
}

func (b *bfs) expandChunk(w *worker, d, lo, hi int) chunkResult {
	md := w.md
	var res chunkResult
	for idx := lo; idx < hi; idx++ {
		s := w.materialize(b, d, idx)
		var z sleep
		if b.sleeps != nil {
			z = b.sleeps[d][idx]
		}
		w.acts = md.actions(w.acts[:0], s, &z)
		if len(w.acts) == 0 {
			res.leaves++
			if f := w.leaf.check(s); f != nil {
				res.fail, res.failAt = &found{failure: f, level: d, idx: idx}, len(res.succs)
				return res
			}
		}
		if md.opt.Liveness > 0 && (d*7919+idx)%max(md.opt.LivenessEvery, 1) == 0 {
			if f, extra := md.liveness(s); f != nil {
				res.fail, res.failAt = &found{failure: f, level: d, idx: idx, extra: extra}, len(res.succs)
				return res
			}
		}
		for _, a := range w.acts {
			next, fail, pruned := md.apply(s, a)
			res.states++
			if fail != nil {
				res.fail, res.failAt = &found{failure: fail, level: d, idx: idx, extra: []action{a}}, len(res.succs)
				return res
			}
			if pruned {
				res.pruned++
				continue
			}
			fp := w.h.canonical(next, b.ps)
			if v, ok := b.seen.get(fp); ok && (b.sleeps == nil || int(v) <= d) {
				continue
			}
			sc := succ{fp: fp, parent: uint32(idx), act: a}
			if b.sleeps != nil {
				var p *packet
				if a.kind == actDeliver {
					p = findPacket(s, a.num)
				}
				sc.z = md.sleepAfter(s, a, p)
			}
			res.succs = append(res.succs, sc)
		}
	}
	return res
}

func findPacket(s *state, num uint32) *packet {
	for _, p := range s.net {
		if p.num == num {
			return p
		}
	}
	panic("explore: invariant broken: delivering a packet that is not in flight")
}

// run searches level by level.
func (b *bfs) run() {
	md := b.md
	b.levels = [][]record{{{}}}
	if md.opt.Independence {
		b.sleeps = [][]sleep{{{}}}
	}
	b.seen.put(b.workers[0].h.canonical(b.workers[0].root, b.ps), 0)
	b.res.Stats.Distinct = 1
	for d := 0; d < len(b.levels); d++ {
		b.res.Stats.Depth = d
		b.levels = append(b.levels, nil)
		if b.sleeps != nil {
			b.sleeps = append(b.sleeps, nil)
		}
		if stop := b.expandLevel(d); stop {
			return
		}
		if len(b.levels[d+1]) == 0 {
			b.levels = b.levels[:d+1]
		}
	}
	b.res.Verdict = Exhausted
}

// expandLevel expands every record of level d in waves, merging each wave's chunks in
// order. It reports whether the search must stop (a failure, or a budget).
func (b *bfs) expandLevel(d int) (stop bool) {
	n := len(b.levels[d])
	chunks := (n + chunkRecords - 1) / chunkRecords
	var nextIdx map[fp128]int // Independence: level d+1's records by fingerprint; looked up only
	if b.sleeps != nil {
		nextIdx = make(map[fp128]int)
	}
	results := make([]chunkResult, min(waveChunks, chunks))
	for c0 := 0; c0 < chunks; c0 += waveChunks {
		wave := min(waveChunks, chunks-c0)
		parallel(wave, len(b.workers), func(wk, k int) {
			lo := (c0 + k) * chunkRecords
			results[k] = b.expandChunk(b.workers[wk], d, lo, min(lo+chunkRecords, n))
		})
		for k := 0; k < wave; k++ {
			if b.merge(d, &results[k], nextIdx) {
				return true
			}
			results[k] = chunkResult{}
		}
		b.res.Stats.Frontier = len(b.levels[d+1])
		if p := b.md.opt.Progress; p != nil {
			p(b.res.Stats)
		}
		if f := b.md.opt.Interrupt; f != nil && f() {
			b.res.Verdict = Inconclusive
			return true
		}
	}
	return false
}

// merge adds a chunk's successors to the visited set and to level d+1, in order. It
// reports whether the search must stop.
func (b *bfs) merge(d int, r *chunkResult, nextIdx map[fp128]int) bool {
	st := &b.res.Stats
	st.States += r.states
	st.Pruned += r.pruned
	st.Leaves += r.leaves
	succs := r.succs
	if r.fail != nil {
		succs = succs[:r.failAt]
	}
	for i := range succs {
		sc := &succs[i]
		if b.seen.put(sc.fp, int32(d+1)) {
			if nextIdx != nil {
				nextIdx[sc.fp] = len(b.levels[d+1])
				b.sleeps[d+1] = append(b.sleeps[d+1], sc.z)
			}
			b.levels[d+1] = append(b.levels[d+1], record{parent: sc.parent, act: sc.act})
			st.Distinct++
			if max := b.md.opt.MaxStates; max > 0 && st.Distinct >= max {
				b.res.Verdict = Inconclusive
				return true
			}
		} else if k, ok := nextIdx[sc.fp]; ok {
			b.sleeps[d+1][k].and(&sc.z)
		}
	}
	if r.fail != nil {
		b.found = r.fail
		b.res.Verdict = Violation
		return true
	}
	return false
}

// path is the actions from the root to record idx of level d.
func (b *bfs) path(d, idx int) []action {
	out := make([]action, d)
	for ; d > 0; d-- {
		r := b.levels[d][idx]
		out[d-1] = r.act
		idx = int(r.parent)
	}
	return out
}
