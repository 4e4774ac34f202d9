package linearizability

import (
	"math"
	"sync"        // determinism: the check runs after the run, one goroutine per key; see searchPartitions
	"sync/atomic" // determinism: the searches share their early stop; the failing key reported does not depend on timing
	"time"

	"github.com/anishathalye/porcupine"
)

// decideSteps is the number of model steps within which a partition's search counts as
// "quick". Once some partition has been shown illegal, every search that has taken more
// steps than this is stopped; and the partition reported as failing is the first one (in
// partition order) shown illegal within this many steps, which does not depend on
// goroutine timing because porcupine's search of one partition is deterministic. About a
// second of search.
const decideSteps = 1 << 20

// partStatus is what the search of one partition established.
type partStatus uint8

const (
	partOK       partStatus = iota + 1 // linearizable
	partIllegal                        // shown not linearizable
	partTimedOut                       // the budget ran out first
	partStopped                        // stopped because another partition decided the verdict
)

// partition is one partition of a history and the outcome of its search.
type partition struct {
	ops      []porcupine.Operation // in the order the model's Partition gave them
	status   partStatus
	steps    int     // model steps the search took (the step that stopped it included)
	partials [][]int // porcupine's partial linearizations, as indexes into ops
	stopped  bool    // set by the search goroutine when it refused a step to stop early
}

// earlyStop is what the partitions' searches share to end early. Its fields are atomics
// because every search reads them at every step.
type earlyStop struct {
	best    atomic.Int64 // lowest index of a partition shown illegal within decideSteps; MaxInt64: none
	illegal atomic.Bool  // some partition has been shown illegal
}

// stop reports whether partition i, at its steps-th step, need not go on: the verdict is
// known and this partition can change neither it nor the partition reported as failing.
func (s *earlyStop) stop(i, steps int) bool {
	return int64(i) > s.best.Load() || (steps > decideSteps && s.illegal.Load())
}

// shown records that partition i was shown illegal in steps steps.
func (s *earlyStop) shown(i, steps int) {
	if steps <= decideSteps {
		for {
			b := s.best.Load()
			if int64(i) >= b || s.best.CompareAndSwap(b, int64(i)) {
				break
			}
		}
	}
	s.illegal.Store(true)
}

// searchPartitions checks every partition of history in its own goroutine, each with
// porcupine's verbose search and the budget, and returns when all searches have ended.
// Once one partition is shown illegal the others are stopped (their Step refuses every
// further step, which unwinds porcupine's search in time linear in its depth), except
// those that come before the first quick illegal partition and are still quick: they run
// on until they are decided or stop being quick, so that the partition reported as
// failing (verdictOf) does not depend on which search happened to finish first.
//
// model.Step must be set; it is wrapped, and model.Partition is not used.
func searchPartitions(model porcupine.Model, parts [][]porcupine.Operation, budget time.Duration) []partition {
	if model.Step == nil {
		panic("linearizability: searchPartitions needs a model with Step")
	}
	out := make([]partition, len(parts))
	var stop earlyStop
	stop.best.Store(math.MaxInt64)
	var wg sync.WaitGroup
	for i, ops := range parts {
		out[i].ops = ops
		wg.Add(1)
		go func() { // determinism: a search of one key, after the run; Check waits for all of them
			defer wg.Done()
			searchOne(model, &out[i], i, &stop, budget)
		}()
	}
	wg.Wait() // no search outlives the check
	return out
}

// searchOne runs the search of partition p (index i) and records its outcome. The fields
// that the wrapped Step writes are read only after porcupine has returned, which orders
// them (porcupine hands its result back on a channel after its search goroutine ends).
func searchOne(model porcupine.Model, p *partition, i int, stop *earlyStop, budget time.Duration) {
	step := model.Step
	m := model
	m.Partition, m.PartitionEvent, m.StepContext = nil, nil, nil
	m.Step = func(state, input, output any) (bool, any) {
		if p.stopped {
			return false, state
		}
		p.steps++
		if stop.stop(i, p.steps) {
			p.stopped = true
			return false, state
		}
		return step(state, input, output)
	}
	res, info := porcupine.CheckOperationsVerbose(m, p.ops, budget) // determinism: after the run; the budget only ever turns a verdict into Inconclusive
	if all := info.PartialLinearizations(); len(all) == 1 {
		p.partials = all[0]
	}
	switch {
	case res == porcupine.Ok: // every step it took was a real one
		p.status = partOK
	case p.stopped: // a refused step can make porcupine report Illegal: not a verdict
		p.status = partStopped
	case res == porcupine.Illegal:
		p.status = partIllegal
		stop.shown(i, p.steps)
	default:
		p.status = partTimedOut
	}
}

// verdictOf is the verdict of a searched history and the index of the partition reported
// as failing (-1 unless NotLinearizable): the first partition shown illegal within
// decideSteps if there is one (deterministic), else the first shown illegal at all.
func verdictOf(parts []partition) (Verdict, int) {
	quick, first, timedOut := -1, -1, false
	for i := range parts {
		switch parts[i].status {
		case partIllegal:
			if quick < 0 && parts[i].steps <= decideSteps {
				quick = i
			}
			if first < 0 {
				first = i
			}
		case partTimedOut:
			timedOut = true
		}
	}
	switch {
	case quick >= 0:
		return NotLinearizable, quick
	case first >= 0:
		return NotLinearizable, first
	case timedOut:
		return Inconclusive, -1
	}
	return Linearizable, -1
}
