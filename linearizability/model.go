package linearizability

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// kvInput is the model's input: the operation without its outcome.
type kvInput struct {
	kind  OpKind
	key   string
	value string // put/append argument
}

// kvOutput is the model's output. checked is false when the output must not constrain the
// model: an unobserved append output, or any unknown outcome.
type kvOutput struct {
	value   string
	checked bool
	unknown bool // for descriptions only ("?")
}

// opMeta travels in porcupine.Operation.Metadata: the operation's index in the history
// given to Check (for explanations), and what the visualization's tooltips show.
type opMeta struct {
	index                int
	callTime, returnTime time.Duration
	server               int // 0: none
	unknown              bool
}

// kvModel is the KV service's sequential specification for one key (see the package doc).
var kvModel = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return "" },
	Step:      kvStep,
	Hash: func(state any) uint64 {
		// FNV-1a, inline to avoid allocating a hash.Hash per call.
		h := uint64(14695981039346656037)
		s := state.(string)
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		return h
	},
	DescribeOperation: describeKVOperation,
	DescribeState: func(state any) string {
		return quoteTrunc(state.(string))
	},
	DescribeOperationMetadata: describeMeta,
}

func kvStep(state, input, output any) (bool, any) {
	st := state.(string)
	in := input.(kvInput)
	out := output.(kvOutput)
	switch in.kind {
	case Get:
		return !out.checked || out.value == st, st
	case Put:
		return true, in.value
	case Append:
		next := st + in.value
		return !out.checked || out.value == next, next
	}
	return false, st
}

// partitionByKey splits a history into one sub-history per key, in key order so that the
// partitions (and the visualization's tabs) come out the same every time.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	type part struct {
		key string
		ops []porcupine.Operation
	}
	index := make(map[string]int)
	var parts []part
	for _, op := range history {
		k := op.Input.(kvInput).key
		i, ok := index[k]
		if !ok {
			i = len(parts)
			index[k] = i
			parts = append(parts, part{key: k})
		}
		parts[i].ops = append(parts[i].ops, op)
	}
	slices.SortFunc(parts, func(a, b part) int { return strings.Compare(a.key, b.key) })
	out := make([][]porcupine.Operation, len(parts))
	for i, p := range parts {
		out[i] = p.ops
	}
	return out
}

// describeKVOperation renders `get("k") -> "v"`, `put("k", "v")`, `append("k", "x") -> "abx"`,
// with "?" for an unknown outcome.
func describeKVOperation(input, output any) string {
	in := input.(kvInput)
	out := output.(kvOutput)
	var call string
	switch in.kind {
	case Get:
		call = fmt.Sprintf("get(%s)", quoteTrunc(in.key))
	default:
		call = fmt.Sprintf("%s(%s, %s)", in.kind, quoteTrunc(in.key), quoteTrunc(in.value))
	}
	switch {
	case out.unknown:
		return call + " -> ?"
	case in.kind == Put || !out.checked:
		return call
	default:
		return call + " -> " + quoteTrunc(out.value)
	}
}

func describeMeta(meta any) string {
	m, ok := meta.(opMeta)
	if !ok {
		return ""
	}
	if m.unknown {
		return fmt.Sprintf("virtual time %v -> ? (outcome unknown)", m.callTime)
	}
	if m.server > 0 {
		return fmt.Sprintf("virtual time %v -> %v, via n%d", m.callTime, m.returnTime, m.server)
	}
	return fmt.Sprintf("virtual time %v -> %v", m.callTime, m.returnTime)
}

// maxShown is the longest value shown in full; longer values keep their head and their
// tail (the latest appends, usually the interesting part) around an ellipsis.
const (
	maxShown  = 64
	shownHead = 16
	shownTail = 40
)

// quoteTrunc quotes s, shortened to about maxShown bytes (with its length) if it is longer.
func quoteTrunc(s string) string {
	if len(s) <= maxShown {
		return fmt.Sprintf("%q", s)
	}
	head, tail := s[:shownHead], s[len(s)-shownTail:]
	return fmt.Sprintf("%q…%q (%d bytes)", strings.ToValidUTF8(head, ""), strings.ToValidUTF8(tail, ""), len(s))
}
