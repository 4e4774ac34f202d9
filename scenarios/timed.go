package scenarios

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"

	"raftsim/sim"
	"raftsim/sim/schedule"
)

// This file turns a seeded scenario run into a timed schedule (schedule version 2) and
// replays one: the form of an exported run, a shrunk failure and a regression case.

// Export runs scenario s with seed, as Run does, and records the run as a timed schedule
// (see sim.Config.Record): replaying it (RunTimed) gives the same run, with the same trace
// hash. The schedule's expect line says what the run came to: ok, or the failure by its
// FailureKey; it has none when the run was inconclusive, interrupted or could not start.
func Export(s Scenario, seed uint64, opts Options) (Outcome, *schedule.Schedule) {
	cfg := s.Config(seed)
	out := Outcome{Result: sim.Result{Scenario: s.Name, Seed: seed}, Overrides: opts.Overrides}
	if err := opts.Overrides.Apply(&cfg); err != nil {
		out.Err = err
		return out, nil
	}
	sch := &schedule.Schedule{Version: schedule.VersionTimed, Scenario: s.Name, Seed: seed,
		Timed: timedHeaders(opts.Overrides, cfg.Net.DelayMin)}
	cfg.Record = func(a schedule.Action) { sch.Actions = append(sch.Actions, a) }
	out = runConfigured(s, cfg, opts, out)
	sch.Expect = expectOf(&out)
	return out, sch
}

// timedHeaders are a timed schedule's headers for a run with overrides ov and the
// network's minimum delay (a packet without a line is delivered after it).
func timedHeaders(ov Overrides, delay time.Duration) schedule.Timed {
	t := schedule.Timed{Delay: delay, ReadMode: ov.Reads}
	t.PreVote, t.CheckQuorum = switchOf(ov.PreVote), switchOf(ov.CheckQuorum)
	return t
}

func switchOf(b *bool) schedule.Switch {
	switch {
	case b == nil:
		return schedule.SwitchUnset
	case *b:
		return schedule.SwitchOn
	}
	return schedule.SwitchOff
}

func boolOf(s schedule.Switch) *bool {
	if s == schedule.SwitchUnset {
		return nil
	}
	b := s == schedule.SwitchOn
	return &b
}

// TimedConfig is the configuration a timed schedule runs with: its scenario's for its
// seed, with the schedule's overrides (read mode, PreVote, CheckQuorum) and its nodes,
// clients and duration where it gives them, following the schedule (Config.Replay). It
// returns the scenario too, and an error for an unknown scenario or a configuration the
// overrides make invalid.
func TimedConfig(sch *schedule.Schedule) (Scenario, sim.Config, Overrides, error) {
	s, err := Lookup(sch.Scenario)
	if err != nil {
		return Scenario{}, sim.Config{}, Overrides{}, err
	}
	t := &sch.Timed
	ov := Overrides{Reads: t.ReadMode, PreVote: boolOf(t.PreVote), CheckQuorum: boolOf(t.CheckQuorum)}
	cfg := s.Config(sch.Seed)
	if err := ov.Apply(&cfg); err != nil {
		return s, cfg, ov, err
	}
	if t.Nodes > 0 {
		cfg.Nodes = t.Nodes
	}
	if t.Clients > 0 {
		cfg.Clients.Count = t.Clients
	}
	if t.Duration > 0 {
		cfg.Duration = t.Duration
	}
	cfg.Replay = sch
	return s, cfg, ov, cfg.Validate()
}

// RunTimed replays a timed schedule (version 2) through its scenario, with every check,
// the history check and the scenario's assertion, as Run does. A schedule that does not
// fit (an unknown scenario, a server the run does not have...) is the outcome's Err.
// replay is the command that replays it, for the report.
func RunTimed(sch *schedule.Schedule, opts Options, replay string) Outcome {
	out, _ := runTimed(sch, opts, false)
	out.Replay = replay
	return out
}

// Rerecord replays a timed schedule, as RunTimed does, and records what the replay did:
// the schedule it returns lists only the lines the run used (the faults that happened,
// the operations invoked, the packets whose fate was not a plain delivery) and replays to
// the same run. Its expect line states the outcome, as Export's does.
func Rerecord(sch *schedule.Schedule, opts Options) (Outcome, *schedule.Schedule) {
	return runTimed(sch, opts, true)
}

