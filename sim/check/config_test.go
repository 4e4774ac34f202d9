package check

import (
	"slices"
	"testing"

	"raftsim/node"
)

// stepRaw is edit without the harness's configuration bookkeeping: the view's
// configuration stays what edit leaves it, as a node that forgot to update it would.
func stepRaw(id node.ID, edit func(v *node.View) node.Output) op {
	return func(h *harness) *Violation {
		h.now++
		v := &h.views[id]
		out := edit(v)
		return h.c.Step(h.now, id, &out, v)
	}
}

// configEntry is a configuration entry at index i of term t.
func configEntry(i node.Index, t node.Term, c node.Configuration) node.Entry {
	return node.Entry{Index: i, Term: t, Kind: node.EntryConfig, Data: c.Encode()}
}

// declare declares c as the bootstrap configuration of the listed nodes
// (Checker.Bootstrap) and gives their views it, as the simulator does.
func declare(c node.Configuration, nodes ...node.ID) op {
	return func(h *harness) *Violation {
		for _, id := range nodes {
			h.c.Bootstrap(id, c)
			h.views[id].Config, h.boots[id] = c, c
		}
		return nil
	}
}

// withLearner4 is the bootstrap {1, 2, 3} with node 4 added as a learner (§6: a new
// server first catches up as a learner).
var withLearner4 = conf(set(1, 2, 3), nil, 4)

// truncatedConfig: leader 1 appends a configuration entry at index 2 and replicates it
// to node 2 only; node 3 wins term 2 and its no-op overwrites index 2 at node 2, so that
// node 2's configuration in force goes back to the bootstrap (§6: an uncommitted
// configuration entry that is removed from the log stops being in force).
func truncatedConfig(last op) []op {
	return []op{
		declare(conf(set(1, 2, 3), nil), 1, 2, 3, 4),
		elect(1, 1, 2), replicate(1, 2, 1), replicate(1, 3, 1), commit(1, 1),
		proposeConfig(1, withLearner4), replicate(1, 2, 2),
		elect(3, 2, 1), last,
	}
}

var configLegalHistories = []struct {
	name string
	ops  []op
}{
	{"an uncommitted configuration entry overwritten: the earlier configuration is back", truncatedConfig(replicate(3, 2, 2))},
	{"compaction past the configuration entry in force, then a restart from the snapshot", []op{
		declare(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, withLearner4), replicate(1, 2, 2), commit(1, 2), propose(1, "a"), replicate(1, 2, 3), commit(1, 3),
		takeSnapshot(1, nil), takeSnapshot(2, nil), crash(2), restart(2, 0, nil), replicate(1, 2, 3),
	}},
	{"an installed snapshot brings its configuration", []op{
		declare(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, withLearner4), replicate(1, 2, 2), commit(1, 2), propose(1, "a"), replicate(1, 2, 3), commit(1, 3),
		takeSnapshot(1, nil), installFrom(1, 3, nil), replicate(1, 3, 3),
	}},
	{"the bootstrap inferred from the first view", []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1), proposeConfig(1, withLearner4), replicate(1, 3, 2),
	}},
	{"a server outside every configuration reports none", []op{
		declare(conf(set(1, 2, 3), nil), 1, 2, 3), declare(node.Configuration{}, 4),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		edit(4, func(v *node.View) node.Output { return node.Output{} }),
		proposeConfig(1, withLearner4), replicate(1, 4, 2),
	}},
}

func TestConfigLegalHistoriesPass(t *testing.T) {
	for _, tc := range configLegalHistories {
		t.Run(tc.name, func(t *testing.T) { requireLegal(t, tc.ops) })
	}
}

