package scenarios

import (
	"fmt"

	"raftsim/linearizability"
	"raftsim/sim"
	"raftsim/sim/schedule"
)

// RunSchedule runs a schedule (a model checker's counterexample, say) through the
// simulator (sim.RunSchedule) with every check, then checks the clients' history, as Run
// does for a scenario. A schedule that does not fit its run (a packet not in flight...)
// is the outcome's Err. opts.Overrides are not used: a schedule states its options.
// replay is the command that replays it, for the report.
func RunSchedule(s *schedule.Schedule, opts Options, replay string) Outcome {
	cfg := sim.ScheduleConfig(s)
	cfg.Trace = opts.Trace
	out := Outcome{Result: sim.Result{Scenario: cfg.Scenario, Seed: s.Seed}, Replay: replay}
	res, err := sim.RunSchedule(cfg, s)
	if err != nil {
		out.Err = err
		return out
	}
	out.Result = res
	if out.Failure == nil {
		out.checkHistory(opts)
	}
	return out
}

// ExpectationMet says whether a schedule replay came to what the schedule expects, and
// describes both in words. A schedule without an expectation meets it trivially.
func ExpectationMet(s *schedule.Schedule, o *Outcome) (bool, string) {
	got := "every check held"
	check := ""
	switch {
	case o.Failure != nil:
		check = o.Failure.Check
	case o.Linearizability.Verdict == linearizability.NotLinearizable:
		check = "Linearizability"
	}
	if check != "" {
		got = fmt.Sprintf("%q failed", check)
	}
	switch s.Expect.Kind {
	case schedule.ExpectOK:
		return check == "", "expected every check to hold; " + got
	case schedule.ExpectFail:
		return check == s.Expect.Check, fmt.Sprintf("expected %q to fail; %s", s.Expect.Check, got)
	}
	return true, got
}
