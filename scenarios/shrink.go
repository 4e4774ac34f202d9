package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"raftsim/sim"
	"raftsim/sim/schedule"
)

// This file shrinks a failing timed schedule: it searches for a smaller schedule whose
// replay fails the same way (FailureKey), by passes that each simplify one part of it,
// repeated until a whole round changes nothing:
//
//  1. end the run earlier: where a check stopped it, or for a history that is not
//     linearizable by bisecting the duration;
//  2. fewer servers and fewer clients, the fewest that still fail;
//  3. fewer faults, 4. fewer client operations and 5. fewer packets not plainly delivered
//     (a packet without a line is delivered once after the schedule's delay, so removing a
//     line turns a drop or a duplicate back into a plain delivery and shortens a delay),
//     each by delta debugging (Zeller and Hildebrandt's ddmin), which finds a subset from
//     which no single line can be removed.
//
// Passes 2 to 4 take away what a scenario's own probes and assertion may need: without
// the crash, a probe waiting for a new leader after it fails for want of a crash, bug or
// not. So for such a failure (not one of the safety checks, the history check or a
// panic, which no correct server can cause) they run only when the servers are not
// raftsim's own (Options.NewServer: a planted bug, an adapter), and a candidate is kept
// only if raftsim's node, run on it, does not fail the same way. Otherwise only the
// packets shrink.
//
// Every accepted candidate is re-recorded (Rerecord): the schedule kept lists only the
// lines its run used. Shrinking is deterministic: the replays are, and the search is
// sequential; only a history check that runs out of its wall-clock budget (an
// inconclusive verdict counts as not failing) could make two machines differ.

// DefaultShrinkRuns bounds the replays of one Shrink when ShrinkOptions.MaxRuns is 0.
const DefaultShrinkRuns = 3000

// shrinkRounds bounds the rounds of passes. Round r lets delta debugging cut a list into
// at most firstRoundParts<<(2r) chunks, so that an early round spends few replays on each
// kind of line and the later ones refine what is left.
const (
	shrinkRounds    = 8
	firstRoundParts = 16
)

// batchSize is how many candidates Shrink replays together (at once, if
// ShrinkOptions.Parallel runs them so): the first of a batch that fails is kept. It is
// fixed, not the number of cores, so that the result is the same on every machine.
const batchSize = 4

// ShrinkOptions tune Shrink.
type ShrinkOptions struct {
	// Options are the replays' options: NewServer keeps a planted bug in, CheckBudget
	// bounds each history check. Trace and Interrupt are not used.
	Options Options
	// MaxRuns bounds the replays (0: DefaultShrinkRuns). A bound on runs, not on time,
	// keeps the result the same on every machine.
	MaxRuns int
	// Progress, if not nil, is called after every batch of replays.
	Progress func(p ShrinkProgress)
	// Parallel, if not nil, runs run(0), ..., run(n-1), perhaps at once, and returns when
	// all have returned (Shrink hands it independent replays, and reads their results in
	// index order, so the result does not depend on how it runs them). nil runs them one
	// after another.
	Parallel func(n int, run func(i int))
}

// ShrinkProgress is where a Shrink is: the replays so far, the pass running, and the
// size of the smallest failing schedule found.
type ShrinkProgress struct {
	Runs int
	Pass string
	Size Size
}

// Size is how big a timed schedule's failing run is: what a person has to read.
type Size struct {
	Events      uint64        // events the run processed
	Faults      int           // faults (fault lines)
	ClientOps   int           // client operations (invoke lines)
	Packets     int           // packets not plainly delivered (packet lines)
	Nodes       int           // servers
	Clients     int           // clients
	VirtualTime time.Duration // virtual time the run reached
}

func (s Size) String() string {
	return fmt.Sprintf("%d events, %d faults, %d client operations, %d packets not plainly delivered, %d servers, %d clients, %v virtual",
		s.Events, s.Faults, s.ClientOps, s.Packets, s.Nodes, s.Clients, s.VirtualTime)
}

