package check

import (
	"time"

	"raftsim/node"
)

// This file holds what membership changes (§6) add to the checker: the quorum checks,
// which judge each decision against the configuration in force at the deciding node by
// its log (config.go), and the bookkeeping of spare servers for the trimming floor.

// stepConf is the configuration in force at a node around one step, by its log: before
// the step (prev) and after it (after), each with whether the checker knows it.
type stepConf struct {
	prev, after     node.Configuration
	prevOK, afterOK bool
}

// checkCommitQuorum checks Commit Quorum (§5.3, §6) as node id, a leader, advances its
// commit index to c = v.CommitIndex: the entry at c (the leader's, by index and term) must
// be held by a majority of the voters of the leader's configuration in force and, while
// that configuration is joint, by a majority of its outgoing voters too. "Held" is judged
// on the checker's latest knowledge of each server's log: its last view, and for a crashed
// server the last view before the crash, which its disk holds. A server whose snapshot
// covers c holds it (a snapshot is the committed prefix; Snapshot Safety checks that). A
// leader that is not a voter (a leader removing itself manages the cluster until C(new)
// commits) does not count itself; learners never count.
//
// The configuration in force is the one the leader's log says (config.go), not its
// View.Config, at the moment of the decision. A step may decide a commit and then append
// a configuration (the leader learns that C(old,new) committed, or that a learner caught
// up, and moves on at once), so the decision may rest on the configuration before the step
// or on one the step put in force (inForceDuring): the check fails only if no
// configuration in force during the step has the entry on a majority.
//
// Entries below c committed in the same step need no count of their own: Log Matching
// carries the holding of c down to them. Commits learned by followers are not checked:
// they follow a leader's. A leader whose configuration in force has no voters (an
// implementation that does not report one, unit tests) or is unknown is not checked. It
// costs O(voters) per commit advance of a leader, no log scan; configuration entries
// written in the step are decoded only if the other configurations fail.
func (c *Checker) checkCommitQuorum(now time.Duration, id node.ID, sc *stepConf, written []node.Entry, v *node.View) *Violation {
	conf := &sc.after
	if !sc.afterOK || len(conf.Voters) == 0 {
		return nil
	}
	i := v.CommitIndex
	if i <= v.SnapshotIndex || i > v.LastIndex() {
		return nil // a commit index past the log is Commit Agreement's to report
	}
	t := v.Log[i-v.SnapshotIndex-1].Term
	if inForceDuring(&sc.prev, sc.prevOK && len(sc.prev.Voters) > 0, written, conf, true,
		func(k node.Configuration) bool { return c.quorumHolds(&k, i, t) }) {
		return nil
	}
	// The failure path: say who holds the entry, in the configuration after the step.
	set, name := conf.Voters, "voters"
	if c.countHolders(conf.Voters, i, t) >= majorityOf(len(conf.Voters)) {
		set, name = conf.Outgoing, "outgoing voters (the joint configuration's C(old))"
	}
	var holders []node.ID
	for _, j := range set {
		if c.holds(j, i, t) {
			holders = append(holders, j)
		}
	}
	return violation(CommitQuorum, now, v.Term, i, ids(id),
		"leader %d advanced its commit index to %d (an entry of term %d) held by only %v of its %d %s %v (a majority is %d; configuration in force by its log %v, before the step %v)",
		id, i, t, holders, len(set), name, set, majorityOf(len(set)), *conf, sc.prev)
}

// quorumHolds reports whether the entry of term t at index i is held by a majority of
// conf's voters and, if conf is joint, of its outgoing voters.
func (c *Checker) quorumHolds(conf *node.Configuration, i node.Index, t node.Term) bool {
	return c.majorityHolds(conf.Voters, i, t) && (!conf.Joint() || c.majorityHolds(conf.Outgoing, i, t))
}

// majorityHolds reports whether a majority of set holds the entry of term t at index i. It
// stops as soon as the answer is known: each server's log is a memory access of its own.
func (c *Checker) majorityHolds(set []node.ID, i node.Index, t node.Term) bool {
	need, left := majorityOf(len(set)), len(set)
	for _, j := range set {
		if c.holds(j, i, t) {
			if need--; need == 0 {
				return true
			}
		}
		if left--; left < need {
			return false
		}
	}
	return false
}

// holds reports whether the checker's latest knowledge of server j's log has an entry of
// term t at index i (or a snapshot beyond i). A server the checker does not know holds
// nothing.
func (c *Checker) holds(j node.ID, i node.Index, t node.Term) bool {
	if j < 1 || int(j) >= len(c.nodes) {
		return false
	}
	l := &c.nodes[j].logState
	if i < l.snapIndex {
		return true
	}
	tj, ok := l.termAt(i)
	return ok && tj == t
}

func (c *Checker) countHolders(set []node.ID, i node.Index, t node.Term) int {
	n := 0
	for _, j := range set {
		if c.holds(j, i, t) {
			n++
		}
	}
	return n
}

// majorityOf is the smallest majority of n voters.
func majorityOf(n int) int { return n/2 + 1 }

