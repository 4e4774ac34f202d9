package check

import (
	"slices"
	"testing"

	"raftsim/node"
)

// conf builds a configuration: voters, then (if given) the outgoing voters of a joint
// configuration and the learners.
func conf(voters []node.ID, outgoing []node.ID, learners ...node.ID) node.Configuration {
	return node.Configuration{Voters: voters, Outgoing: outgoing, Learners: learners}
}

func set(ids ...node.ID) []node.ID { return ids }

// boot gives the listed nodes c as their bootstrap configuration (node.Config.Peers): the
// configuration in force until their logs say otherwise. Nodes not listed start outside
// every configuration, like spares.
func boot(c node.Configuration, nodes ...node.ID) op {
	return func(h *harness) *Violation {
		for _, id := range nodes {
			h.views[id].Config, h.boots[id] = c, c
		}
		return nil
	}
}

// proposeConfig: leader id appends a configuration entry; it is in force at once.
func proposeConfig(id node.ID, c node.Configuration) op {
	return func(h *harness) *Violation {
		return h.step(id, func(v *node.View) node.Output {
			i := v.LastIndex() + 1
			return node.Output{Entries: write(v, i, node.Entry{Index: i, Term: v.Term, Kind: node.EntryConfig, Data: c.Encode()})}
		})
	}
}

// preGrant: voter grants a pre-vote to cand for term t (thesis §9.6): its term and vote do
// not change.
func preGrant(voter, cand node.ID, t node.Term) op {
	return func(h *harness) *Violation {
		return h.step(voter, func(v *node.View) node.Output {
			return node.Output{Messages: []node.Message{{Type: node.MsgPreVoteResp, From: voter, To: cand, Term: t, Success: true}}}
		})
	}
}

// stepDown: leader id becomes a follower of its term (a removed leader, §6).
func stepDown(id node.ID) op {
	return edit(id, func(v *node.View) node.Output {
		v.Role, v.Leader = node.Follower, node.None
		return node.Output{}
	})
}

// takeOfficeWithout: id becomes leader of term t having asked nobody (votes, if any, were
// granted before).
func takeOfficeWithout(id node.ID, t node.Term) op {
	return edit(id, func(v *node.View) node.Output {
		setTerm(v, t)
		v.Role, v.Vote, v.Leader = node.Leader, id, id
		i := v.LastIndex() + 1
		return node.Output{Entries: write(v, i, noop(i, t))}
	})
}

var quorumLegalHistories = []struct {
	name string
	ops  []op
}{
	{"add a server: learner, then C(old,new), then C(new); the new voter leads", []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, conf(set(1, 2, 3), nil, 4)), replicate(1, 3, 2), replicate(1, 4, 2), commit(1, 2),
		// C(old,new): held by 1, 2, 4 of the new voters and 1, 2 of the old ones.
		proposeConfig(1, conf(set(1, 2, 3, 4), set(1, 2, 3))), replicate(1, 2, 3), replicate(1, 4, 3), commit(1, 3),
		// C(new): held by 1, 3, 4 (node 2 lags).
		proposeConfig(1, conf(set(1, 2, 3, 4), nil)), replicate(1, 3, 4), replicate(1, 4, 4), commit(1, 4),
		replicate(1, 2, 4), replicate(1, 3, 4), replicate(1, 4, 4),
		crash(1),
		// Node 4 wins term 2 with node 1 down: 4, 2, 3 are three of the four voters.
		elect(4, 2, 2, 3), replicate(4, 2, 5), replicate(4, 3, 5), commit(4, 5),
	}},
	{"a leader removes itself, commits C(new) without counting itself, and steps down", []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, conf(set(2, 3), set(1, 2, 3))), replicate(1, 2, 2), replicate(1, 3, 2), commit(1, 2),
		proposeConfig(1, conf(set(2, 3), nil)), replicate(1, 2, 3), replicate(1, 3, 3), commit(1, 3),
		replicate(1, 2, 3), replicate(1, 3, 3),
		stepDown(1),
		// Node 2 needs only node 3: node 1 no longer votes.
		elect(2, 2, 3), replicate(2, 3, 4), commit(2, 4), replicate(2, 3, 4),
	}},
	// The leader learns that entry 2 reached node 2, commits it under [1 2 3], finds the
	// learner caught up and appends C(old,new) in the same step: the commit is judged
	// against the configuration it was decided in.
	{"a commit and a new configuration in one step", []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, conf(set(1, 2, 3), nil, 4)), replicate(1, 2, 2),
		edit(1, func(v *node.View) node.Output {
			var out node.Output
			advance(v, 2, &out)
			out.Entries = write(v, 3, node.Entry{Index: 3, Term: 1, Kind: node.EntryConfig,
				Data: conf(set(1, 2, 3, 4), set(1, 2, 3)).Encode()})
			return out
		}),
	}},
	{"joint configuration: a candidate wins both majorities", []op{
		boot(conf(set(1, 2, 3, 4), set(1, 2, 3)), 1, 2, 3, 4),
		elect(2, 1, 1, 4), replicate(2, 1, 1), replicate(2, 4, 1), commit(2, 1),
	}},
	{"pre-votes for two candidates in one term are not votes", []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		preGrant(2, 1, 1), preGrant(2, 3, 1), preGrant(1, 3, 1),
		elect(3, 1, 2), replicate(3, 1, 1), commit(3, 1),
	}},
	{"a spare outside every configuration takes no part", []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 3), replicate(1, 3, 1), commit(1, 1), propose(1, "a"), replicate(1, 2, 2), commit(1, 2),
		edit(4, func(v *node.View) node.Output { return node.Output{} }),
	}},
}

