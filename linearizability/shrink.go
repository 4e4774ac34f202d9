package linearizability

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// kop is one operation of the key being explained: the Op as given to Check, its index
// there, and its Return on porcupine's scale (math.MaxInt64 when the outcome is unknown).
type kop struct {
	Op
	index int
	ret   int64
}

// precedes reports whether a completed before b was invoked (real-time order).
func (a kop) precedes(b kop) bool { return a.ret < b.Call }

// observes reports whether the operation's result constrains the value: a completed get,
// or a completed append whose result was observed.
func (a kop) observes() bool {
	return !a.Unknown && (a.Kind == Get || (a.Kind == Append && a.HasOutput))
}

func (a kop) writes() bool { return a.Kind == Put || a.Kind == Append }

// spelling reads a key's values as sequences of its writes' values. It exists only when
// the distinct values written form a prefix code (none empty, none a proper prefix of
// another), as raftsim's tokens ("c3.17 ") and Jepsen's ("x 3 17 y") do: then every value
// a write could have produced splits into written values in exactly one way. A value may
// have several writers (Jepsen's histories write some values twice).
type spelling struct {
	writers map[string][]int // a written value -> its writers, by index
	lengths []int            // the distinct lengths of written values, ascending
	unique  bool             // every value has one writer
}

// newSpelling returns the spelling of the values written by ops[i], i in set, or nil if
// they are not a prefix code.
func newSpelling(ops []kop, set []int) *spelling {
	s := &spelling{writers: make(map[string][]int), unique: true}
	var values []string
	for _, i := range set {
		op := ops[i]
		if !op.writes() {
			continue
		}
		if op.Value == "" {
			return nil
		}
		if len(s.writers[op.Value]) == 0 {
			values = append(values, op.Value)
			s.lengths = append(s.lengths, len(op.Value))
		} else {
			s.unique = false
		}
		s.writers[op.Value] = append(s.writers[op.Value], i)
	}
	slices.Sort(values)
	for i := 1; i < len(values); i++ {
		// In sorted order a value that is a prefix of another is a prefix of its successor.
		if strings.HasPrefix(values[i], values[i-1]) {
			return nil
		}
	}
	slices.Sort(s.lengths)
	s.lengths = slices.Compact(s.lengths)
	return s
}

// spell splits v into the written values that make it up, in order. If no state of the
// key can be v (some part of it was written by nobody, a value appears more often than
// it was written, a value only puts wrote is not at the start) it returns a problem
// saying which, instead.
func (s *spelling) spell(ops []kop, v string) ([]string, string) {
	var parts []string
	seen := make(map[string]int)
	for i := 0; i < len(v); {
		t := ""
		for _, n := range s.lengths {
			if n > len(v)-i {
				break
			}
			if _, ok := s.writers[v[i:i+n]]; ok {
				t = v[i : i+n]
				break
			}
		}
		if t == "" {
			return nil, "no write's value starts its part " + quoteTrunc(v[i:])
		}
		ws := s.writers[t]
		if seen[t]++; seen[t] > len(ws) {
			return nil, fmt.Sprintf("it holds %s %d times, but %d operation(s) wrote it", quoteTrunc(t), seen[t], len(ws))
		}
		if i > 0 && !slices.ContainsFunc(ws, func(w int) bool { return ops[w].Kind == Append }) {
			return nil, "it holds " + quoteTrunc(t) + ", a put's value, after other writes, but a put replaces the whole value"
		}
		parts = append(parts, t)
		i += len(t)
	}
	return parts, ""
}

// observed is spell of op i's observed result; an append's result must also end with
// its own value.
func (s *spelling) observed(ops []kop, i int) ([]string, string) {
	if op := ops[i]; op.Kind == Append && !strings.HasSuffix(op.Output, op.Value) {
		return nil, "an append's result ends with the value it appended, " + quoteTrunc(op.Value)
	}
	return s.spell(ops, ops[i].Output)
}

