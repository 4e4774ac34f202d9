// Package linearizability checks the client history of a raftsim run for linearizability.
//
// Role. The simulator records every operation its clients issue against the replicated
// key-value service (get, put and append on string keys) as an [Op], and at the end of a run
// hands the history to [Check]. Check decides, with the porcupine checker, whether some
// sequential execution of the KV service explains every observed result while respecting
// real-time order; when none does, [Result.Explanation] names a few operations of one key
// that have no such execution and says why. [Result.WriteHTML] renders porcupine's
// interactive visualization of the checked history, with the simulator's fault windows and
// leader changes added as annotations, opened at the first error.
//
// Imports: github.com/anishathalye/porcupine and the standard library only.
//
// Checking is not part of a run. It happens after the run has ended, takes wall-clock time
// (one goroutine searches each key, and the check returns as soon as one key is shown
// illegal) under a wall-clock budget, and its outcome never feeds back into the run's
// deterministic trace or trace hash. The same history may therefore come back
// [Inconclusive] on a slow machine and decided on a fast one; the verdict is never a pass
// unless every key's search finished. The package is outside the determinism rules of
// DESIGN.md for that reason (it reads the wall clock and starts goroutines). The
// explanation of a failure, though, depends only on the history as long as the budget
// suffices (see [Explanation]).
//
// # Semantics of the KV service (the model)
//
// The history is partitioned by key (linearizability is compositional, so the history is
// linearizable if and only if every key's sub-history is); the state of one partition is
// that key's value, initially "".
//
//   - get(k) returns the current value ("" if absent).
//   - put(k, v) sets the value and returns "".
//   - append(k, v) appends v and returns the value after the append. The output is checked
//     when it was observed (Op.HasOutput); histories that never observe it (Jepsen's kv
//     histories) set HasOutput false and the model accepts any output.
//
// # Timestamps and unknown outcomes
//
// Call and Return are abstract timestamps (the simulator uses its event counter). Every
// Call and every known Return in a history must be distinct; an operation's interval
// [Call, Return] is closed, as in porcupine. Virtual times (CallTime, ReturnTime) are shown
// in the visualization only and never decide anything, because several events happen at one
// virtual instant.
//
// An operation whose outcome is unknown (the client gave up, or the run ended first) may
// have taken effect at any moment after its call, or never. Unknown writes (put, append)
// are therefore given Return = math.MaxInt64 (porcupine's convention: linearizing them
// after every other operation is the same as "never") and their output is not checked.
// Unknown reads constrain nothing and are dropped; [Result.Dropped] counts them.
//
// # Choices written down
//
//   - A timed-out check is [Inconclusive], never a pass. The budget must be positive:
//     porcupine reads a zero timeout as "no limit", which a test run must never get by
//     accident.
//   - Malformed histories are returned as errors, never panics: a negative client, an
//     unknown kind, Return before Call, a timestamp used twice, the reserved timestamp
//     math.MaxInt64, a completed get without an observed output (mark it Unknown instead: a
//     get whose output "was not observed" would make the check vacuous), a put with an
//     output, and an output on an op whose HasOutput is false (a forgotten flag).
//   - Always porcupine's verbose mode (it keeps the partial linearizations for the picture),
//     always with the budget, one key at a time (each in its own goroutine). A key whose
//     search was stopped because another key had already decided the verdict is decided
//     neither way; the picture draws it without partial linearizations.
package linearizability

import (
	"fmt"
	"math"
	"time"
)

// OpKind is the kind of a KV operation.
type OpKind uint8

// The operations of the KV service.
const (
	Get OpKind = iota + 1
	Put
	Append
)

// String returns "get", "put" or "append".
func (k OpKind) String() string {
	switch k {
	case Get:
		return "get"
	case Put:
		return "put"
	case Append:
		return "append"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

func (k OpKind) valid() bool { return k >= Get && k <= Append }

// Op is one client operation of a history.
type Op struct {
	Client    int // zero-based client index (porcupine's ClientId)
	Kind      OpKind
	Key       string
	Value     string // the argument of put/append
	Output    string // get: the value read; append: the value after appending (if HasOutput); put: ""
	HasOutput bool   // false: the output was not observed; the model accepts any output (append only)
	Call      int64  // unique timestamp across the whole history
	Return    int64  // unique timestamp, > Call; ignored when Unknown
	Unknown   bool   // outcome unknown: took effect at some time after Call, or never
	// Server is the server whose reply completed the operation (a raftsim node ID), 0 when
	// none did (Unknown) or the history does not say. It never decides anything: it is for
	// explanations and the visualization.
	Server int

	// Virtual times, for the visualization only.
	CallTime, ReturnTime time.Duration
}

// describe names an operation in error messages: `get("k")`, `put("k", "v")`.
func (op Op) describe() string {
	switch op.Kind {
	case Get:
		return fmt.Sprintf("get(%q)", op.Key)
	case Put, Append:
		return fmt.Sprintf("%s(%q, %q)", op.Kind, op.Key, op.Value)
	}
	return fmt.Sprintf("%s(%q)", op.Kind, op.Key)
}

// HistoryError reports a malformed history: which operation, and what is wrong with it.
type HistoryError struct {
	Index   int // index of the offending operation in the slice given to Check
	Op      Op
	Problem string // what is wrong, e.g. "Return 5 is before Call 7"
}

func (e *HistoryError) Error() string {
	return fmt.Sprintf("linearizability: malformed history: op %d (client %d, %s): %s",
		e.Index, e.Op.Client, e.Op.describe(), e.Problem)
}

// validate checks the history's shape; see the package doc for the rules.
func validate(ops []Op) error {
	type stampUse struct {
		op    int
		which string
	}
	seen := make(map[int64]stampUse, 2*len(ops))
	bad := func(i int, format string, args ...any) error {
		return &HistoryError{Index: i, Op: ops[i], Problem: fmt.Sprintf(format, args...)}
	}
	use := func(i int, t int64, which string) error {
		if t == math.MaxInt64 {
			return bad(i, "%s is math.MaxInt64, which is reserved for unknown outcomes", which)
		}
		if prev, dup := seen[t]; dup {
			return bad(i, "duplicate timestamp: its %s %d is also op %d's %s (timestamps must be unique)",
				which, t, prev.op, prev.which)
		}
		seen[t] = stampUse{i, which}
		return nil
	}
	for i, op := range ops {
		if op.Client < 0 {
			return bad(i, "negative client %d (clients are zero-based indexes)", op.Client)
		}
		if !op.Kind.valid() {
			return bad(i, "unknown kind %d (want Get, Put or Append)", uint8(op.Kind))
		}
		if !op.Unknown && op.Return < op.Call {
			return bad(i, "Return %d is before Call %d", op.Return, op.Call)
		}
		switch {
		case op.Kind == Get && !op.Unknown && !op.HasOutput:
			return bad(i, "completed get without an observed output (set HasOutput, or mark the op Unknown)")
		case op.Kind == Put && op.Output != "":
			return bad(i, "put with output %q (a put returns nothing)", op.Output)
		case !op.HasOutput && op.Output != "":
			return bad(i, "output %q given but HasOutput is false", op.Output)
		}
		if err := use(i, op.Call, "Call"); err != nil {
			return err
		}
		if !op.Unknown {
			if err := use(i, op.Return, "Return"); err != nil {
				return err
			}
		}
	}
	return nil
}
