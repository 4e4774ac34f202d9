package linearizability

// Histories nobody here produced: porcupine's test data (see testdata/porcupine/README.md),
// with the answers porcupine's own tests assert.

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/anishathalye/porcupine"
)

const dataDir = "../testdata/porcupine"

// scanLines calls fn with each line read from r and its 1-based number, and returns the
// first error fn returns, as "name:line: error", or the read error.
func scanLines(name string, r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if err := fn(n, sc.Text()); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// openFile opens path for a parser, failing the test if it cannot.
func openFile(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// kvLine is one event of a Jepsen kv history, an EDN map on one line:
//
//	{:process 0, :type :invoke, :f :get, :key "3", :value nil}
//	{:process 0, :type :ok, :f :get, :key "3", :value "x 0 0 y"}
var kvLine = regexp.MustCompile(`^\{:process (\d+), :type :(invoke|ok|fail|info), :f :(get|put|append), :key ("(?:[^"\\]|\\.)*"), :value (nil|"(?:[^"\\]|\\.)*")\}$`)

// parseKV reads a Jepsen kv history into Ops. The line number is the timestamp. Appends'
// outputs were not recorded (HasOutput false); :info and still-pending ops are Unknown;
// :fail ops did not happen and are left out. Any line it does not understand is an error
// naming the line: a malformed event, a process number out of range, a get invoked with a
// value, a second invocation while one is pending, a completion that matches nothing.
func parseKV(name string, r io.Reader) ([]Op, error) {
	var ops []Op
	pending := make(map[int]int) // process -> index in ops
	kinds := map[string]OpKind{"get": Get, "put": Put, "append": Append}
	var failed []int
	err := scanLines(name, r, func(n int, line string) error {
		m := kvLine.FindStringSubmatch(line)
		if m == nil {
			return fmt.Errorf("cannot parse %q", line)
		}
		proc, err := strconv.Atoi(m[1])
		if err != nil {
			return fmt.Errorf("process: %v", err)
		}
		typ, kind := m[2], kinds[m[3]]
		key, err := strconv.Unquote(m[4])
		if err != nil {
			return fmt.Errorf("key: %v", err)
		}
		value := ""
		if m[5] != "nil" {
			if value, err = strconv.Unquote(m[5]); err != nil {
				return fmt.Errorf("value: %v", err)
			}
		}
		if typ == "invoke" {
			if _, busy := pending[proc]; busy {
				return fmt.Errorf("process %d invokes with an operation pending", proc)
			}
			if kind == Get && m[5] != "nil" {
				return fmt.Errorf("get invoked with value %s", m[5])
			}
			pending[proc] = len(ops)
			ops = append(ops, Op{Client: proc, Kind: kind, Key: key, Value: value, Call: int64(n)})
			return nil
		}
		i, ok := pending[proc]
		if !ok || ops[i].Kind != kind || ops[i].Key != key {
			return fmt.Errorf("completion %q matches no pending operation of process %d", line, proc)
		}
		delete(pending, proc)
		switch typ {
		case "ok":
			ops[i].Return = int64(n)
			if kind == Get {
				ops[i].Output, ops[i].HasOutput = value, true
			}
		case "info":
			ops[i].Unknown = true
		case "fail":
			failed = append(failed, i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, i := range pending {
		ops[i].Unknown = true
	}
	for j := len(failed) - 1; j >= 0; j-- { // failed is ascending
		ops = append(ops[:failed[j]], ops[failed[j]+1:]...)
	}
	return ops, nil
}

// loadKV is parseKV of a file, failing the test on any error.
func loadKV(t testing.TB, path string) []Op {
	t.Helper()
	ops, err := parseKV(path, openFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

func TestPorcupineKVHistories(t *testing.T) {
	tests := []struct {
		file string
		ops  int
		want Verdict
	}{
		{"c01-ok.txt", 58, Linearizable},
		{"c01-bad.txt", 38, NotLinearizable},
		{"c10-ok.txt", 337, Linearizable},
		{"c10-bad.txt", 405, NotLinearizable},
		{"c50-ok.txt", 1712, Linearizable},
		{"c50-bad.txt", 2024, NotLinearizable},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ops := loadKV(t, filepath.Join(dataDir, "kv", tt.file))
			if len(ops) != tt.ops {
				t.Fatalf("parsed %d operations, want %d (one per :invoke)", len(ops), tt.ops)
			}
			res, err := Check(ops, testBudget)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.want || res.Checked != len(ops) {
				t.Fatalf("%v, want %v with %d ops", res, tt.want, len(ops))
			}
			t.Logf("%d ops: %v", len(ops), res)
		})
	}
}

// The etcd histories are of one compare-and-set register, which the KV model does not
// describe; they go through checkWithModel with casRegister below, the same budgeted
// wrapper Check uses.

type casKind uint8

const (
	casRead casKind = iota
	casWrite
	casCAS
)

type casInput struct {
	kind     casKind
	arg, to  int // write: arg; cas: from arg to to
	argIsNil bool
}

type casOutput struct {
	ok      bool // cas: whether the compare succeeded
	exists  bool // read: false is nil
	value   int  // read
	unknown bool // cas/write with unknown outcome
}

// casState is the register; the zero value is nil (never written).
type casState struct {
	set   bool
	value int
}

// casRegister follows the interpretation porcupine's own test gives these histories (its
// known answers depend on it): a :fail cas is a completed cas whose compare failed, a
// timed-out (:info) write or cas may have happened at any time after its call or never,
// and a read that failed constrains nothing.
var casRegister = porcupine.Model{
	Init: func() any { return casState{} },
	Step: func(state, input, output any) (bool, any) {
		st := state.(casState)
		in := input.(casInput)
		out := output.(casOutput)
		switch in.kind {
		case casRead:
			return out.exists == st.set && (!st.set || out.value == st.value), st
		case casWrite:
			return true, casState{set: true, value: in.arg}
		case casCAS:
			match := st.set && st.value == in.arg
			next := st
			if match {
				next = casState{set: true, value: in.to}
			}
			return out.unknown || out.ok == match, next
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in := input.(casInput)
		out := output.(casOutput)
		switch in.kind {
		case casRead:
			if !out.exists {
				return "read() -> nil"
			}
			return fmt.Sprintf("read() -> %d", out.value)
		case casWrite:
			return fmt.Sprintf("write(%d)", in.arg)
		default:
			res := map[bool]string{true: "ok", false: "fail"}[out.ok]
			if out.unknown {
				res = "?"
			}
			return fmt.Sprintf("cas(%d, %d) -> %s", in.arg, in.to, res)
		}
	},
}

// etcdLine is one event of a Jepsen etcd log:
//
//	INFO  jepsen.util - 3	:invoke	:cas	[1 2]
//	INFO  jepsen.util - 3	:ok	:cas	[1 2]
//	INFO  jepsen.util - 0	:ok	:read	nil
//	INFO  jepsen.util - 1	:info	:write	:timed-out
var etcdLine = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(nil|\d+|\[\d+ \d+\]|:timed-out)$`)
var casArgs = regexp.MustCompile(`^\[(\d+) (\d+)\]$`)

// parseEtcd reads a Jepsen etcd log into porcupine operations (timestamps: line numbers).
// Unknown outcomes (:info, or still pending at the end) get Return = math.MaxInt64 like
// Check's unknown writes; failed reads, unknown reads and failed writes are left out. Any
// line it does not understand is an error naming the line: a malformed event, a number out
// of range, an argument that does not fit the operation (a read invoked with a value, a
// write without a number, a cas without [from to], a read answered with neither nil nor a
// number), a second invocation while one is pending, a completion that matches nothing.
func parseEtcd(name string, r io.Reader) ([]porcupine.Operation, error) {
	type pend struct {
		op   porcupine.Operation
		kind casKind
	}
	var done []porcupine.Operation
	pending := make(map[int]pend)
	var order []int // processes in invocation order, for a deterministic end
	err := scanLines(name, r, func(n int, line string) error {
		m := etcdLine.FindStringSubmatch(line)
		if m == nil {
			return fmt.Errorf("cannot parse %q", line)
		}
		proc, err := strconv.Atoi(m[1])
		if err != nil {
			return fmt.Errorf("process: %v", err)
		}
		typ, f, arg := m[2], m[3], m[4]
		kind := map[string]casKind{"read": casRead, "write": casWrite, "cas": casCAS}[f]
		if typ == "invoke" {
			if _, busy := pending[proc]; busy {
				return fmt.Errorf("process %d invokes with an operation pending", proc)
			}
			in, err := etcdInvocation(kind, arg)
			if err != nil {
				return err
			}
			pending[proc] = pend{porcupine.Operation{ClientId: proc, Input: in, Call: int64(n)}, kind}
			order = append(order, proc)
			return nil
		}
		p, ok := pending[proc]
		if !ok || p.kind != kind {
			return fmt.Errorf("completion %q matches no pending operation of process %d", line, proc)
		}
		delete(pending, proc)
		op := p.op
		switch {
		case typ == "ok" && kind == casRead:
			out := casOutput{}
			if arg != "nil" {
				out.exists = true
				if out.value, err = strconv.Atoi(arg); err != nil {
					return fmt.Errorf("read value %q: want nil or a number", arg)
				}
			}
			op.Output, op.Return = out, int64(n)
		case typ == "ok":
			op.Output, op.Return = casOutput{ok: true}, int64(n)
		case typ == "fail" && kind == casCAS:
			op.Output, op.Return = casOutput{ok: false}, int64(n)
		case typ == "info" && kind != casRead:
			op.Output, op.Return = casOutput{unknown: true}, math.MaxInt64
		default: // failed or unknown read, failed write: constrains nothing
			return nil
		}
		done = append(done, op)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, proc := range order {
		if p, ok := pending[proc]; ok && p.kind != casRead {
			p.op.Output, p.op.Return = casOutput{unknown: true}, math.MaxInt64
			done = append(done, p.op)
			delete(pending, proc)
		}
	}
	return done, nil
}

// etcdInvocation is the register input of an :invoke with argument arg: a read takes nil,
// a write a number, a cas "[from to]".
func etcdInvocation(kind casKind, arg string) (casInput, error) {
	in := casInput{kind: kind}
	var err error
	switch kind {
	case casRead:
		if arg != "nil" {
			return in, fmt.Errorf("read invoked with %q, want nil", arg)
		}
	case casWrite:
		if in.arg, err = strconv.Atoi(arg); err != nil {
			return in, fmt.Errorf("write argument %q: want a number", arg)
		}
	case casCAS:
		a := casArgs.FindStringSubmatch(arg)
		if a == nil {
			return in, fmt.Errorf("cas arguments %q: want [from to]", arg)
		}
		from, err1 := strconv.Atoi(a[1])
		to, err2 := strconv.Atoi(a[2])
		if err1 != nil || err2 != nil {
			return in, fmt.Errorf("cas arguments %q: numbers out of range", arg)
		}
		in.arg, in.to = from, to
	}
	return in, nil
}

// loadEtcd is parseEtcd of a file, failing the test on any error.
func loadEtcd(t testing.TB, path string) []porcupine.Operation {
	t.Helper()
	ops, err := parseEtcd(path, openFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

func TestPorcupineEtcdHistories(t *testing.T) {
	tests := []struct {
		file    string
		ops     int // one per :invoke (none of these files has a failed read)
		unknown int // one per :info
		want    Verdict
	}{
		{"etcd_000.log", 85, 16, NotLinearizable},
		{"etcd_002.log", 77, 19, Linearizable},
		{"etcd_005.log", 79, 14, Linearizable},
		{"etcd_022.log", 79, 17, NotLinearizable},
		{"etcd_039.log", 79, 11, NotLinearizable},
		{"etcd_067.log", 78, 18, Linearizable},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ops := loadEtcd(t, filepath.Join(dataDir, "jepsen", tt.file))
			unknown := 0
			for _, op := range ops {
				if op.Return == math.MaxInt64 {
					unknown++
				}
			}
			if len(ops) != tt.ops || unknown != tt.unknown {
				t.Fatalf("parsed %d operations, %d unknown; want %d, %d", len(ops), unknown, tt.ops, tt.unknown)
			}
			res, err := checkWithModel(casRegister, ops, testBudget)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.want || res.Checked != len(ops) {
				t.Fatalf("%v, want %v with %d ops", res, tt.want, len(ops))
			}
			t.Logf("%d ops: %v", len(ops), res)
		})
	}
}

// The register model itself must be able to say no (and yes) on small known cases, so the
// etcd answers above mean something.
func TestCASRegisterModel(t *testing.T) {
	op := func(in casInput, out casOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
	}
	w := func(v int) casInput { return casInput{kind: casWrite, arg: v} }
	cas := func(a, b int) casInput { return casInput{kind: casCAS, arg: a, to: b} }
	rd := casInput{kind: casRead}
	read := func(v int) casOutput { return casOutput{exists: true, value: v} }
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want Verdict
	}{
		{"read nil first", []porcupine.Operation{op(rd, casOutput{}, 1, 2), op(w(1), casOutput{}, 3, 4), op(rd, read(1), 5, 6)}, Linearizable},
		{"read nil after write", []porcupine.Operation{op(w(1), casOutput{}, 1, 2), op(rd, casOutput{}, 3, 4)}, NotLinearizable},
		{"cas succeeds", []porcupine.Operation{op(w(1), casOutput{}, 1, 2), op(cas(1, 2), casOutput{ok: true}, 3, 4), op(rd, read(2), 5, 6)}, Linearizable},
		{"cas fails that must succeed", []porcupine.Operation{op(w(1), casOutput{}, 1, 2), op(cas(1, 2), casOutput{ok: false}, 3, 4)}, NotLinearizable},
		{"cas succeeds that must fail", []porcupine.Operation{op(w(1), casOutput{}, 1, 2), op(cas(3, 2), casOutput{ok: true}, 3, 4)}, NotLinearizable},
		{"unknown cas later seen", []porcupine.Operation{op(w(1), casOutput{}, 1, 2), op(cas(1, 2), casOutput{unknown: true}, 3, math.MaxInt64), op(rd, read(1), 4, 5), op(rd, read(2), 6, 7)}, Linearizable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := checkWithModel(casRegister, tt.ops, testBudget)
			if err != nil || res.Verdict != tt.want {
				t.Fatalf("%v, %v; want %v", res, err, tt.want)
			}
		})
	}
}
