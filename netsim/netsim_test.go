package netsim

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func mustNew(t testing.TB, cfg Config, nodes int, seed uint64) *Network {
	t.Helper()
	n, err := New(cfg, nodes, seed)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

// links returns the set of cut links as "a->b" strings, sorted.
func links(n *Network) []string {
	var out []string
	for a := 1; a <= n.Nodes(); a++ {
		for b := 1; b <= n.Nodes(); b++ {
			if !n.Connected(a, b) {
				out = append(out, itoa(a)+"->"+itoa(b))
			}
		}
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestPartitions(t *testing.T) {
	tests := []struct {
		name     string
		nodes    int
		apply    func(n *Network)
		wantCut  []string // every directed cut link, sorted
		describe string
	}{
		{
			name:     "fresh network",
			nodes:    3,
			apply:    func(n *Network) {},
			describe: "all links up",
		},
		{
			name:     "symmetric groups with unlisted nodes",
			nodes:    5,
			apply:    func(n *Network) { n.Partition([]int{1, 2}, []int{3}) }, // 4 and 5 unlisted: their own group
			wantCut:  []string{"1->3", "1->4", "1->5", "2->3", "2->4", "2->5", "3->1", "3->2", "3->4", "3->5", "4->1", "4->2", "4->3", "5->1", "5->2", "5->3"},
			describe: "cut: 1-3 1-4 1-5 2-3 2-4 2-5 3-4 3-5",
		},
		{
			name:  "partition replaces previous cuts",
			nodes: 3,
			apply: func(n *Network) {
				n.Isolate(1)
				n.Partition([]int{3})
			},
			wantCut:  []string{"1->3", "2->3", "3->1", "3->2"},
			describe: "cut: 1-3 2-3",
		},
		{
			name:     "partition with no groups heals",
			nodes:    3,
			apply:    func(n *Network) { n.Cut(1, 2); n.Partition() },
			describe: "all links up",
		},
		{
			name:     "isolate",
			nodes:    4,
			apply:    func(n *Network) { n.Isolate(2) },
			wantCut:  []string{"1->2", "2->1", "2->3", "2->4", "3->2", "4->2"},
			describe: "cut: 1-2 2-3 2-4",
		},
		{
			name:     "isolate adds to cuts",
			nodes:    4,
			apply:    func(n *Network) { n.Cut(3, 4); n.Isolate(1) },
			wantCut:  []string{"1->2", "1->3", "1->4", "2->1", "3->1", "3->4", "4->1", "4->3"},
			describe: "cut: 1-2 1-3 1-4 3-4",
		},
		{
			name:     "cut one link",
			nodes:    3,
			apply:    func(n *Network) { n.Cut(3, 1) },
			wantCut:  []string{"1->3", "3->1"},
			describe: "cut: 1-3",
		},
		{
			name:     "one way",
			nodes:    4,
			apply:    func(n *Network) { n.CutOneWay(2, 4); n.CutOneWay(3, 1) },
			wantCut:  []string{"2->4", "3->1"},
			describe: "cut: 3->1 2->4",
		},
		{
			name:     "two one-way cuts make a symmetric one",
			nodes:    2,
			apply:    func(n *Network) { n.CutOneWay(2, 1); n.CutOneWay(1, 2) },
			wantCut:  []string{"1->2", "2->1"},
			describe: "cut: 1-2",
		},
		{
			name:     "bridge",
			nodes:    3,
			apply:    func(n *Network) { n.Bridge(1, 2, 3) },
			wantCut:  []string{"1->3", "3->1"},
			describe: "cut: 1-3",
		},
		{
			name:     "bridge restores links to the middle",
			nodes:    4,
			apply:    func(n *Network) { n.Isolate(2); n.Bridge(1, 2, 3) },
			wantCut:  []string{"1->3", "2->4", "3->1", "4->2"},
			describe: "cut: 1-3 2-4",
		},
		{
			name:  "jepsen bridge from four bridges",
			nodes: 5,
			apply: func(n *Network) {
				n.Bridge(1, 3, 4)
				n.Bridge(1, 3, 5)
				n.Bridge(2, 3, 4)
				n.Bridge(2, 3, 5)
			},
			wantCut:  []string{"1->4", "1->5", "2->4", "2->5", "4->1", "4->2", "5->1", "5->2"},
			describe: "cut: 1-4 1-5 2-4 2-5",
		},
		{
			name:     "heal",
			nodes:    4,
			apply:    func(n *Network) { n.Partition([]int{1}, []int{2}); n.CutOneWay(3, 4); n.Heal() },
			describe: "all links up",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustNew(t, Config{}, tc.nodes, 1)
			tc.apply(n)
			got := links(n)
			slices.Sort(tc.wantCut)
			if !slices.Equal(got, tc.wantCut) {
				t.Errorf("cut links = %v, want %v", got, tc.wantCut)
			}
			if d := n.Describe(); d != tc.describe {
				t.Errorf("Describe() = %q, want %q", d, tc.describe)
			}
			for id := 1; id <= tc.nodes; id++ {
				if !n.Connected(id, id) {
					t.Errorf("node %d cannot reach itself", id)
				}
			}
		})
	}
}

func TestSendOnCutLink(t *testing.T) {
	n := mustNew(t, Config{DelayMin: time.Millisecond, DelayMax: time.Millisecond}, 3, 7)
	n.CutOneWay(1, 2)
	if _, c := n.Send(1, 2); c != 0 {
		t.Fatalf("Send on cut link delivered %d copies", c)
	}
	if d, c := n.Send(2, 1); c != 1 || d[0] != time.Millisecond {
		t.Fatalf("Send on the open direction = %v, %d", d, c)
	}
	if n.Arrive(1, 2) || !n.Arrive(2, 1) {
		t.Fatalf("Arrive disagrees with the link state")
	}
	want := Stats{Sent: 2, Delivered: 1, Cut: 1, CutInFlight: 1}
	if s := n.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
}

// A cut must not change the random stream: the fates of later messages stay the same.
func TestCutDoesNotShiftStream(t *testing.T) {
	cfg := Config{DelayMin: 1, DelayMax: 1000, LossProbability: 0.2, DuplicateProbability: 0.3, TailProbability: 0.1, TailMax: 5000, ReorderProbability: 0.1}
	a, b := mustNew(t, cfg, 3, 42), mustNew(t, cfg, 3, 42)
	b.Cut(1, 2)
	a.Send(1, 2)
	b.Send(1, 2)
	for i := 0; i < 100; i++ {
		da, ca := a.Send(2, 3)
		db, cb := b.Send(2, 3)
		if da != db || ca != cb {
			t.Fatalf("message %d: %v/%d vs %v/%d", i, da, ca, db, cb)
		}
	}
}

func TestInvalidIDsPanic(t *testing.T) {
	n := mustNew(t, Config{}, 3, 1)
	tests := []struct {
		name string
		f    func()
		msg  string
	}{
		{"send from 0", func() { n.Send(0, 1) }, "invalid link 0 -> 1"},
		{"send to 4", func() { n.Send(1, 4) }, "invalid link 1 -> 4"},
		{"connected negative", func() { n.Connected(-1, 2) }, "node IDs must be in 1..3"},
		{"isolate", func() { n.Isolate(9) }, "Isolate: invalid node ID 9"},
		{"cut self", func() { n.Cut(2, 2) }, "node 2 given twice"},
		{"one way", func() { n.CutOneWay(1, 0) }, "CutOneWay: invalid node ID 0"},
		{"bridge repeat", func() { n.Bridge(1, 2, 1) }, "Bridge: node 1 given twice"},
		{"partition bad id", func() { n.Partition([]int{1, 5}) }, "Partition: invalid node ID 5"},
		{"partition twice", func() { n.Partition([]int{1}, []int{2, 1}) }, "node 1 is listed in groups 0 and 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.Contains(s, tc.msg) {
					t.Fatalf("panic = %v, want one containing %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func TestValidate(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{"zero", Config{}, nil},
		{"standard", Config{DelayMin: ms, DelayMax: 10 * ms, TailProbability: 0.01, TailMax: 100 * ms, LossProbability: 0.01, DuplicateProbability: 0.01}, nil},
		{"tail equal to max", Config{DelayMax: ms, TailMax: ms, TailProbability: 0.5}, nil},
		{"tail max unused", Config{DelayMax: 10 * ms, TailMax: ms}, nil},
		{"probabilities at the edges", Config{LossProbability: 1, DuplicateProbability: 0, ReorderProbability: 1, TailProbability: 1}, nil},
		{"negative min", Config{DelayMin: -1}, []string{"DelayMin is negative"}},
		{"negative max", Config{DelayMin: -2, DelayMax: -1}, []string{"DelayMin is negative", "DelayMax is negative"}},
		{"negative tail", Config{TailMax: -ms}, []string{"TailMax is negative"}},
		{"min above max", Config{DelayMin: 2 * ms, DelayMax: ms}, []string{"DelayMin 2ms is greater than DelayMax 1ms"}},
		{"tail below max", Config{DelayMax: 10 * ms, TailMax: 5 * ms, TailProbability: 0.1}, []string{"TailMax 5ms is below DelayMax 10ms"}},
		{"huge delay", Config{DelayMax: math.MaxInt64}, []string{"DelayMax", "exceeds the maximum"}},
		{"loss above one", Config{LossProbability: 1.5}, []string{"LossProbability 1.5 is outside [0, 1]"}},
		{"dup negative", Config{DuplicateProbability: -0.1}, []string{"DuplicateProbability -0.1 is outside"}},
		{"reorder NaN", Config{ReorderProbability: math.NaN()}, []string{"ReorderProbability NaN is outside"}},
		{"tail prob", Config{TailProbability: 2, TailMax: 1}, []string{"TailProbability 2 is outside"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if _, nerr := New(tc.cfg, 3, 1); nerr == nil {
				t.Errorf("New accepted an invalid config")
			}
			n := mustNew(t, Config{}, 3, 1)
			if n.SetConfig(tc.cfg) == nil {
				t.Errorf("SetConfig accepted an invalid config")
			}
			if n.Config() != (Config{}) {
				t.Errorf("SetConfig changed the config despite the error")
			}
		})
	}
	if _, err := New(Config{}, 0, 1); err == nil {
		t.Errorf("New with 0 nodes: no error")
	}
}

func TestFrequencies(t *testing.T) {
	const draws = 200_000
	tests := []struct {
		name string
		cfg  Config
	}{
		{"none", Config{DelayMin: 1, DelayMax: 10}},
		{"standard", Config{DelayMin: 1, DelayMax: 10, TailProbability: 0.01, TailMax: 100, LossProbability: 0.01, DuplicateProbability: 0.01}},
		{"heavy", Config{DelayMin: 1, DelayMax: 10, TailProbability: 0.3, TailMax: 100, LossProbability: 0.25, DuplicateProbability: 0.4, ReorderProbability: 0.2}},
		{"certain", Config{DelayMin: 1, DelayMax: 10, TailProbability: 1, TailMax: 100, LossProbability: 1, DuplicateProbability: 1, ReorderProbability: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := mustNew(t, tc.cfg, 2, 99)
			var tails, copies uint64
			for i := 0; i < draws; i++ {
				d, c := n.Send(1, 2)
				copies += uint64(c)
				for _, x := range d[:c] {
					if x > tc.cfg.DelayMax { // a tail delay, when there is no reordering
						tails++
					}
				}
			}
			s := n.Stats()
			if s.Sent != draws || s.Delivered != copies || s.Cut != 0 {
				t.Fatalf("Stats %+v inconsistent with %d sends, %d copies", s, draws, copies)
			}
			if got, want := s.Delivered+s.Lost, draws+s.Duplicated; got != want {
				t.Fatalf("delivered+lost = %d, want sent+duplicated = %d", got, want)
			}
			allCopies := float64(s.Delivered + s.Lost)
			near := func(what string, got, p float64) {
				t.Helper()
				// Five standard deviations of a binomial proportion, plus a little slack.
				sd := math.Sqrt(p * (1 - p) / draws)
				if math.Abs(got-p) > 5*sd+1e-9 {
					t.Errorf("%s frequency %.5f, want %.5f ± %.5f", what, got, p, 5*sd)
				}
			}
			near("duplicate", float64(s.Duplicated)/draws, tc.cfg.DuplicateProbability)
			near("loss", float64(s.Lost)/allCopies, tc.cfg.LossProbability)
			if s.Delivered > 0 {
				near("reorder", float64(s.Reordered)/float64(s.Delivered), tc.cfg.ReorderProbability)
			}
			if tc.cfg.ReorderProbability == 0 && s.Delivered > 0 {
				near("tail", float64(tails)/float64(s.Delivered), tc.cfg.TailProbability)
			}
		})
	}
}

// TestTailAndBaseDistribution checks the delay ranges without reordering: base delays cover
// [DelayMin, DelayMax] and tail delays (DelayMax, TailMax].
func TestTailAndBaseDistribution(t *testing.T) {
	cfg := Config{DelayMin: 3, DelayMax: 6, TailProbability: 0.5, TailMax: 9}
	n := mustNew(t, cfg, 2, 5)
	seen := map[time.Duration]int{}
	for i := 0; i < 10_000; i++ {
		d, c := n.Send(1, 2)
		if c != 1 {
			t.Fatalf("copies = %d, want 1", c)
		}
		seen[d[0]]++
	}
	for d := time.Duration(3); d <= 9; d++ {
		if seen[d] == 0 {
			t.Errorf("delay %d never drawn: %v", d, seen)
		}
	}
	if len(seen) != 7 {
		t.Errorf("delays outside [3, 9]: %v", seen)
	}
}

func TestDelaysWithinBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		dmin := time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "DelayMin"))
		dmax := dmin + time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "spread"))
		cfg := Config{
			DelayMin:             dmin,
			DelayMax:             dmax,
			TailProbability:      rapid.Float64Range(0, 1).Draw(t, "tail"),
			TailMax:              dmax + time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(t, "tailSpread")),
			LossProbability:      rapid.Float64Range(0, 1).Draw(t, "loss"),
			DuplicateProbability: rapid.Float64Range(0, 1).Draw(t, "dup"),
			ReorderProbability:   rapid.Float64Range(0, 1).Draw(t, "reorder"),
		}
		nodes := rapid.IntRange(1, 7).Draw(t, "nodes")
		n, err := New(cfg, nodes, rapid.Uint64().Draw(t, "seed"))
		if err != nil {
			t.Fatalf("New(%+v): %v", cfg, err)
		}
		lo, hi := cfg.DelayMin, cfg.MaxDelay()
		for i := 0; i < 200; i++ {
			from, to := 1+i%nodes, 1+(i/nodes)%nodes
			d, c := n.Send(from, to)
			if c < 0 || c > 2 {
				t.Fatalf("copies = %d", c)
			}
			for _, x := range d[:c] {
				if x < lo || x > hi {
					t.Fatalf("delay %v outside [%v, %v] for %+v", x, lo, hi, cfg)
				}
			}
			for _, x := range d[c:] {
				if x != 0 {
					t.Fatalf("unused delay slot is %v", x)
				}
			}
		}
	})
}

