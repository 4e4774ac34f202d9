package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"raftsim/netsim"
	"raftsim/node"
	"raftsim/sim/check"
	"raftsim/sim/schedule"
)

// This file is the World's surface for scenarios: faults to inject and state to observe.
// Every fault is traced, hashed and recorded on the timeline.

func (w *World) host(id node.ID) *machine {
	if id < 1 || int(id) > len(w.hosts) {
		panic(fmt.Sprintf("sim: no node %d in a cluster of %d", id, len(w.hosts)))
	}
	return w.hosts[id-1]
}

// faultEvent hashes and traces a fault, and puts it on the timeline (it returns the
// timeline's entry, nil when the timeline is full).
func (w *World) faultEvent(kind HappeningKind, id node.ID, text string) *Happening {
	w.hash.str(text)
	w.tracef(id, "fault: %s", text)
	return w.note(kind, id, 0, text)
}

// Crash stops node id: its volatile state is gone, its disk stays. Crashing a crashed node
// does nothing.
func (w *World) Crash(id node.ID) {
	h := w.host(id)
	if !h.up || !w.admit(schedule.Action{Kind: schedule.ActionCrash, Node: id}) {
		return
	}
	lost, lastLost := h.unit.Crash()
	h.up = false
	h.wakeWant, h.wakeAt = 0, 0
	h.pausedUntil = 0
	w.counts.Crashes++
	w.check.Crash(w.now, id)
	text := fmt.Sprintf("node %d crashed", id)
	if lost > 0 {
		// The background write is lost; the disk keeps its older snapshot and full log.
		w.counts.SnapshotsLost += uint64(lost)
		text += fmt.Sprintf(" (losing the write of its snapshot at index %d)", lastLost)
	}
	w.faultEvent(HappenCrash, id, text)
}

// Restart boots node id again from its disk alone. Restarting a live node does nothing.
func (w *World) Restart(id node.ID) {
	h := w.host(id)
	if h.up || !w.admit(schedule.Action{Kind: schedule.ActionRestart, Node: id}) {
		return
	}
	w.counts.Restarts++
	d := h.disk()
	text := fmt.Sprintf("node %d restarted from disk (term %d, %d entries)", id, d.HardState().Term, len(d.Log()))
	if s := d.Snapshot(); s.Index > 0 {
		text = fmt.Sprintf("node %d restarted from disk (term %d, snapshot at index %d, %d entries after it)",
			id, d.HardState().Term, s.Index, len(d.Log()))
	}
	w.faultEvent(HappenRestart, id, text)
	if err := w.boot(h); err != nil {
		// The disk was written only by this server's own outputs, so a refusal to boot
		// from it is a bug in the server or the host.
		w.Failf("Restart", "node %d could not boot from its disk: %v", id, err)
	}
}

// endpoint checks that id is a server, a client address (World.ClientAddr) or the admin
// client's address (World.AdminAddr).
func (w *World) endpoint(id node.ID) int {
	if id < 1 || int(id) > w.admin.addr {
		panic(fmt.Sprintf("sim: no node or client address %d (nodes 1..%d, client addresses %d..%d, admin address %d)",
			id, len(w.hosts), len(w.hosts)+1, len(w.hosts)+len(w.clients), w.admin.addr))
	}
	if int(id) == w.admin.addr {
		w.admin.used = true
	}
	return int(id)
}

// endpointName names an endpoint in fault descriptions: "3" for node 3, "c2" for client 2,
// "admin" for the admin client.
func (w *World) endpointName(e int) string {
	switch {
	case e == w.admin.addr:
		return "admin"
	case e > len(w.hosts):
		return "c" + strconv.Itoa(e-len(w.hosts))
	}
	return strconv.Itoa(e)
}

// describedEndpoints is how many endpoints network descriptions cover: the servers and
// clients, and the admin client once it is in use (so that a run without an operator
// describes, and hashes, its faults exactly as before the admin client existed).
func (w *World) describedEndpoints() int {
	if w.admin.used {
		return w.admin.addr
	}
	return len(w.hosts) + len(w.clients)
}

// Partition splits the network into groups that cannot talk to each other; servers not
// listed form one more group. Groups may hold client addresses (World.ClientAddr) and the
// admin address (World.AdminAddr): a listed client reaches only its group; an unlisted
// client keeps reaching every server. It replaces any earlier cuts.
func (w *World) Partition(groups ...[]node.ID) {
	group := make([]int, w.admin.addr+1) // 0: unlisted
	for i, g := range groups {
		for _, id := range g {
			e := w.endpoint(id)
			if group[e] != 0 {
				panic(fmt.Sprintf("sim: Partition: %s is listed in groups %d and %d", w.endpointName(e), group[e]-1, i))
			}
			group[e] = i + 1
		}
	}
	if !w.admit(w.partitionAction(groups)) {
		return
	}
	w.net.Heal()
	n := len(group) - 1
	for a := 1; a <= n; a++ {
		for b := a + 1; b <= n; b++ {
			ga, gb := group[a], group[b]
			if ga == gb {
				continue
			}
			// An unlisted client is in no group: it reaches everyone.
			if (ga == 0 && a > len(w.hosts)) || (gb == 0 && b > len(w.hosts)) {
				continue
			}
			w.net.Cut(a, b)
		}
	}
	w.faultEvent(HappenNetwork, node.None, "partition: "+w.describeGroups(groups))
}

