package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"raftsim/scenarios"
	"raftsim/sim"
)

// TestRunManySeedTimeout runs a sweep in which seed 2 is far too long for its wall-clock
// limit (ten virtual hours) and seeds 1 and 3 are short: seed 2 is aborted by the limit
// and named, with its replay command, as neither a failure nor a pass; the sweep goes on
// to seed 3 and exits non-zero.
func TestRunManySeedTimeout(t *testing.T) {
	sc := scenarios.Scenario{
		Name: "sometimes-endless",
		Configure: func(c *sim.Config) {
			c.Duration = time.Second
			if c.Seed == 2 {
				c.Duration = 10 * time.Hour
			}
		},
		Script: func(w *sim.World) scenarios.Assertion { return nil },
	}
	var b bytes.Buffer
	start := time.Now()
	code := runMany(&b, &b, sc, []uint64{1, 2, 3}, &seedFlags{parallel: 1, seedTimeout: 300 * time.Millisecond, htmlDir: t.TempDir()}, false)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the sweep took %v: the limit did not stop seed 2", took)
	}
	out := b.String()
	if code != exitInconclusive {
		t.Errorf("runMany = %d, want %d\n%s", code, exitInconclusive, out)
	}
	for _, want := range []string{
		"seed 1  ok", "seed 2  ABORTED (wall-clock limit 300ms)", "seed 3  ok",
		"3 seeds, 2 passed, 0 failed, 0 inconclusive, 1 aborted (wall-clock limit)",
		"scenario sometimes-endless seed 2 aborted: wall-clock limit 300ms",
		"not a check failure and not a pass",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if l := lastLine(out); l != "replay: "+scenarios.ReplayCommand("sometimes-endless", 2, scenarios.Overrides{}) {
		t.Errorf("last line %q, want the replay command of seed 2", l)
	}
}

// TestSeedTimeoutDefault: without -seed-timeout a seed gets its run's virtual duration,
// at least a minute; the flag overrides it; a negative flag is a usage error before any
// seed runs.
func TestSeedTimeoutDefault(t *testing.T) {
	sc := scenarios.Scenario{Name: "long", Configure: func(c *sim.Config) { c.Duration = time.Duration(c.Seed) * time.Hour }}
	tests := []struct {
		seed uint64
		flag time.Duration
		want time.Duration
	}{
		{1, 0, time.Hour},
		{3, 0, 3 * time.Hour},
		{1, time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := seedTimeout(sc, tt.seed, tt.flag); got != tt.want {
			t.Errorf("seedTimeout(seed %d, flag %v) = %v, want %v", tt.seed, tt.flag, got, tt.want)
		}
	}
	short, _ := scenarios.Lookup("happy-path")
	if got := seedTimeout(short, 1, 0); got != minSeedTimeout {
		t.Errorf("happy-path seed timeout %v, want the minimum %v", got, minSeedTimeout)
	}
	for _, bad := range []string{"-1s", "0", "soon"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"run", "-scenario", "happy-path", "-seeds", "2", "-seed-timeout", bad}, &stdout, &stderr)
		if code != exitUsage || stdout.Len() > 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "-seed-timeout") {
			t.Errorf("-seed-timeout %s: exit %d, want %d with one line on stderr and no seed run:\nstdout: %s\nstderr: %s", bad, code, exitUsage, stdout.String(), stderr.String())
		}
	}
}
