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
	Elapsed time.Duration // wall time the check took

	// For WriteHTML: the model and porcupine's record of the check (the checked
	// operations, partitioned, with the partial linearizations it found).
	model porcupine.Model
	info  porcupine.LinearizationInfo
}

// String summarizes the result, e.g. "linearizable (412 ops checked, 3 unknown reads
// dropped, 12ms)".
func (r Result) String() string {
	return fmt.Sprintf("%v (%d ops checked, %d unknown reads dropped, %v)",
		r.Verdict, r.Checked, r.Dropped, r.Elapsed.Round(time.Microsecond))
}

// Check checks ops for linearizability against the KV model, partitioned by key, giving
// porcupine at most budget of wall-clock time (which must be positive). It returns an
// error, and no verdict, for a malformed history (see the package doc). Running out of
// budget gives Inconclusive, never Linearizable.
//
// ops is not modified; its order does not matter.
func Check(ops []Op, budget time.Duration) (Result, error) {
	if err := checkBudget(budget); err != nil {
		return Result{}, err
	}
	if err := validate(ops); err != nil {
		return Result{}, err
	}
	history := make([]porcupine.Operation, 0, len(ops))
	dropped := 0
	for _, op := range ops {
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
			Metadata: opMeta{callTime: op.CallTime, returnTime: op.ReturnTime, unknown: op.Unknown},
		})
	}
	res, err := checkWithModel(kvModel, history, budget)
	res.Dropped = dropped
	return res, err
}

func checkBudget(budget time.Duration) error {
	if budget <= 0 {
		return fmt.Errorf("linearizability: the check budget must be positive, got %v (porcupine would read 0 as no limit)", budget)
	}
	return nil
}

// checkWithModel is the budgeted check behind Check, for any porcupine model (the tests
// use it with a compare-and-set register for Jepsen's etcd histories). It always runs
// porcupine's verbose mode, always with the budget.
func checkWithModel(model porcupine.Model, history []porcupine.Operation, budget time.Duration) (Result, error) {
	if err := checkBudget(budget); err != nil {
		return Result{}, err
	}
	start := time.Now()                                                   // determinism: measures the check for Result.Elapsed, which is reported and never fed back into a run
	res, info := porcupine.CheckOperationsVerbose(model, history, budget) // determinism: the check runs after the run; running out of budget gives Inconclusive, never a pass
	elapsed := time.Since(start)                                          // determinism: measures the check for Result.Elapsed, which is reported and never fed back into a run
	var v Verdict
	switch res {
	case porcupine.Ok:
		v = Linearizable
	case porcupine.Illegal:
		v = NotLinearizable
	default: // porcupine.Unknown: timed out
		v = Inconclusive
	}
	return Result{Verdict: v, Checked: len(history), Elapsed: elapsed, model: model, info: info}, nil
}
