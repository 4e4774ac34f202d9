package sim

import (
	"fmt"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/sim/check"
)

// This file and liveness.go hold the checks that need the world's knowledge besides the
// servers' outputs and views: each step's input and the server's clock reading (Read
// Quorum, Leader Quorum, Stability; their rules are package check's), and the network,
// the hosts' state and virtual time (Transfer Outcome here, Liveness while Healthy in
// liveness.go). They only observe: they draw nothing, schedule nothing and touch no
// trace hash, so a run's trace is the same with them as without.
//
// Transfer Outcome is judged only under perfect conditions, where the outcome is certain
// for a correct server: from the start of a transfer to its end, every server of the
// leader's configuration is up and unpaused with a clock within the health bounds, every
// link between up servers is up, the network loses nothing and its slowest message
// (netsim.Config.MaxDelay) takes at most a quarter of the minimum election timeout, no
// up server is in a term above the leader's at the start, and the leader appends nothing
// once it has told the target to campaign. The target then wins the election it starts
// before anyone else's timer can fire, so the first server to take office after the
// leader leaves office must be the target, within ElectionTimeoutMin. Anything else ends
// the judgement (the rule, check.TransferWatch, says which ends are legal).

// oracles holds the world-side checks' state (see liveness.go for the fields of
// Liveness while Healthy).
type oracles struct {
	on        bool
	decisions *check.Decisions
	stability *check.StabilityWatch
	transfer  check.TransferWatch
	// per host, for Transfer Outcome: the transfer target and term of its last view, and
	// whether it has sent MsgTimeoutNow in the transfer under way.
	trTarget []node.ID
	trTerm   []node.Term
	trTold   []bool
	live     liveness
}

// initOracles sets up the world-side checks for w's configuration.
func (w *World) initOracles() {
	o := &w.oracles
	cfg := &w.cfg
	n := len(w.hosts)
	o.on = true
	o.decisions = check.NewDecisions(n, check.DecisionRules{
		ReadIndex: cfg.Node.ReadMode == node.ReadIndex, CheckQuorum: cfg.Node.CheckQuorum,
		ElectionTimeoutMax: cfg.Node.ElectionTimeoutMax, HeartbeatInterval: cfg.Node.HeartbeatInterval,
	})
	o.stability = check.NewStabilityWatch(n, check.StabilityRules{
		PreVote: cfg.Node.PreVote, CheckQuorum: cfg.Node.CheckQuorum, ElectionTimeoutMin: cfg.Node.ElectionTimeoutMin,
	})
	o.transfer.Bound = cfg.Node.ElectionTimeoutMin
	o.trTarget, o.trTerm, o.trTold = make([]node.ID, n+1), make([]node.Term, n+1), make([]bool, n+1)
	w.initLiveness()
}

// observeStep runs the step checks on one step of h: its input, output, view after it
// and clock reading. The host calls it after the cluster checks of the step.
func (w *World) observeStep(h *machine, in *node.Input, out *node.Output, v *node.View, local time.Duration) {
	o := &w.oracles
	if !o.on {
		return
	}
	s := check.StepInfo{Now: w.now, Local: local, Life: h.life(), ID: h.id, In: in, Out: out, View: v}
	conf, ok := w.check.ConfigInForce(h.id)
	if x := o.decisions.Step(&s, conf, ok); x != nil {
		w.failWith(x)
	}
	if x := o.stability.Step(&s, w.describeStanding); x != nil {
		w.failWith(x)
	}
	if w.sched == nil {
		w.observeTransferOutcome(h, out, v)
	}
}

// describeStanding says how sender stands to leader on the network now, for Stability's
// reports: whether it is cut off from the leader and how many servers it reaches.
func (w *World) describeStanding(sender, leader node.ID) string {
	if sender < 1 || int(sender) > len(w.hosts) {
		return ""
	}
	reach := 0
	for _, h := range w.hosts {
		if h.id != sender && h.up && w.net.Connected(int(sender), int(h.id)) {
			reach++
		}
	}
	var b strings.Builder
	switch {
	case leader < 1 || int(leader) > len(w.hosts):
		fmt.Fprintf(&b, "node %d", sender)
	case !w.net.Connected(int(sender), int(leader)) || !w.net.Connected(int(leader), int(sender)):
		fmt.Fprintf(&b, "node %d is cut off from leader %d", sender, leader)
	default:
		fmt.Fprintf(&b, "node %d is connected to leader %d", sender, leader)
	}
	fmt.Fprintf(&b, " and reaches %d other live servers", reach)
	return b.String()
}

