package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"raftsim/sim/schedule"
)

// regressionSchedules holds the regression cases kept as schedules (raftsim shrink
// -regression writes there).
const regressionSchedules = "../testdata/schedules"

// TestRegressionSchedules replays every schedule of testdata/schedules and asserts its
// expect line. A file's second line says what it shows ("# ..."). A case whose third line
// names a planted bug ("# planted bug: SLUG", a bug of plantedBugs) is replayed with that
// bug, where it must fail as it expects, and without it, where it must not fail that way
// (it may fail otherwise: a shrunk run lacks what its scenario's assertion wants, such as
// churn's faults).
func TestRegressionSchedules(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(regressionSchedules, "*.schedule"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no regression schedules in %s (%v)", regressionSchedules, err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".schedule"), func(t *testing.T) {
			t.Parallel()
			sch, bug := readRegression(t, path)
			replay := "go run ./cmd/raftsim replay -schedule " + strings.TrimPrefix(path, "../")
			opts := Options{}
			if bug != "" {
				b, ok := plantedBugNamed(bug)
				if !ok {
					t.Fatalf("%s plants %q, which is not a planted bug of plantedBugs", path, bug)
				}
				opts.NewServer = b.newServer
			}
			o := RunSchedule(sch, opts, replay)
			if o.Err != nil {
				t.Fatalf("%s does not replay: %v", path, o.Err)
			}
			if ok, what := ExpectationMet(sch, &o); !ok {
				t.Fatalf("%s: %s\n%s", path, what, Report(&o))
			}
			if bug == "" {
				return
			}
			if o := RunSchedule(sch, Options{}, replay); o.Err != nil || sameFailure(&o, sch.Expect.Check) {
				t.Fatalf("%s fails %q without its planted bug %s too: the bug is not what it shows (%v)", path, FailureKey(&o), bug, o.Err)
			}
		})
	}
}

// readRegression reads a regression schedule, checks its second line says what it shows,
// and returns it with the slug of its planted bug ("" for none).
func readRegression(t *testing.T, path string) (*schedule.Schedule, string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 4)
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "# ") || len(strings.TrimSpace(lines[1])) < 10 {
		t.Fatalf("%s: the second line must say what the case shows (\"# ...\")", path)
	}
	sch, err := schedule.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if sch.Expect.Kind == schedule.ExpectNone {
		t.Fatalf("%s has no expect line: a regression case states its outcome", path)
	}
	if bug, ok := strings.CutPrefix(lines[2], plantedPrefix); ok {
		return sch, bug
	}
	return sch, ""
}
