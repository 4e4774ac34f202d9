package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/scenarios"
	"raftsim/sim"
)

// runCLI runs the command line with args and returns the exit status and both outputs.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

var (
	traceLineRE = regexp.MustCompile(`(?m)^trace: ([0-9a-f]{16})$`)
	seedLineRE  = regexp.MustCompile(`(?m)^trace: ([0-9a-f]{16})  seed ([0-9]+) `)
	// An event-trace line starts with its virtual time (right-aligned, microseconds).
	eventLineRE = regexp.MustCompile(`^ *[0-9]+\.[0-9]{6}s `)
)

func TestList(t *testing.T) {
	code, out, errOut := runCLI(t, "list")
	if code != exitOK || errOut != "" {
		t.Fatalf("list: exit %d, stderr %q", code, errOut)
	}
	names := scenarios.Names()
	if len(names) == 0 {
		t.Fatal("no scenarios")
	}
	for _, name := range names {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` `).MatchString(out) {
			t.Errorf("list does not show scenario %q at the start of a line:\n%s", name, out)
		}
	}
	if got := strings.Count(strings.TrimSpace(out), "\n"); got != len(names) {
		t.Errorf("list printed %d lines after the header, want %d (one per scenario):\n%s", got, len(names), out)
	}
}

// runTrace runs one seed of a scenario and returns its trace hash line.
func runTrace(t *testing.T, scenario, seed string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "run", "-scenario", scenario, "-seed", seed)
	if code != exitOK {
		t.Fatalf("run %s seed %s: exit %d\nstdout:\n%s\nstderr:\n%s", scenario, seed, code, out, errOut)
	}
	m := traceLineRE.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("run %s seed %s: want one line matching %v, got %d:\n%s", scenario, seed, traceLineRE, len(m), out)
	}
	return m[0][1]
}

func TestRunOneSeed(t *testing.T) {
	hash := runTrace(t, "happy-path", "1")
	if again := runTrace(t, "happy-path", "1"); again != hash {
		t.Errorf("the same seed printed trace %s, then %s", hash, again)
	}
	if other := runTrace(t, "happy-path", "2"); other == hash {
		t.Errorf("seeds 1 and 2 printed the same trace %s", hash)
	}
	_, out, _ := runCLI(t, "run", "-scenario", "happy-path", "-seed", "1")
	if !strings.Contains(out, "scenario happy-path seed 1: ok") {
		t.Errorf("run output lacks the verdict:\n%s", out)
	}
}

func TestRunVerbose(t *testing.T) {
	code, out, _ := runCLI(t, "run", "-scenario", "happy-path", "-seed", "1", "-v")
	if code != exitOK || !strings.Contains(out, "What happened") || !strings.Contains(out, "became leader") || !traceLineRE.MatchString(out) {
		t.Errorf("run -v: exit %d, want the story and the trace line:\n%s", code, out)
	}
}

func TestRunManySeeds(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "-scenario", "happy-path", "-seeds", "3")
	if code != exitOK {
		t.Fatalf("-seeds 3: exit %d\n%s\n%s", code, out, errOut)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "trace: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("-seeds 3 printed %d trace lines, want 3:\n%s", len(lines), out)
	}
	one := runTrace(t, "happy-path", "1")
	for i, l := range lines {
		m := seedLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q does not match %v", l, seedLineRE)
		}
		if want := string(rune('1' + i)); m[2] != want {
			t.Errorf("line %d is for seed %s, want seed %s (seed order)", i, m[2], want)
		}
		if i == 0 && m[1] != one {
			t.Errorf("seed 1 has trace %s in a sweep and %s alone", m[1], one)
		}
	}
	if !strings.Contains(out, "3 seeds, 3 passed, 0 failed") {
		t.Errorf("-seeds 3 has no summary:\n%s", out)
	}
	// Parallelism does not change results.
	_, serial, _ := runCLI(t, "run", "-scenario", "happy-path", "-seeds", "3", "-parallel", "1")
	if serial != out {
		t.Errorf("-parallel 1 output differs:\n%s\nvs\n%s", serial, out)
	}
}

