package linearizability

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// testBudget is far more than any hand-built history needs; a check that times out fails
// the test (the verdict would be Inconclusive).
const testBudget = 10 * time.Second

func get(c int, key, out string, call, ret int64) Op {
	return Op{Client: c, Kind: Get, Key: key, Output: out, HasOutput: true, Call: call, Return: ret}
}

func put(c int, key, v string, call, ret int64) Op {
	return Op{Client: c, Kind: Put, Key: key, Value: v, Call: call, Return: ret}
}

func appendOp(c int, key, v, out string, call, ret int64) Op {
	return Op{Client: c, Kind: Append, Key: key, Value: v, Output: out, HasOutput: true, Call: call, Return: ret}
}

// blind is an append whose output was not observed.
func blind(c int, key, v string, call, ret int64) Op {
	return Op{Client: c, Kind: Append, Key: key, Value: v, Call: call, Return: ret}
}

// lost marks op's outcome unknown and gives it a garbage Return (0, before its Call), which
// Check must ignore.
func lost(op Op) Op {
	op.Unknown = true
	op.Return = 0
	return op
}

// at sets op's virtual times.
func at(op Op, call, ret time.Duration) Op {
	op.CallTime, op.ReturnTime = call, ret
	return op
}

// vt sets op's virtual times in milliseconds.
func vt(op Op, callMs, retMs int) Op {
	return at(op, time.Duration(callMs)*time.Millisecond, time.Duration(retMs)*time.Millisecond)
}

// via sets the server that replied to op.
func via(op Op, server int) Op {
	op.Server = server
	return op
}

