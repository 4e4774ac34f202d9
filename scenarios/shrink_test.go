package scenarios

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim"
	"raftsim/sim/schedule"
)

// Planted bugs, through the Server seam (Options.NewServer): each wraps the raftsim node
// and breaks one rule, as a buggy implementation would, so that the shrinker has real
// failures to shrink.

// bugged is a raftsim node behind a rewriting of its inputs and outputs.
type bugged struct {
	*node.Node
	in  func(n *node.Node, in *node.Input)
	out func(n *node.Node, in *node.Input, out *node.Output)
}

func (b *bugged) Step(now time.Duration, in node.Input) node.Output {
	if b.in != nil {
		b.in(b.Node, &in)
	}
	out := b.Node.Step(now, in)
	if b.out != nil {
		b.out(b.Node, &in, &out)
	}
	return out
}

func plantBug(in func(*node.Node, *node.Input), out func(*node.Node, *node.Input, *node.Output)) func(node.Config, node.DurableState) (sim.Server, error) {
	return func(cfg node.Config, d node.DurableState) (sim.Server, error) {
		n, err := node.New(cfg, d)
		if err != nil {
			return nil, err
		}
		return &bugged{Node: n, in: in, out: out}, nil
	}
}

// ackWithoutAppend treats an AppendEntries with entries as a heartbeat but acknowledges
// the entries as appended.
type ackWithoutAppend struct{ *node.Node }

func (a *ackWithoutAppend) Step(now time.Duration, in node.Input) node.Output {
	m := &in.Message
	if in.Kind != node.InputMessage || m.Type != node.MsgApp || len(m.Entries) == 0 {
		return a.Node.Step(now, in)
	}
	claimed := m.PrevLogIndex + node.Index(len(m.Entries))
	m.Entries = nil
	out := a.Node.Step(now, in)
	for i := range out.Messages {
		if r := &out.Messages[i]; r.Type == node.MsgAppResp && r.Success {
			r.MatchIndex = claimed
		}
	}
	return out
}

// plantedBug is a bug, the scenario that shows it and the failure expected.
type plantedBug struct {
	name      string
	slug      string // its name in regression schedules ("# planted bug: SLUG")
	scenario  string
	newServer func(node.Config, node.DurableState) (sim.Server, error)
}

// plantedBugNamed is the planted bug of slug, and false if there is none.
func plantedBugNamed(slug string) (plantedBug, bool) {
	for _, b := range plantedBugs() {
		if b.slug == slug {
			return b, true
		}
	}
	return plantedBug{}, false
}

func plantedBugs() []plantedBug {
	return []plantedBug{
		// §5.4.1: a voter grants its vote without the election restriction.
		{"no up-to-date check", "no-up-to-date-check", "churn", plantBug(func(_ *node.Node, in *node.Input) {
			if in.Kind == node.InputMessage && (in.Message.Type == node.MsgVote || in.Message.Type == node.MsgPreVote) {
				in.Message.LastLogIndex, in.Message.LastLogTerm = node.MaxIndex, in.Message.Term
			}
		}, nil)},
		// Figure 2: votedFor is persistent; this server forgets it on restart.
		{"forget vote on restart", "forget-vote", "churn", func(cfg node.Config, d node.DurableState) (sim.Server, error) {
			d.HardState.Vote = node.None
			return node.New(cfg, d)
		}},
		// §5.3: a follower acknowledges entries it did not append.
		{"ack without append", "ack-without-append", "churn", func(cfg node.Config, d node.DurableState) (sim.Server, error) {
			n, err := node.New(cfg, d)
			return &ackWithoutAppend{n}, err
		}},
		// §8: a leader acknowledges a put as soon as it appends it, before it commits.
		{"put acknowledged before commit", "early-put-ack", "leader-crash", plantBug(nil, func(n *node.Node, in *node.Input, out *node.Output) {
			if r := in.Request; in.Kind == node.InputClient && r.Op == kv.OpPut && n.View().Role == node.Leader {
				out.Replies = append(out.Replies, node.Reply{Client: r.Client, Seq: r.Seq, Status: node.ReplyOK})
			}
		})},
		// §5.2: candidates after the first term send no RequestVote: once the first
		// leader is gone, no leader is ever elected again.
		{"mute candidate after term 1", "mute-candidate", "leader-crash", plantBug(nil, func(n *node.Node, _ *node.Input, out *node.Output) {
			if n.View().Term < 2 {
				return
			}
			msgs := out.Messages[:0]
			for _, m := range out.Messages {
				if m.Type != node.MsgVote {
					msgs = append(msgs, m)
				}
			}
			out.Messages = msgs
		})},
	}
}

