package check

import (
	"strconv"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// checkExactlyOnce checks Exactly-once (thesis §6.3) for the commands node id applied in
// one step: a command that took effect (kv.Applied) must have a sequence number above the
// last one that took effect for its client on this node's state machine. The record
// follows the state machine: it is reseeded from the session table of a restored
// (Restart) or installed (Output.InstallSnapshot) state, so a command a snapshot covers
// must not take effect again.
func (c *Checker) checkExactlyOnce(now time.Duration, id node.ID, term node.Term, cmds []node.AppliedCommand) *Violation {
	m := c.sessions[id]
	if m == nil {
		m = make(map[kv.ClientID]uint64)
		c.sessions[id] = m
	}
	for i := range cmds {
		a := &cmds[i]
		if a.Outcome != kv.Applied {
			continue
		}
		if last, ok := m[a.Client]; ok && a.Seq <= last {
			what := "a second time"
			if a.Seq < last {
				what = "after its later command #" + strconv.FormatUint(last, 10)
			}
			return violation(ExactlyOnce, now, term, a.Index, ids(id),
				"node %d applied client %d's command #%d at index %d %s (the last command of that client to take effect on this node was #%d)",
				id, a.Client, a.Seq, a.Index, what, last)
		}
		m[a.Client] = a.Seq
	}
	return nil
}

// resetSessions forgets node id's record: its state machine starts afresh.
func (c *Checker) resetSessions(id node.ID) {
	if m := c.sessions[id]; m != nil {
		clear(m)
	}
}

// seedSessions replaces node id's record with the session table of st, the state machine
// the node now has (restored from its disk's snapshot, or installed from the leader's): a
// command st already took effect for must not take effect again. It visits st's clients in
// order (Store.Clients), never a map.
func (c *Checker) seedSessions(id node.ID, st *kv.Store) {
	c.resetSessions(id)
	clients := st.Clients()
	if len(clients) == 0 {
		return
	}
	m := c.sessions[id]
	if m == nil {
		m = make(map[kv.ClientID]uint64, len(clients))
		c.sessions[id] = m
	}
	for _, cl := range clients {
		if seq, _, ok := st.LastApplied(cl); ok {
			m[cl] = seq
		}
	}
}
