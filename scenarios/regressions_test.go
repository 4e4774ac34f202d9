package scenarios

import (
	"bufio"
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

// parseRegressions reads the regression list: "scenario seed reason...", # comments.
func parseRegressions(path string) ([]regression, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []regression
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, &lineError{path, n, "want: scenario seed reason"}
		}
		if _, err := Lookup(fields[0]); err != nil {
			return nil, &lineError{path, n, err.Error()}
		}
		seed, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil || seed == 0 {
			return nil, &lineError{path, n, "seed must be a positive integer"}
		}
		out = append(out, regression{fields[0], seed, strings.Join(fields[2:], " "), n})
	}
	return out, s.Err()
}

type lineError struct {
	path string
	line int
	msg  string
}

func (e *lineError) Error() string { return e.path + ":" + strconv.Itoa(e.line) + ": " + e.msg }

// TestRegressionSeeds replays every seed listed in testdata/regressions.txt.
func TestRegressionSeeds(t *testing.T) {
	regs, err := parseRegressions(regressionsFile)
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
	for _, bad := range []string{"churn 0 zero seed", "churn x not a number", "nope 3 unknown scenario", "churn 3"} {
		path := t.TempDir() + "/r.txt"
		if err := os.WriteFile(path, []byte("# header\n"+bad+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := parseRegressions(path); err == nil || !strings.Contains(err.Error(), ":2:") {
			t.Errorf("%q: got error %v, want one naming line 2", bad, err)
		}
	}
}
