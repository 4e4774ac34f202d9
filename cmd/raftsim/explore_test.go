package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/sim/explore"
	"raftsim/sim/host"
)

// TestExploreExhausts: a small search exhausts its space and exits 0, printing the
// distinct states and the verdict.
func TestExploreExhausts(t *testing.T) {
	code, out, errOut := runCLI(t, "explore", "-depth", "5", "-workers", "1")
	if code != exitOK || !strings.Contains(out, "exhausted: every state within the bounds was explored") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestExploreInconclusive: a search stopped by -max-states exits 3 and says it is not a
// pass; random walks that find nothing likewise.
func TestExploreInconclusive(t *testing.T) {
	for _, args := range [][]string{
		{"explore", "-depth", "8", "-max-states", "100"},
		{"explore", "-depth", "6", "-mode", "walk", "-walks", "20"},
	} {
		code, out, _ := runCLI(t, args...)
		if code != exitInconclusive || !strings.Contains(out, "INCONCLUSIVE") || !strings.Contains(out, "not a pass") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
}

// TestExploreUsageErrors: bad flags are one line on stderr and exit 2, before any search.
func TestExploreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-depth", "0"}, `-depth "0": want a whole number in 1..1000`},
		{[]string{"-nodes", "x"}, `-nodes "x": want a whole number in 1..9`},
		{[]string{"-mode", "bogus"}, `unknown mode "bogus"; valid: bfs, dfs, walk`},
		{[]string{"-reads", "lease"}, "lease reads need bounded clock drift"},
		{[]string{"-independence", "-mode", "dfs"}, "-independence works with -mode bfs only"},
		{[]string{"-walks", "5"}, "-walks is for -mode walk"},
		{[]string{"-for", "soon"}, `-for "soon": want a positive duration`},
		{[]string{"-schedule-out", t.TempDir()}, "is a directory"},
	} {
		code, out, errOut := runCLI(t, append([]string{"explore"}, tc.args...)...)
		if code != exitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// amnesiac never asks its host to persist its term and vote: the Durable State check
// fails at its first election.
type amnesiac struct{ *node.Node }

func (a *amnesiac) CloneServer() host.Server { return &amnesiac{a.Node.Clone()} }
func (a *amnesiac) Step(now time.Duration, in node.Input) node.Output {
	out := a.Node.Step(now, in)
	out.HardStateChanged = false
	return out
}

// TestExploreViolationSchedule: a violation is reported with its counterexample, written
// as a schedule file whose replay command is printed; exit 1. Replaying the file with the
// real node (which persists its vote) holds every check and says the expectation was not
// met.
func TestExploreViolationSchedule(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cex.schedule")
	o := explore.DefaultOptions()
	o.Depth, o.Workers = 4, 1
	o.NewServer = func(cfg node.Config, d node.DurableState) (host.Server, error) {
		n, err := node.New(cfg, d)
		return &amnesiac{n}, err
	}
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb}
	code := exploreJob(c, &job{kind: jobExplore, explore: o, scheduleOut: path})
	if code != exitFailed || !strings.Contains(out.String(), "VIOLATION: Durable State") ||
		!strings.Contains(out.String(), "replay: go run ./cmd/raftsim replay -schedule "+path) {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	text, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(text), `expect fail "Durable State"`) {
		t.Fatalf("schedule file: %v\n%s", err, text)
	}
	code, stdout, _ := runCLI(t, "replay", "-schedule", path, "-trace", filepath.Join(dir, "cex.trace"), "-v")
	if code != exitOK || !strings.Contains(stdout, "NOT as expected: expected \"Durable State\" to fail; every check held") {
		t.Fatalf("replay: exit %d\n%s", code, stdout)
	}
}

// TestReplayScheduleErrors: a schedule that does not parse, or does not fit its run, or
// flags that do not go with -schedule: one line, exit 2.
func TestReplayScheduleErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	head := "raftsim schedule v1\nseed 1\nnodes 3\nactions\n"
	bad := write("bad.schedule", head+"deliever m1 n1->n2 vote\nend\n")
	misfit := write("misfit.schedule", head+"deliver m4 n1->n2 vote\nend\n")
	good := write("good.schedule", head+"fire n1\nend\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-schedule", bad}, `schedule:5: unknown action "deliever"`},
		{[]string{"-schedule", misfit}, "m4 is not in flight"},
		{[]string{"-schedule", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"-schedule", good, "-seed", "3"}, "-schedule states its own cluster"},
		{[]string{"-scenario", "leader-crash", "-seed", "1", "-trace", "-", "-v"}, "-v is for -schedule replays"},
	} {
		code, out, errOut := runCLI(t, append([]string{"replay"}, tc.args...)...)
		if code != exitUsage || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", tc.args, code, out, errOut, tc.want)
		}
	}
	code, out, _ := runCLI(t, "replay", "-schedule", good)
	if code != exitOK || !strings.Contains(out, "as expected: every check held") {
		t.Errorf("good schedule: exit %d\n%s", code, out)
	}
}