// usageCase is a command line that must be refused as a usage error.
type usageCase struct {
	name string
	args []string
	want []string // in the one line on stderr
}

// checkUsageError runs tc and requires a usage error: exit 2, nothing on stdout (no seed
// ran), and one line on stderr naming the command and containing every tc.want.
func checkUsageError(t *testing.T, tc usageCase) {
	t.Helper()
	code, out, errOut := runCLI(t, tc.args...)
	if code != exitUsage {
		t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, exitUsage, out, errOut)
	}
	if out != "" {
		t.Errorf("%v: a usage error printed to stdout (did something run?):\n%s", tc.args, out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") || !strings.HasPrefix(errOut, "raftsim") {
		t.Errorf("%v: stderr is not one line starting with the command:\n%s", tc.args, errOut)
	}
	for _, w := range tc.want {
		if !strings.Contains(errOut, w) {
			t.Errorf("%v: stderr does not mention %q:\n%s", tc.args, w, errOut)
		}
	}
}

// TestBadUsage: every mistake on the command line is refused before anything runs, in one
// line that says what was wrong and what is valid (issue 8, item 4).
func TestBadUsage(t *testing.T) {
	names := scenarios.Names()
	tests := []usageCase{
		{"unknown scenario", []string{"run", "-scenario", "nope", "-seed", "1"}, append([]string{`unknown scenario "nope"; valid scenarios: `}, names...)},
		{"scenario in the wrong case", []string{"run", "-scenario", "Leader-Crash"}, []string{`unknown scenario "Leader-Crash"; did you mean "leader-crash"?`}},
		{"scenario with a typo", []string{"run", "-scenario", "leader-crsh"}, []string{`did you mean "leader-crash"?`}},
		{"scenario with swapped letters", []string{"replay", "-scenario", "happy-ptah", "-seed", "1", "-trace", "-"}, []string{`did you mean "happy-path"?`}},
		{"missing scenario", []string{"run", "-seed", "1"}, append([]string{"-scenario is required"}, names...)},
		{"empty scenario", []string{"run", "-scenario", ""}, []string{"-scenario is required"}},
		{"seed abc", []string{"run", "-scenario", "happy-path", "-seed", "abc"}, []string{`malformed seed "abc"`, "positive", "1..18446744073709551615"}},
		{"seed 0", []string{"run", "-scenario", "happy-path", "-seed", "0"}, []string{`malformed seed "0"`}},
		{"seed -1", []string{"run", "-scenario", "happy-path", "-seed", "-1"}, []string{`malformed seed "-1"`}},
		{"seed empty", []string{"run", "-scenario", "happy-path", "-seed", ""}, []string{`malformed seed ""`}},
		{"seed 1.5", []string{"run", "-scenario", "happy-path", "-seed", "1.5"}, []string{`malformed seed "1.5"`}},
		{"seed too big", []string{"run", "-scenario", "happy-path", "-seed", "18446744073709551616"},
			[]string{"seed 18446744073709551616 is out of range: seeds are 1..18446744073709551615"}},
		{"seed too big and malformed", []string{"run", "-scenario", "happy-path", "-seed", "100000000000000000000\r"}, []string{`malformed seed "100000000000000000000\r"`}},
		{"seed and seeds", []string{"run", "-scenario", "happy-path", "-seed", "1", "-seeds", "3"}, []string{"not both"}},
		{"negative seeds", []string{"run", "-scenario", "happy-path", "-seeds", "-2"}, []string{`-seeds "-2"`, "1 to 1000000"}},
		{"zero seeds", []string{"run", "-scenario", "happy-path", "-seeds", "0"}, []string{`-seeds "0"`, "1 to 1000000"}},
		{"seeds abc", []string{"run", "-scenario", "happy-path", "-seeds", "abc"}, []string{`-seeds "abc"`}},
		{"too many seeds", []string{"run", "-scenario", "happy-path", "-seeds", "1000001"}, []string{"-seeds 1000001 is too many", "1 to 1000000"}},
		{"zero parallel", []string{"run", "-scenario", "happy-path", "-seeds", "2", "-parallel", "0"}, []string{`-parallel "0"`, "1..1024"}},
		{"negative parallel", []string{"run", "-scenario", "happy-path", "-seeds", "2", "-parallel", "-3"}, []string{`-parallel "-3"`}},
		{"parallel abc", []string{"run", "-scenario", "happy-path", "-seeds", "2", "-parallel", "abc"}, []string{`-parallel "abc"`}},
		{"parallel too big", []string{"run", "-scenario", "happy-path", "-seeds", "2", "-parallel", "5000"}, []string{`-parallel "5000"`}},
		{"bad parallel with one seed", []string{"run", "-scenario", "happy-path", "-seed", "1", "-parallel", "0"}, []string{"-parallel"}},
		{"reads bogus in a sweep", []string{"run", "-scenario", "churn", "-seeds", "2", "-reads", "bogus"},
			[]string{`unknown read mode "bogus"`, "readindex, lease, local"}},
		{"reads empty", []string{"run", "-scenario", "happy-path", "-reads", ""}, []string{"-reads needs a mode: readindex, lease or local"}},
		{"lease without checkquorum", []string{"run", "-scenario", "happy-path", "-reads", "lease", "-checkquorum=false"}, []string{"-reads lease needs CheckQuorum"}},
		{"checkquorum off where a seed reads by lease", []string{"run", "-scenario", "swarm", "-seeds", "40", "-checkquorum=false"},
			[]string{"scenario swarm seed ", "needs CheckQuorum", "-reads readindex"}},
		{"prevote maybe", []string{"run", "-scenario", "happy-path", "-prevote=maybe"}, []string{`"maybe"`, "-prevote", "want true or false"}},
		{"prevote value as its own argument", []string{"run", "-scenario", "happy-path", "-prevote", "false"}, []string{"-prevote=false"}},
		{"v maybe", []string{"run", "-scenario", "happy-path", "-v=maybe"}, []string{"-v"}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "list, run, replay, shrink, explore, help"}},
		{"a flag for a command", []string{"-scenario", "happy-path"}, []string{`unknown command "-scenario"`}},
		{"unknown flag", []string{"run", "-scenario", "happy-path", "-colour"}, []string{"-colour", "-scenario, ", "-seeds"}},
		{"flag without its value", []string{"run", "-scenario"}, []string{"flag needs an argument: -scenario"}},
		{"stray args to run", []string{"run", "-scenario", "happy-path", "-seed", "1", "extra"}, []string{`unexpected argument "extra"`}},
		{"flags after an argument", []string{"run", "extra", "-scenario", "happy-path"}, []string{`unexpected argument "extra"`}},
		{"stray args to list", []string{"list", "everything"}, []string{`unexpected argument "everything": list takes no arguments`}},
		{"flag for list", []string{"list", "-v"}, []string{"-v", "list takes no flags"}},
		{"newline in an argument", []string{"run", "-scenario", "a\nb"}, []string{`unknown scenario "a\nb"`}},
		{"newline in a flag name", []string{"run", "-a\nb"}, []string{`-a\x0ab`}},
		{"help for an unknown command", []string{"help", "frobnicate"}, []string{`unknown command "frobnicate"`, "list, run, replay, shrink, explore, help"}},
		{"help for two commands", []string{"help", "run", "replay"}, []string{"want one command name"}},
		{"replay without trace", []string{"replay", "-scenario", "happy-path", "-seed", "1"}, []string{"-trace", "required", "missing -trace"}},
		{"replay without seed", []string{"replay", "-scenario", "happy-path", "-trace", "-"}, []string{"-seed", "required", "missing -seed"}},
		{"replay with seeds", []string{"replay", "-scenario", "happy-path", "-seeds", "2", "-trace", "-"}, []string{"-seeds", "-trace"}},
		{"replay unknown scenario", []string{"replay", "-scenario", "nope", "-seed", "1", "-trace", "-"}, append([]string{`unknown scenario "nope"`}, names...)},
		{"replay bad seed", []string{"replay", "-scenario", "happy-path", "-seed", "x", "-trace", "-"}, []string{`malformed seed "x"`}},
		{"replay empty trace", []string{"replay", "-scenario", "happy-path", "-seed", "1", "-trace", ""}, []string{"-trace needs a file name"}},
		{"replay bad reads", []string{"replay", "-scenario", "happy-path", "-seed", "1", "-trace", "-", "-reads", "fast"}, []string{`unknown read mode "fast"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt) })
	}
}

// unwritableDir returns a directory this process cannot create files in: a read-only
// temporary directory, or, for root (whom permission bits do not stop), /sys.
func unwritableDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "read-only")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if dirProblem(dir) != "" {
		return dir
	}
	if dirProblem("/sys") != "" {
		return "/sys"
	}
	t.Fatal("found no directory this process cannot write to")
	return ""
}

// TestBadPaths: the -html directory and the -trace file are checked before the run.
func TestBadPaths(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "no", "such", "dir")
	ro := unwritableDir(t)
	run := []string{"run", "-scenario", "happy-path", "-seeds", "2", "-html"}
	replay := []string{"replay", "-scenario", "happy-path", "-seed", "1", "-trace"}
	tests := []usageCase{
		{"html missing", append(run, missing), []string{"-html", missing, "does not exist"}},
		{"html a file", append(run, file), []string{"-html", file, "is a file, not a directory"}},
		{"html not writable", append(run, ro), []string{"-html", ro, "is not writable"}},
		{"html empty", append(run, ""), []string{"-html needs a directory"}},
		{"replay html missing", []string{"replay", "-scenario", "happy-path", "-seed", "1", "-trace", "-", "-html", missing}, []string{"-html", "does not exist"}},
		{"trace dir missing", append(replay, filepath.Join(missing, "t.trace")), []string{"-trace", "t.trace", "its directory", "does not exist"}},
		{"trace dir a file", append(replay, filepath.Join(file, "t.trace")), []string{"-trace", "its directory", "is a file, not a directory"}},
		{"trace dir not writable", append(replay, filepath.Join(ro, "t.trace")), []string{"-trace", "its directory", "is not writable"}},
		{"trace a directory", append(replay, tmp), []string{"-trace", "is a directory", "give a file path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkUsageError(t, tt) })
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 1 {
		t.Errorf("the checks left files behind in %s: %v %v", tmp, entries, err)
	}
}

// TestGoodPaths: an existing writable -html directory is accepted, and so is an existing
// trace file (it is overwritten), without the checks leaving anything behind.
func TestGoodPaths(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "old.trace")
	if err := os.WriteFile(trace, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "replay", "-scenario", "happy-path", "-seed", "1", "-trace", trace, "-html", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if data, err := os.ReadFile(trace); err != nil || strings.HasPrefix(string(data), "old") {
		t.Errorf("the trace file was not rewritten: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%s holds %d files, want the trace only", dir, len(entries))
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "help"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitOK || errOut != "" || !strings.Contains(out, "raftsim replay -scenario NAME -seed N -trace FILE") {
			t.Errorf("%v: exit %d, stderr %q, output:\n%s", args, code, errOut, out)
		}
	}
	flags := map[string][]string{
		"list":   nil,
		"run":    {"-scenario", "-seed", "-seeds", "-parallel", "-v", "-reads", "-prevote", "-checkquorum", "-html"},
		"replay": {"-scenario", "-seed", "-trace", "-reads", "-prevote", "-checkquorum", "-html"},
	}
	for cmd, want := range flags {
		code, help, errOut := runCLI(t, "help", cmd)
		if code != exitOK || errOut != "" || !strings.HasPrefix(help, "usage: raftsim "+cmd) {
			t.Errorf("help %s: exit %d, stderr %q, stdout:\n%s", cmd, code, errOut, help)
		}
		for _, f := range want {
			if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `\b`).MatchString(help) {
				t.Errorf("help %s does not list flag %s:\n%s", cmd, f, help)
			}
		}
		// -h, however written, prints the same help to the same place.
		for _, h := range []string{"-h", "-help", "--help"} {
			code, out, errOut := runCLI(t, cmd, h)
			if code != exitOK || errOut != "" || out != help {
				t.Errorf("%s %s: exit %d, stderr %q; stdout differs from 'help %s':\n%s", cmd, h, code, errOut, cmd, out)
			}
		}
	}
}

// TestSuggest: the scenario meant by a name in the wrong case or with a small typo.
func TestSuggest(t *testing.T) {
	names := scenarios.Names()
	tests := []struct{ in, want string }{
		{"Leader-Crash", "leader-crash"},
		{"LEADER-CRASH", "leader-crash"},
		{"leader-crsh", "leader-crash"},
		{"leader-crashh", "leader-crash"},
		{"laeder-crash", "leader-crash"},
		{"Figure8", "figure-8"},
		{"swarn", "swarm"},
		{"nope", ""},
		{"", ""},
		{"x", ""},
		{"crash", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, names); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReplayToFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "happy.trace")
	code, out, errOut := runCLI(t, "replay", "-scenario", "happy-path", "-seed", "1", "-trace", file)
	if code != exitOK {
		t.Fatalf("replay: exit %d\n%s\n%s", code, out, errOut)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 1000 {
		t.Errorf("trace has %d lines, want many (one per event at least)", len(lines))
	}
	for i, l := range lines {
		if !eventLineRE.MatchString(l) {
			t.Fatalf("trace line %d does not start with a virtual time: %q", i+1, l)
		}
	}
	m := traceLineRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("replay output has no trace line:\n%s", out)
	}
	if want := runTrace(t, "happy-path", "1"); m[1] != want {
		t.Errorf("replay has trace %s, run has %s", m[1], want)
	}
	if !strings.Contains(out, "wrote ") || !strings.Contains(out, file) {
		t.Errorf("replay does not say where the trace went:\n%s", out)
	}
	if strings.Contains(out, "0.000000s") {
		t.Errorf("replay to a file also printed trace lines to stdout")
	}
}

func TestReplayToStdout(t *testing.T) {
	code, out, errOut := runCLI(t, "replay", "-scenario", "happy-path", "-seed", "1", "-trace", "-")
	if code != exitOK {
		t.Fatalf("replay -trace -: exit %d\n%s", code, errOut)
	}
	var events int
	for _, l := range strings.Split(out, "\n") {
		if eventLineRE.MatchString(l) {
			events++
		}
	}
	if events < 1000 {
		t.Errorf("replay -trace - printed %d trace lines to stdout, want many", events)
	}
	m := traceLineRE.FindStringSubmatch(out)
	if m == nil || m[1] != runTrace(t, "happy-path", "1") {
		t.Errorf("replay -trace - has trace line %v, want run's", m)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Errorf("replay -trace - created a file named -")
	}
}

func TestTour(t *testing.T) {
	start := time.Now()
	code, out, errOut := runCLI(t)
	if code != exitOK {
		t.Fatalf("no arguments: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"became leader", "crashed", "trace: ", "Go further",
		"go run ./cmd/raftsim list",
		"go run ./cmd/raftsim run -scenario",
		"go run ./cmd/raftsim replay -scenario " + defaultScenario + " -seed 1",
		"Election Safety",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the tour does not mention %q:\n%s", want, out)
		}
	}
	if !traceLineRE.MatchString(out) {
		t.Errorf("the tour has no trace line")
	}
	// Every scenario the tour suggests exists.
	for _, m := range regexp.MustCompile(`-scenario (\S+)`).FindAllStringSubmatch(out, -1) {
		if _, err := scenarios.Lookup(m[1]); err != nil {
			t.Errorf("the tour suggests scenario %q: %v", m[1], err)
		}
	}
	t.Logf("tour took %v", time.Since(start))
}

// failedOutcome is a hand-made outcome of a run that broke a check.
func failedOutcome() scenarios.Outcome {
	return scenarios.Outcome{Result: sim.Result{
		Scenario:    "happy-path",
		Seed:        7,
		TraceHash:   0x0123456789abcdef,
		VirtualTime: 1234 * time.Millisecond,
		Failure: &sim.Failure{Check: "Election Safety", Rule: "§5.2", Time: 1234 * time.Millisecond,
			Nodes: []node.ID{1, 3}, Term: 4, Detail: "both leaders"},
	}}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
	return lines[len(lines)-1]
}

func TestReportExitStatus(t *testing.T) {
	tests := []struct {
		name    string
		outcome scenarios.Outcome
		code    int
		want    []string
	}{
		{"check failed", failedOutcome(), exitFailed,
			[]string{"FAILED", "trace: 0123456789abcdef", "Election Safety", "both leaders", "seed 7"}},
		{"assertion failed", scenarios.Outcome{Result: sim.Result{Scenario: "leader-crash", Seed: 3}, Assertion: errors.New("no new leader")},
			exitFailed, []string{"FAILED", "no new leader"}},
		{"ok", scenarios.Outcome{Result: sim.Result{Scenario: "happy-path", Seed: 2, TraceHash: 0xff}}, exitOK,
			[]string{"ok", "trace: 00000000000000ff"}},
		{"setup error", scenarios.Outcome{Result: sim.Result{Scenario: "happy-path", Seed: 2}, Err: errors.New("bad config")}, exitUsage,
			[]string{"bad config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if code := report(&b, &tt.outcome); code != tt.code {
				t.Errorf("report = %d, want %d", code, tt.code)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("report output lacks %q:\n%s", w, out)
				}
			}
			if tt.code == exitFailed {
				want := "replay: go run ./cmd/raftsim replay -scenario " + tt.outcome.Scenario + " -seed "
				if l := lastLine(out); !strings.HasPrefix(l, want) {
					t.Errorf("last line %q, want the replay command (%q...)", l, want)
				}
			}
		})
	}
}

// TestRunManyFailure runs a made-up scenario whose probe fails on every seed: the sweep
// exits 1 and ends with a replay command.
func TestRunManyFailure(t *testing.T) {
	sc := scenarios.Scenario{
		Name: "always-fails",
		Configure: func(c *sim.Config) {
			c.Duration = time.Second
		},
		Script: func(w *sim.World) scenarios.Assertion {
			w.At(500*time.Millisecond, "probe", func(w *sim.World) { w.Failf("test probe", "fails on purpose") })
			return nil
		},
	}
	var b bytes.Buffer
	if code := runMany(&b, &b, sc, []uint64{1, 2}, &seedFlags{parallel: 2, htmlDir: t.TempDir()}, false); code != exitFailed {
		t.Errorf("runMany = %d, want %d", code, exitFailed)
	}
	out := b.String()
	if !strings.Contains(out, "2 seeds, 0 passed, 2 failed, 0 inconclusive") || strings.Count(out, "test probe") != 2 {
		t.Errorf("runMany output:\n%s", out)
	}
	if l := lastLine(out); !strings.HasPrefix(l, "replay: go run ./cmd/raftsim replay -scenario always-fails -seed 2") {
		t.Errorf("last line %q, want the replay command of seed 2", l)
	}
}

// TestRunZeroSeeds: "-seeds 0" asks for no seeds, which is not a sweep; it should be
// refused like "-seeds -2" rather than silently run seed 1.
func TestRunZeroSeeds(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "-scenario", "happy-path", "-seeds", "0")
	if code != exitUsage || !strings.Contains(errOut, "-seeds") {
		t.Errorf("-seeds 0: exit %d, want %d with a message about -seeds\nstdout:\n%s\nstderr:\n%s", code, exitUsage, out, errOut)
	}
}

// TestTraceToAPipe: a named pipe is a valid -trace (a reader may be waiting on it), and
// checking it must not open it: opening a pipe for writing blocks until a reader comes.
func TestTraceToAPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- checkTraceFile(fifo) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("checkTraceFile(a pipe) = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("checkTraceFile blocked on a named pipe")
	}
}