func TestCheckKnownAnswers(t *testing.T) {
	tests := []struct {
		name    string
		ops     []Op
		want    Verdict
		checked int
		dropped int
	}{
		{name: "empty history", ops: nil, want: Linearizable},
		{
			name: "sequential put, get, append, get",
			ops: []Op{
				put(0, "x", "1", 1, 2),
				get(1, "x", "1", 3, 4),
				appendOp(0, "x", "2", "12", 5, 6),
				get(1, "x", "12", 7, 8),
				get(2, "y", "", 9, 10), // absent key reads ""
			},
			want: Linearizable, checked: 5,
		},
		{
			name: "stale read after a completed write",
			ops: []Op{
				put(0, "x", "a", 1, 2),
				put(0, "x", "b", 3, 4),
				get(1, "x", "a", 5, 6),
			},
			want: NotLinearizable, checked: 3,
		},
		{
			name: "read of a value never written",
			ops:  []Op{put(0, "x", "a", 1, 2), get(1, "x", "zz", 3, 4)},
			want: NotLinearizable, checked: 2,
		},
		{
			name: "concurrent put and get, get linearized first",
			ops:  []Op{put(0, "x", "a", 1, 4), get(1, "x", "", 2, 5)},
			want: Linearizable, checked: 2,
		},
		{
			name: "concurrent put and get, put linearized first",
			ops:  []Op{put(0, "x", "a", 1, 4), get(1, "x", "a", 2, 5)},
			want: Linearizable, checked: 2,
		},
		{
			name: "concurrent puts, reads agree on one order",
			ops: []Op{
				put(0, "x", "a", 1, 5),
				put(1, "x", "b", 2, 6),
				get(2, "x", "a", 7, 8),
				get(3, "x", "a", 9, 10),
			},
			want: Linearizable, checked: 4,
		},
		{
			name: "concurrent puts, reads disagree after both completed",
			ops: []Op{
				put(0, "x", "a", 1, 5),
				put(1, "x", "b", 2, 6),
				get(2, "x", "a", 7, 8),
				get(3, "x", "b", 9, 10),
			},
			want: NotLinearizable, checked: 4,
		},
		{
			name: "unknown write takes effect later: a later read sees it",
			ops: []Op{
				lost(put(0, "x", "a", 1, 0)),
				get(1, "x", "", 5, 6), // stamps 2-4 unused: the unknown put is still running here
				get(1, "x", "a", 7, 8),
			},
			want: Linearizable, checked: 3,
		},
		{
			name: "unknown write never seen",
			ops: []Op{
				lost(put(0, "x", "a", 1, 0)),
				get(1, "x", "", 2, 3),
				get(1, "x", "", 4, 5),
			},
			want: Linearizable, checked: 3,
		},
		{
			name: "unknown write seen, then unseen",
			ops: []Op{
				lost(put(0, "x", "a", 1, 0)),
				get(1, "x", "a", 2, 3),
				get(1, "x", "", 4, 5),
			},
			want: NotLinearizable, checked: 3,
		},
		{
			name: "unknown write cannot take effect before its call",
			ops: []Op{
				get(1, "x", "a", 1, 2),
				lost(put(0, "x", "a", 3, 0)),
			},
			want: NotLinearizable, checked: 2,
		},
		{
			name: "unknown append's output is not checked",
			ops: []Op{
				lost(appendOp(0, "x", "a", "garbage", 1, 0)),
				get(1, "x", "a", 2, 3),
			},
			want: Linearizable, checked: 2,
		},
		{
			name: "unknown append still constrains the value",
			ops: []Op{
				lost(blind(0, "x", "a", 1, 0)),
				get(1, "x", "b", 2, 3),
			},
			want: NotLinearizable, checked: 2,
		},
		{
			name: "unknown read is dropped",
			ops: []Op{
				put(0, "x", "a", 1, 2),
				lost(get(1, "x", "never written", 3, 0)),
				get(2, "x", "a", 4, 5),
			},
			want: Linearizable, checked: 2, dropped: 1,
		},
		{
			name: "read in a minority partition returns the old value after a newer write completed",
			ops: []Op{
				put(0, "x", "1", 1, 2),
				put(1, "x", "2", 3, 6), // committed by the majority side
				get(2, "x", "1", 7, 8), // served by the deposed leader
			},
			want: NotLinearizable, checked: 3,
		},
		{
			name: "the same old read, overlapping the newer write, is fine",
			ops: []Op{
				put(0, "x", "1", 1, 2),
				put(1, "x", "2", 3, 6),
				get(2, "x", "1", 5, 8),
			},
			want: Linearizable, checked: 3,
		},
		{
			name: "equal virtual times, ordered stamps: the stamps decide (sequential)",
			ops: []Op{
				at(put(0, "x", "a", 1, 2), time.Second, time.Second),
				at(get(1, "x", "", 3, 4), time.Second, time.Second),
			},
			want: NotLinearizable, checked: 2,
		},
		{
			name: "equal virtual times, overlapping stamps: concurrent",
			ops: []Op{
				at(put(0, "x", "a", 1, 3), time.Second, time.Second),
				at(get(1, "x", "", 2, 4), time.Second, time.Second),
			},
			want: Linearizable, checked: 2,
		},
		{
			name: "virtual times say concurrent, stamps say sequential: the stamps decide",
			ops: []Op{
				at(put(0, "x", "a", 1, 2), time.Second, 3*time.Second),
				at(get(1, "x", "", 3, 4), 2*time.Second, 4*time.Second),
			},
			want: NotLinearizable, checked: 2,
		},
		{
			name: "append with the wrong output",
			ops: []Op{
				appendOp(0, "x", "a", "a", 1, 2),
				appendOp(1, "x", "b", "b", 3, 4), // must be "ab"
			},
			want: NotLinearizable, checked: 2,
		},
		{
			name: "append with the right output",
			ops: []Op{
				appendOp(0, "x", "a", "a", 1, 2),
				appendOp(1, "x", "b", "ab", 3, 4),
			},
			want: Linearizable, checked: 2,
		},
		{
			name: "concurrent appends: outputs fix the order",
			ops: []Op{
				appendOp(0, "x", "a", "ba", 1, 4),
				appendOp(1, "x", "b", "b", 2, 5),
				get(2, "x", "ba", 6, 7),
			},
			want: Linearizable, checked: 3,
		},
		{
			name: "concurrent appends: outputs contradict the final read",
			ops: []Op{
				appendOp(0, "x", "a", "ba", 1, 4),
				appendOp(1, "x", "b", "b", 2, 5),
				get(2, "x", "ab", 6, 7),
			},
			want: NotLinearizable, checked: 3,
		},
		{
			name: "append output ignored when not observed",
			ops: []Op{
				blind(0, "x", "a", 1, 2),
				blind(1, "x", "b", 3, 4),
				get(2, "x", "ab", 5, 6),
			},
			want: Linearizable, checked: 3,
		},
		{
			name: "unobserved appends still order the value",
			ops: []Op{
				blind(0, "x", "a", 1, 2),
				blind(1, "x", "b", 3, 4),
				get(2, "x", "ba", 5, 6),
			},
			want: NotLinearizable, checked: 3,
		},
		{
			name: "keys are independent: a fine key does not hide a broken one",
			ops: []Op{
				put(0, "x", "1", 1, 2),
				put(0, "y", "1", 3, 4),
				get(1, "x", "1", 5, 6),
				put(0, "y", "2", 7, 8),
				get(1, "y", "1", 9, 10),
			},
			want: NotLinearizable, checked: 5,
		},
		{
			name: "put returns the value to its initial state",
			ops: []Op{
				appendOp(0, "x", "a", "a", 1, 2),
				put(1, "x", "", 3, 4),
				appendOp(0, "x", "b", "b", 5, 6),
			},
			want: Linearizable, checked: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.ops, testBudget)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.Verdict != tt.want {
				t.Errorf("verdict %v, want %v", res.Verdict, tt.want)
			}
			if res.Checked != tt.checked || res.Dropped != tt.dropped {
				t.Errorf("checked %d, dropped %d; want %d, %d", res.Checked, res.Dropped, tt.checked, tt.dropped)
			}
			if res.Elapsed <= 0 || res.Elapsed > testBudget+time.Second {
				t.Errorf("elapsed %v out of range", res.Elapsed)
			}
		})
	}
}