// ShrinkResult is what Shrink found.
type ShrinkResult struct {
	// Key is the failure every candidate had to keep (FailureKey).
	Key string
	// Original is the schedule given, re-recorded; Shrunk the smallest failing one found,
	// with its expect line.
	Original, Shrunk *schedule.Schedule
	// Before and After measure them.
	Before, After Size
	// Outcome is the shrunk schedule's replay.
	Outcome Outcome
	// Runs is how many replays the search made; Exhausted says it stopped at MaxRuns.
	Runs      int
	Exhausted bool
	// Elapsed is the wall time it took (for reports only).
	Elapsed time.Duration
}

// Shrink searches for a smaller timed schedule that fails as sch does (see the file
// comment). It returns an error, before any search, when sch is not a timed schedule, does
// not replay, or does not fail (or fails otherwise than its expect line says); the error
// is worded to follow the schedule's name ("churn seed 3 fails no check: ...").
func Shrink(sch *schedule.Schedule, opts ShrinkOptions) (ShrinkResult, error) {
	start := time.Now() // determinism: measures the search for the report only; the result never depends on it
	if sch.Version != schedule.VersionTimed {
		return ShrinkResult{}, fmt.Errorf("shrink takes a timed schedule (version %d: an exported or shrunk run); this one is version %d (a model checker's counterexample is already a shortest one)",
			schedule.VersionTimed, sch.Version)
	}
	s := &shrinker{opts: opts, max: opts.MaxRuns}
	if s.max == 0 {
		s.max = DefaultShrinkRuns
	}
	s.opts.Options.Trace, s.opts.Options.Interrupt = nil, nil
	out, rec := Rerecord(sch, s.opts.Options)
	if err := shrinkable(sch, &out); err != nil {
		return ShrinkResult{}, err
	}
	s.key = FailureKey(&out)
	s.opts.Options.skipHistory = out.Failure != nil // the run fails before its history is checked
	s.cur, s.out = rec, out
	res := ShrinkResult{Key: s.key, Original: rec, Before: s.size()}
	s.reference = !s.safety() && opts.Options.NewServer != nil
	all := s.safety() || s.reference
	for round := 0; round < shrinkRounds && !s.exhausted(); round++ {
		before := s.size()
		parts := firstRoundParts << (2 * round)
		s.endEarlier()
		if all {
			s.fewerEndpoints()
			s.bigCuts()
		}
		s.lines("packets", isPacket, parts)
		if all {
			s.lines("faults", isFault, parts)
			s.lines("client operations", isInvoke, parts)
		}
		if s.size() == before && parts >= len(s.cur.Actions) {
			break
		}
	}
	res.Shrunk, res.After, res.Outcome = s.cur, s.size(), s.out
	res.Runs, res.Exhausted = s.runs, s.exhausted()
	res.Elapsed = time.Since(start) // determinism: the elapsed time is reported only, never branched on
	return res, nil
}

// ErrInconclusive is Shrink's error for a schedule whose history check ran out of its
// budget: there is no failure to keep (errors.Is finds it).
var ErrInconclusive = errors.New("has an inconclusive history check (it ran out of its budget): nothing to shrink towards; raise -check-budget")

// shrinkable says why a replay with outcome out cannot be shrunk, or nil.
func shrinkable(sch *schedule.Schedule, out *Outcome) error {
	key := FailureKey(out)
	switch {
	case out.Err != nil:
		return fmt.Errorf("does not replay: %w", out.Err)
	case out.Inconclusive():
		return ErrInconclusive
	case key == "":
		return errors.New("fails no check: nothing to shrink")
	case sch.Expect.Kind == schedule.ExpectFail && !sameFailure(out, sch.Expect.Check):
		return fmt.Errorf("expects %q to fail, but its replay fails %q", sch.Expect.Check, key)
	}
	return nil
}

// isFault, isInvoke and isPacket tell the kinds of line apart.
func isFault(a *schedule.Action) bool {
	return a.Kind != schedule.ActionInvoke && a.Kind != schedule.ActionPacket
}
func isInvoke(a *schedule.Action) bool { return a.Kind == schedule.ActionInvoke }
func isPacket(a *schedule.Action) bool { return a.Kind == schedule.ActionPacket }

// shrinker is one Shrink's search state: the smallest failing schedule so far and its
// replay.
type shrinker struct {
	opts ShrinkOptions
	key  string
	max  int
	runs int
	pass string
	cur  *schedule.Schedule
	out  Outcome
	// reference: the failure kept is a scenario's own (a probe, an assertion) and the
	// servers are not raftsim's (a planted bug, an adapter): a candidate is kept only if
	// raftsim's own node does not fail it the same way.
	reference bool
}