func sequence(seed uint64, count int) [][2]time.Duration {
	cfg := Config{DelayMin: time.Millisecond, DelayMax: 10 * time.Millisecond, TailProbability: 0.05, TailMax: 100 * time.Millisecond,
		LossProbability: 0.1, DuplicateProbability: 0.1, ReorderProbability: 0.1}
	n, err := New(cfg, 5, seed)
	if err != nil {
		panic(err)
	}
	out := make([][2]time.Duration, count)
	for i := range out {
		d, c := n.Send(1+i%5, 1+(i+1)%5)
		d[1] += time.Duration(c) << 40 // fold the copy count in
		out[i] = d
	}
	return out
}

func TestSameSeedSameSequence(t *testing.T) {
	for _, seed := range []uint64{0, 1, 42, math.MaxUint64} {
		a, b := sequence(seed, 1000), sequence(seed, 1000)
		if !slices.Equal(a, b) {
			t.Errorf("seed %d: two runs differ", seed)
		}
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	seqs := map[uint64][][2]time.Duration{}
	for _, seed := range []uint64{0, 1, 2, 3, 42, math.MaxUint64} {
		seqs[seed] = sequence(seed, 100)
	}
	for s1, a := range seqs {
		for s2, b := range seqs {
			if s1 < s2 && slices.Equal(a, b) {
				t.Errorf("seeds %d and %d give the same sequence", s1, s2)
			}
		}
	}
}

// countOvertakes sends one message per millisecond and counts pairs (i < j) where j arrives
// strictly before i.
func countOvertakes(t *testing.T, cfg Config) int {
	n := mustNew(t, cfg, 2, 3)
	var arrivals []time.Duration
	for i := 0; i < 1000; i++ {
		d, c := n.Send(1, 2)
		if c != 1 {
			t.Fatalf("copies = %d", c)
		}
		arrivals = append(arrivals, time.Duration(i)*time.Millisecond+d[0])
	}
	overtakes := 0
	for i := range arrivals {
		for j := i + 1; j < len(arrivals); j++ {
			if arrivals[j] < arrivals[i] {
				overtakes++
			}
		}
	}
	return overtakes
}

func TestReorderLetsLaterMessagesOvertake(t *testing.T) {
	fixed := Config{DelayMin: 5 * time.Millisecond, DelayMax: 5 * time.Millisecond}
	if got := countOvertakes(t, fixed); got != 0 {
		t.Fatalf("fixed delay without reordering: %d overtakes, want 0", got)
	}
	reorder := fixed
	reorder.ReorderProbability = 0.3
	if got := countOvertakes(t, reorder); got < 100 {
		t.Fatalf("with reordering: only %d overtakes", got)
	}
}

func TestSetConfigMidRun(t *testing.T) {
	n := mustNew(t, Config{DelayMin: 1, DelayMax: 1}, 2, 1)
	if d, c := n.Send(1, 2); c != 1 || d[0] != 1 {
		t.Fatalf("before: %v %d", d, c)
	}
	if err := n.SetConfig(Config{DelayMin: 7, DelayMax: 7, LossProbability: 1}); err != nil {
		t.Fatal(err)
	}
	if _, c := n.Send(1, 2); c != 0 {
		t.Fatalf("after SetConfig with loss 1: %d copies", c)
	}
	if n.Stats().Lost != 1 {
		t.Fatalf("Stats = %+v", n.Stats())
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	n := mustNew(t, Config{DelayMin: 1, DelayMax: 10, TailProbability: 0.1, TailMax: 100, LossProbability: 0.1, DuplicateProbability: 0.1, ReorderProbability: 0.1}, 5, 1)
	if a := testing.AllocsPerRun(1000, func() { n.Send(2, 3) }); a != 0 {
		t.Fatalf("Send allocates %v times per call", a)
	}
}

func BenchmarkSend(b *testing.B) {
	cfg := Config{DelayMin: time.Millisecond, DelayMax: 10 * time.Millisecond, TailProbability: 0.01, TailMax: 100 * time.Millisecond,
		LossProbability: 0.01, DuplicateProbability: 0.01}
	n := mustNew(b, cfg, 5, 1)
	b.ReportAllocs()
	var sink int
	for i := 0; b.Loop(); i++ {
		_, c := n.Send(1+i%5, 1+(i+2)%5)
		sink += c
	}
	_ = sink
}

// TestImposeReplaysDecide: imposing the fates one network decided on another with the
// same links gives the same copies and the same counters (but Reordered, which a fate does
// not record), and a cut link still drops an imposed fate.
func TestImposeReplaysDecide(t *testing.T) {
	cfg := Config{DelayMin: time.Millisecond, DelayMax: 10 * time.Millisecond, TailProbability: 0.1, TailMax: 50 * time.Millisecond,
		LossProbability: 0.2, DuplicateProbability: 0.3, ReorderProbability: 0.2}
	a, err := New(cfg, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(Config{}, 4, 99)
	a.Cut(1, 3)
	b.Cut(1, 3)
	for i := 0; i < 2000; i++ {
		from, to := i%4+1, (i/4)%4+1
		if from == to {
			continue
		}
		f := a.Decide(from, to)
		gd, gc := b.Impose(from, to, f).Copies()
		wd, wc := f.Copies()
		if gd != wd || gc != wc {
			t.Fatalf("send %d %d->%d: imposed %v %d copies, decided %v %d", i, from, to, gd, gc, wd, wc)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	sa.Reordered = 0
	if sa != sb {
		t.Fatalf("stats differ: decided %+v, imposed %+v", sa, sb)
	}
	if sa.Cut == 0 || sa.Lost == 0 || sa.Duplicated == 0 {
		t.Fatalf("the test exercised too little: %+v", sa)
	}
	if _, c := b.Impose(1, 3, Fate{Delays: [2]time.Duration{time.Millisecond}}).Copies(); c != 0 {
		t.Fatalf("an imposed fate crossed a cut link (%d copies)", c)
	}
}
