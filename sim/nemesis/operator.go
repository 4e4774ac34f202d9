package nemesis

import (
	"math/rand/v2"
	"slices"

	"raftsim/node"
	"raftsim/sim"
)

// This file holds the actions of the operator kinds: membership changes through the
// world's admin client, and leadership transfers (see the package doc for the rules).

// changeable returns the configuration in force and whether a membership change may be
// requested now: no admin request pending, AdminQuiet passed since the last change, and
// a configuration that is neither joint nor catching a learner up.
func (n *Nemesis) changeable(w *sim.World) (node.Configuration, bool) {
	if w.AdminPending() || w.Now() < n.quietUntil {
		return node.Configuration{}, false
	}
	c := w.Configuration()
	return c, len(c.Voters) > 0 && !c.Joint() && len(c.Learners) == 0
}

// request asks the operator for op on server, counted as kind k.
func (n *Nemesis) request(w *sim.World, k Kind, op node.AdminOp, server node.ID) {
	n.count(k)
	w.Admin(op, server, func(w *sim.World) { n.changed(w, op, server) })
}

// changed runs when a change the nemesis requested has completed.
func (n *Nemesis) changed(w *sim.World, op node.AdminOp, server node.ID) {
	n.changesDone++
	n.quietUntil = w.Now() + n.opts.AdminQuiet
	if op != node.AdminRemoveServer {
		n.removed[server] = false
		return
	}
	n.removed[server] = true
	if n.opts.Decommission {
		n.down[server] = true
		w.Crash(server)
	}
}

// drawFrom draws one of ids, or None if there are none.
func drawFrom(r *rand.Rand, ids []node.ID) node.ID {
	if len(ids) == 0 {
		return node.None
	}
	return ids[r.IntN(len(ids))]
}

func (n *Nemesis) addServer(w *sim.World, r *rand.Rand, id node.ID) {
	c, ok := n.changeable(w)
	if !ok {
		return
	}
	var spares []node.ID
	for s := node.ID(1); int(s) <= w.Nodes(); s++ {
		if !c.IsMember(s) && !n.removed[s] {
			spares = append(spares, s)
		}
	}
	if s := drawFrom(r, spares); s != node.None {
		n.request(w, AddServer, node.AdminAddServer, s)
	}
}

func (n *Nemesis) reAddServer(w *sim.World, r *rand.Rand, id node.ID) {
	c, ok := n.changeable(w)
	if !ok {
		return
	}
	var gone []node.ID
	for s := node.ID(1); int(s) <= w.Nodes(); s++ {
		if n.removed[s] && !c.IsMember(s) {
			gone = append(gone, s)
		}
	}
	s := drawFrom(r, gone)
	if s == node.None {
		return
	}
	if n.down[s] {
		n.down[s] = false
		w.Restart(s) // it comes back with the disk it had when it was shut down
	}
	n.request(w, ReAddServer, node.AdminAddServer, s)
}

func (n *Nemesis) removeServer(w *sim.World, r *rand.Rand, id node.ID) {
	c, ok := n.changeable(w)
	if !ok || len(c.Voters) < 2 {
		return
	}
	l := w.Leader()
	others := slices.DeleteFunc(slices.Clone(c.Voters), func(v node.ID) bool { return v == l })
	if s := drawFrom(r, others); s != node.None {
		n.request(w, RemoveServer, node.AdminRemoveServer, s)
	}
}

func (n *Nemesis) removeLeader(w *sim.World, r *rand.Rand, id node.ID) {
	c, ok := n.changeable(w)
	l := w.Leader()
	if !ok || len(c.Voters) < 2 || l == node.None || !slices.Contains(c.Voters, l) {
		return
	}
	n.request(w, RemoveLeader, node.AdminRemoveServer, l)
}

func (n *Nemesis) transfer(w *sim.World, r *rand.Rand, id node.ID) {
	l := w.Leader()
	if l == node.None {
		return
	}
	c := w.Configuration() // the leader's
	others := slices.DeleteFunc(slices.Clone(c.Voters), func(v node.ID) bool { return v == l })
	if t := drawFrom(r, others); t != node.None && w.Transfer(t) {
		n.count(Transfer)
	}
}
