package scenarios

import (
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// staleAckResender is a Raft leader with a resend bug: it answers an AppendEntries
// acknowledgement that brings no news by resending its last AppendEntries to that follower
// copies times, as if the follower had asked again. Without once, "no news" is any
// acknowledgement that does not raise the follower's match index (a duplicate, a reordered
// one, or the answer to a resend, which starts the next resend): the resends multiply
// without end. With once, it is an exact repeat of an acknowledgement already seen (same
// round and match index), which only network duplication makes, answered at most once per
// follower and round, so the resends' own answers start no new ones: duplicates then cost
// a constant factor more messages, and the run without duplication is unaffected.
type staleAckResender struct {
	n       *node.Node
	copies  int
	once    bool
	lastApp map[node.ID]node.Message
	acked   map[node.ID]node.Index
	resent  map[[2]uint64]bool // (follower, round) already resent, with once
	seen    map[[3]uint64]bool // (follower, round, match index) acknowledgements seen, with once
}

func (s *staleAckResender) Step(now time.Duration, in node.Input) node.Output {
	out := s.n.Step(now, in)
	if m := in.Message; in.Kind == node.InputMessage && m.Type == node.MsgAppResp && m.Success {
		key, ack := [2]uint64{uint64(m.From), m.Round}, [3]uint64{uint64(m.From), m.Round, uint64(m.MatchIndex)}
		stale := m.MatchIndex <= s.acked[m.From]
		if s.once {
			stale = s.seen[ack] && !s.resent[key]
			s.seen[ack] = true
		}
		if app, ok := s.lastApp[m.From]; ok && stale {
			for range s.copies {
				out.Messages = append(out.Messages, app)
			}
			s.resent[key] = true
		}
		s.acked[m.From] = max(s.acked[m.From], m.MatchIndex)
	}
	for _, m := range out.Messages {
		if m.Type == node.MsgApp {
			s.lastApp[m.To] = m
		}
	}
	return out
}

func (s *staleAckResender) View() node.View { return s.n.View() }

// TestDuplicationOnlyCatchesMultiplyingResends: the duplication-only scenario passes with
// the raftsim node (TestScenarios runs it) and fails when the leader resends on stale
// acknowledgements: with the Work Bound check when the resends multiply without end, with
// its own message-ratio assertion when they cost a constant factor more messages.
func TestDuplicationOnlyCatchesMultiplyingResends(t *testing.T) {
	tests := []struct {
		name   string
		copies int
		once   bool
		want   string
	}{
		{"endless resends", 1, false, sim.WorkBoundCheck},
		{"two resends per stale ack and round", 2, true, "duplicates multiply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := duplicationOnly()
			configure := sc.Configure
			sc.Configure = func(c *sim.Config) {
				configure(c)
				c.NewServer = func(cfg node.Config, d node.DurableState) (sim.Server, error) {
					n, err := node.New(cfg, d)
					return &staleAckResender{n: n, copies: tt.copies, once: tt.once, lastApp: map[node.ID]node.Message{},
						acked: map[node.ID]node.Index{}, resent: map[[2]uint64]bool{}, seen: map[[3]uint64]bool{}}, err
				}
			}
			for seed := uint64(1); seed <= 3; seed++ {
				o := Run(sc, seed, Options{})
				if p := o.Problem(); !strings.Contains(p, tt.want) {
					t.Errorf("seed %d: want a failure naming %q, got: %s", seed, tt.want, p)
					continue
				}
				t.Logf("seed %d: %s", seed, o.Problem())
			}
		})
	}
}
