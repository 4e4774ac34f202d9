package linearizability

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the outside input of this package: the two porcupine history file
// formats the tests read, and Check fed any Op slice. Small histories are also decided by
// bruteLinearizable, an exhaustive search written independently of porcupine, and the
// verdicts must agree.

// fuzzBudget is the check budget in the fuzz targets: far more than the small histories
// they check need, so that Inconclusive means something is wrong.
const fuzzBudget = 10 * time.Second

// fuzzBruteMax is the largest history the brute-force oracle decides (n! orders).
const fuzzBruteMax = 7

// bruteLinearizable decides ops (well formed, see validate) by trying every order that
// respects real time: an op may come next if no other remaining op with a known outcome
// returned before it was called. Unknown reads constrain nothing and are dropped; unknown
// writes may take effect at any point after their call or never, so they never block
// others and may be left over at the end. The KV semantics are the package doc's.
func bruteLinearizable(ops []Op) bool {
	var live []Op
	for _, op := range ops {
		if !(op.Unknown && op.Kind == Get) {
			live = append(live, op)
		}
	}
	used := make([]bool, len(live))
	state := map[string]string{}
	var search func() bool
	search = func() bool {
		if allDone(live, used) {
			return true
		}
		for i, o := range live {
			if used[i] || !mayGoNext(live, used, i) {
				continue
			}
			old := state[o.Key]
			next := old
			switch o.Kind {
			case Put:
				next = o.Value
			case Append:
				next = old + o.Value
			}
			if !o.Unknown && o.HasOutput && o.Kind != Put && o.Output != next {
				continue
			}
			used[i], state[o.Key] = true, next
			if search() {
				return true
			}
			used[i], state[o.Key] = false, old
		}
		return false
	}
	return search()
}

// allDone reports whether every op left unused has an unknown outcome (and so may never
// have happened).
func allDone(live []Op, used []bool) bool {
	for i, o := range live {
		if !used[i] && !o.Unknown {
			return false
		}
	}
	return true
}

// mayGoNext reports whether live[i] may be linearized before every other unused op.
func mayGoNext(live []Op, used []bool, i int) bool {
	for j, p := range live {
		if j != i && !used[j] && !p.Unknown && p.Return < live[i].Call {
			return false
		}
	}
	return true
}

// checkAgainstBrute checks ops with Check and, if small enough, with bruteLinearizable.
func checkAgainstBrute(t *testing.T, ops []Op) {
	t.Helper()
	orig := slices.Clone(ops)
	res, err := Check(ops, fuzzBudget)
	if !slices.Equal(ops, orig) {
		t.Fatal("Check modified its argument")
	}
	if err != nil {
		var he *HistoryError
		if !errors.As(err, &he) || he.Index < 0 || he.Index >= len(ops) || he.Op != ops[he.Index] {
			t.Fatalf("Check: error %v does not name an op of the history", err)
		}
		return
	}
	if res.Verdict != Linearizable && res.Verdict != NotLinearizable {
		t.Fatalf("Check: %v for %d ops", res, len(ops))
	}
	if len(ops) <= fuzzBruteMax {
		if want := bruteLinearizable(ops); (res.Verdict == Linearizable) != want {
			t.Fatalf("Check says %v, exhaustive search says linearizable=%v, for %+v", res.Verdict, want, ops)
		}
	}
	checkFuzzExplanation(t, ops, res)
}

// checkFuzzExplanation: a NotLinearizable verdict comes with an explanation whose
// operations are the history's and, on their own, not linearizable by the exhaustive
// search either; any other verdict comes without one.
func checkFuzzExplanation(t *testing.T, ops []Op, res Result) {
	t.Helper()
	e := res.Explanation
	if (e != nil) != (res.Verdict == NotLinearizable) {
		t.Fatalf("%v with explanation %+v", res.Verdict, e)
	}
	if e == nil {
		return
	}
	if len(e.Ops) == 0 || len(e.Ops) != len(e.Indexes) || e.Why == "" || e.Text() == "" {
		t.Fatalf("malformed explanation %+v", e)
	}
	for i, op := range e.Ops {
		if ops[e.Indexes[i]] != op || op.Key != e.Key {
			t.Fatalf("explanation op %d %+v is not op %d of the history, on %q", i, op, e.Indexes[i], e.Key)
		}
	}
	if bruteLinearizable(e.Ops) {
		t.Fatalf("the explanation's operations are linearizable: %+v (why: %s)", e.Ops, e.Why)
	}
}

