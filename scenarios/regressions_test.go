package scenarios

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

const regressionsFile = "../testdata/regressions.txt"

// regression is one line of testdata/regressions.txt.
type regression struct {
	scenario string
	seed     uint64
	reason   string
	line     int
}

// String formats r as a line of the regression list, which parseRegressions reads back.
func (r regression) String() string {
	return r.scenario + " " + strconv.FormatUint(r.seed, 10) + " " + r.reason
}

// loadRegressions reads the regression list at path.
func loadRegressions(path string) ([]regression, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseRegressions(path, f)
}

// parseRegressions reads a regression list, named name in errors: one "scenario seed
// reason..." per line, with a known scenario, a positive decimal seed and a reason of at
// least one word (its words are joined by single spaces); blank lines and # comments are
// skipped. The first bad line is an error naming it; so is a read error, such as a line
// longer than bufio.MaxScanTokenSize.
func parseRegressions(name string, r io.Reader) ([]regression, error) {
	var out []regression
	s := bufio.NewScanner(r)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, &lineError{name, n, "want: scenario seed reason"}
		}
		if _, err := Lookup(fields[0]); err != nil {
			return nil, &lineError{name, n, err.Error()}
		}
		seed, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil || seed == 0 {
			return nil, &lineError{name, n, "seed must be a positive integer below 2^64"}
		}
		out = append(out, regression{fields[0], seed, strings.Join(fields[2:], " "), n})
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

type lineError struct {
	path string
	line int
	msg  string
}

func (e *lineError) Error() string { return e.path + ":" + strconv.Itoa(e.line) + ": " + e.msg }

// TestRegressionSeeds replays every seed listed in testdata/regressions.txt.
func TestRegressionSeeds(t *testing.T) {
	regs, err := loadRegressions(regressionsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range regs {
		sc, _ := Lookup(r.scenario)
		o := Run(sc, r.seed, Options{})
		if o.Failed() {
			t.Errorf("regression (%s, line %d) is back: %s", r.reason, r.line, Report(&o))
		}
	}
}

func TestParseRegressionsRejectsBadLines(t *testing.T) {
	for _, bad := range []string{"churn 0 zero seed", "churn x not a number", "nope 3 unknown scenario", "churn 3",
		"churn -3 negative seed", "churn 18446744073709551616 seed above 2^64-1", "churn 0x10 hexadecimal seed"} {
		if _, err := parseRegressions("r.txt", strings.NewReader("# header\n"+bad+"\n")); err == nil || !strings.Contains(err.Error(), "r.txt:2:") {
			t.Errorf("%q: got error %v, want one naming line 2", bad, err)
		}
	}
}

// A line longer than the scanner's limit is a read error, not a panic nor a silent stop.
func TestParseRegressionsLongLine(t *testing.T) {
	long := "churn 3 " + strings.Repeat("x", bufio.MaxScanTokenSize)
	if regs, err := parseRegressions("r.txt", strings.NewReader(long)); err == nil {
		t.Fatalf("parsed %d regressions from an over-long line, want an error", len(regs))
	}
}

// The committed list parses, and each line reads back from its own String.
func TestRegressionsFileRoundTrips(t *testing.T) {
	regs, err := loadRegressions(regressionsFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) == 0 {
		t.Fatal("no regressions in " + regressionsFile)
	}
	checkRegressionsRoundTrip(t, regs)
}

// checkRegressionsRoundTrip checks what parseRegressions accepted: every field valid, and
// the list formatted with String parses back to the same list.
func checkRegressionsRoundTrip(t *testing.T, regs []regression) {
	t.Helper()
	var b strings.Builder
	prev := 0
	for _, r := range regs {
		if _, err := Lookup(r.scenario); err != nil || r.seed == 0 || r.line <= prev {
			t.Fatalf("accepted %+v (after line %d): %v", r, prev, err)
		}
		if r.reason == "" || strings.Join(strings.Fields(r.reason), " ") != r.reason {
			t.Fatalf("accepted reason %q: want words joined by single spaces", r.reason)
		}
		prev = r.line
		b.WriteString(r.String() + "\n")
	}
	again, err := parseRegressions("again", strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("formatted list does not parse: %v\n%s", err, b.String())
	}
	if len(again) != len(regs) {
		t.Fatalf("round trip: %d regressions, want %d", len(again), len(regs))
	}
	for i, r := range again {
		if w := regs[i]; r.scenario != w.scenario || r.seed != w.seed || r.reason != w.reason || r.line != i+1 {
			t.Fatalf("round trip: %+v, want %+v at line %d", r, w, i+1)
		}
	}
}

// FuzzParseRegressions feeds parseRegressions arbitrary text: it never panics, and what
// it accepts is valid and survives a round trip through String.
func FuzzParseRegressions(f *testing.F) {
	for _, s := range []string{
		"# comment\n\nstandard 98 a reason\n",
		"swarm 2984 two  spaced\treason \r\n  churn 7 x",
		"churn 0 zero seed", "churn 18446744073709551615 max", "nope 3 unknown", "churn 3",
		"\xff\xfe churn 3 bad utf-8 \xc3", "churn\u00a03\u00a0non-breaking spaces",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		regs, err := parseRegressions("fuzz", strings.NewReader(text))
		if err != nil {
			if regs != nil {
				t.Fatalf("error %v with %d regressions", err, len(regs))
			}
			return
		}
		checkRegressionsRoundTrip(t, regs)
	})
}