// failingExport finds the first seed of 1..20 on which the bug makes the scenario fail
// and exports that run.
func failingExport(t *testing.T, b plantedBug) (Outcome, *Options, uint64) {
	t.Helper()
	sc, err := Lookup(b.scenario)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options{NewServer: b.newServer}
	for seed := uint64(1); seed <= 20; seed++ {
		if o := Run(sc, seed, *opts); o.Failed() {
			return o, opts, seed
		}
	}
	t.Fatalf("%s: no seed of 1..20 fails %s", b.name, b.scenario)
	return Outcome{}, nil, 0
}

// TestShrinkPlantedBugs shrinks a failing run of each planted bug (its scenario's first
// failing seed): the shrunk schedule fails the same way, is smaller, and replays to its
// recorded outcome. With -long it also shrinks long runs with dozens of faults, and reports the figures of the closing note (sizes before and after, time).
func TestShrinkPlantedBugs(t *testing.T) {
	bugs := plantedBugs()
	if !*longFlag {
		bugs = bugs[:1]
	}
	for _, b := range bugs {
		t.Run(b.name, func(t *testing.T) {
			o, opts, seed := failingExport(t, b)
			res := shrinkChecked(t, b, b.scenario, seed, &o, opts)
			if *writeRegressions {
				a := res.Before
				writeRegression(t, "planted-"+b.slug, fmt.Sprintf("%s: %s seed %d, shrunk from %d faults, %d client operations and %d packets not plainly delivered",
					b.name, b.scenario, seed, a.Faults, a.ClientOps, a.Packets), b.slug, res.Shrunk)
			}
		})
	}
	if !*longFlag {
		return
	}
	// Long runs with dozens of faults, where the bug strikes late.
	for _, c := range []struct {
		bug      string
		scenario string
		seed     uint64
	}{
		{"no-up-to-date-check", "churn", 16}, {"forget-vote", "churn", 42}, {"early-put-ack", "churn", 5},
		{"early-put-ack", "swarm", 57}, {"forget-vote", "swarm", 26}, {"no-up-to-date-check", "swarm", 9},
	} {
		b, _ := plantedBugNamed(c.bug)
		t.Run(fmt.Sprintf("%s/%s/seed=%d", c.bug, c.scenario, c.seed), func(t *testing.T) {
			opts := &Options{NewServer: b.newServer}
			sc, _ := Lookup(c.scenario)
			o := Run(sc, c.seed, *opts)
			if !o.Failed() {
				t.Fatalf("%s seed %d does not fail with %s", c.scenario, c.seed, c.bug)
			}
			shrinkChecked(t, b, c.scenario, c.seed, &o, opts)
		})
	}
}