// The oracle itself must say yes and no where the answer is known.
func TestBruteLinearizable(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		want bool
	}{
		{"empty", nil, true},
		{"read own write", []Op{put(0, "k", "v", 1, 2), get(1, "k", "v", 3, 4)}, true},
		{"stale read", []Op{put(0, "k", "v", 1, 2), get(1, "k", "", 3, 4)}, false},
		{"concurrent read may see either", []Op{put(0, "k", "v", 1, 4), get(1, "k", "", 2, 3)}, true},
		{"append output", []Op{put(0, "k", "a", 1, 2), appendOp(1, "k", "b", "ab", 3, 4)}, true},
		{"append wrong output", []Op{put(0, "k", "a", 1, 2), appendOp(1, "k", "b", "b", 3, 4)}, false},
		{"lost write may never happen", []Op{lost(put(0, "k", "v", 1, 0)), get(1, "k", "", 2, 3)}, true},
		{"lost write may happen", []Op{lost(put(0, "k", "v", 1, 0)), get(1, "k", "v", 2, 3)}, true},
		{"keys are independent", []Op{put(0, "a", "1", 1, 2), get(1, "b", "1", 3, 4)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bruteLinearizable(tt.ops); got != tt.want {
				t.Fatalf("bruteLinearizable = %v, want %v", got, tt.want)
			}
			checkAgainstBrute(t, tt.ops)
		})
	}
}

// fuzzOps decodes up to fuzzBruteMax+1 ops from b, seven bytes each: client, kind (0 and
// 4 are invalid), key, value, output, call, return. Flags in the kind byte's high bits
// set HasOutput and Unknown; small stamp bytes are stamps, large ones pick extremes.
func fuzzOps(b []byte) []Op {
	stamp := func(c byte) int64 {
		switch c {
		case 0xFF:
			return math.MaxInt64
		case 0xFE:
			return math.MinInt64
		case 0xFD:
			return -1
		}
		return int64(c)
	}
	words := []string{"", "a", "b", "ab", "ba", "aa"}
	var ops []Op
	for len(b) >= 7 && len(ops) <= fuzzBruteMax {
		op := Op{
			Client: int(int8(b[0])), Kind: OpKind(b[1] & 7 % 5),
			HasOutput: b[1]&0x40 != 0, Unknown: b[1]&0x80 != 0,
			Key: words[1+int(b[2])%2], Value: words[int(b[3])%len(words)], Output: words[int(b[4])%len(words)],
			Call: stamp(b[5]), Return: stamp(b[6]),
		}
		ops = append(ops, op)
		b = b[7:]
	}
	return ops
}

// FuzzCheck feeds Check any small Op slice: it never panics nor modifies its argument, a
// malformed history is a HistoryError naming an op of it, and a well-formed one gets the
// verdict the exhaustive search gives.
func FuzzCheck(f *testing.F) {
	f.Add([]byte{0, 2, 0, 1, 0, 1, 2, 1, 0x41, 0, 0, 1, 3, 4})          // put a, then get a
	f.Add([]byte{0, 2, 0, 1, 0, 1, 2, 1, 0x41, 0, 0, 0, 3, 4})          // put a, then a stale get
	f.Add([]byte{0, 0x82, 0, 1, 0, 1, 0, 1, 0x41, 0, 0, 1, 3, 4})       // a lost put, seen
	f.Add([]byte{0, 0x43, 0, 1, 1, 1, 2, 1, 0x43, 0, 2, 3, 3, 4})       // appends with outputs
	f.Add([]byte{0xFF, 1, 0, 0, 0, 5, 2, 0, 4, 0, 0, 0, 0xFF, 0xFE})    // malformed: client, kind, stamps
	f.Add([]byte{0, 0x41, 0, 0, 0, 1, 1, 1, 0x41, 1, 0, 0, 2, 1, 0, 0}) // Call == Return, Return < Call
	f.Fuzz(func(t *testing.T, b []byte) { checkAgainstBrute(t, fuzzOps(b)) })
}

