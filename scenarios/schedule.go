package scenarios

import (
	"fmt"

	"raftsim/sim"
	"raftsim/sim/schedule"
)

// RunSchedule runs a schedule through the simulator with every check: a timed one
// (version 2) through its scenario (RunTimed); a version 1 one (a model checker's
// counterexample, say) with sim.RunSchedule, then checks the clients' history, as Run
// does for a scenario. A schedule that does not fit its run (a packet not in flight...)
// is the outcome's Err. opts.Overrides are not used: a schedule states its options.
// replay is the command that replays it, for the report.
func RunSchedule(s *schedule.Schedule, opts Options, replay string) Outcome {
	if s.Version == schedule.VersionTimed {
		return RunTimed(s, opts, replay)
	}
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
// describes both in words. A schedule without an expectation meets it trivially. An
// expected check is met by the failure's FailureKey, or by its check's name (so that
// "panic" names any panic).
func ExpectationMet(s *schedule.Schedule, o *Outcome) (bool, string) {
	got := "every check held"
	key := FailureKey(o)
	if key != "" {
		got = fmt.Sprintf("%q failed", key)
	}
	switch s.Expect.Kind {
	case schedule.ExpectOK:
		return key == "", "expected every check to hold; " + got
	case schedule.ExpectFail:
		return sameFailure(o, s.Expect.Check), fmt.Sprintf("expected %q to fail; %s", s.Expect.Check, got)
	}
	return true, got
}
