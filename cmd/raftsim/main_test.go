package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

func TestBadUsage(t *testing.T) {
	names := scenarios.Names()
	missingDir := filepath.Join(t.TempDir(), "no", "such", "dir", "t.txt")
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"unknown scenario", []string{"run", "-scenario", "nope", "-seed", "1"}, append([]string{`unknown scenario "nope"`}, names...)},
		{"seed abc", []string{"run", "-scenario", "happy-path", "-seed", "abc"}, []string{`malformed seed "abc"`, "positive"}},
		{"seed 0", []string{"run", "-scenario", "happy-path", "-seed", "0"}, []string{`malformed seed "0"`}},
		{"seed -1", []string{"run", "-scenario", "happy-path", "-seed", "-1"}, []string{`malformed seed "-1"`}},
		{"seed too big", []string{"run", "-scenario", "happy-path", "-seed", "18446744073709551616"}, []string{"malformed seed"}},
		{"seed and seeds", []string{"run", "-scenario", "happy-path", "-seed", "1", "-seeds", "3"}, []string{"not both"}},
		{"negative seeds", []string{"run", "-scenario", "happy-path", "-seeds", "-2"}, []string{"-seeds", "positive"}},
		{"zero parallel", []string{"run", "-scenario", "happy-path", "-seeds", "2", "-parallel", "0"}, []string{"-parallel"}},
		{"missing scenario", []string{"run", "-seed", "1"}, append([]string{"-scenario is required"}, names...)},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "raftsim list", "raftsim run"}},
		{"unknown flag", []string{"run", "-scenario", "happy-path", "-colour"}, []string{"-colour"}},
		{"stray args to run", []string{"run", "-scenario", "happy-path", "-seed", "1", "extra"}, []string{"unexpected arguments: extra"}},
		{"stray args to list", []string{"list", "everything"}, []string{"unexpected arguments: everything"}},
		{"replay without trace", []string{"replay", "-scenario", "happy-path", "-seed", "1"}, []string{"-trace", "required"}},
		{"replay without seed", []string{"replay", "-scenario", "happy-path", "-trace", "-"}, []string{"-seed", "required"}},
		{"replay unknown scenario", []string{"replay", "-scenario", "nope", "-seed", "1", "-trace", "-"}, append([]string{`unknown scenario "nope"`}, names...)},
		{"replay bad seed", []string{"replay", "-scenario", "happy-path", "-seed", "x", "-trace", "-"}, []string{`malformed seed "x"`}},
		{"replay unwritable file", []string{"replay", "-scenario", "happy-path", "-seed", "1", "-trace", missingDir}, []string{"raftsim replay", "t.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, errOut)
				}
			}
			if traceLineRE.MatchString(out) {
				t.Errorf("bad usage still ran something:\n%s", out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, _ := runCLI(t, args...)
		if code != exitOK || !strings.Contains(out, "raftsim replay -scenario NAME -seed N -trace FILE") {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
	}
	for _, cmd := range []string{"list", "run", "replay"} {
		code, _, errOut := runCLI(t, cmd, "-h")
		if code != exitOK || !strings.Contains(errOut, "usage: raftsim "+cmd) {
			t.Errorf("%s -h: exit %d, stderr:\n%s", cmd, code, errOut)
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
