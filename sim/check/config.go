package check

import (
	"strconv"
	"time"

	"raftsim/node"
)

// This file holds Configuration in Force (§6; Ongaro's thesis §4.1): the configuration a
// server must use for every decision is the one its log says, the latest configuration
// entry in its log, committed or not, else its snapshot's configuration, else its
// bootstrap configuration. The checker derives it from the log itself, incrementally, and
// judges the server's View.Config, its snapshots' configurations and its quorum decisions
// (Commit Quorum, Election Quorum, and, from the simulator, ReadIndex and CheckQuorum:
// ReadQuorum, LeaderQuorum) against it, never against the server's own belief.

// Bootstrap declares node id's bootstrap configuration (node.Config.Peers as voters; the
// empty configuration for a server that boots outside every configuration): the
// configuration in force while its log and snapshot name none. Call it before id's first
// event. A node whose bootstrap was not declared takes the View.Config of its first event
// as its bootstrap, if that view's log and snapshot name no configuration (an
// implementation is trusted with its own boot input, nothing more); the simulator and the
// model checker declare nothing else, and the simulator declares every server.
func (c *Checker) Bootstrap(id node.ID, conf node.Configuration) {
	ns := c.state(id)
	ns.boot, ns.bootOK = conf, true
	if !ns.started {
		ns.conf, ns.confAt, ns.confOK, ns.viewOK = conf, 0, true, false
	}
}

// ConfigInForce returns the configuration in force at node id by its log, as of its last
// event (for a crashed node, its last life's), and false if the checker cannot tell (a
// node without a declared or inferred bootstrap whose log names none, a configuration
// entry that does not decode, or a view with a snapshot index but no Snapshot).
func (c *Checker) ConfigInForce(id node.ID) (node.Configuration, bool) {
	ns := c.state(id)
	return ns.conf, ns.confOK
}

// namesConfig reports whether v's log holds a configuration entry or v has a snapshot:
// then its configuration in force does not come from its bootstrap.
func namesConfig(v *node.View) bool {
	if v.SnapshotIndex > 0 {
		return true
	}
	for k := range v.Log {
		if v.Log[k].Kind == node.EntryConfig {
			return true
		}
	}
	return false
}

// configAt returns the configuration in force at index i of v's log (v.SnapshotIndex <=
// i <= v.LastIndex()): the last configuration entry at or before i, else the snapshot's,
// else boot (bootOK: whether boot is known); the index of the entry it came from (0 for
// the snapshot's or the bootstrap); and false if it cannot be told. It scans back from
// i: O(distance to that entry).
func configAt(v *node.View, i node.Index, boot *node.Configuration, bootOK bool) (node.Configuration, node.Index, bool) {
	for k := int(i-v.SnapshotIndex) - 1; k >= 0; k-- {
		if e := &v.Log[k]; e.Kind == node.EntryConfig {
			conf, err := node.DecodeConfiguration(e.Data)
			return conf, e.Index, err == nil
		}
	}
	switch {
	case v.SnapshotIndex == 0:
		return *boot, 0, bootOK
	case v.Snapshot != nil && v.Snapshot.Index == v.SnapshotIndex:
		return v.Snapshot.Config, 0, true
	}
	return node.Configuration{}, 0, false // a snapshot the view does not show
}

// deriveConfig sets ns's configuration in force from v from scratch: at a node's first
// event, a restart, an installed snapshot, or a write that removed the configuration
// entry in force. O(distance from the end of the log to its latest configuration entry).
func (ns *nodeState) deriveConfig(v *node.View) {
	ns.conf, ns.confAt, ns.confOK = configAt(v, v.LastIndex(), &ns.boot, ns.bootOK)
	ns.viewOK = false
}

// stepConfig brings ns's configuration in force up to date after a step whose output is
// out and whose view is v, whose log write checkLogWrite has accepted. A write from index
// k above the entry in force decodes only the configuration entries written (O(entries
// written), the common case decoding nothing); a compaction past the entry in force
// keeps the configuration (now the snapshot's, which checkSnapshotConfig held to it when
// it was taken); anything else (an install, a truncation of the entry in force, the
// node's first event) derives it from scratch.
func (ns *nodeState) stepConfig(out *node.Output, v *node.View) {
	if !ns.started {
		ns.started = true
		if !ns.bootOK && !namesConfig(v) {
			ns.boot, ns.bootOK = v.Config, true
		}
		ns.deriveConfig(v)
		return
	}
	if out.InstallSnapshot != nil || (len(out.Entries) > 0 && ns.confAt >= out.Entries[0].Index) {
		ns.deriveConfig(v)
		return
	}
	if ns.confAt != 0 && ns.confAt <= v.SnapshotIndex {
		ns.confAt = 0 // compacted: the snapshot's configuration, the same one
	}
	w := out.Entries
	for k := len(w) - 1; k >= 0; k-- {
		if e := &w[k]; e.Kind == node.EntryConfig {
			conf, err := node.DecodeConfiguration(e.Data)
			ns.conf, ns.confAt, ns.confOK, ns.viewOK = conf, e.Index, err == nil, false
			return
		}
	}
}

