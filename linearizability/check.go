package linearizability

import (
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
)

// Verdict is the outcome of a check.
type Verdict uint8

// The verdicts. The zero Verdict is not one of them (an unset Result is not a pass).
const (
	Linearizable Verdict = iota + 1
	NotLinearizable
	Inconclusive // the budget ran out first; never a pass
)

// String returns "linearizable", "not linearizable" or "inconclusive (timed out)".
func (v Verdict) String() string {
	switch v {
	case Linearizable:
		return "linearizable"
	case NotLinearizable:
		return "not linearizable"
	case Inconclusive:
		return "inconclusive (timed out)"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Result is the outcome of Check, with what the visualization needs.
type Result struct {
	Verdict Verdict
	Checked int           // operations given to porcupine
	Dropped int           // unknown-outcome reads dropped (they constrain nothing)
	Elapsed time.Duration // wall time the check took, explanation included

	// Explanation is set by Check exactly when Verdict is NotLinearizable: a small set of
	// operations on one key that has no linearization, and why (see Explanation).
	Explanation *Explanation

	// For WriteHTML: the model (per partition) and every partition's search.
	model   porcupine.Model
	parts   []partition
	failing int   // the partition explained, -1 if none
	focus   []int // indexes into parts[failing].ops of the explanation's operations
}

// String summarizes the result, e.g. "linearizable (412 ops checked, 3 unknown reads
// dropped, 12ms)".
func (r Result) String() string {
	return fmt.Sprintf("%v (%d ops checked, %d unknown reads dropped, %v)",
		r.Verdict, r.Checked, r.Dropped, r.Elapsed.Round(time.Microsecond))
}

// Check checks ops for linearizability against the KV model, partitioned by key, within
// budget of wall-clock time (which must be positive). It returns an error, and no
// verdict, for a malformed history (see the package doc). Running out of budget gives
// Inconclusive, never Linearizable.
//
// Every key is searched in its own goroutine. Once one key is shown not linearizable the
// verdict is NotLinearizable and the other searches are stopped (all have ended when Check
// returns); keys still undecided then are reported neither way. With no illegal key, any
// key that ran out of budget makes the verdict Inconclusive.
//
// When the verdict is NotLinearizable, Check also explains it (Result.Explanation) with
// what is left of the budget: it picks the key to explain without depending on goroutine
// timing (the first key, in key order, shown illegal within a fixed number of model
// steps, if any), shrinks that key's operations to a small set that still has no
// linearization, and says why. See Explanation for the guarantees.
//
// ops is not modified; its order does not matter.
func Check(ops []Op, budget time.Duration) (Result, error) {
	if err := checkBudget(budget); err != nil {
		return Result{}, err
	}
	if err := validate(ops); err != nil {
		return Result{}, err
	}
	start := time.Now() // determinism: measures the check (Result.Elapsed) and bounds the explanation by the budget; never fed back into a run
	history, dropped := toPorcupine(ops)
	res := search(kvModel, history, budget)
	res.Dropped = dropped
	if res.Verdict == NotLinearizable {
		res.explainSmallest(ops, start.Add(budget))
	}
	res.Elapsed = time.Since(start) // determinism: reported as Result.Elapsed, never fed back into a run
	return res, nil
}

// toPorcupine converts a valid history to porcupine's operations, dropping the unknown
// reads (it returns how many) and giving unknown writes the Return math.MaxInt64.
func toPorcupine(ops []Op) ([]porcupine.Operation, int) {
	history := make([]porcupine.Operation, 0, len(ops))
	dropped := 0
	for i, op := range ops {
		if op.Unknown && op.Kind == Get {
			dropped++
			continue
		}
		out := kvOutput{value: op.Output, checked: op.HasOutput}
		ret := op.Return
		if op.Unknown {
			out = kvOutput{unknown: true}
			ret = math.MaxInt64
		}
		history = append(history, porcupine.Operation{
			ClientId: op.Client,
			Input:    kvInput{kind: op.Kind, key: op.Key, value: op.Value},
			Call:     op.Call,
			Output:   out,
			Return:   ret,
			Metadata: opMeta{index: i, callTime: op.CallTime, returnTime: op.ReturnTime, server: op.Server, unknown: op.Unknown},
		})
	}
	return history, dropped
}

func checkBudget(budget time.Duration) error {
	if budget <= 0 {
		return fmt.Errorf("linearizability: the check budget must be positive, got %v (porcupine would read 0 as no limit)", budget)
	}
	return nil
}

// checkWithModel is the budgeted check behind Check, without the explanation, for any
// porcupine model (the tests use it with a compare-and-set register for Jepsen's etcd
// histories).
func checkWithModel(model porcupine.Model, history []porcupine.Operation, budget time.Duration) (Result, error) {
	if err := checkBudget(budget); err != nil {
		return Result{}, err
	}
	return search(model, history, budget), nil
}

// search partitions history with the model's Partition (none: one partition) and
// searches the partitions (see searchPartitions). It always uses porcupine's verbose
// mode (it keeps the partial linearizations for the picture), always with the budget.
func search(model porcupine.Model, history []porcupine.Operation, budget time.Duration) Result {
	start := time.Now() // determinism: measures the check for Result.Elapsed, which is reported and never fed back into a run
	var split [][]porcupine.Operation
	switch {
	case model.Partition != nil:
		split = model.Partition(history)
	case len(history) > 0:
		split = [][]porcupine.Operation{history}
	}
	parts := searchPartitions(model, split, budget)
	v, failing := verdictOf(parts)
	return Result{Verdict: v, Checked: len(history), Elapsed: time.Since(start), model: model, parts: parts, failing: failing} // determinism: reported as Result.Elapsed, never fed back into a run
}

// Explaining more than one key: an anomaly often shows in several keys, and a read of a
// long appended value needs every append of it, so when the failing key's explanation has
// more than explainSmallOps operations, up to explainMoreKeys other keys (in key order)
// that a search of at most decideSteps model steps shows illegal are explained too, and
// the explanation with the fewest operations is kept (the first on a tie). Step limits,
// not time, decide which keys count, so the choice does not depend on the machine.
const (
	explainSmallOps = 5
	explainMoreKeys = 3
)

// explainSmallest sets the result's explanation (see above).
func (r *Result) explainSmallest(ops []Op, deadline time.Time) {
	p := &r.parts[r.failing]
	r.Explanation, r.focus = explain(ops, p.ops, p.steps, deadline)
	tried := 0
	for j := range r.parts {
		if len(r.Explanation.Ops) <= explainSmallOps || tried == explainMoreKeys || !time.Now().Before(deadline) { // determinism: the budget only bounds the work; the choice among keys is by step limits
			return
		}
		q := &r.parts[j]
		if j == r.failing || q.status == partOK || !illegalWithin(q.ops, decideSteps, deadline) {
			continue
		}
		tried++
		if e, focus := explain(ops, q.ops, decideSteps, deadline); len(e.Ops) < len(r.Explanation.Ops) {
			r.Explanation, r.focus, r.failing = e, focus, j
		}
	}
}

// illegalWithin reports whether porcupine shows the partition not linearizable within
// limit model steps (and the deadline).
func illegalWithin(part []porcupine.Operation, limit int, deadline time.Time) bool {
	s := &shrinker{porc: part, limit: limit, deadline: deadline, memo: map[string]bool{}}
	all := make([]int, len(part))
	for i := range all {
		all[i] = i
	}
	return s.check(all) == porcupine.Illegal
}
