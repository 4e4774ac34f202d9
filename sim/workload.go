package sim

import (
	"math/rand/v2"
	"strconv"
	"time"

	"raftsim/node"
)

// workload is the built-in proposer (see Workload). It learns who leads from the nodes'
// answers, as a client would, and it gives up on a node that accepted a command but has
// not applied it within proposeTimeout (a deposed leader cut off from the majority keeps
// accepting commands it can never commit); a node applying the command stands in for the
// reply a real client would wait for.
type workload struct {
	cfg    Workload
	rng    *rand.Rand
	nodes  int
	target node.ID
	next   uint64 // sequence number of the next command
	buf    []byte

	// avoid is a node that accepted a command and did not apply it in time; its hint and
	// others' hints pointing at it are distrusted until avoidUntil (a deposed leader keeps
	// being named by the followers that were cut off with it).
	avoid      node.ID
	avoidUntil time.Duration

	// The oldest accepted command not yet applied by the node that accepted it.
	pending      bool
	pendingIndex node.Index
	pendingSince time.Duration
}

// proposeTimeout is how long the proposer waits for the node that accepted a command to
// apply it before trying another node.
const proposeTimeout = 500 * time.Millisecond

// init sets the proposer up: its first target is one of the initial voters 1..voters;
// later it picks among all servers 1..servers (spares may have become voters).
func (l *workload) init(cfg Workload, seed uint64, voters, servers int) {
	l.cfg = cfg
	l.rng = rand.New(rand.NewPCG(seed, 2))
	l.nodes = servers
	l.target = node.ID(l.rng.IntN(voters) + 1)
}

// fire proposes one command and schedules the next proposal.
func (l *workload) fire(w *World) {
	if l.cfg.Stop > 0 && w.now >= l.cfg.Stop {
		return
	}
	l.checkPending(w)
	l.next++
	l.buf = strconv.AppendUint(append(l.buf[:0], 'w'), l.next, 10)
	p := w.Propose(l.target, string(l.buf))
	if p.Accepted && !l.pending {
		l.pending, l.pendingIndex, l.pendingSince = true, p.Index, w.now
	}
	if !p.Accepted {
		l.pending = false // a new target: the old one's pending command is its own affair
		// Follow the hint; with none (or a hint at ourselves), try a random node next.
		distrusted := p.Leader == l.avoid && w.now < l.avoidUntil
		if p.Leader != node.None && p.Leader != l.target && !distrusted {
			l.target = p.Leader
		} else {
			l.target = l.other(w, l.target)
		}
	}
	gap := l.cfg.IntervalMin
	if span := l.cfg.IntervalMax - l.cfg.IntervalMin; span > 0 {
		gap += time.Duration(l.rng.Int64N(int64(span) + 1))
	}
	w.queue.push(event{at: w.now + gap, kind: evPropose})
}

// checkPending clears the pending command once its node applied it, and moves to another
// node if that took longer than proposeTimeout.
func (l *workload) checkPending(w *World) {
	if !l.pending {
		return
	}
	if v := w.View(l.target); w.Up(l.target) && v.AppliedIndex >= l.pendingIndex {
		l.pending = false
		return
	}
	if w.now-l.pendingSince < proposeTimeout {
		return
	}
	l.pending = false
	l.avoid, l.avoidUntil = l.target, w.now+proposeTimeout
	l.target = l.other(w, l.target)
}

// other picks a random node other than id and other than the distrusted node (falling
// back to what is left in tiny clusters).
func (l *workload) other(w *World, id node.ID) node.ID {
	avoid := node.None
	if w.now < l.avoidUntil {
		avoid = l.avoid
	}
	choices := l.nodes - 1
	if avoid != node.None && avoid != id {
		choices--
	}
	if choices <= 0 {
		return id
	}
	k := l.rng.IntN(choices)
	for x := node.ID(1); ; x++ {
		if x == id || x == avoid {
			continue
		}
		if k == 0 {
			return x
		}
		k--
	}
}