// Check must not touch the caller's slice.
func TestCheckDoesNotModifyOps(t *testing.T) {
	ops := []Op{lost(put(0, "x", "a", 1, 0)), lost(get(1, "x", "", 2, 0)), get(2, "x", "a", 3, 4)}
	before := append([]Op(nil), ops...)
	if _, err := Check(ops, testBudget); err != nil {
		t.Fatal(err)
	}
	for i := range ops {
		if ops[i] != before[i] {
			t.Fatalf("op %d changed: %+v -> %+v", i, before[i], ops[i])
		}
	}
}

func TestCheckMalformed(t *testing.T) {
	tests := []struct {
		name    string
		ops     []Op
		budget  time.Duration
		wantErr string // substring of the error
		index   int    // offending op; -1: not a HistoryError
	}{
		{
			name:    "return before call",
			ops:     []Op{put(0, "x", "a", 1, 2), get(1, "x", "a", 9, 5)},
			wantErr: "Return 5 is before Call 9", index: 1,
		},
		{
			name:    "duplicate call stamps",
			ops:     []Op{put(0, "x", "a", 1, 2), get(1, "x", "a", 1, 5)},
			wantErr: "duplicate timestamp: its Call 1 is also op 0's Call", index: 1,
		},
		{
			name:    "call equals another op's return",
			ops:     []Op{put(0, "x", "a", 1, 3), get(1, "x", "a", 3, 5)},
			wantErr: "duplicate timestamp: its Call 3 is also op 0's Return", index: 1,
		},
		{
			name:    "return equals its own call",
			ops:     []Op{put(0, "x", "a", 4, 4)},
			wantErr: "duplicate timestamp: its Return 4 is also op 0's Call", index: 0,
		},
		{
			name:    "unknown op's call collides",
			ops:     []Op{put(0, "x", "a", 1, 3), lost(put(1, "x", "b", 3, 0))},
			wantErr: "duplicate timestamp", index: 1,
		},
		{
			name:    "zero kind",
			ops:     []Op{put(0, "x", "a", 1, 2), {Client: 1, Key: "x", Call: 3, Return: 4}},
			wantErr: "unknown kind 0", index: 1,
		},
		{
			name:    "kind out of range",
			ops:     []Op{{Client: 1, Kind: 9, Key: "x", Call: 3, Return: 4}},
			wantErr: "unknown kind 9", index: 0,
		},
		{
			name:    "negative client",
			ops:     []Op{put(-1, "x", "a", 1, 2)},
			wantErr: "negative client -1", index: 0,
		},
		{
			name:    "reserved timestamp",
			ops:     []Op{put(0, "x", "a", 1, math.MaxInt64)},
			wantErr: "reserved for unknown outcomes", index: 0,
		},
		{
			name:    "completed get without output",
			ops:     []Op{{Client: 0, Kind: Get, Key: "x", Call: 1, Return: 2}},
			wantErr: "completed get without an observed output", index: 0,
		},
		{
			name:    "put with an output",
			ops:     []Op{{Client: 0, Kind: Put, Key: "x", Value: "a", Output: "a", HasOutput: true, Call: 1, Return: 2}},
			wantErr: "put with output", index: 0,
		},
		{
			name:    "output without HasOutput",
			ops:     []Op{{Client: 0, Kind: Append, Key: "x", Value: "a", Output: "a", Call: 1, Return: 2}},
			wantErr: "HasOutput is false", index: 0,
		},
		{
			name:    "zero budget",
			ops:     []Op{put(0, "x", "a", 1, 2)},
			wantErr: "budget must be positive", index: -1,
		},
		{
			name:    "negative budget",
			ops:     []Op{put(0, "x", "a", 1, 2)},
			budget:  -time.Second,
			wantErr: "budget must be positive", index: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			budget := tt.budget
			if budget == 0 && tt.index >= 0 {
				budget = testBudget
			}
			res, err := Check(tt.ops, budget)
			if err == nil {
				t.Fatalf("no error; verdict %v", res.Verdict)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if res.Verdict != 0 {
				t.Errorf("verdict %v with an error", res.Verdict)
			}
			var he *HistoryError
			switch {
			case tt.index < 0 && errors.As(err, &he):
				t.Errorf("unexpected HistoryError %v", err)
			case tt.index >= 0 && !errors.As(err, &he):
				t.Errorf("error %v is not a *HistoryError", err)
			case tt.index >= 0 && he.Index != tt.index:
				t.Errorf("error names op %d, want op %d", he.Index, tt.index)
			}
		})
	}
}

