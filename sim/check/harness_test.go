package check

import (
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// harness plays a hand-written cluster history into a Checker: each op edits one node's
// view and builds the Output of that step, the way a node would.
type harness struct {
	c     *Checker
	now   time.Duration
	views []node.View // views[id]; slot 0 unused
	// installKeepsLog makes replicate's installs keep the follower's entries after the
	// snapshot's index even if its term there differs (a bug, for the model test).
	installKeepsLog bool
	// installs and compactions count what the history did, for tests to see coverage.
	installs, compactions int
	// boots[id] is the bootstrap configuration the boot op gave node id (empty: none).
	boots []node.Configuration
}

func newHarness(n int) *harness {
	h := &harness{c: New(n), views: make([]node.View, n+1), boots: make([]node.Configuration, n+1)}
	for i := 1; i <= n; i++ {
		h.views[i].ID = node.ID(i)
		h.views[i].Store = kv.NewStore()
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
	if len(out.Entries) > 0 || out.InstallSnapshot != nil {
		h.syncConfig(id, v)
	}
	return h.c.Step(h.now, id, &out, v)
}

// syncConfig puts the last configuration entry of v's log in force (§6: a configuration
// takes effect when appended), or its snapshot's if the log holds none, or node id's
// bootstrap configuration (set by boot, or none) if neither names one.
func (h *harness) syncConfig(id node.ID, v *node.View) {
	for k := len(v.Log) - 1; k >= 0; k-- {
		if e := v.Log[k]; e.Kind == node.EntryConfig {
			c, err := node.DecodeConfiguration(e.Data)
			if err != nil {
				panic(err)
			}
			v.Config = c
			return
		}
	}
	if v.Snapshot != nil && v.SnapshotIndex > 0 {
		v.Config = v.Snapshot.Config
		return
	}
	v.Config = h.boots[id]
}

// final runs Final over the current views.
func (h *harness) final() *Violation { return h.c.Final(h.now, h.views[1:]) }

// write replaces the log of v from index first (above its snapshot) on with es, copying
// so that no slice the checker holds is modified (entries are immutable; logs are
// copy-on-truncate).
func write(v *node.View, first node.Index, es ...node.Entry) []node.Entry {
	v.Log = append(slices.Clip(v.Log[:first-1-v.SnapshotIndex]), es...)
	return es
}

// pos is the position in v.Log of index i (above the snapshot).
func pos(v *node.View, i node.Index) int { return int(i - v.SnapshotIndex - 1) }

func noop(i node.Index, t node.Term) node.Entry {
	return node.Entry{Index: i, Term: t, Kind: node.EntryNoOp}
}

func cmd(i node.Index, t node.Term, data string) node.Entry {
	return node.Entry{Index: i, Term: t, Kind: node.EntryNormal, Data: data}
}

// kvc is an EntryCommand entry: client cl's command seq, appending value to key.
func kvc(i node.Index, t node.Term, cl kv.ClientID, seq uint64, key, value string) node.Entry {
	return node.Entry{Index: i, Term: t, Kind: node.EntryCommand,
		Data: kv.Command{Client: cl, Seq: seq, Op: kv.OpAppend, Key: key, Value: value}.Encode()}
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

// proposeKV: leader id appends client cl's command seq, appending value to key.
func proposeKV(id node.ID, cl kv.ClientID, seq uint64, key, value string) op {
	return func(h *harness) *Violation {
		return h.step(id, func(v *node.View) node.Output {
			i := v.LastIndex() + 1
			return node.Output{Entries: write(v, i, kvc(i, v.Term, cl, seq, key, value))}
		})
	}
}

// replicate: from's log up to index upto reaches to, which truncates at the first
// conflict, like an AppendEntries from index 1, and learns from's commit index. If to's log
// does not reach from's snapshot with its term, from sends its snapshot first (Figure 13):
// to keeps its entries after it if it holds the snapshot's index with its term.
func replicate(from, to node.ID, upto node.Index) op {
	return func(h *harness) *Violation {
		src := h.views[from]
		return h.step(to, func(v *node.View) node.Output {
			setTerm(v, src.Term)
			v.Leader = from
			var out node.Output
			if s := src.SnapshotIndex; s > v.SnapshotIndex {
				if t, ok := v.TermAt(s); !ok || t != src.SnapshotTerm {
					install(v, src.Snapshot, h.installKeepsLog)
					h.installs++
					out.InstallSnapshot = src.Snapshot
				}
			}
			for k := max(v.SnapshotIndex, src.SnapshotIndex) + 1; k <= upto; k++ {
				if t, ok := v.TermAt(k); !ok || t != src.Log[pos(&src, k)].Term {
					out.Entries = write(v, k, src.Log[pos(&src, k):pos(&src, upto)+1]...)
					break
				}
			}
			advance(v, min(src.CommitIndex, upto), &out)
			return out
		})
	}
}

// install makes v what installing snapshot s makes it (Figure 13), as a node does; with
// buggy, it keeps the entries after s whatever term v holds at s's index.
func install(v *node.View, s *node.Snapshot, buggy bool) {
	if t, ok := v.TermAt(s.Index); ok && (t == s.Term || buggy) && s.Index >= v.SnapshotIndex {
		v.Log = slices.Clip(v.Log[pos(v, s.Index)+1:])
	} else {
		v.Log = nil
	}
	cp := *s
	v.SnapshotIndex, v.SnapshotTerm, v.Snapshot = s.Index, s.Term, &cp
	v.CommitIndex = max(v.CommitIndex, s.Index)
	if v.AppliedIndex < s.Index {
		st, err := kv.Restore(s.Data)
		if err != nil {
			panic(err)
		}
		v.Store, v.AppliedIndex = st, s.Index
	}
}

// advance moves v's commit index up to c (never down) and applies what it committed to
// v's store, filling out's Apply and Commands.
func advance(v *node.View, c node.Index, out *node.Output) {
	if c <= v.CommitIndex {
		return
	}
	v.CommitIndex = c
	out.Apply = v.Log[pos(v, v.AppliedIndex+1) : pos(v, c)+1]
	for _, e := range out.Apply {
		if e.Kind != node.EntryCommand || v.Store == nil {
			continue
		}
		cmd, err := kv.Decode(e.Data)
		if err != nil || cmd.Op == kv.OpGet {
			continue
		}
		_, o := v.Store.Apply(cmd)
		out.Commands = append(out.Commands, node.AppliedCommand{Index: e.Index, Client: cmd.Client, Seq: cmd.Seq, Outcome: o})
	}
	v.AppliedIndex = c
}

// commit: id's commit index advances to c, and it applies up to it.
func commit(id node.ID, c node.Index) op {
	return func(h *harness) *Violation {
		return h.step(id, func(v *node.View) node.Output {
			var out node.Output
			advance(v, c, &out)
			return out
		})
	}
}

// takeSnapshot: id takes a snapshot of its state machine at its applied index
// (Output.SaveSnapshot) and, in a later step (InputSnapshotSaved), compacts its log up to
// it. f, if not nil, edits the snapshot taken.
func takeSnapshot(id node.ID, f func(s *node.Snapshot)) op {
	return func(h *harness) *Violation {
		var s node.Snapshot
		x := h.step(id, func(v *node.View) node.Output {
			t, _ := v.TermAt(v.AppliedIndex)
			s = node.Snapshot{Index: v.AppliedIndex, Term: t, Config: v.Config, Data: v.Store.Encode()}
			if f != nil {
				f(&s)
			}
			return node.Output{SaveSnapshot: &s}
		})
		if x != nil {
			return x
		}
		h.compactions++
		return h.step(id, func(v *node.View) node.Output {
			compact(v, &s)
			return node.Output{}
		})
	}
}

// compact drops v's log up to snapshot s and makes s its snapshot.
func compact(v *node.View, s *node.Snapshot) {
	v.Log = v.Log[pos(v, s.Index)+1:]
	cp := *s
	v.SnapshotIndex, v.SnapshotTerm, v.Snapshot = s.Index, s.Term, &cp
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

// restart: id comes back from a disk that kept its snapshot, keep entries of its log after
// it, its term and vote; its state machine is restored from the snapshot, and its commit
// and applied indexes start there. f, if not nil, edits the restored view further.
func restart(id node.ID, keep int, f func(v *node.View)) op {
	return func(h *harness) *Violation {
		h.now += time.Millisecond
		v := &h.views[id]
		st := kv.NewStore()
		if v.Snapshot != nil && v.Snapshot.Index > 0 {
			var err error
			if st, err = kv.Restore(v.Snapshot.Data); err != nil {
				panic(err)
			}
		}
		*v = node.View{ID: id, Term: v.Term, Vote: v.Vote, Log: slices.Clip(v.Log[:keep]),
			SnapshotIndex: v.SnapshotIndex, SnapshotTerm: v.SnapshotTerm, Snapshot: v.Snapshot,
			CommitIndex: v.SnapshotIndex, AppliedIndex: v.SnapshotIndex, Store: st}
		h.syncConfig(id, v)
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

// editSnapshot changes a copy of v's snapshot (snapshots are shared, immutable values).
func editSnapshot(v *node.View, f func(s *node.Snapshot)) {
	cp := *v.Snapshot
	f(&cp)
	v.Snapshot = &cp
}

// requireLegal plays a legal history on a 5-node cluster: neither the incremental checks
// nor Final may fire.
func requireLegal(t *testing.T, ops []op) {
	t.Helper()
	h := newHarness(5)
	if x := h.run(ops...); x != nil {
		t.Fatalf("incremental: %v", x)
	}
	if x := h.final(); x != nil {
		t.Fatalf("Final: %v", x)
	}
}