// Isolate cuts node (or client address) id off from every other node and client, in both
// directions.
func (w *World) Isolate(id node.ID) {
	e := w.endpoint(id)
	if !w.admit(w.endpointAction(schedule.ActionIsolate, id)) {
		return
	}
	w.net.Isolate(e)
	w.faultEvent(HappenNetwork, id, "isolate: "+w.describeNet())
}

// Cut cuts the link between a and b in both directions, in addition to the current cuts
// (a partial partition: each still reaches everyone else). Either may be a client or the
// admin address.
func (w *World) Cut(a, b node.ID) {
	ea, eb := w.endpoint(a), w.endpoint(b)
	if !w.admit(w.endpointAction(schedule.ActionCut, a, b)) {
		return
	}
	w.net.Cut(ea, eb)
	w.faultEvent(HappenNetwork, node.None, "link cut: "+w.describeNet())
}

// CutOneWay stops messages from from to to; to can still reach from. Either may be a
// client address.
func (w *World) CutOneWay(from, to node.ID) {
	ef, et := w.endpoint(from), w.endpoint(to)
	if !w.admit(w.endpointAction(schedule.ActionCutOneWay, from, to)) {
		return
	}
	w.net.CutOneWay(ef, et)
	w.faultEvent(HappenNetwork, node.None, "one-way cut: "+w.describeNet())
}

// Bridge cuts a and c apart while both still reach b (a non-transitive partition). Any of
// them may be a client address.
func (w *World) Bridge(a, b, c node.ID) {
	ea, eb, ec := w.endpoint(a), w.endpoint(b), w.endpoint(c)
	if !w.admit(w.endpointAction(schedule.ActionBridge, a, b, c)) {
		return
	}
	w.net.Bridge(ea, eb, ec)
	w.faultEvent(HappenNetwork, node.None, "bridge: "+w.describeNet())
}

// Heal brings every link up.
func (w *World) Heal() {
	if !w.admit(schedule.Action{Kind: schedule.ActionHeal}) {
		return
	}
	w.net.Heal()
	w.faultEvent(HappenHeal, node.None, "healed: all links up")
}

// describeNet lists the cut links like netsim's Describe, naming clients "c1", "c2"...:
// "cut: 1-3 2->4 c1-2".
func (w *World) describeNet() string {
	var b strings.Builder
	n := w.describedEndpoints()
	for x := 1; x <= n; x++ {
		for y := x + 1; y <= n; y++ {
			xy, yx := !w.net.Connected(x, y), !w.net.Connected(y, x)
			if !xy && !yx {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("cut:")
			}
			switch {
			case xy && yx:
				fmt.Fprintf(&b, " %s-%s", w.endpointName(x), w.endpointName(y))
			case xy:
				fmt.Fprintf(&b, " %s->%s", w.endpointName(x), w.endpointName(y))
			default:
				fmt.Fprintf(&b, " %s->%s", w.endpointName(y), w.endpointName(x))
			}
		}
	}
	if b.Len() == 0 {
		return "all links up"
	}
	return b.String()
}

// SetNetwork changes the network's fault rates from now on.
func (w *World) SetNetwork(cfg netsim.Config) error {
	if err := w.net.SetConfig(cfg); err != nil {
		return err
	}
	w.faultEvent(HappenNetConfig, node.None, fmt.Sprintf("network faults now: loss %.0f%%, duplication %.0f%%, delay %v-%v",
		float64(cfg.LossProbability*100), float64(cfg.DuplicateProbability*100), cfg.DelayMin, cfg.DelayMax))
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

// Config is the run's configuration
// (a copy), without its recording and replay hooks (Record, Replay), which belong to this
// run: a scenario that runs a second world from it runs a plain seeded one.
func (w *World) Config() Config {
	c := w.cfg
	c.Record, c.Replay = nil, nil
	return c
}

// Nodes is the number of servers (hosts): Config.Nodes + Config.Spares, whether or not
// they are in the configuration (see Voters).
func (w *World) Nodes() int { return len(w.hosts) }

// Up reports whether node id is running.
func (w *World) Up(id node.ID) bool { return w.host(id).up }

// View is node id's state after its latest step; for a crashed node, its state just
// before the crash.
func (w *World) View(id node.ID) node.View { return w.host(id).lastView }

// Disk is node id's durable state: its hard state, its latest durable snapshot and the log
// after it (read-only).
func (w *World) Disk(id node.ID) node.DurableState { return w.host(id).disk().State() }

// NodeStats is node id's counters in its current life (node.Stats: elections, pre-votes,
// transfers, rejected inputs), if its server reports them (the raftsim node does); zero
// for a crashed node or a server that does not.
func (w *World) NodeStats(id node.ID) node.Stats {
	h := w.host(id)
	if s, ok := h.unit.Server().(interface{ Stats() node.Stats }); ok && h.up {
		return s.Stats()
	}
	return node.Stats{}
}

// SavingSnapshot reports whether a snapshot write is in progress on node id's disk
// (node.Output.SaveSnapshot, taking Config.Node.SnapshotDelay).
func (w *World) SavingSnapshot(id node.ID) bool { return len(w.host(id).unit.Saves()) > 0 }

// Leader is the live node that is leader in the highest term, or None. Every server
// counts, spares included.
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
	c.Commits = uint64(w.CommittedLen())
	return c
}