// hardAppends builds n concurrent appends of distinct one-letter values with unobserved
// outputs, followed by a read. Every order of the appends gives a different value, so
// porcupine's cache cannot prune: deciding such a history takes on the order of n! steps.
func hardAppends(n int, final string) []Op {
	var ops []Op
	for i := range n {
		ops = append(ops, blind(i, "x", string(rune('a'+i)), int64(1+i), int64(1000+i)))
	}
	return append(ops, get(n, "x", final, 2000, 2001))
}

func TestCheckTimeoutIsInconclusive(t *testing.T) {
	const n = 10
	var reversed strings.Builder
	for i := n - 1; i >= 0; i-- {
		reversed.WriteRune(rune('a' + i))
	}
	var unknownAppends []Op
	for i := range 12 {
		unknownAppends = append(unknownAppends, lost(blind(i, "x", string(rune('a'+i)), int64(1+i), 0)))
	}
	unknownAppends = append(unknownAppends, get(12, "x", "no such order", 100, 101))
	tests := []struct {
		name   string
		ops    []Op
		budget time.Duration
	}{
		// Linearizable, but only by the order the search tries last.
		{"linearizable by the last order tried, 1ns", hardAppends(n, reversed.String()), time.Nanosecond},
		{"linearizable by the last order tried, 1µs", hardAppends(n, reversed.String()), time.Microsecond},
		// Not linearizable: the read is no order of the appends.
		{"not linearizable, exhaustive search, 1µs", hardAppends(n, "no such order"), time.Microsecond},
		{"many concurrent unknown appends, 1ms", unknownAppends, time.Millisecond},
	}
	// Controls: the same shapes, small enough to decide within a generous budget, get
	// their real verdicts (so the cases above time out because they are hard, not because
	// the check always times out).
	if res, err := Check(hardAppends(6, "fedcba"), testBudget); err != nil || res.Verdict != Linearizable {
		t.Fatalf("control: %v, %v; want %v", res, err, Linearizable)
	}
	if res, err := Check(hardAppends(6, "no such order"), testBudget); err != nil || res.Verdict != NotLinearizable {
		t.Fatalf("control: %v, %v; want %v", res, err, NotLinearizable)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.ops, tt.budget)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != Inconclusive {
				t.Fatalf("verdict %v after %v with budget %v, want %v", res.Verdict, res.Elapsed, tt.budget, Inconclusive)
			}
			if res.Elapsed > time.Second {
				t.Errorf("a %v budget took %v", tt.budget, res.Elapsed)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{Get.String(), "get"},
		{Put.String(), "put"},
		{Append.String(), "append"},
		{OpKind(0).String(), "OpKind(0)"},
		{Linearizable.String(), "linearizable"},
		{NotLinearizable.String(), "not linearizable"},
		{Inconclusive.String(), "inconclusive (timed out)"},
		{Verdict(0).String(), "Verdict(0)"},
		{Result{Verdict: Linearizable, Checked: 3, Dropped: 1, Elapsed: 1500 * time.Microsecond}.String(),
			"linearizable (3 ops checked, 1 unknown reads dropped, 1.5ms)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