func (s *shrinker) exhausted() bool { return s.runs >= s.max }

// safety reports whether the failure kept is one of the safety checks every run makes
// (sim.CheckNames), the history check, or a panic: a failure that no correct server can
// cause, whatever the cluster and the faults.
func (s *shrinker) safety() bool {
	if s.key == "Linearizability" || strings.HasPrefix(s.key, "panic: ") {
		return true
	}
	return slices.Contains(sim.CheckNames(), s.key)
}

// try replays candidate c and keeps it (re-recorded) if it fails the same way.
func (s *shrinker) try(c *schedule.Schedule) bool { return s.tryBatch([]*schedule.Schedule{c}) == 0 }

// tryBatch replays the candidates (as far as the budget goes) and keeps the first that
// fails the same way, re-recorded; it returns its index, or -1.
func (s *shrinker) tryBatch(cands []*schedule.Schedule) int {
	cands = cands[:min(len(cands), s.max-s.runs)]
	if len(cands) == 0 {
		return -1
	}
	s.runs += len(cands)
	outs := make([]Outcome, len(cands))
	recs := make([]*schedule.Schedule, len(cands))
	oks := make([]bool, len(cands))
	run := func(i int) { outs[i], recs[i], oks[i] = s.judge(cands[i]) }
	if s.opts.Parallel != nil && len(cands) > 1 {
		s.opts.Parallel(len(cands), run)
	} else {
		for i := range cands {
			run(i)
		}
	}
	first := slices.Index(oks, true)
	if first >= 0 {
		s.cur, s.out = recs[first], outs[first]
	}
	if s.opts.Progress != nil {
		s.opts.Progress(ShrinkProgress{Runs: s.runs, Pass: s.pass, Size: s.size()})
	}
	return first
}

// judge replays candidate c: its outcome, its re-recording, and whether it fails the way
// kept. It touches no shrinker state (batches judge candidates at once).
func (s *shrinker) judge(c *schedule.Schedule) (Outcome, *schedule.Schedule, bool) {
	out, rec := Rerecord(c, s.opts.Options)
	ok := out.Err == nil && !out.Inconclusive() && sameFailure(&out, s.key)
	if ok && s.reference {
		ref := s.opts.Options
		ref.NewServer = nil
		r := RunTimed(c, ref, "")
		ok = !sameFailure(&r, s.key)
	}
	return out, rec, ok
}

// LinesOf counts a timed schedule's lines by kind: its Faults, ClientOps and Packets
// (the other fields of Size, which need a run, are zero).
func LinesOf(sch *schedule.Schedule) Size {
	var z Size
	for i := range sch.Actions {
		switch a := &sch.Actions[i]; {
		case isInvoke(a):
			z.ClientOps++
		case isPacket(a):
			z.Packets++
		default:
			z.Faults++
		}
	}
	return z
}

// size measures the current schedule and its run.
func (s *shrinker) size() Size {
	z := LinesOf(s.cur)
	z.Events, z.VirtualTime = s.out.Counts.Events, s.out.VirtualTime
	if _, cfg, _, err := TimedConfig(s.cur); err == nil {
		z.Nodes, z.Clients = cfg.Nodes, cfg.Clients.Count
	}
	return z
}

// with is a copy of the current schedule with other actions (the headers shared).
func (s *shrinker) with(actions []schedule.Action) *schedule.Schedule {
	c := *s.cur
	c.Actions, c.Expect = actions, schedule.Expect{}
	return &c
}

// endEarlier ends the run where it stopped, when a check stopped it before its duration;
// when it fails at its end (the history check, an assertion), it bisects the duration for
// the earliest end that still fails.
func (s *shrinker) endEarlier() {
	s.pass = "end earlier"
	_, cfg, _, err := TimedConfig(s.cur)
	if err != nil {
		return
	}
	end := s.out.VirtualTime
	if end < cfg.Duration {
		c := s.with(s.cur.Actions)
		c.Timed.Duration = end
		s.try(c)
	}
	if s.key != "Linearizability" {
		// A check stopped the run: it cannot end before that and fail the same way. And a
		// scenario's assertion may need the whole run (it counts leaders, waits for
		// convergence), so ending earlier could fail it for want of time alone.
		return
	}
	lo, hi := time.Duration(0), end
	for hi-lo > max(end/64, 10*time.Millisecond) && !s.exhausted() {
		mid := lo + (hi-lo)/2
		c := s.with(s.cur.Actions)
		c.Timed.Duration = mid
		if s.try(c) {
			hi = mid
		} else {
			lo = mid
		}
	}
}

