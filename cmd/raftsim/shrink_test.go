package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShrinkBadUsage: shrink's mistakes are refused before anything runs.
func TestShrinkBadUsage(t *testing.T) {
	dir := t.TempDir()
	v1 := filepath.Join(dir, "v1.schedule")
	os.WriteFile(v1, []byte("raftsim schedule v1\nseed 1\nnodes 3\nactions\nend\n"), 0o644)
	for _, tc := range []usageCase{
		{"nothing to shrink", []string{"shrink"}, []string{"give -scenario NAME", "-schedule FILE"}},
		{"schedule and scenario", []string{"shrink", "-schedule", v1, "-scenario", "churn"}, []string{"takes no -scenario"}},
		{"seeds", []string{"shrink", "-scenario", "churn", "-seeds", "3"}, []string{"-seeds", "shrink's flags are"}},
		{"out and regression", []string{"shrink", "-scenario", "churn", "-out", "x", "-regression", "y", "-why", "z"}, []string{"give one"}},
		{"regression without why", []string{"shrink", "-scenario", "churn", "-regression", "y"}, []string{"-why TEXT"}},
		{"bad regression name", []string{"shrink", "-scenario", "churn", "-regression", "Bad Name", "-why", "it shows"}, []string{"lower-case letters"}},
		{"max-runs zero", []string{"shrink", "-scenario", "churn", "-max-runs", "0"}, []string{`-max-runs "0"`}},
		{"check-budget bad", []string{"shrink", "-scenario", "churn", "-check-budget", "soon"}, []string{`-check-budget "soon"`}},
		{"version 1 schedule", []string{"shrink", "-schedule", v1}, []string{"version 1 schedule", "timed one"}},
		{"missing schedule", []string{"shrink", "-schedule", filepath.Join(dir, "nope")}, []string{"no such file"}},
		{"out is a directory", []string{"shrink", "-scenario", "churn", "-out", dir}, []string{"is a directory"}},
		{"schedule-out with seeds", []string{"run", "-scenario", "churn", "-seeds", "2", "-schedule-out", "x"}, []string{"one -seed"}},
		{"schedule-out unwritable", []string{"run", "-scenario", "churn", "-schedule-out", filepath.Join(dir, "no", "x")}, []string{"-schedule-out"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkUsageError(t, tc) })
	}
	// A passing seed has nothing to shrink: a usage error, after the one run.
	code, _, errOut := runCLI(t, "shrink", "-scenario", "happy-path", "-seed", "1", "-out", filepath.Join(dir, "x"))
	if code != exitUsage || !strings.Contains(errOut, "fails no check: nothing to shrink") {
		t.Errorf("shrinking a passing seed: exit %d, stderr %q", code, errOut)
	}
}

// TestExportShrinkReplay: a failing run exported with run -schedule-out replays with the
// same trace hash; shrink -schedule shrinks it into a smaller schedule that replays as it
// expects; shrink -regression writes a regression case with the line saying what it shows.
func TestExportShrinkReplay(t *testing.T) {
	dir := t.TempDir()
	exported := filepath.Join(dir, "lm.schedule")
	code, out, _ := runCLI(t, "run", "-scenario", "leader-moves", "-seed", "4", "-reads", "local", "-html", dir, "-schedule-out", exported)
	if code != exitFailed || !strings.Contains(out, "schedule: "+exported) {
		t.Fatalf("run -schedule-out of a failing seed: exit %d\n%s", code, out)
	}
	runHash := traceLineRE.FindStringSubmatch(out)
	code, out, _ = runCLI(t, "replay", "-schedule", exported, "-html", dir)
	replayHash := traceLineRE.FindStringSubmatch(out)
	if code != exitFailed || runHash == nil || replayHash == nil || runHash[1] != replayHash[1] || !strings.Contains(out, "as expected") {
		t.Fatalf("the replay of the export: exit %d, trace %v (the run's %v)\n%s", code, replayHash, runHash, out)
	}
	shrunk := filepath.Join(dir, "lm.shrunk.schedule")
	code, out, errOut := runCLI(t, "shrink", "-schedule", exported, "-out", shrunk, "-max-runs", "400")
	if code != exitOK || !strings.Contains(out, "before: ") || !strings.Contains(out, "after: ") || !strings.Contains(out, "replay: go run ./cmd/raftsim replay -schedule "+shrunk) {
		t.Fatalf("shrink -schedule: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "replay", "-schedule", shrunk, "-html", dir)
	if code != exitFailed || !strings.Contains(out, `as expected: expected "Linearizability" to fail`) {
		t.Fatalf("the shrunk schedule's replay: exit %d\n%s", code, out)
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	os.MkdirAll(regressionDir, 0o755)
	code, out, errOut = runCLI(t, "shrink", "-schedule", shrunk, "-regression", "stale-local-read", "-why", "local reads are stale after a leader moves", "-max-runs", "50")
	data, err := os.ReadFile(filepath.Join(regressionDir, "stale-local-read.schedule"))
	if code != exitOK || err != nil || !strings.HasPrefix(string(data), "raftsim schedule v2\n# local reads are stale after a leader moves\n") {
		t.Fatalf("shrink -regression: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	code, _, errOut = runCLI(t, "shrink", "-schedule", shrunk, "-regression", "stale-local-read", "-why", "again")
	if code != exitUsage || !strings.Contains(errOut, "already exists") {
		t.Fatalf("shrink -regression over an existing case: exit %d, %s", code, errOut)
	}
}