// shrinkChecked exports a failing run (o) of scenario and seed with bug b planted, shrinks
// it with the replays run at once, and checks and logs the result.
func shrinkChecked(t *testing.T, b plantedBug, scenario string, seed uint64, o *Outcome, opts *Options) ShrinkResult {
	t.Helper()
	sc, _ := Lookup(scenario)
	_, sch := Export(sc, seed, *opts)
	res, err := Shrink(sch, ShrinkOptions{Options: *opts, Parallel: allAtOnce})
	if err != nil {
		t.Fatal(err)
	}
	if res.Key != FailureKey(o) {
		t.Fatalf("shrinking kept %q; the run failed %q", res.Key, FailureKey(o))
	}
	a, z := res.Before, res.After
	t.Logf("%s: %s seed %d fails %q\n  before: %v\n  after:  %v\n  %d replays, %v", b.name, scenario, seed, res.Key, a, z, res.Runs, res.Elapsed.Round(time.Millisecond))
	if z.Faults > a.Faults || z.ClientOps > a.ClientOps || z.Packets > a.Packets || z.Events >= a.Events {
		t.Errorf("the shrunk schedule is not smaller")
	}
	r := RunTimed(res.Shrunk, *opts, "")
	if ok, why := ExpectationMet(res.Shrunk, &r); !ok || r.TraceHash != res.Outcome.TraceHash {
		t.Errorf("the shrunk schedule does not replay as recorded: %s (trace %016x, recorded %016x)", why, r.TraceHash, res.Outcome.TraceHash)
	}
	return res
}

// allAtOnce is a ShrinkOptions.Parallel that runs every replay of a batch at once.
func allAtOnce(n int, run func(int)) {
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- { // started in reverse: the result must not care
		wg.Add(1)
		go func() { defer wg.Done(); run(i) }()
	}
	wg.Wait()
}

// writeRegressions makes TestShrinkPlantedBugs write each shrunk schedule into
// testdata/schedules, as a regression case of its planted bug.
var writeRegressions = flag.Bool("write-regressions", false, "with -long, write the planted bugs' shrunk schedules to testdata/schedules")

// writeRegression writes a regression schedule: the version line, the line saying what
// it shows, the planted bug's line if any, then the schedule.
func writeRegression(t *testing.T, name, why, bug string, s *schedule.Schedule) {
	t.Helper()
	path := filepath.Join(regressionSchedules, name+".schedule")
	if err := os.WriteFile(path, RegressionText(s, why, bug), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// TestShrinkIsDeterministic: the same schedule shrinks to the same schedule, whether its
// replays run one after another or at once.
func TestShrinkIsDeterministic(t *testing.T) {
	b := plantedBugs()[0]
	_, opts, seed := failingExport(t, b)
	sc, _ := Lookup(b.scenario)
	_, sch := Export(sc, seed, *opts)
	x, err := Shrink(sch, ShrinkOptions{Options: *opts, MaxRuns: 60})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := Shrink(sch, ShrinkOptions{Options: *opts, MaxRuns: 60, Parallel: allAtOnce})
	if !reflect.DeepEqual(x.Shrunk, y.Shrunk) || x.Runs != y.Runs {
		t.Fatalf("two shrinks of one schedule, one replaying in parallel, differ: %v in %d runs, %v in %d", x.After, x.Runs, y.After, y.Runs)
	}
}

// TestShrinkRefusesWhatCannotShrink: a passing schedule, a version 1 one and one whose
// expect line is wrong are refused before any search.
func TestShrinkRefusesWhatCannotShrink(t *testing.T) {
	sc, _ := Lookup("happy-path")
	_, pass := Export(sc, 1, Options{})
	b := plantedBugs()[0]
	_, opts, seed := failingExport(t, b)
	bsc, _ := Lookup(b.scenario)
	_, fail := Export(bsc, seed, *opts)
	wrong := *fail
	wrong.Expect.Check = "Election Safety"
	v1 := *pass
	v1.Version = 1
	for _, tt := range []struct {
		name string
		s    *schedule.Schedule
		want string
	}{
		{"passing", pass, "fails no check"},
		{"wrong expectation", &wrong, `expects "Election Safety" to fail`},
		{"version 1", &v1, "timed schedule"},
	} {
		if _, err := Shrink(tt.s, ShrinkOptions{Options: *opts}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	if _, err := Shrink(pass, ShrinkOptions{Options: Options{CheckBudget: time.Nanosecond}}); !errors.Is(err, ErrInconclusive) {
		t.Errorf("a history check out of budget: %v, want ErrInconclusive", err)
	}
}