func TestQuorumLegalHistoriesPass(t *testing.T) {
	for _, tc := range quorumLegalHistories {
		t.Run(tc.name, func(t *testing.T) { requireLegal(t, tc.ops) })
	}
}

var quorumViolations = []struct {
	name  string
	check string
	ops   []op
}{
	{"leader commits an entry held by a minority", CommitQuorum, []op{
		boot(conf(set(1, 2, 3, 4, 5), nil), 1, 2, 3, 4, 5),
		elect(1, 1, 2, 3), propose(1, "a"), replicate(1, 2, 2), commit(1, 2),
	}},
	{"joint: held by a majority of C(new) only", CommitQuorum, []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, conf(set(1, 4, 5), set(1, 2, 3))), replicate(1, 4, 2), replicate(1, 5, 2), commit(1, 2),
	}},
	{"joint: held by a majority of C(old) only", CommitQuorum, []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1),
		proposeConfig(1, conf(set(1, 4, 5), set(1, 2, 3))), replicate(1, 2, 2), commit(1, 2),
	}},
	{"a leader that is not a voter counts itself", CommitQuorum, []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), replicate(1, 3, 1), commit(1, 1),
		proposeConfig(1, conf(set(2, 3), set(1, 2, 3))), replicate(1, 2, 2), replicate(1, 3, 2), commit(1, 2),
		proposeConfig(1, conf(set(2, 3), nil)), replicate(1, 2, 3), commit(1, 3),
	}},
	{"learners do not count", CommitQuorum, []op{
		boot(conf(set(1, 2, 3), nil, 4, 5), 1, 2, 3, 4, 5),
		elect(1, 1, 2), replicate(1, 4, 1), replicate(1, 5, 1), commit(1, 1),
	}},
	{"a crashed follower's disk lacks the entry", CommitQuorum, []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		elect(1, 1, 2), replicate(1, 2, 1), commit(1, 1), propose(1, "a"),
		crash(2), crash(3), commit(1, 2),
	}},

	{"leader elected by a minority", ElectionQuorum, []op{
		boot(conf(set(1, 2, 3, 4, 5), nil), 1, 2, 3, 4, 5),
		elect(1, 1, 2),
	}},
	{"joint: elected by a majority of C(new) only", ElectionQuorum, []op{
		boot(conf(set(1, 4, 5), set(1, 2, 3)), 1, 2, 3, 4, 5),
		elect(1, 1, 4, 5),
	}},
	{"joint: elected by a majority of C(old) only", ElectionQuorum, []op{
		boot(conf(set(1, 4, 5), set(1, 2, 3)), 1, 2, 3, 4, 5),
		elect(1, 1, 2, 3),
	}},
	{"votes of non-voters do not count", ElectionQuorum, []op{
		boot(conf(set(1, 2, 3), nil, 4), 1, 2, 3, 4),
		elect(1, 1, 4, 5),
	}},
	{"pre-votes are not votes", ElectionQuorum, []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		preGrant(2, 1, 1), preGrant(3, 1, 1), takeOfficeWithout(1, 1),
	}},
	{"votes of another term do not count", ElectionQuorum, []op{
		boot(conf(set(1, 2, 3), nil), 1, 2, 3),
		grant(2, 1, 1), grant(3, 1, 1), takeOfficeWithout(1, 2),
	}},
}

func TestQuorumViolationsFire(t *testing.T) {
	for _, tc := range quorumViolations {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(5)
			wantViolation(t, h.run(tc.ops...), tc.check)
		})
	}
}

// TestPreVotesAreNotRecorded checks that granted pre-votes never enter the vote record:
// a pre-vote for one candidate, then a real vote for another, in the same term, is legal.
func TestPreVotesAreNotRecorded(t *testing.T) {
	h := newHarness(3)
	if x := h.run(preGrant(2, 1, 1), grant(2, 3, 1)); x != nil {
		t.Fatal(x)
	}
	if len(h.c.votes) != 1 {
		t.Fatalf("vote record %v, want only node 2's real vote", h.c.votes)
	}
}