// FuzzParseKV feeds parseKV any text: it never panics, an error comes with no ops, and
// what it accepts is a well-formed history that Check decides as the exhaustive search
// does.
func FuzzParseKV(f *testing.F) {
	f.Add("{:process 0, :type :invoke, :f :put, :key \"3\", :value \"x\"}\n{:process 0, :type :ok, :f :put, :key \"3\", :value \"x\"}\n" +
		"{:process 1, :type :invoke, :f :get, :key \"3\", :value nil}\n{:process 1, :type :ok, :f :get, :key \"3\", :value \"x\"}\n")
	f.Add("{:process 0, :type :invoke, :f :append, :key \"k\", :value \"a\\\"b\"}\n{:process 0, :type :info, :f :append, :key \"k\", :value \"a\\\"b\"}\n")
	f.Add("{:process 2, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 2, :type :fail, :f :get, :key \"1\", :value nil}\n")
	f.Add("{:process 99999999999999999999, :type :invoke, :f :get, :key \"1\", :value nil}\n")
	f.Add("{:process 0, :type :invoke, :f :get, :key \"\\x\", :value nil}\n")
	f.Fuzz(func(t *testing.T, text string) {
		ops, err := parseKV("fuzz", strings.NewReader(text))
		if err != nil {
			if ops != nil {
				t.Fatalf("error %v with %d ops", err, len(ops))
			}
			return
		}
		if err := validate(ops); err != nil {
			t.Fatalf("parseKV accepted a malformed history: %v", err)
		}
		checkAgainstBrute(t, ops)
	})
}

// FuzzParseEtcd feeds parseEtcd any text: it never panics, an error comes with no
// operations, and what it accepts has unique calls, returns after calls (or the unknown
// marker), register inputs and outputs, and is decided by the register model.
func FuzzParseEtcd(f *testing.F) {
	f.Add("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 3\t:ok\t:cas\t[1 2]\n" +
		"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\tnil\n")
	f.Add("INFO  jepsen.util - 1\t:invoke\t:write\t4\nINFO  jepsen.util - 1\t:info\t:write\t:timed-out\n" +
		"INFO  jepsen.util - 2\t:invoke\t:cas\t[4 0]\nINFO  jepsen.util - 2\t:fail\t:cas\t[4 0]\n")
	f.Add("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t[1 2]\n")
	f.Add("INFO  jepsen.util - 0\t:invoke\t:write\t99999999999999999999\n")
	f.Add("INFO  jepsen.util - 5\t:invoke\t:write\t:timed-out\n")
	f.Fuzz(func(t *testing.T, text string) {
		ops, err := parseEtcd("fuzz", strings.NewReader(text))
		if err != nil {
			if ops != nil {
				t.Fatalf("error %v with %d ops", err, len(ops))
			}
			return
		}
		calls := map[int64]bool{}
		for _, op := range ops {
			_, inOK := op.Input.(casInput)
			_, outOK := op.Output.(casOutput)
			if calls[op.Call] || op.Return <= op.Call || !inOK || !outOK {
				t.Fatalf("parseEtcd accepted %+v", op)
			}
			calls[op.Call] = true
		}
		res, err := checkWithModel(casRegister, ops, fuzzBudget)
		if err != nil || (res.Verdict != Linearizable && res.Verdict != NotLinearizable) {
			t.Fatalf("checkWithModel: %v, %v for %d ops", res, err, len(ops))
		}
	})
}

// Lines the parsers once accepted silently with a wrong value are errors now.
func TestPorcupineParsersRejectBadNumbers(t *testing.T) {
	for _, tt := range []struct{ name, text string }{
		{"kv: process out of range", "{:process 99999999999999999999, :type :invoke, :f :get, :key \"1\", :value nil}\n"},
		{"kv: get invoked with a value", "{:process 0, :type :invoke, :f :get, :key \"1\", :value \"x\"}\n"},
		{"etcd: process out of range", "INFO  jepsen.util - 99999999999999999999\t:invoke\t:read\tnil\n"},
		{"etcd: write without a number", "INFO  jepsen.util - 5\t:invoke\t:write\t:timed-out\n"},
		{"etcd: write number out of range", "INFO  jepsen.util - 0\t:invoke\t:write\t99999999999999999999\n"},
		{"etcd: read invoked with a value", "INFO  jepsen.util - 0\t:invoke\t:read\t3\n"},
		{"etcd: cas with one number", "INFO  jepsen.util - 0\t:invoke\t:cas\t3\n"},
		{"etcd: read answered with a pair", "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t[1 2]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if strings.HasPrefix(tt.name, "kv") {
				_, err = parseKV("h", strings.NewReader(tt.text))
			} else {
				_, err = parseEtcd("h", strings.NewReader(tt.text))
			}
			line := ":" + strconv.Itoa(strings.Count(tt.text, "\n")) + ":"
			if err == nil || !strings.HasPrefix(err.Error(), "h"+line) {
				t.Fatalf("accepted %q (error %v)", tt.text, err)
			}
		})
	}
}
