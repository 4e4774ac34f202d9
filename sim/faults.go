package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"raftsim/netsim"
	"raftsim/node"
	"raftsim/sim/check"
)

// This file is the World's surface for scenarios: faults to inject and state to observe.
// Every fault is traced, hashed and recorded on the timeline.

func (w *World) host(id node.ID) *host {
	if id < 1 || int(id) > len(w.hosts) {
		panic(fmt.Sprintf("sim: no node %d in a cluster of %d", id, len(w.hosts)))
	}
	return w.hosts[id-1]
}

// faultEvent hashes and traces a fault, and puts it on the timeline.
func (w *World) faultEvent(kind HappeningKind, id node.ID, text string) {
	w.hash.str(text)
	w.tracef(id, "fault: %s", text)
	w.note(kind, id, 0, text)
}

// Crash stops node id: its volatile state is gone, its disk stays. Crashing a crashed node
// does nothing.
func (w *World) Crash(id node.ID) {
	h := w.host(id)
	if !h.up {
		return
	}
	h.up, h.srv = false, nil
	h.wakeWant, h.wakeAt = 0, 0
	w.counts.Crashes++
	w.check.Crash(w.now, id)
	w.faultEvent(HappenCrash, id, fmt.Sprintf("node %d crashed", id))
}

// Restart boots node id again from its disk alone. Restarting a live node does nothing.
func (w *World) Restart(id node.ID) {
	h := w.host(id)
	if h.up {
		return
	}
	w.counts.Restarts++
	w.faultEvent(HappenRestart, id, fmt.Sprintf("node %d restarted from disk (term %d, %d entries)",
		id, h.disk.hardState.Term, len(h.disk.log)))
	if err := w.boot(h); err != nil {
		// The disk was written only by this server's own outputs, so a refusal to boot
		// from it is a bug in the server or the host.
		w.Failf("Restart", "node %d could not boot from its disk: %v", id, err)
	}
}

// Partition splits the network into groups that cannot talk to each other; nodes not
// listed form one more group. It replaces any earlier cuts.
func (w *World) Partition(groups ...[]node.ID) {
	ints := make([][]int, len(groups))
	for i, g := range groups {
		for _, id := range g {
			w.host(id)
			ints[i] = append(ints[i], int(id))
		}
	}
	w.net.Partition(ints...)
	w.faultEvent(HappenNetwork, node.None, "partition: "+describeGroups(groups, len(w.hosts)))
}

// Isolate cuts node id off from every other node, in both directions.
func (w *World) Isolate(id node.ID) {
	w.host(id)
	w.net.Isolate(int(id))
	w.faultEvent(HappenNetwork, id, "isolate: "+w.net.Describe())
}

// CutOneWay stops messages from from to to; to can still reach from.
func (w *World) CutOneWay(from, to node.ID) {
	w.host(from)
	w.host(to)
	w.net.CutOneWay(int(from), int(to))
	w.faultEvent(HappenNetwork, node.None, "one-way cut: "+w.net.Describe())
}

// Bridge cuts a and c apart while both still reach b (a non-transitive partition).
func (w *World) Bridge(a, b, c node.ID) {
	w.host(a)
	w.host(b)
	w.host(c)
	w.net.Bridge(int(a), int(b), int(c))
	w.faultEvent(HappenNetwork, node.None, "bridge: "+w.net.Describe())
}

// Heal brings every link up.
func (w *World) Heal() {
	w.net.Heal()
	w.faultEvent(HappenNetwork, node.None, "healed: all links up")
}

// SetNetwork changes the network's fault rates from now on.
func (w *World) SetNetwork(cfg netsim.Config) error {
	if err := w.net.SetConfig(cfg); err != nil {
		return err
	}
	w.faultEvent(HappenNetwork, node.None, fmt.Sprintf("network faults now: loss %.0f%%, duplication %.0f%%, delay %v-%v",
		cfg.LossProbability*100, cfg.DuplicateProbability*100, cfg.DelayMin, cfg.DelayMax))
	return nil
}

// Propose hands a command to node id now. It returns the node's answer, or a refusal if
// the node is down.
func (w *World) Propose(id node.ID, data string) node.Proposal {
	h := w.host(id)
	w.counts.Proposals++
	if !h.up {
		return node.Proposal{}
	}
	w.countEvent(evPropose, id, uint64(len(data)), 0)
	w.hash.str(data)
	if w.cfg.Trace != nil {
		w.tracef(id, "propose %q", data)
	}
	out := w.step(h, node.Input{Kind: node.InputPropose, Data: data})
	if out.Proposal.Accepted {
		w.counts.ProposalsAccepted++
	} else if w.cfg.Trace != nil {
		w.tracef(id, "   refused: not the leader (hint: node %d)", out.Proposal.Leader)
	}
	return out.Proposal
}