// checkElectionQuorum checks Election Quorum (§5.2, §6) when node id takes office in term
// T = v.Term: the voters of its configuration in force by its log that granted it their
// vote in T (a MsgVoteResp with Success the checker saw them send, or their view's vote;
// the record survives crashes), plus itself if it is a voter, must be a majority of
// Voters and, while the configuration is joint, of Outgoing. The configuration is the
// one in force before the step that took office, or one in force during it
// (inForceDuring: a single voter takes office and may append in one step). Pre-votes
// (MsgPreVoteResp, thesis §9.6) are not votes and are never recorded as such. A node
// whose configuration has no voters or is unknown is not checked. It costs a binary
// search of the vote record per voter, once per term taken.
func (c *Checker) checkElectionQuorum(now time.Duration, id node.ID, sc *stepConf, written []node.Entry, v *node.View) *Violation {
	conf := &sc.prev
	if !sc.prevOK {
		conf = &sc.after
	}
	if !(sc.prevOK || sc.afterOK) || len(conf.Voters) == 0 {
		return nil
	}
	won := func(k node.Configuration) bool {
		return len(k.Voters) > 0 && c.countVotes(k.Voters, id, v.Term) >= majorityOf(len(k.Voters)) &&
			(!k.Joint() || c.countVotes(k.Outgoing, id, v.Term) >= majorityOf(len(k.Outgoing)))
	}
	if inForceDuring(&sc.prev, sc.prevOK, written, &sc.after, sc.afterOK, won) {
		return nil
	}
	set, name := conf.Voters, "voters"
	if c.countVotes(conf.Voters, id, v.Term) >= majorityOf(len(conf.Voters)) {
		set, name = conf.Outgoing, "outgoing voters (the joint configuration's C(old))"
	}
	var granted []node.ID
	for _, j := range set {
		if c.votedFor(j, id, v.Term) {
			granted = append(granted, j)
		}
	}
	return violation(ElectionQuorum, now, v.Term, 0, ids(id),
		"node %d took office in term %d with the votes of only %v of its %d %s %v (a majority is %d; configuration in force by its log %v)",
		id, v.Term, granted, len(set), name, set, majorityOf(len(set)), *conf)
}

// votedFor reports whether voter's vote in term is on record for cand (a candidate counts
// its own vote).
func (c *Checker) votedFor(voter, cand node.ID, term node.Term) bool {
	if voter == cand {
		return true
	}
	was, ok := c.vote(voter, term)
	return ok && was == cand
}

func (c *Checker) countVotes(set []node.ID, cand node.ID, term node.Term) int {
	n := 0
	for _, j := range set {
		if c.votedFor(j, cand, term) {
			n++
		}
	}
	return n
}

// Spare declares that node id boots outside every configuration, with an empty log (a
// server that waits to be added). The trimming floor leaves it out until it is named in a
// configuration (see Memory in the package doc). Call it before id's first event.
func (c *Checker) Spare(id node.ID) {
	ns := c.state(id)
	if c.outside[id] || ns.last() > 0 {
		return
	}
	own(c, sharedOutside, &c.outside)
	c.outside[id] = true
	c.outsideCount++
}

// noteNamed brings back into the floor every spare named by a configuration in node id's
// step: in an entry it wrote, or in the snapshot it installed; and id itself once it holds
// anything. Called only while spares are outside.
func (c *Checker) noteNamed(id node.ID, out *node.Output, v *node.View) {
	for k := range out.Entries {
		if e := &out.Entries[k]; e.Kind == node.EntryConfig {
			if conf, err := node.DecodeConfiguration(e.Data); err == nil {
				c.name(&conf)
			}
		}
	}
	if s := out.InstallSnapshot; s != nil {
		c.name(&s.Config)
	}
	if c.outside[id] && (v.LastIndex() > 0 || len(v.Config.Voters) > 0 || len(v.Config.Learners) > 0) {
		c.include(id)
	}
}

// noteNamedRestart is noteNamed for a restarted view: its snapshot's and its log's
// configurations.
func (c *Checker) noteNamedRestart(id node.ID, v *node.View) {
	if v.Snapshot != nil {
		c.name(&v.Snapshot.Config)
	}
	for k := range v.Log {
		if e := &v.Log[k]; e.Kind == node.EntryConfig {
			if conf, err := node.DecodeConfiguration(e.Data); err == nil {
				c.name(&conf)
			}
		}
	}
	c.name(&v.Config)
	if c.outside[id] && v.LastIndex() > 0 {
		c.include(id)
	}
}

// name includes every spare conf names.
func (c *Checker) name(conf *node.Configuration) {
	for _, set := range [3][]node.ID{conf.Voters, conf.Outgoing, conf.Learners} {
		for _, j := range set {
			if j >= 1 && int(j) < len(c.outside) && c.outside[j] {
				c.include(j)
			}
		}
	}
}

func (c *Checker) include(id node.ID) {
	own(c, sharedOutside, &c.outside)
	c.outside[id] = false
	c.outsideCount--
}

// Outside lists the spares the trimming floor still leaves out (ascending), for tests and
// reports.
func (c *Checker) Outside() []node.ID {
	var out []node.ID
	for j := 1; j < len(c.outside); j++ {
		if c.outside[j] {
			out = append(out, node.ID(j))
		}
	}
	return out
}

// sameConfig reports whether a and b share their slices: a node hands out the same
// configuration value until it changes, so this tells a changed configuration from an
// unchanged one without comparing elements, and lets Step skip storing an unchanged one
// (a store of pointers costs write barriers).
func sameConfig(a, b *node.Configuration) bool {
	return sameIDs(a.Voters, b.Voters) && sameIDs(a.Outgoing, b.Outgoing) && sameIDs(a.Learners, b.Learners)
}

func sameIDs(a, b []node.ID) bool { return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0]) }