// CommittedLen is the highest index observed committed so far.
func (w *World) CommittedLen() int { return int(w.check.CommittedLen()) }

// CommittedEntry is the entry observed committed at index i, and false if none is known
// there: i is 0 or past CommittedLen, or the checker's ledger has forgotten it (the ledger
// keeps only the committed entries above every server's snapshot; see package check).
func (w *World) CommittedEntry(i node.Index) (node.Entry, bool) { return w.check.CommittedEntry(i) }

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
		fmt.Fprintf(&b, "node %d (%s): %v term %d vote %d leader %d log %d commit %d applied %d; %s",
			h.id, state, v.Role, v.Term, v.Vote, v.Leader, v.LastIndex(), v.CommitIndex, v.AppliedIndex, briefConfig(&v.Config))
		if v.TransferTarget != node.None {
			fmt.Fprintf(&b, "; transferring leadership to %d", v.TransferTarget)
		}
		if d := h.disk(); v.SnapshotIndex > 0 || d.Snapshot().Index > 0 {
			fmt.Fprintf(&b, " snapshot %d (%d entries after it; disk snapshot %d, %d entries)",
				v.SnapshotIndex, len(v.Log), d.Snapshot().Index, len(d.Log()))
		}
		b.WriteByte('\n')
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
		check.OneVotePerTerm, check.LogWrite, check.ExactlyOnce, check.SnapshotSafety, "Durable State", RecoveryCheck,
		check.CommitQuorum, check.ElectionQuorum, TransferLiveness, check.LeaseSafety,
		check.ConfigInForce, check.ReadQuorum, check.LeaderQuorum, check.Stability, check.TransferOutcome, check.HealthyLiveness,
	}
}

// describeGroups writes a partition as "{1 2 c1} | {3 4 5}", the unlisted servers last.
func (w *World) describeGroups(groups [][]node.ID) string {
	nodes := len(w.hosts)
	listed := make([]bool, nodes+1)
	var b strings.Builder
	for _, g := range groups {
		b.WriteByte('{')
		for i, id := range g {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.endpointName(int(id)))
			if int(id) <= nodes {
				listed[id] = true
			}
		}
		b.WriteString("} | ")
	}
	b.WriteByte('{')
	first := true
	for id := 1; id <= nodes; id++ {
		if !listed[id] {
			if !first {
				b.WriteByte(' ')
			}
			first = false
			b.WriteString(strconv.Itoa(id))
		}
	}
	b.WriteByte('}')
	return b.String()
}

// Pause stalls server id for d, as a long garbage collection or a frozen VM would: it
// processes nothing (messages, client requests, timers and snapshot writes addressed to it
// wait, in arrival order) and then resumes with the beliefs it had, while its clock kept
// running. Pausing a crashed or paused server does nothing.
func (w *World) Pause(id node.ID, d time.Duration) {
	h := w.host(id)
	if !h.up || h.pausedUntil > w.now || d <= 0 || !w.admit(schedule.Action{Kind: schedule.ActionPause, Node: id, Duration: d}) {
		return
	}
	h.pausedUntil = w.now + d
	w.counts.Pauses++
	if h := w.faultEvent(HappenPause, id, fmt.Sprintf("node %d paused for %v", id, d)); h != nil {
		h.Until = w.now + d
	}
}

// Paused reports whether server id is paused now.
func (w *World) Paused(id node.ID) bool { return w.host(id).pausedUntil > w.now }

// deferForPause re-queues an event addressed to a paused server at the end of its pause,
// and reports whether it did. Events are re-queued in the order they arrive, so the
// server later sees them in that order.
func (w *World) deferForPause(e event) bool {
	var id int32
	switch e.kind {
	case evDeliver:
		if int(e.node) > len(w.hosts) {
			return false // to a client or the admin client
		}
		id = e.node
	case evWake, evSnapshot:
		id = e.node
	default:
		return false
	}
	if id < 1 || int(id) > len(w.hosts) {
		return false
	}
	h := w.hosts[id-1]
	if h.pausedUntil <= w.now {
		return false
	}
	w.queue.push(event{at: h.pausedUntil, kind: e.kind, node: e.node, arg: e.arg})
	return true
}