// needs is every writer of every value in parts: an observation of a value made of parts
// is explained by the same writes in any subset that keeps all of them.
func (s *spelling) needs(parts []string) []int {
	var ws []int
	for _, t := range slices.Compact(slices.Sorted(slices.Values(parts))) {
		ws = append(ws, s.writers[t]...)
	}
	return ws
}

// shrinker shrinks one key's non-linearizable operations to a small set that is still
// not linearizable and still closed: every result a kept operation observed is still
// produced by kept writes.
//
// Closed matters because linearizability is not monotone under removal: take away the
// write that produced a value and the read of it becomes "impossible", an artefact. With
// a spelling, a subset that keeps, for each kept observation, every writer of every value
// it is made of, and is not linearizable, proves the whole key is not: restrict any
// linearization of the key to the subset, and each kept observation still sees exactly
// the writes it saw (the writes applied since the last put are the parts of its value,
// all kept). So removing a write also removes the observations that may need it. Without
// a spelling (values that are not a prefix code), only gets are ever removed, which is
// always sound.
//
// Every check is porcupine's search with a fixed limit of model steps (a check that needs
// more counts as "not shown illegal"), so the result depends only on the history, unless
// the wall-clock deadline passes first, in which case shrinking stops where it is.
type shrinker struct {
	ops      []kop
	porc     []porcupine.Operation // the same operations, as checked
	deps     [][]int               // for an explainable observation, the writes it needs
	spelling *spelling             // of all the key's writes; nil if none
	fixed    []int                 // always kept (the writes, without a spelling)
	limit    int                   // model steps per check
	deadline time.Time
	timedOut bool
	memo     map[string]bool
	checks   int
}

// closure removes from c the observations whose writes are not all in fixed ∪ c, until
// none is left to remove. It keeps c's order.
func (s *shrinker) closure(c []int) []int {
	in := make([]bool, len(s.ops))
	for _, i := range s.fixed {
		in[i] = true
	}
	for _, i := range c {
		in[i] = true
	}
	for changed := true; changed; {
		changed = false
		for _, i := range c {
			if !in[i] {
				continue
			}
			for _, w := range s.deps[i] {
				if !in[w] {
					in[i], changed = false, true
					break
				}
			}
		}
	}
	out := make([]int, 0, len(c))
	for _, i := range c {
		if in[i] {
			out = append(out, i)
		}
	}
	return out
}

// fails reports whether fixed ∪ c (c closed) is shown not linearizable.
func (s *shrinker) fails(c []int) bool {
	var key strings.Builder
	for _, i := range c {
		key.WriteString(strconv.Itoa(i))
		key.WriteByte(',')
	}
	if v, ok := s.memo[key.String()]; ok {
		return v
	}
	set := append(slices.Clone(s.fixed), c...)
	res := s.check(set)
	v := res == porcupine.Illegal
	if !s.timedOut {
		s.memo[key.String()] = v
	}
	return v
}

// check runs porcupine on the operations set, within the step limit and the deadline. It
// returns Illegal only for a search that ran to its end; a search cut by the step limit
// gives Unknown, like one cut by the deadline, which also sets timedOut.
func (s *shrinker) check(set []int) porcupine.CheckResult {
	left := time.Until(s.deadline) // determinism: only the budget; running out stops shrinking and is reported (Explanation.Minimal)
	if s.timedOut || left <= 0 {
		s.timedOut = true
		return porcupine.Unknown
	}
	s.checks++
	sub := make([]porcupine.Operation, len(set))
	for k, i := range set {
		sub[k] = s.porc[i]
	}
	steps, over := 0, false
	m := kvModel
	m.Partition = nil
	m.Step = func(state, input, output any) (bool, any) {
		if steps++; over || steps > s.limit {
			over = true
			return false, state
		}
		return kvStep(state, input, output)
	}
	// Verbose because it waits for its search goroutine even on a timeout (the plain
	// check returns without it), so that nothing outlives Check and over is safe to read.
	res, _ := porcupine.CheckOperationsVerbose(m, sub, left) // determinism: after the run
	switch {
	case res == porcupine.Ok:
		return res
	case over:
		return porcupine.Unknown
	case res == porcupine.Unknown:
		s.timedOut = true
	}
	return res
}

