package check

import (
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

// harness plays a hand-written cluster history into a Checker: each op edits one node's
// view and builds the Output of that step, the way a node would.
type harness struct {
	c     *Checker
	now   time.Duration
	views []node.View // views[id]; slot 0 unused
}

func newHarness(n int) *harness {
	h := &harness{c: New(n), views: make([]node.View, n+1)}
	for i := 1; i <= n; i++ {
		h.views[i].ID = node.ID(i)
	}
	return h
}

// op is one event of a hand-written history.
type op func(h *harness) *Violation

// run plays ops in order and returns the first violation.
func (h *harness) run(ops ...op) *Violation {
	for _, o := range ops {
		if x := o(h); x != nil {
			return x
		}
	}
	return nil
}

// step gives node id one step: edit changes its view and returns that step's output.
func (h *harness) step(id node.ID, edit func(v *node.View) node.Output) *Violation {
	h.now += time.Millisecond
	v := &h.views[id]
	out := edit(v)
	return h.c.Step(h.now, id, &out, v)
}

// final runs Final over the current views.
func (h *harness) final() *Violation { return h.c.Final(h.now, h.views[1:]) }

// write replaces the log of v from index first on with es, copying so that no slice the
// checker holds is modified (entries are immutable; logs are copy-on-truncate).
func write(v *node.View, first node.Index, es ...node.Entry) []node.Entry {
	v.Log = append(slices.Clip(v.Log[:first-1]), es...)
	return es
}

func noop(i node.Index, t node.Term) node.Entry {
	return node.Entry{Index: i, Term: t, Kind: node.EntryNoOp}
}

func cmd(i node.Index, t node.Term, data string) node.Entry {
	return node.Entry{Index: i, Term: t, Kind: node.EntryNormal, Data: data}
}

// setTerm moves v to term t as a follower, forgetting its vote if the term is new.
func setTerm(v *node.View, t node.Term) {
	if t > v.Term {
		v.Term, v.Vote, v.Leader = t, node.None, node.None
	}
	v.Role = node.Follower
}

// grant: voter grants its vote to cand in term t.
func grant(voter, cand node.ID, t node.Term) op {
	return func(h *harness) *Violation {
		return h.step(voter, func(v *node.View) node.Output {
			setTerm(v, t)
			v.Vote = cand
			return node.Output{Messages: []node.Message{{Type: node.MsgVoteResp, From: voter, To: cand, Term: t, Success: true}}}
		})
	}
}

// elect: id campaigns in term t, the voters grant their votes, and id takes office and
// appends its no-op. The harness does not count votes: hand-built violations need that.
func elect(id node.ID, t node.Term, voters ...node.ID) op {
	return func(h *harness) *Violation {
		x := h.step(id, func(v *node.View) node.Output {
			setTerm(v, t)
			v.Role, v.Vote = node.Candidate, id
			return node.Output{}
		})
		for _, voter := range voters {
			if x == nil {
				x = grant(voter, id, t)(h)
			}
		}
		if x != nil {
			return x
		}
		return h.step(id, func(v *node.View) node.Output {
			v.Role, v.Leader = node.Leader, id
			i := v.LastIndex() + 1
			return node.Output{Entries: write(v, i, noop(i, v.Term))}
		})
	}
}

// propose: leader id appends a command.
func propose(id node.ID, data string) op {
	return func(h *harness) *Violation {
		return h.step(id, func(v *node.View) node.Output {
			i := v.LastIndex() + 1
			return node.Output{Entries: write(v, i, cmd(i, v.Term, data))}
		})
	}
}

// replicate: from's log up to index upto reaches to, which truncates at the first
// conflict, like an AppendEntries from index 1, and learns from's commit index.
func replicate(from, to node.ID, upto node.Index) op {
	return func(h *harness) *Violation {
		src := h.views[from]
		return h.step(to, func(v *node.View) node.Output {
			setTerm(v, src.Term)
			v.Leader = from
			var out node.Output
			for k := node.Index(1); k <= upto; k++ {
				if t, ok := v.TermAt(k); !ok || t != src.Log[k-1].Term {
					out.Entries = write(v, k, src.Log[k-1:upto]...)
					break
				}
			}
			out.Apply = advance(v, min(src.CommitIndex, upto))
			return out
		})
	}
}

// advance moves v's commit index up to c (never down) and applies what it committed.
func advance(v *node.View, c node.Index) []node.Entry {
	if c <= v.CommitIndex {
		return nil
	}
	v.CommitIndex = c
	apply := v.Log[v.AppliedIndex:c]
	v.AppliedIndex = c
	return apply
}

// commit: id's commit index advances to c, and it applies up to it.
func commit(id node.ID, c node.Index) op {
	return func(h *harness) *Violation {
		return h.step(id, func(v *node.View) node.Output { return node.Output{Apply: advance(v, c)} })
	}
}

// edit: an arbitrary step of id, for hand-built violations.
func edit(id node.ID, f func(v *node.View) node.Output) op {
	return func(h *harness) *Violation { return h.step(id, f) }
}

// crash: id loses its volatile state.
func crash(id node.ID) op {
	return func(h *harness) *Violation {
		h.now += time.Millisecond
		h.c.Crash(h.now, id)
		return nil
	}
}

// restart: id comes back from a disk that kept keep entries of its log, its term and vote;
// f, if not nil, edits the restored view further.
func restart(id node.ID, keep int, f func(v *node.View)) op {
	return func(h *harness) *Violation {
		h.now += time.Millisecond
		v := &h.views[id]
		*v = node.View{ID: id, Term: v.Term, Vote: v.Vote, Log: slices.Clip(v.Log[:keep])}
		if f != nil {
			f(v)
		}
		return h.c.Restart(h.now, id, v)
	}
}

// wantViolation fails t unless x is a violation of check.
func wantViolation(t *testing.T, x *Violation, check string) {
	t.Helper()
	if x == nil {
		t.Fatalf("no violation, want %s", check)
	}
	if x.Check != check {
		t.Fatalf("got %v, want a %s violation", x, check)
	}
	if x.Rule == "" || !strings.Contains(x.Error(), check) {
		t.Fatalf("badly formed violation %#v", x)
	}
	t.Logf("fired as expected: %v", x)
}
