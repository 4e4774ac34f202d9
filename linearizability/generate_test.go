package linearizability

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// genConfig shapes a generated history.
type genConfig struct {
	seed     uint64
	ops      int
	clients  int
	keys     int
	pUnknown float64 // chance that an operation's outcome is lost (applied or not)
}

// genHistory simulates clients of a sequential KV store with random overlaps, so the history
// is linearizable by construction. Every operation goes through call, effect and return as
// three separate steps; at each step a random client takes its next step, so operations of
// different clients interleave. An operation's effect on the store (and its output) happens
// at its effect step, between its call and its return: that is its linearization point. With
// probability pUnknown the client loses the reply: the op is Unknown, and either took effect
// or never did.
func genHistory(cfg genConfig) []Op {
	r := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	store := make(map[string]string)
	type client struct {
		op      Op
		busy    bool
		applied bool
	}
	clients := make([]client, cfg.clients)
	var ops []Op
	var stamp int64
	started, busy := 0, 0
	for started < cfg.ops || busy > 0 {
		id := r.IntN(cfg.clients)
		c := &clients[id]
		stamp++
		now := time.Duration(stamp) * time.Millisecond
		switch {
		case !c.busy:
			if started == cfg.ops {
				continue
			}
			op := Op{Client: id, Key: fmt.Sprintf("k%d", r.IntN(cfg.keys)), Call: stamp, CallTime: now}
			switch x := r.IntN(10); {
			case x < 5:
				op.Kind = Get
			case x < 7:
				op.Kind, op.Value = Put, fmt.Sprintf("<%d>", started)
			default:
				op.Kind, op.Value = Append, fmt.Sprintf("<%d>", started)
			}
			*c = client{op: op, busy: true}
			started++
			busy++
		case !c.applied:
			if r.Float64() < cfg.pUnknown/2 { // lost before it took effect
				c.op.Unknown = true
				ops = append(ops, c.op)
				c.busy = false
				busy--
				continue
			}
			op := &c.op
			switch op.Kind {
			case Get:
				op.Output = store[op.Key]
			case Put:
				store[op.Key] = op.Value
			case Append:
				store[op.Key] += op.Value
				op.Output = store[op.Key]
			}
			op.HasOutput = op.Kind != Put
			c.applied = true
		default:
			if r.Float64() < cfg.pUnknown/2 { // took effect, reply lost
				c.op.Unknown = true
				c.op.Output, c.op.HasOutput = "", false
			} else {
				c.op.Return, c.op.ReturnTime = stamp, now
			}
			ops = append(ops, c.op)
			c.busy = false
			busy--
		}
	}
	return ops
}

var benchConfig = genConfig{seed: 1, ops: 400, clients: 5, keys: 10, pUnknown: 0.02}

// Generated histories are linearizable by construction; corrupting one completed read or
// append output makes them not linearizable. Both directions, over many seeds.
func TestGeneratedHistories(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		cfg := benchConfig
		cfg.seed = seed
		ops := genHistory(cfg)
		res, err := Check(ops, testBudget)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Verdict != Linearizable {
			t.Fatalf("seed %d: %v, want %v", seed, res, Linearizable)
		}
		if res.Checked+res.Dropped != len(ops) {
			t.Fatalf("seed %d: %d checked + %d dropped != %d ops", seed, res.Checked, res.Dropped, len(ops))
		}

		// Corrupt the output of a completed get or append, picked by the seed.
		var victims []int
		for i, op := range ops {
			if !op.Unknown && op.HasOutput {
				victims = append(victims, i)
			}
		}
		bad := append([]Op(nil), ops...)
		v := victims[int(seed)%len(victims)]
		bad[v].Output += "<corrupt>"
		res, err = Check(bad, testBudget)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Verdict != NotLinearizable {
			t.Fatalf("seed %d: corrupted op %d (%s -> %q): %v, want %v",
				seed, v, bad[v].describe(), bad[v].Output, res, NotLinearizable)
		}
	}
}

func TestGeneratedHistoryIsDeterministic(t *testing.T) {
	a, b := genHistory(benchConfig), genHistory(benchConfig)
	if len(a) != len(b) {
		t.Fatalf("lengths %d, %d", len(a), len(b))
	}
	unknown, concurrent := 0, 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("op %d differs: %+v vs %+v", i, a[i], b[i])
		}
		if a[i].Unknown {
			unknown++
		}
		if i > 0 && !a[i-1].Unknown && a[i].Call < a[i-1].Return {
			concurrent++
		}
	}
	// The benchmark's history must actually exercise overlaps and unknown outcomes.
	if unknown == 0 || concurrent < len(a)/4 {
		t.Fatalf("%d ops: %d unknown, %d overlapping their predecessor", len(a), unknown, concurrent)
	}
}

// BenchmarkCheckKV checks a generated linearizable history of 400 operations by 5 clients
// on 10 keys (2% unknown outcomes).
func BenchmarkCheckKV(b *testing.B) {
	ops := genHistory(benchConfig)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Check(ops, time.Minute)
		if err != nil || res.Verdict != Linearizable {
			b.Fatalf("%v, %v", res, err)
		}
	}
	b.ReportMetric(float64(len(ops)), "ops/history")
}