// shrink returns a closed subset (fixed ∪ the result) that is not linearizable, sorted by
// Call. It first cuts the history after the shortest failing prefix (by invocation),
// then runs delta debugging (ddmin) on what is left.
func (s *shrinker) shrink() []int {
	var cand []int
	isFixed := make([]bool, len(s.ops))
	for _, i := range s.fixed {
		isFixed[i] = true
	}
	for i := range s.ops {
		if !isFixed[i] {
			cand = append(cand, i)
		}
	}
	slices.SortFunc(cand, func(a, b int) int { return cmpInt64(s.ops[a].Call, s.ops[b].Call) })
	// Invariant: the closure of cand[:hi] fails (the whole key does).
	lo, hi := 0, len(cand)
	for lo+1 < hi && !s.timedOut {
		mid := lo + (hi-lo)/2
		if s.fails(s.closure(cand[:mid])) {
			hi = mid
		} else {
			lo = mid
		}
	}
	c := s.ddmin(s.closure(cand[:hi]))
	if w := s.witness(); w != nil && len(w) < len(c) {
		c = s.ddmin(w)
	}
	if len(c) == 1 && s.fails(nil) {
		c = nil
	}
	return append(slices.Clone(s.fixed), c...)
}

// witnessWrites is how many of the latest writes before an observation witness tries
// with it, and witnessChecks the most checks it makes in all.
const (
	witnessWrites = 3
	witnessChecks = 2000
)

// witness looks for a small failing set of the commonest shape, a stale read: an
// observation with the writes it needs, and one write that completed before it was
// invoked (and its own needs). ddmin finds a set from which no one operation can be
// removed, but a read of a long appended value drags in every write of it; another read
// of the same anomaly may need far fewer. It returns the smallest such set, sorted by
// Call, or nil. Only with a spelling (otherwise every write is fixed anyway).
func (s *shrinker) witness() []int {
	if s.spelling == nil {
		return nil
	}
	var best []int
	checks := 0
	byCall := make([]int, len(s.ops)) // the input's order must not matter
	for i := range byCall {
		byCall[i] = i
	}
	slices.SortFunc(byCall, func(a, b int) int { return cmpInt64(s.ops[a].Call, s.ops[b].Call) })
	for _, r := range byCall {
		if !s.ops[r].observes() || s.deps[r] == nil && s.ops[r].Kind != Get {
			continue
		}
		base := s.withNeeds(nil, r)
		for _, w := range s.latestWritesBefore(r, base) {
			if checks >= witnessChecks || s.timedOut {
				return best
			}
			c := s.closure(s.withNeeds(slices.Clone(base), w))
			if len(c) == 0 || (best != nil && len(c) >= len(best)) || !slices.Contains(c, r) {
				continue
			}
			checks++
			if s.fails(c) {
				best = c
			}
		}
	}
	return best
}

// withNeeds adds op i and, transitively, the writes it needs to set (kept sorted by
// Call, without duplicates).
func (s *shrinker) withNeeds(set []int, i int) []int {
	if slices.Contains(set, i) {
		return set
	}
	set = append(set, i)
	for _, w := range s.deps[i] {
		set = s.withNeeds(set, w)
	}
	slices.SortFunc(set, func(a, b int) int { return cmpInt64(s.ops[a].Call, s.ops[b].Call) })
	return set
}

// latestWritesBefore is up to witnessWrites writes outside set that completed before op r
// was invoked, the latest-completed first.
func (s *shrinker) latestWritesBefore(r int, set []int) []int {
	var ws []int
	for w := range s.ops {
		if s.ops[w].writes() && s.ops[w].precedes(s.ops[r]) && !slices.Contains(set, w) {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b int) int {
		if c := cmpInt64(s.ops[b].ret, s.ops[a].ret); c != 0 {
			return c
		}
		return cmpInt64(s.ops[a].Call, s.ops[b].Call) // unknown outcomes share MaxInt64
	})
	return ws[:min(len(ws), witnessWrites)]
}