// checkConfigInForce checks Configuration in Force (§6, thesis §4.1) after an event of
// node id: the configuration its view reports (View.Config) is the one its log says. A
// view whose configuration is empty (no voters, outgoing voters or learners) does not
// report one (a test's fake server, an adapter that cannot tell) and is not compared; its
// decisions are still judged against its log's configuration. O(1) while neither changes
// (the node hands out the same slices), O(servers) when one does.
func checkConfigInForce(now time.Duration, id node.ID, ns *nodeState, v *node.View) *Violation {
	if !ns.confOK || (ns.viewOK && sameConfig(&v.Config, &ns.viewConf)) || unreported(&v.Config) {
		return nil
	}
	if v.Config.Equal(&ns.conf) {
		ns.viewConf, ns.viewOK = v.Config, true
		return nil
	}
	return violation(ConfigInForce, now, v.Term, ns.confAt, ids(id),
		"node %d reports configuration %v in force, but its log says %v (%s)", id, v.Config, ns.conf, ns.confSource(v))
}

// confSource says where ns's configuration in force after the step of view v comes
// from, for reports.
func (ns *nodeState) confSource(v *node.View) string {
	switch {
	case ns.confAt != 0:
		return "its latest configuration entry, at index " + strconv.FormatUint(uint64(ns.confAt), 10)
	case v.SnapshotIndex > 0:
		return "its snapshot's configuration, at index " + strconv.FormatUint(uint64(v.SnapshotIndex), 10)
	}
	return "its bootstrap configuration"
}

// checkSnapshotConfig checks Configuration in Force for a snapshot s that node id took of
// its own state (Output.SaveSnapshot): its configuration is the one in force at its index
// (Figure 13: "last config as of lastIncludedIndex"), since a server restarted from it, or
// a follower installing it, takes that configuration. O(entries the snapshot covers beyond
// the previous one), once per snapshot.
func checkSnapshotConfig(now time.Duration, id node.ID, ns *nodeState, s *node.Snapshot, v *node.View) *Violation {
	if s.Index < v.SnapshotIndex || s.Index > v.LastIndex() {
		return nil // Snapshot Safety's and Log Write's to report
	}
	want, at, ok := configAt(v, s.Index, &ns.boot, ns.bootOK)
	if !ok || s.Config.Equal(&want) {
		return nil
	}
	src := "the bootstrap configuration"
	switch {
	case at != 0:
		src = "the configuration entry at index " + strconv.FormatUint(uint64(at), 10)
	case v.SnapshotIndex > 0:
		src = "the previous snapshot's"
	}
	return violation(ConfigInForce, now, v.Term, s.Index, ids(id),
		"node %d took a snapshot at index %d with configuration %v, but the configuration in force there is %v (%s)",
		id, s.Index, s.Config, want, src)
}

// inForceDuring reports whether pred holds for some configuration in force at a node
// during one step: the one before it (prev, if prevOK), one a configuration entry written
// in the step put in force (written), or the one after it (after, if afterOK). A step
// may decide a commit or an election and then append a configuration in the same step,
// so a decision is judged against every configuration that was in force while the step
// ran. Configuration entries written are decoded only if prev and after both fail.
func inForceDuring(prev *node.Configuration, prevOK bool, written []node.Entry, after *node.Configuration, afterOK bool,
	pred func(node.Configuration) bool) bool {
	// pred takes its configuration by value: a pointer passed to a func value escapes, and
	// the callers' configurations live on their stacks.
	if (afterOK && pred(*after)) || (prevOK && pred(*prev)) {
		return true
	}
	for k := range written {
		if e := &written[k]; e.Kind == node.EntryConfig {
			if mid, err := node.DecodeConfiguration(e.Data); err == nil && pred(mid) {
				return true
			}
		}
	}
	return false
}

// finalConfigs checks Configuration in Force from scratch for Final: each view's
// View.Config is the configuration its log says (configAt over the whole log), with the
// bootstrap configurations on record.
func (c *Checker) finalConfigs(now time.Duration, views []node.View) *Violation {
	for i := range views {
		v, ns := &views[i], &c.nodes[i+1]
		want, at, ok := configAt(v, v.LastIndex(), &ns.boot, ns.bootOK)
		if ok && !unreported(&v.Config) && !v.Config.Equal(&want) {
			return violation(ConfigInForce, now, v.Term, at, ids(node.ID(i+1)),
				"node %d reports configuration %v in force, but its log says %v", i+1, v.Config, want)
		}
	}
	return nil
}

// unreported reports whether a view's configuration is empty: the view does not say which
// configuration is in force (a spare's, whose log names none, is empty too, and equal).
func unreported(c *node.Configuration) bool {
	return len(c.Voters) == 0 && len(c.Outgoing) == 0 && len(c.Learners) == 0
}
