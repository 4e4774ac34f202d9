package check

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"raftsim/node"
	"raftsim/node/kv"
)

// The property test drives the checker with a small Raft model whose messages arrive at
// once but only at the nodes rapid picks, so stale leaders, deposed leaders, truncated
// followers and restarts all occur. Correct, the model must pass every check, incrementally
// and in Final. With a bug switched on it may fail; then whatever Final finds over the
// views, the incremental checker must have found first.

// bug is a deliberate fault of the model.
type bug int

const (
	noBug               bug = iota
	bugNoLogCheck           // grant votes without the up-to-date check of §5.4.1
	bugOldTermRule          // commit entries of earlier terms by counting replicas (Figure 8)
	bugDoubleVote           // grant a vote regardless of the vote already cast
	bugForgetVote           // restart without the vote
	bugInstallKeepsLog      // on an install, keep the entries after it whatever term the log holds at its index
	bugCompactUnapplied     // compact the log one entry past the applied index
	numBugs
)

// model is the cluster state beside the harness's views.
type model struct {
	h     *harness
	n     int
	bug   bug
	live  []bool
	match [][]node.Index // match[leader][follower], reset when the leader takes office
	seq   int
	// restarts counts restarts, to report coverage.
	restarts int
}

func (m *model) majority() int { return m.n/2 + 1 }

// upToDate reports whether a log ending at (lt, li) is at least as up to date as v's (§5.4.1).
func upToDate(li node.Index, lt node.Term, v *node.View) bool {
	vt, _ := v.TermAt(v.LastIndex())
	return lt > vt || (lt == vt && li >= v.LastIndex())
}

func (m *model) campaign(t *rapid.T, c node.ID) *Violation {
	var term node.Term
	x := m.h.step(c, func(v *node.View) node.Output {
		setTerm(v, v.Term+1)
		v.Role, v.Vote = node.Candidate, c
		term = v.Term
		return node.Output{}
	})
	cv := &m.h.views[c]
	li := cv.LastIndex()
	lt, _ := cv.TermAt(li)
	votes := 1
	for j := 1; j <= m.n && x == nil; j++ {
		id := node.ID(j)
		if id == c || !m.live[j] || !rapid.Bool().Draw(t, fmt.Sprintf("reach %d", j)) {
			continue
		}
		x = m.h.step(id, func(v *node.View) node.Output {
			if v.Term > term {
				return node.Output{}
			}
			setTerm(v, term)
			free := v.Vote == node.None || v.Vote == c || m.bug == bugDoubleVote
			if !free || !(upToDate(li, lt, v) || m.bug == bugNoLogCheck) {
				return node.Output{}
			}
			v.Vote = c
			votes++
			return node.Output{Messages: []node.Message{{Type: node.MsgVoteResp, From: id, To: c, Term: term, Success: true}}}
		})
	}
	if x != nil || votes < m.majority() {
		return x
	}
	m.match[c] = make([]node.Index, m.n+1)
	return m.h.step(c, func(v *node.View) node.Output {
		v.Role, v.Leader = node.Leader, c
		i := v.LastIndex() + 1
		return node.Output{Entries: write(v, i, noop(i, v.Term))}
	})
}

// propose appends a client command: an append of the next sequence number of one of
// three clients, so that the state machines' states and sessions change.
func (m *model) propose(l node.ID) *Violation {
	m.seq++
	return proposeKV(l, kv.ClientID(1+m.seq%3), uint64(m.seq), "k", fmt.Sprintf("c%d,", m.seq))(m.h)
}

// snapshot makes id take a snapshot at its applied index and compact its log, unless it
// has nothing new to compact; with bugSnapshotAhead it snapshots a state one entry ahead of
// the index it claims.
func (m *model) snapshot(id node.ID) *Violation {
	v := &m.h.views[id]
	if v.AppliedIndex <= v.SnapshotIndex {
		return nil
	}
	if m.bug == bugCompactUnapplied && v.LastIndex() > v.AppliedIndex {
		return m.h.step(id, func(v *node.View) node.Output {
			t, _ := v.TermAt(v.AppliedIndex + 1)
			compact(v, &node.Snapshot{Index: v.AppliedIndex + 1, Term: t, Data: v.Store.Encode()})
			return node.Output{}
		})
	}
	return takeSnapshot(id, nil)(m.h)
}

