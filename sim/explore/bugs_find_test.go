package explore

import (
	"testing"

	"raftsim/node"
	"raftsim/sim"
	"raftsim/sim/host"
	"raftsim/sim/schedule"
)

// plantedCase is a planted bug and the bounds within which breadth-first search must
// find it, with the check it must fail and the length of its shortest counterexample.
type plantedCase struct {
	name   string
	bug    func() host.NewServer
	check  string
	length int
	bounds func(o *Options)
}

func plantedCases() []plantedCase {
	return []plantedCase{
		// §5.4.1: n1 leads term 1 and commits its no-op with n3; n2 times out and wins
		// term 2 with n1's vote although its log lacks the committed entry.
		{"no up-to-date check (§5.4.1)", bugNoUpToDateCheck, "Leader Completeness", 8, func(o *Options) {
			o.Depth, o.Ops = 8, 0
		}},
		// Figure 2: a follower acknowledges entries it did not append. The host sees the
		// acknowledgement leave without the entries on the disk (Durable State), one
		// transition before the leader would commit an entry only it holds (Commit Quorum).
		{"acknowledged without appending (Figure 2)", bugAckWithoutAppend, "Durable State", 4, func(o *Options) {
			o.Depth, o.Ops = 6, 0
		}},
		// Figure 2: votedFor must survive a restart; the host sees the server forget it.
		{"vote forgotten across a restart (Figure 2)", bugForgetVote, "Durable State", 3, func(o *Options) {
			o.Depth, o.Ops, o.Crashes, o.Restarts = 5, 0, 1, 1
		}},
	}
}

// TestPlantedBugsFound: breadth-first search finds each planted bug, its counterexample
// is a shortest one (a search with two more levels of depth finds one of the same
// length), and its schedule, written out and parsed back, fails the same check in the
// simulator.
func TestPlantedBugsFound(t *testing.T) {
	for _, tc := range plantedCases() {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.NewServer = tc.bug()
			tc.bounds(&o)
			r := mustExplore(t, o)
			if r.Verdict != Violation || r.Failure.Check != tc.check || len(r.Path) != tc.length {
				t.Fatalf("%v, failure %v, path of %d; want %s in %d", r.Verdict, r.Failure, len(r.Path), tc.check, tc.length)
			}
			deeper := o
			deeper.Depth += 2
			if r2 := mustExplore(t, deeper); r2.Failure == nil || len(r2.Path) != len(r.Path) {
				t.Errorf("with depth %d: path of %d, want the same shortest length %d", deeper.Depth, len(r2.Path), len(r.Path))
			}
			replayFails(t, r.Schedule(&o), o.NewServer, tc.check)
		})
	}
}

func mustExplore(t *testing.T, o Options) *Result {
	t.Helper()
	r, err := Explore(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// replayFails formats s, parses it back, runs it through the simulator and asserts that
// it fails check.
func replayFails(t *testing.T, s *schedule.Schedule, newServer host.NewServer, check string) {
	t.Helper()
	text := s.Format()
	t.Logf("counterexample:\n%s", text)
	parsed, err := schedule.Parse(text)
	if err != nil {
		t.Fatalf("the counterexample does not parse back: %v\n%s", err, text)
	}
	cfg := sim.ScheduleConfig(parsed)
	if newServer != nil {
		cfg.NewServer = newServer
	}
	res, err := sim.RunSchedule(cfg, parsed)
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, text)
	}
	if res.Failure == nil || res.Failure.Check != check {
		t.Fatalf("replay failed %v, want %s\n%s", res.Failure, check, text)
	}
}

// bugMuteCandidate never sends a RequestVote: no leader can ever be elected, which only
// the liveness check sees.
func bugMuteCandidate() host.NewServer {
	return plant(nil, func(_ *node.Node, out *node.Output) {
		msgs := out.Messages[:0]
		for _, m := range out.Messages {
			if m.Type != node.MsgVote {
				msgs = append(msgs, m)
			}
		}
		out.Messages = msgs
	})
}

// TestLivenessCheck: the bounded liveness check holds for the raftsim node from every
// state of a small search (a leader and the client's operation within 40 fault-free
// transitions), and fires for servers that never ask for votes; that counterexample
// (the path, then the fair schedule) replays in the simulator and fails Liveness there.
func TestLivenessCheck(t *testing.T) {
	o := small(5)
	o.Crashes, o.Restarts, o.Liveness = 1, 1, 40
	if r := mustExplore(t, o); r.Verdict != Exhausted {
		t.Fatalf("raftsim node: %v %v", r.Verdict, r.Failure)
	}
	o.NewServer = bugMuteCandidate()
	r := mustExplore(t, o)
	if r.Verdict != Violation || r.Failure.Check != sim.LivenessCheck {
		t.Fatalf("mute candidates: %v %v, want a Liveness violation", r.Verdict, r.Failure)
	}
	replayFails(t, r.Schedule(&o), o.NewServer, sim.LivenessCheck)
}