// TestConfigInForceFires feeds Configuration in Force (§6, thesis §4.1) hand-built
// violations: views and snapshots whose configuration is not the one their log says.
func TestConfigInForceFires(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
	}{
		{"a leader appends a configuration entry and keeps reporting the old configuration", []op{
			declare(conf(set(1, 2, 3), nil), 1, 2, 3),
			elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
			stepRaw(1, func(v *node.View) node.Output {
				return node.Output{Entries: write(v, 2, configEntry(2, 1, withLearner4))}
			}),
		}},
		{"a follower keeps the configuration of an entry the new leader overwrote", truncatedConfig(
			stepRaw(2, func(v *node.View) node.Output {
				setTerm(v, 2)
				v.Leader = 3
				return node.Output{Entries: write(v, 2, noop(2, 2))}
			}))},
		{"a snapshot with another configuration than the one in force at its index", []op{
			declare(conf(set(1, 2, 3), nil), 1, 2, 3),
			elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
			proposeConfig(1, withLearner4), replicate(1, 2, 2), commit(1, 2),
			takeSnapshot(1, func(s *node.Snapshot) { s.Config = conf(set(1, 2, 3), nil) }),
		}},
		{"a restarted server reports its bootstrap although its log names another", []op{
			declare(conf(set(1, 2, 3), nil), 1, 2, 3),
			elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1), proposeConfig(1, withLearner4), replicate(1, 2, 2),
			crash(2), restart(2, 2, func(v *node.View) { v.Config = conf(set(1, 2, 3), nil) }),
		}},
		{"a server whose first view contradicts its declared bootstrap", []op{
			declare(conf(set(1, 2, 3), nil), 1, 2, 3),
			boot(conf(set(1, 2, 3, 4, 5), nil), 1),
			edit(1, func(v *node.View) node.Output { return node.Output{} }),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(5)
			wantViolation(t, h.run(tt.ops...), ConfigInForce)
		})
	}
}

// TestFinalConfigFires: Final's from-scratch cross-check finds a view whose configuration
// is not its log's, even if the incremental checker never saw the view.
func TestFinalConfigFires(t *testing.T) {
	h := newHarness(3)
	if x := h.run(declare(conf(set(1, 2, 3), nil), 1, 2, 3), elect(1, 1, 2), replicate(1, 2, 1)); x != nil {
		t.Fatal(x)
	}
	h.views[2].Config = withLearner4
	wantViolation(t, h.final(), ConfigInForce)
}

// TestConfigInForceFollowsTheLog: the configuration the checker derives is the log's
// after appends, a truncation, a compaction, an install and a restart, whatever the views
// report (here they are all blank: not reported).
func TestConfigInForceFollowsTheLog(t *testing.T) {
	boot := conf(set(1, 2, 3), nil)
	h := newHarness(4)
	blank := func(id node.ID) op { // the views report nothing
		return func(h *harness) *Violation { h.views[id].Config = node.Configuration{}; return nil }
	}
	unblank := func(id node.ID) op { // a snapshot takes the view's configuration
		return func(h *harness) *Violation { h.syncConfig(id, &h.views[id]); return nil }
	}
	want := func(id node.ID, c node.Configuration) op {
		return func(h *harness) *Violation {
			got, ok := h.c.ConfigInForce(id)
			if !ok || !got.Equal(&c) {
				t.Fatalf("node %d: configuration in force %v (known %v), want %v", id, got, ok, c)
			}
			return nil
		}
	}
	joint := conf(set(1, 2, 3, 4), set(1, 2, 3))
	ops := []op{
		func(h *harness) *Violation {
			for id := node.ID(1); id <= 3; id++ {
				h.c.Bootstrap(id, boot)
			}
			h.c.Bootstrap(4, node.Configuration{})
			return nil
		},
		elect(1, 1, 2), replicate(1, 2, 1), replicate(1, 3, 1), commit(1, 1), want(1, boot), want(4, node.Configuration{}),
		proposeConfig(1, withLearner4), blank(1), want(1, withLearner4),
		replicate(1, 2, 2), blank(2), want(2, withLearner4), want(3, boot),
		replicate(1, 3, 2), commit(1, 2), proposeConfig(1, joint), blank(1), replicate(1, 2, 3), replicate(1, 4, 3), blank(2), blank(4),
		want(1, joint), want(2, joint), want(4, joint),
		// Node 3 leads term 2 without the joint entry; node 2 loses index 3.
		elect(3, 2, 2), blank(3), want(3, withLearner4), replicate(3, 2, 3), blank(2), want(2, withLearner4),
		commit(3, 3), replicate(3, 2, 3), unblank(2), takeSnapshot(2, nil), blank(2), want(2, withLearner4),
		crash(2), restart(2, 0, nil), blank(2), want(2, withLearner4),
	}
	if x := h.run(ops...); x != nil {
		t.Fatal(x)
	}
	if got := h.c.nodes[2].confAt; got != 0 {
		t.Fatalf("node 2's configuration comes from index %d, want its snapshot's (0)", got)
	}
	if !slices.Equal(h.views[2].Snapshot.Config.Learners, []node.ID{4}) {
		t.Fatalf("snapshot configuration %v, want the learner configuration", h.views[2].Snapshot.Config)
	}
}