// observeTransferOutcome follows leadership transfers for Transfer Outcome through h's
// views: a transfer starts (judged only if the world is perfect then), is aborted, ends
// with h leaving office, or a server takes office.
func (w *World) observeTransferOutcome(h *machine, out *node.Output, v *node.View) {
	o := &w.oracles
	t := &o.transfer
	id := h.id
	was, wasTerm := o.trTarget[id], o.trTerm[id]
	if v.TransferTarget != node.None && (v.TransferTarget != was || v.Term != wasTerm) {
		if v.Role == node.Leader && w.transferPerfect(id, v.Term, true) {
			t.Started(id, v.TransferTarget, v.Term)
		}
		o.trTold[id] = false
	}
	if t.Judged() && v.TransferTarget != node.None {
		for k := range out.Messages {
			if out.Messages[k].Type == node.MsgTimeoutNow {
				o.trTold[id] = true
			}
		}
		if o.trTold[id] && len(out.Entries) > 0 && v.Role == node.Leader {
			t.Unhealthy() // the target's log is no longer the leader's
		}
	}
	if was != node.None && v.TransferTarget == node.None {
		switch {
		case v.Role == node.Leader && v.Term == wasTerm:
			t.Ended(id, wasTerm)
		case v.Term == wasTerm+1:
			// The target's election's term (its RequestVote, or a reply of a server that
			// voted for it): under perfect conditions nobody else campaigns.
			t.SteppedDown(w.now, id, v.Term)
		default:
			t.Unhealthy() // it left office for another reason than its target's election
		}
	}
	o.trTarget[id], o.trTerm[id] = v.TransferTarget, v.Term
	if v.Role == node.Leader && (h.lastRole != node.Leader || h.lastTerm != v.Term) {
		if x := t.TookOffice(w.now, id, v.Term); x != nil {
			w.failWith(x)
		}
	}
}

// transferPerfect reports whether the world is perfect for judging a transfer by leader
// l of term (see the file comment); at its start, no up server may be in a later term.
func (w *World) transferPerfect(l node.ID, term node.Term, start bool) bool {
	nc := w.net.Config()
	if nc.LossProbability > 0 || 4*nc.MaxDelay() > w.cfg.Node.ElectionTimeoutMin {
		return false
	}
	conf, ok := w.check.ConfigInForce(l)
	if !ok {
		return false
	}
	for _, h := range w.hosts {
		if !h.up {
			if conf.IsMember(h.id) {
				return false
			}
			continue
		}
		if h.pausedUntil > w.now || !w.clockHealthy(h) || (start && h.lastView.Term > term) {
			return false
		}
		for _, g := range w.hosts {
			if g.up && g != h && !w.net.Connected(int(h.id), int(g.id)) {
				return false
			}
		}
	}
	return true
}

// OracleCoverage says how much a run exercised the world-side checks: how many decisions
// and situations each judged. A check that judged nothing in a run could not have caught
// a bug there; the scenario tests use it to measure which share of seeds exercises what.
type OracleCoverage struct {
	Reads, Stays     int // Read Quorum's reads and Leader Quorum's stays in office judged
	StabilityJudged  int // requests Stability's rules applied to
	Transfers        int // transfers Transfer Outcome judged to their end
	LivenessEpisodes int // healthy stretches without a leader whose deadline ran
}

// OracleCoverage is the run's coverage of the world-side checks so far.
func (w *World) OracleCoverage() OracleCoverage {
	o := &w.oracles
	if !o.on {
		return OracleCoverage{}
	}
	var c OracleCoverage
	c.Reads, c.Stays = o.decisions.Judged()
	c.StabilityJudged = o.stability.Judged()
	c.Transfers = o.transfer.Verdicts()
	c.LivenessEpisodes = o.live.watch.Episodes()
	return c
}