// Now is the current virtual time.
func (w *World) Now() time.Duration { return w.now }

// Nodes is the cluster size.
func (w *World) Nodes() int { return len(w.hosts) }

// Up reports whether node id is running.
func (w *World) Up(id node.ID) bool { return w.host(id).up }

// View is node id's state after its latest step; for a crashed node, its state just
// before the crash.
func (w *World) View(id node.ID) node.View { return w.host(id).lastView }

// Disk is node id's durable state.
func (w *World) Disk(id node.ID) node.DurableState { return w.host(id).disk.state() }

// Leader is the live node that is leader in the highest term, or None.
func (w *World) Leader() node.ID {
	best, bestTerm := node.None, node.Term(0)
	for _, h := range w.hosts {
		if h.up && h.lastView.Role == node.Leader && h.lastView.Term >= bestTerm {
			best, bestTerm = h.id, h.lastView.Term
		}
	}
	return best
}

// MaxTerm is the highest current term among live nodes.
func (w *World) MaxTerm() node.Term {
	var t node.Term
	for _, h := range w.hosts {
		if h.up && h.lastView.Term > t {
			t = h.lastView.Term
		}
	}
	return t
}

// Counts are the run's totals so far.
func (w *World) Counts() Counts {
	c := w.counts
	c.Commits = uint64(len(w.check.Committed()))
	return c
}

// Committed is the ledger of entries observed committed so far, by index (read-only).
func (w *World) Committed() []node.Entry { return w.check.Committed() }

// LeaderHistory lists, per term in which a leader was seen, who led and when it took office.
func (w *World) LeaderHistory() []check.LeaderRecord { return w.check.Leaders() }

// Random is the scenario's own random stream (for choosing victims and the like), derived
// from the root seed independently of every other stream.
func (w *World) Random() *rand.Rand { return w.random }

// FaultRandom is the fault schedule's random stream.
func (w *World) FaultRandom() *rand.Rand { return w.faults }

// NetworkStats are the network's counters so far.
func (w *World) NetworkStats() netsim.Stats { return w.net.Stats() }

// Describe summarises every node's state in one line per node, for failure reports.
func (w *World) Describe() string {
	var b strings.Builder
	for _, h := range w.hosts {
		v := h.lastView
		state := "up"
		if !h.up {
			state = "down"
		}
		fmt.Fprintf(&b, "node %d (%s): %v term %d vote %d leader %d log %d commit %d applied %d\n",
			h.id, state, v.Role, v.Term, v.Vote, v.Leader, len(v.Log), v.CommitIndex, v.AppliedIndex)
	}
	return b.String()
}

// Campaign makes node id start an election now, as if its election timer had fired
// (node.InputCampaign). Scripted scenarios use it to force a schedule such as Figure 8's.
// A leader ignores it; a crashed node cannot campaign.
func (w *World) Campaign(id node.ID) {
	h := w.host(id)
	if !h.up {
		return
	}
	w.countEvent(evAction, id, uint64(node.InputCampaign), 0)
	w.tracef(id, "campaign (forced)")
	w.step(h, node.Input{Kind: node.InputCampaign})
}

// CheckNames lists the checks every run makes after every event.
func CheckNames() []string {
	return []string{
		check.ElectionSafety, check.LeaderAppendOnly, check.LogMatching, check.LeaderCompleteness,
		check.CurrentTermCommit, check.CommitAgreement, check.StateMachineSafety, check.MonotonicIndexes,
		check.OneVotePerTerm, check.LogWrite, "Durable State",
	}
}

// describeGroups writes a partition as "{1 2} | {3 4 5}", the unlisted nodes last.
func describeGroups(groups [][]node.ID, nodes int) string {
	listed := make([]bool, nodes+1)
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "%v | ", g)
		for _, id := range g {
			listed[id] = true
		}
	}
	var rest []node.ID
	for id := 1; id <= nodes; id++ {
		if !listed[id] {
			rest = append(rest, node.ID(id))
		}
	}
	fmt.Fprintf(&b, "%v", rest)
	return strings.NewReplacer("[", "{", "]", "}").Replace(b.String())
}