// ddmin is Zeller's delta debugging on c (which fails), with every candidate closed
// first: try each of n chunks alone, then each complement, else split finer. It ends when
// no single operation can be removed (or the deadline passes).
func (s *shrinker) ddmin(c []int) []int {
	n := 2
	for len(c) >= 2 && !s.timedOut {
		n = min(n, len(c))
		chunks := split(c, n)
		if next := s.firstFailing(chunks, nil); next != nil {
			c, n = next, 2
			continue
		}
		if next := s.firstFailing(chunks, c); next != nil {
			c, n = next, max(n-1, 2)
			continue
		}
		if n == len(c) {
			break
		}
		n = min(2*n, len(c))
	}
	return c
}

// firstFailing returns the closure of the first chunk (of its complement in c, if c is
// not nil) that fails, or nil.
func (s *shrinker) firstFailing(chunks [][]int, c []int) []int {
	for _, ch := range chunks {
		try := ch
		if c != nil {
			try = without(c, ch)
		}
		if try = s.closure(try); len(try) > 0 && s.fails(try) {
			return try
		}
	}
	return nil
}

// minimal reports whether removing any one operation of set (and the observations that
// need it) leaves a set porcupine finds linearizable.
func (s *shrinker) minimal(set []int) bool {
	if s.timedOut {
		return false
	}
	saved := s.fixed
	defer func() { s.fixed = saved }()
	s.fixed = nil
	for k := range set {
		if s.check(s.closure(without(set, set[k:k+1]))) != porcupine.Ok {
			return false
		}
	}
	return true
}

// split cuts c into n nearly equal chunks, in order.
func split(c []int, n int) [][]int {
	out := make([][]int, 0, n)
	for k := range n {
		out = append(out, c[k*len(c)/n:(k+1)*len(c)/n])
	}
	return out
}

// without returns c minus the elements of ch (a sub-slice of c's elements, same order).
func without(c, ch []int) []int {
	drop := make(map[int]bool, len(ch))
	for _, i := range ch {
		drop[i] = true
	}
	out := make([]int, 0, len(c))
	for _, i := range c {
		if !drop[i] {
			out = append(out, i)
		}
	}
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// shrinkSteps is the step limit of one check while shrinking: a few times what the key's
// own search took, within bounds.
func shrinkSteps(keySteps int) int {
	return min(max(4*keySteps, 1<<16), 1<<22)
}

// newShrinker prepares the shrinking of one key's operations (porc, one partition as
// searched, with opMeta) given the history ops passed to Check.
func newShrinker(ops []Op, porc []porcupine.Operation, keySteps int, deadline time.Time) *shrinker {
	s := &shrinker{
		porc:     porc,
		ops:      make([]kop, len(porc)),
		deps:     make([][]int, len(porc)),
		limit:    shrinkSteps(keySteps),
		deadline: deadline,
		memo:     make(map[string]bool),
	}
	for i, po := range porc {
		m := po.Metadata.(opMeta)
		s.ops[i] = kop{Op: ops[m.index], index: m.index, ret: po.Return}
		if ops[m.index].Unknown && po.Return != math.MaxInt64 {
			panic("linearizability: an unknown outcome without porcupine's MaxInt64 return")
		}
	}
	all := make([]int, len(s.ops))
	for i := range all {
		all[i] = i
	}
	sp := newSpelling(s.ops, all)
	s.spelling = sp
	for i, op := range s.ops {
		switch {
		case sp == nil && op.writes():
			s.fixed = append(s.fixed, i)
		case sp != nil && op.observes():
			if parts, problem := sp.observed(s.ops, i); problem == "" {
				s.deps[i] = sp.needs(parts)
			}
		}
	}
	return s
}