// TestElectionSafetyAcrossConfigurations: two leaders in one term are caught whatever their
// configurations say, and Leader Completeness holds a leader of a new configuration to
// entries committed under the old one.
func TestSafetyAcrossConfigurations(t *testing.T) {
	t.Run("two leaders of disjoint configurations", func(t *testing.T) {
		h := newHarness(5)
		x := h.run(boot(conf(set(1, 2, 3), nil), 1, 2, 3), boot(conf(set(4, 5), nil), 4, 5),
			elect(1, 1, 2), elect(4, 1, 5))
		wantViolation(t, x, ElectionSafety)
	})
	t.Run("new configuration's leader lacks an entry committed by the old one", func(t *testing.T) {
		h := newHarness(5)
		x := h.run(boot(conf(set(1, 2, 3), nil), 1, 2, 3), elect(1, 1, 2), propose(1, "a"),
			replicate(1, 2, 2), commit(1, 2),
			boot(conf(set(3, 4, 5), nil), 3, 4, 5), // as if a configuration change had been lost
			elect(4, 2, 3, 5))
		wantViolation(t, x, LeaderCompleteness)
	})
}

// TestTrimmingWithIdleSpare: a spare outside every configuration does not hold the
// trimming floor down; once a configuration names it, it does, until it catches up by
// installing a snapshot; and a step of the idle spare after trimming passes the checks.
func TestTrimmingWithIdleSpare(t *testing.T) {
	h := newHarness(4)
	if x := h.run(boot(conf(set(1, 2, 3), nil), 1, 2, 3)); x != nil {
		t.Fatal(x)
	}
	h.c.Spare(4)
	longRun(t, h, 1000, func(int) {})
	f := h.c.CommittedFloor()
	if f < 500 {
		t.Fatalf("floor %d with an idle spare: trimming stopped", f)
	}
	if got := h.c.Outside(); !slices.Equal(got, []node.ID{4}) {
		t.Fatalf("Outside() = %v, want [4]", got)
	}
	idle := edit(4, func(v *node.View) node.Output { return node.Output{} })
	if x := h.run(idle); x != nil {
		t.Fatalf("idle spare after trimming: %v", x)
	}
	// The leader makes node 4 a learner: from now on it holds the floor.
	last := h.views[1].LastIndex() + 1
	if x := h.run(proposeConfig(1, conf(set(1, 2, 3), nil, 4)), replicate(1, 2, last), replicate(1, 3, last), commit(1, last)); x != nil {
		t.Fatal(x)
	}
	if got := h.c.Outside(); len(got) != 0 {
		t.Fatalf("Outside() = %v after a configuration named node 4", got)
	}
	for i := 0; i < 600; i++ {
		last := h.views[1].LastIndex() + 1
		ops := []op{proposeKV(1, 1, uint64(2000+i), "k", "v"), replicate(1, 2, last), replicate(1, 3, last), commit(1, last)}
		if i%50 == 49 {
			ops = append(ops, takeSnapshot(1, nil), takeSnapshot(2, nil), takeSnapshot(3, nil))
		}
		if x := h.run(ops...); x != nil {
			t.Fatalf("entry %d: %v", i, x)
		}
	}
	if g := h.c.CommittedFloor(); g != f {
		t.Fatalf("floor moved from %d to %d while the named spare has nothing", f, g)
	}
	// Node 4 installs the leader's snapshot: the floor may rise again.
	if x := h.run(replicate(1, 4, h.views[1].LastIndex()), takeSnapshot(4, nil)); x != nil {
		t.Fatalf("spare catches up: %v", x)
	}
	if h.views[4].SnapshotIndex == 0 || h.installs == 0 {
		t.Fatalf("spare did not install a snapshot (snapshot %d, installs %d)", h.views[4].SnapshotIndex, h.installs)
	}
	for i := 0; i < 300; i++ {
		last := h.views[1].LastIndex() + 1
		ops := []op{proposeKV(1, 1, uint64(3000+i), "k", "v"), replicate(1, 2, last), replicate(1, 3, last), replicate(1, 4, last), commit(1, last)}
		if i%50 == 49 {
			ops = append(ops, takeSnapshot(1, nil), takeSnapshot(2, nil), takeSnapshot(3, nil), takeSnapshot(4, nil))
		}
		if x := h.run(ops...); x != nil {
			t.Fatalf("entry %d: %v", i, x)
		}
	}
	if g := h.c.CommittedFloor(); g <= f {
		t.Fatalf("floor stayed at %d after the spare caught up", g)
	}
	if x := h.final(); x != nil {
		t.Fatalf("Final: %v", x)
	}
}

// TestTrimmingWithoutSpare is the control: a fourth node never declared a spare holds the
// floor at 0.
func TestTrimmingWithoutSpare(t *testing.T) {
	h := newHarness(4)
	longRun(t, h, 600, func(int) {})
	if f := h.c.CommittedFloor(); f != 0 {
		t.Fatalf("floor %d, want 0: node 4 has no snapshot", f)
	}
}
