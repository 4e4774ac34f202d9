package linearizability

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Explanation says why a history is not linearizable, in terms of a few of its
// operations. Check sets Result.Explanation to one exactly when the verdict is
// NotLinearizable.
//
// Contract:
//   - Ops are operations of the checked history (copies, in invocation order), all on Key,
//     and on their own they have no linearization. They are closed: every result one of
//     them observed is still produced by writes among them, so their failure is one of the
//     history's own and not an artefact of leaving writes out (see below).
//   - Minimal reports that removing any one of Ops (with the results that need it) leaves
//     operations that do have a linearization. It is false when the budget ran out while
//     shrinking, or when writes could not be removed (see below): Ops still have no
//     linearization, but may not be the fewest.
//   - Why is one line saying why no order works: a specific anomaly (stale read, read of
//     a value written later, non-monotonic reads, appends seen in different or impossible
//     orders, a value no write produced) when its premises hold, else a reason derived
//     from real-time order and the model alone. Either way it is a proof, never a guess.
//   - Deterministic: the same history gives the same Explanation, as long as the budget
//     does not run out (the key is the first, in key order, shown illegal within a fixed
//     number of model steps; if no key is, the first one found, which can vary).
//
// Closedness can be proved only when the key's write values are a prefix code (distinct,
// non-empty, none a prefix of another), as raftsim's tokens ("c3.17 ") are; otherwise no
// write is ever removed, only reads.
type Explanation struct {
	Key     string
	KeyOps  int   // the checked operations on Key
	Ops     []Op  // the failing set, by Call
	Indexes []int // Indexes[i] is the index of Ops[i] in the history given to Check
	Why     string
	Minimal bool
}

// Text renders the explanation for a person: a heading, one line per operation (client,
// operation, the server that replied or "no reply", virtual times, result) and the reason.
// Times are virtual seconds ("3.200s"), or the history's timestamps ("t=12") when the
// operations carry no virtual times.
func (e *Explanation) Text() string {
	var b strings.Builder
	minimal := "; without any one of them they have one"
	if !e.Minimal {
		minimal = " (maybe not the fewest)"
	}
	fmt.Fprintf(&b, "key %q: these %d of its %d operations have no linearization%s:\n", e.Key, len(e.Ops), e.KeyOps, minimal)
	clock := clockFor(e.Ops)
	for i, op := range e.Ops {
		fmt.Fprintf(&b, "  [%d] %s\n", i+1, opLine(op, clock))
	}
	fmt.Fprintf(&b, "  why: %s\n", e.Why)
	return b.String()
}

// clock formats a point of an operation: virtual time, or timestamp.
type clock func(d time.Duration, stamp int64) string

// clockFor uses virtual times if any of ops has one.
func clockFor(ops []Op) clock {
	for _, op := range ops {
		if op.CallTime != 0 || op.ReturnTime != 0 {
			return func(d time.Duration, _ int64) string { return fmt.Sprintf("%.3fs", d.Seconds()) }
		}
	}
	return func(_ time.Duration, stamp int64) string { return fmt.Sprintf("t=%d", stamp) }
}

// opLine is `c1 get("k") via n3: invoked 3.150s, returned "a" at 3.200s`.
func opLine(op Op, at clock) string {
	head := fmt.Sprintf("c%d %s", op.Client+1, op.describeShort())
	switch {
	case op.Unknown:
		return fmt.Sprintf("%s, no reply: invoked %s, outcome unknown", head, at(op.CallTime, op.Call))
	case op.Server > 0:
		head += fmt.Sprintf(" via n%d", op.Server)
	}
	result := "completed"
	if op.HasOutput && op.Kind != Put {
		result = "returned " + quoteTrunc(op.Output)
	} else if op.Kind == Append {
		result = "completed (result not observed)"
	}
	return fmt.Sprintf("%s: invoked %s, %s at %s", head, at(op.CallTime, op.Call), result, at(op.ReturnTime, op.Return))
}

// describeShort is describe with long values shortened.
func (op Op) describeShort() string {
	if op.Kind == Get {
		return fmt.Sprintf("get(%s)", quoteTrunc(op.Key))
	}
	return fmt.Sprintf("%s(%s, %s)", op.Kind, quoteTrunc(op.Key), quoteTrunc(op.Value))
}

// explain shrinks the failing key's operations (part, as searched, which took keySteps
// model steps) and says why they fail. It returns the explanation and the indexes, into
// part, of its operations.
func explain(ops []Op, part []porcupine.Operation, keySteps int, deadline time.Time) (*Explanation, []int) {
	s := newShrinker(ops, part, keySteps, deadline)
	set := s.shrink()
	slices.SortFunc(set, func(a, b int) int { return cmpInt64(s.ops[a].Call, s.ops[b].Call) })
	e := &Explanation{Key: s.ops[0].Key, KeyOps: len(s.ops), Minimal: s.minimal(set)}
	for _, i := range set {
		e.Ops = append(e.Ops, s.ops[i].Op)
		e.Indexes = append(e.Indexes, s.ops[i].index)
	}
	r := reasoner{ops: s.ops, set: set, full: s.spelling, at: clockFor(e.Ops), porc: part, minimal: e.Minimal}
	e.Why = r.why()
	return e, set
}
