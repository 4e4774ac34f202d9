package check

import (
	"cmp"
	"slices"
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
	for i := range cmds {
		a := &cmds[i]
		if a.Outcome != kv.Applied {
			continue
		}
		k, ok := c.findSession(id, a.Client)
		if ok && a.Seq <= c.sessions[k].seq {
			last := c.sessions[k].seq
			what := "a second time"
			if a.Seq < last {
				what = "after its later command #" + strconv.FormatUint(last, 10)
			}
			return violation(ExactlyOnce, now, term, a.Index, ids(id),
				"node %d applied client %d's command #%d at index %d %s (the last command of that client to take effect on this node was #%d)",
				id, a.Client, a.Seq, a.Index, what, last)
		}
		own(c, sharedSessions, &c.sessions)
		if ok {
			c.sessions[k].seq = a.Seq
		} else {
			c.sessions = slices.Insert(c.sessions, k, sessionRec{node: id, client: a.Client, seq: a.Seq})
		}
	}
	return nil
}

// findSession returns the position of node id's record of client in c.sessions, or where
// it would go.
func (c *Checker) findSession(id node.ID, client kv.ClientID) (int, bool) {
	return slices.BinarySearchFunc(c.sessions, sessionRec{node: id, client: client}, cmpSession)
}

func cmpSession(a, b sessionRec) int {
	switch {
	case a.node != b.node:
		return cmp.Compare(a.node, b.node)
	}
	return cmp.Compare(a.client, b.client)
}

// sessionRange returns the positions lo..hi-1 of node id's records in c.sessions.
func (c *Checker) sessionRange(id node.ID) (lo, hi int) {
	lo, _ = c.findSession(id, 0)
	hi = lo
	for hi < len(c.sessions) && c.sessions[hi].node == id {
		hi++
	}
	return lo, hi
}

// resetSessions forgets node id's record: its state machine starts afresh.
func (c *Checker) resetSessions(id node.ID) {
	if lo, hi := c.sessionRange(id); lo < hi {
		own(c, sharedSessions, &c.sessions)
		c.sessions = slices.Delete(c.sessions, lo, hi)
	}
}

// seedSessions replaces node id's record with the session table of st, the state machine
// the node now has (restored from its disk's snapshot, or installed from the leader's): a
// command st already took effect for must not take effect again. It visits st's clients in
// order (Store.Clients), never a map, so the records go in ascending order.
func (c *Checker) seedSessions(id node.ID, st *kv.Store) {
	c.resetSessions(id)
	clients := st.Clients()
	if len(clients) == 0 {
		return
	}
	own(c, sharedSessions, &c.sessions)
	k, _ := c.findSession(id, 0)
	for _, cl := range clients {
		if seq, _, ok := st.LastApplied(cl); ok {
			c.sessions = slices.Insert(c.sessions, k, sessionRec{node: id, client: cl, seq: seq})
			k++
		}
	}
}