// replicate sends leader l's log up to upto to f (AppendEntries from index 1), then lets l
// count the acknowledgement and advance its commit index.
func (m *model) replicate(l, f node.ID, upto node.Index) *Violation {
	lv, fv := &m.h.views[l], &m.h.views[f]
	if fv.Term > lv.Term { // the leader learns of a newer term and steps down
		return m.h.step(l, func(v *node.View) node.Output { setTerm(v, fv.Term); return node.Output{} })
	}
	if x := replicate(l, f, upto)(m.h); x != nil {
		return x
	}
	m.match[l][f] = max(m.match[l][f], upto)
	m.match[l][l] = lv.LastIndex()
	return m.h.step(l, func(v *node.View) node.Output {
		for c := v.LastIndex(); c > v.CommitIndex; c-- {
			count := 0
			for j := 1; j <= m.n; j++ {
				if m.match[l][j] >= c {
					count++
				}
			}
			if t, _ := v.TermAt(c); count >= m.majority() && (t == v.Term || m.bug == bugOldTermRule) {
				var out node.Output
				advance(v, c, &out)
				return out
			}
		}
		return node.Output{}
	})
}

func (m *model) restart(id node.ID) *Violation {
	m.live[id] = true
	m.restarts++
	vote := m.h.views[id].Vote
	return restart(id, len(m.h.views[id].Log), func(v *node.View) {
		if m.bug != bugForgetVote {
			v.Vote = vote
		} else {
			v.Vote = node.None
		}
	})(m.h)
}

// act plays one random action.
func (m *model) act(t *rapid.T) *Violation {
	id := node.ID(rapid.IntRange(1, m.n).Draw(t, "node"))
	if !m.live[id] {
		return m.restart(id)
	}
	v := &m.h.views[id]
	switch rapid.IntRange(0, 11).Draw(t, "action") {
	case 0, 1:
		return m.campaign(t, id)
	case 2:
		m.live[id] = false
		return crash(id)(m.h)
	case 3, 4:
		if v.Role == node.Leader {
			return m.propose(id)
		}
	case 5, 6:
		return m.snapshot(id)
	default:
		// Replication is the most common event; let the newest live leader do it if id
		// is not one, so that logs grow long enough for compaction and installs.
		for j := 1; j <= m.n && v.Role != node.Leader; j++ {
			if w := &m.h.views[j]; m.live[j] && w.Role == node.Leader && (v.Role != node.Leader || w.Term > v.Term) {
				id, v = node.ID(j), w
			}
		}
		f := node.ID(rapid.IntRange(1, m.n).Draw(t, "to"))
		if v.Role == node.Leader && f != id && m.live[f] {
			upto := node.Index(rapid.IntRange(int(v.SnapshotIndex), int(v.LastIndex())).Draw(t, "upto"))
			return m.replicate(id, f, upto)
		}
	}
	return nil
}

func TestModelAgreesWithFinal(t *testing.T) {
	var caught, runs [numBugs]int
	var installs, compactions, restarts int
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(3, 5).Draw(t, "nodes")
		m := &model{h: newHarness(n), n: n, live: make([]bool, n+1), match: make([][]node.Index, n+1)}
		m.bug = bug(rapid.IntRange(0, int(numBugs)-1).Draw(t, "bug"))
		m.h.installKeepsLog = m.bug == bugInstallKeepsLog
		for i := range m.live {
			m.live[i] = true
		}
		runs[m.bug]++
		steps := rapid.IntRange(1, 200).Draw(t, "steps")
		var inc *Violation
		for s := 0; s < steps && inc == nil; s++ {
			inc = m.act(t)
		}
		installs += m.h.installs
		compactions += m.h.compactions
		restarts += m.restarts
		if inc != nil {
			if m.bug == noBug {
				t.Fatalf("correct model failed: %v", inc)
			}
			caught[m.bug]++
			return
		}
		if x := m.h.final(); x != nil {
			t.Fatalf("Final found what the incremental checker missed (bug %d): %v", m.bug, x)
		}
	})
	t.Logf("runs per bug %v, caught %v; %d installs, %d compactions, %d restarts", runs, caught, installs, compactions, restarts)
}