// fewerEndpoints tries the fewest servers, then the fewest clients, that still fail.
func (s *shrinker) fewerEndpoints() {
	s.pass = "fewer servers"
	z := s.size()
	for k := 1; k < z.Nodes && !s.exhausted(); k++ {
		c := s.with(keepEndpoints(s.cur.Actions, k, z.Clients))
		c.Timed.Nodes = k
		if s.try(c) {
			break
		}
	}
	s.pass = "fewer clients"
	z = s.size()
	for k := 1; k < z.Clients && !s.exhausted(); k++ {
		c := s.with(keepEndpoints(s.cur.Actions, z.Nodes, k))
		c.Timed.Clients = k
		if s.try(c) {
			break
		}
	}
}

// keepEndpoints is actions without what names a server above nodes or a client above
// clients (a partition loses those members; a group left empty goes).
func keepEndpoints(actions []schedule.Action, nodes, clients int) []schedule.Action {
	keep := func(e schedule.Endpoint) bool {
		return (e.Kind != schedule.EndpointServer || e.N <= nodes) && (e.Kind != schedule.EndpointClient || e.N <= clients)
	}
	var out []schedule.Action
	for _, a := range actions {
		ok := true
		switch a.Kind {
		case schedule.ActionPacket:
			ok = keep(a.From) && keep(a.To)
		case schedule.ActionInvoke:
			ok = a.Client <= clients
		case schedule.ActionPartition:
			a.Partition = trimPartition(a.Partition, keep)
			ok = a.Partition != schedule.Partition{}
		case schedule.ActionIsolate, schedule.ActionCut, schedule.ActionCutOneWay, schedule.ActionBridge:
			for _, e := range a.Endpoints {
				ok = ok && (e.Kind == schedule.EndpointNone || keep(e))
			}
		case schedule.ActionHeal:
		default:
			ok = int(a.Node) <= nodes
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}

// trimPartition is p without the endpoints keep refuses, its groups renumbered in
// canonical order.
func trimPartition(p schedule.Partition, keep func(schedule.Endpoint) bool) schedule.Partition {
	for i := range p.Groups {
		if !keep(schedule.IndexEndpoint(i)) {
			p.Groups[i] = 0
		}
	}
	return p.Canonical()
}

// lines shrinks the lines that pick selects by delta debugging, into at most maxParts
// chunks, the other lines kept as they are.
func (s *shrinker) lines(pass string, pick func(*schedule.Action) bool, maxParts int) {
	s.pass = pass
	base := s.cur.Actions
	var items []int // indexes in base of the lines shrunk
	for i := range base {
		if pick(&base[i]) {
			items = append(items, i)
		}
	}
	if len(items) < 2 {
		if len(items) == 1 {
			s.try(s.keeping(base, pick, nil))
		}
		return
	}
	ddmin(len(items), func(keeps [][]int) int {
		cands := make([]*schedule.Schedule, len(keeps))
		for k, keep := range keeps {
			lines := make([]int, len(keep))
			for x, i := range keep {
				lines[x] = items[i]
			}
			cands[k] = s.keeping(base, pick, lines)
		}
		return s.tryBatch(cands)
	}, s.exhausted, maxParts)
}

// keeping is the current schedule with actions base, but of the lines pick selects only
// those at the indexes keep (ascending).
func (s *shrinker) keeping(base []schedule.Action, pick func(*schedule.Action) bool, keep []int) *schedule.Schedule {
	acts := make([]schedule.Action, 0, len(base))
	for i := range base {
		if len(keep) > 0 && keep[0] == i {
			keep = keep[1:]
		} else if pick(&base[i]) {
			continue
		}
		acts = append(acts, base[i])
	}
	return s.with(acts)
}

// bigCuts tries, in one batch, the largest simplifications at once: every packet
// delivered plainly, no faults, no client operations, and for a history that is not
// linearizable only the operations its explanation names (or only those on its key).
func (s *shrinker) bigCuts() {
	s.pass = "big cuts"
	base := s.cur.Actions
	cands := []*schedule.Schedule{s.keeping(base, isPacket, nil), s.keeping(base, isFault, nil), s.keeping(base, isInvoke, nil)}
	if e := s.out.Linearizability.Explanation; e != nil {
		invokes := make([]int, 0, len(s.out.History)) // the history's operations are the invoke lines, in order
		for i := range base {
			if isInvoke(&base[i]) {
				invokes = append(invokes, i)
			}
		}
		var named, onKey []int
		for _, h := range e.Indexes {
			if h < len(invokes) {
				named = append(named, invokes[h])
			}
		}
		for _, i := range invokes {
			if base[i].Key == e.Key {
				onKey = append(onKey, i)
			}
		}
		slices.Sort(named)
		cands = append(cands, s.keeping(base, isInvoke, named), s.keeping(base, isInvoke, onKey))
	}
	for len(cands) > 0 && s.tryBatch(cands[:min(batchSize, len(cands))]) < 0 {
		cands = cands[min(batchSize, len(cands)):]
	}
}

// ddmin is minimizing delta debugging (Zeller and Hildebrandt, "Simplifying and
// Isolating Failure-Inducing Input", TSE 2002) over items 0..n-1, given that all n fail:
// it returns a failing subset from which no single item can be removed (1-minimal) once
// its chunks may be single items (maxParts >= n), unless stop answers true first. test
// replays a batch of candidates (ascending index lists) and returns the index of the
// first that fails, or -1.
//
// Three refinements keep it near n log n replays on the long, chaotic lists of a
// simulation instead of its n^2 worst case: the empty set is tried first; subsets alone
// are tried only while the chunks are few (a chunk of a long list rarely fails alone);
// and after a chunk's removal the sweep goes on with the next chunk instead of starting
// over. Candidates go in batches of batchSize, the first failing one kept.
func ddmin(n int, test func(keeps [][]int) int, stop func() bool, maxParts int) []int {
	cur := make([]int, n)
	for i := range cur {
		cur[i] = i
	}
	if test([][]int{nil}) == 0 {
		return nil
	}
	parts := 2
	for len(cur) >= 2 && !stop() {
		chunks := split(cur, parts)
		if len(chunks) <= subsetChunksMax {
			if k := firstFailing(chunks, test, stop); k >= 0 {
				cur, parts = chunks[k], 2
				continue
			}
		}
		removed := false
		for i := 0; i < len(chunks) && len(chunks) > 1 && !stop(); {
			batch := make([][]int, 0, batchSize)
			for k := i; k < len(chunks) && len(batch) < batchSize; k++ {
				batch = append(batch, without(chunks, k))
			}
			k := test(batch)
			if k < 0 {
				i += len(batch)
				continue
			}
			cur, removed = batch[k], true
			chunks = append(chunks[:i+k:i+k], chunks[i+k+1:]...)
			i += k // the next chunk is now chunks[i+k]
		}
		switch {
		case removed:
			parts = max(len(chunks), 2)
		case parts >= len(cur) || parts >= maxParts:
			return cur
		default:
			parts = min(2*parts, len(cur), maxParts)
		}
	}
	return cur
}

// subsetChunksMax is the most chunks for which ddmin tries each chunk alone.
const subsetChunksMax = 8

// firstFailing tries each chunk alone, in batches; it returns the first that fails, or -1.
func firstFailing(chunks [][]int, test func([][]int) int, stop func() bool) int {
	for i := 0; i < len(chunks) && !stop(); i += batchSize {
		if k := test(chunks[i:min(i+batchSize, len(chunks))]); k >= 0 {
			return i + k
		}
	}
	return -1
}

// without is the items of every chunk but chunk i, in order.
func without(chunks [][]int, i int) []int {
	var out []int
	for k, c := range chunks {
		if k != i {
			out = append(out, c...)
		}
	}
	return out
}

// split cuts xs into parts nearly equal chunks, in order.
func split(xs []int, parts int) [][]int {
	out := make([][]int, 0, parts)
	for i := 0; i < parts; i++ {
		lo, hi := i*len(xs)/parts, (i+1)*len(xs)/parts
		if lo < hi {
			out = append(out, xs[lo:hi])
		}
	}
	return out
}
