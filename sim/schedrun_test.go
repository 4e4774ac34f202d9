package sim

import (
	"os"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/sim/schedule"
)

const electN1 = `raftsim schedule v1
seed 1
nodes 3
clients 1
actions
fire n1
deliver m1 n1->n2 vote
deliver m3 n2->n1 vote-resp
invoke c1 n1 put "k0" "x"
deliver m6 c1->n1 request
`

func runText(t *testing.T, text string) (Result, error) {
	t.Helper()
	s, err := schedule.Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return RunSchedule(ScheduleConfig(s), s)
}

// TestRunScheduleElects: a schedule elects n1 in abstract time (n1's clock moves only
// when its timer fires) and its client's put is invoked and reaches the leader.
func TestRunScheduleElects(t *testing.T) {
	var trace []string
	s, _ := schedule.Parse([]byte(electN1 + "end\n"))
	cfg := ScheduleConfig(s)
	cfg.Trace = func(l string) { trace = append(trace, l) }
	res, err := RunSchedule(cfg, s)
	if err != nil || res.Failure != nil {
		t.Fatalf("err %v, failure %v", err, res.Failure)
	}
	if len(res.Terms) != 1 || res.Terms[0].Leader != 1 || len(res.History) != 1 || !res.History[0].Unknown {
		t.Fatalf("terms %+v, history %+v; want n1 leading term 1 and one pending put\n%s", res.Terms, res.History, strings.Join(trace, "\n"))
	}
}

// TestRunScheduleRejectsMisfits: an action that does not fit the run is an error naming
// the action.
func TestRunScheduleRejectsMisfits(t *testing.T) {
	for _, tc := range []struct{ actions, want string }{
		{"deliver m9 n1->n2 vote\n", "m9 is not in flight"},
		{"fire n1\ndeliver m1 n1->n3 vote\n", "m1 is vote n1->n2, not vote n1->n3"},
		{"fire n1\ndeliver m1 n1->n2 app\n", "m1 is vote n1->n2, not app n1->n2"},
		{"restart n2\n", "n2 is running"},
		{"crash n2\ncrash n2\n", "n2 is already down"},
		{"crash n2\nfire n2\n", "n2 has no armed timer"},
		{"retry c1 n1\n", "c1 has no operation outstanding"},
		{`invoke c1 n1 get "k0"` + "\n" + `invoke c1 n2 get "k0"` + "\n", "c1 already has an operation outstanding"},
		{"save n1\n", "n1 has no snapshot write in progress"},
	} {
		text := "raftsim schedule v1\nseed 1\nnodes 3\nclients 1\nactions\n" + tc.actions + "end\n"
		_, err := runText(t, text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.actions, err, tc.want)
		}
	}
}

// TestRunScheduleChecks: a schedule driving a planted bug fails the check it breaks: a
// server that acknowledges a vote without making it durable fails Durable State.
func TestRunScheduleChecks(t *testing.T) {
	s, _ := schedule.Parse([]byte(electN1 + "end\n"))
	cfg := ScheduleConfig(s)
	cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
		n, err := node.New(c, d)
		return &forgetful{n}, err
	}
	res, err := RunSchedule(cfg, s)
	if err != nil || res.Failure == nil || res.Failure.Check != "Durable State" {
		t.Fatalf("err %v, failure %v; want Durable State", err, res.Failure)
	}
}

// forgetful never asks the host to persist its hard state.
type forgetful struct{ *node.Node }

func (f *forgetful) Step(now time.Duration, in node.Input) node.Output {
	out := f.Node.Step(now, in)
	out.HardStateChanged = false
	return out
}

// TestExampleScheduleReplays: the format's example file (every header, every action
// kind) replays in the simulator and comes to what it expects.
func TestExampleScheduleReplays(t *testing.T) {
	data, err := os.ReadFile("schedule/testdata/example.schedule")
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunSchedule(ScheduleConfig(s), s)
	if err != nil || res.Failure != nil || s.Expect.Kind != schedule.ExpectOK {
		t.Fatalf("err %v, failure %v, expect %v", err, res.Failure, s.Expect)
	}
}