func runTimed(sch *schedule.Schedule, opts Options, record bool) (Outcome, *schedule.Schedule) {
	out := Outcome{Result: sim.Result{Scenario: sch.Scenario, Seed: sch.Seed}}
	s, cfg, ov, err := TimedConfig(sch)
	out.Overrides = ov
	if err != nil {
		out.Err = err
		return out, nil
	}
	if !record {
		return runConfigured(s, cfg, opts, out), nil
	}
	rec := *sch
	rec.Actions, rec.Expect = nil, schedule.Expect{}
	cfg.Record = func(a schedule.Action) { rec.Actions = append(rec.Actions, a) }
	out = runConfigured(s, cfg, opts, out)
	rec.Expect = expectOf(&out)
	sortTimed(rec.Actions)
	return out, &rec
}

// sortTimed puts a recording's timed actions in time order, each kind of line keeping its
// places: a replayed operation invoked after its line's time is recorded with that time
// (which seeds the servers it tries), so it may come after a later one.
func sortTimed(actions []schedule.Action) {
	var timed []schedule.Action
	for _, a := range actions {
		if !isPacket(&a) {
			timed = append(timed, a)
		}
	}
	slices.SortStableFunc(timed, func(a, b schedule.Action) int { return cmp.Compare(a.At, b.At) })
	k := 0
	for i := range actions {
		if !isPacket(&actions[i]) {
			actions[i] = timed[k]
			k++
		}
	}
}

// expectOf is the expect line that states o's outcome: ok, the failure by its
// FailureKey, or none for a run that was inconclusive, interrupted or could not start.
func expectOf(o *Outcome) schedule.Expect {
	switch key := FailureKey(o); {
	case o.Err != nil || o.Interrupted || o.Inconclusive():
		return schedule.Expect{}
	case key == "":
		return schedule.Expect{Kind: schedule.ExpectOK}
	default:
		return schedule.Expect{Kind: schedule.ExpectFail, Check: key}
	}
}

// FailureKey names what failed first in o: the identity a shrunk run must keep, and what
// a schedule's expect line states. It is the check's name for a check ("Election Safety",
// a probe's such as "new leader elected", "Linearizability"); for a scenario's assertion,
// "assertion: " and the words of the assertion's first line; for a panic, "panic: " and
// the words of the panic's first line. The words leave out every token holding a digit
// and strip punctuation at their ends, so that the same assertion with other numbers, or
// the same panic on another node, is the same failure. "" when nothing failed, or the run
// could not start (Err).
func FailureKey(o *Outcome) string {
	switch {
	case o.Err != nil:
		return ""
	case o.Failure != nil && o.Failure.Check == "panic":
		return "panic: " + words(o.Failure.Detail)
	case o.Failure != nil:
		return o.Failure.Check
	case o.unexpectedViolation():
		return "Linearizability"
	case o.Assertion != nil:
		return "assertion: " + words(o.Assertion.Error())
	}
	return ""
}

// wordsMax bounds a failure key's words, so that it fits an expect line.
const wordsMax = 160

// words is the first line of s without the tokens that hold a digit, punctuation trimmed
// from the ends of the others, at most wordsMax bytes.
func words(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	var b strings.Builder
	for _, f := range strings.Fields(line) {
		if strings.ContainsFunc(f, unicode.IsDigit) {
			continue
		}
		f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) })
		if f == "" || b.Len()+len(f)+1 > wordsMax {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	return b.String()
}

// sameFailure reports whether o failed as key says (FailureKey), or, for a key that is a
// bare check name, failed that check.
func sameFailure(o *Outcome, key string) bool {
	return key != "" && (FailureKey(o) == key || (o.Failure != nil && o.Failure.Check == key))
}

// plantedPrefix starts the third line of a regression case that fails only with a planted
// bug (see RegressionText).
const plantedPrefix = "# planted bug: "

// RegressionText is s as a regression case of testdata/schedules: its version line, a
// line saying what it shows (why), the line naming the planted bug it needs if any
// ("# planted bug: SLUG", one of the tests' planted bugs), then the schedule. The extra
// lines are comments, so the file parses as s does.
func RegressionText(s *schedule.Schedule, why, plantedBug string) []byte {
	first, rest, _ := strings.Cut(string(s.Format()), "\n")
	text := first + "\n# " + why + "\n"
	if plantedBug != "" {
		text += plantedPrefix + plantedBug + "\n"
	}
	return []byte(text + rest)
}
