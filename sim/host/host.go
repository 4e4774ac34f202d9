// Package host is one Raft server on its machine: the Server contract, the simulated disk
// the server's durable state lives on, the background snapshot write, and the host checks
// (Durable State, Snapshot Recovery). It is the unit that both the simulator (package sim)
// and the model checker (package sim/explore) step, so that a server is held to exactly the
// same contract whoever drives it.
//
// The contract. A host makes a step's durable part durable before anything of the step
// leaves: Step writes the hard state, an installed snapshot and the entries to the disk,
// in that order (node.Output), before it returns the output whose messages the caller then
// sends. A restarted server is rebuilt from its disk alone (Boot). A snapshot the server
// took of its own state machine (Output.SaveSnapshot) is written in the background: the
// write is pending until the caller ends it with SaveDone (the simulator after
// Config.Node.SnapshotDelay, the model checker whenever it chooses), and a crash before
// then loses it.
//
// The host knows nothing of time beyond the local clock reading the caller hands to
// Step, nothing of the network and nothing of other hosts: messages, wake-ups, clocks,
// traces and the cluster-wide checks (package sim/check) belong to the caller.
//
// A Host is a plain value graph: Clone makes an independent copy (the server too, if it
// can be cloned) whose stepping never affects the original. Log entries are immutable and
// shared between the server, the disk, clones and in-flight messages; the disk never
// stores into an existing slot of a shared slice.
//
// Imports: node, node/kv and the standard library.
package host

import (
	"fmt"
	"slices"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// Server is what a host needs of a Raft implementation. The raftsim node satisfies it;
// another implementation is driven through an adapter that does.
//
// Step must be deterministic: its output may depend only on the server's state, now and
// in. View must not change the server's state.
type Server interface {
	Step(now time.Duration, in node.Input) node.Output
	View() node.View
}

// Cloner is a Server that can copy itself for model checking: stepping the copy never
// affects the original. The raftsim node is cloned through node.Node.Clone; an adapter
// implements Cloner.
type Cloner interface {
	Server
	CloneServer() Server
}

// NewServer builds a server from its configuration and durable state. It must return a
// fresh, independent server every call.
type NewServer func(cfg node.Config, d node.DurableState) (Server, error)

// Problem is a failed host check: the check's name, the rule of the paper it enforces,
// the server's term at the time, and what was wrong.
type Problem struct {
	Check  string
	Rule   string
	Term   node.Term
	Detail string
}

// The host checks.
const (
	// DurableCheck: after every step the server's term, vote, snapshot and log equal what
	// is on its disk, otherwise a crash now would lose state the server has already acted
	// on ("persist before send", Figure 2). On an asynchronous disk the server's belief of
	// what is durable (View.DurableHardState, DurableIndex) must match the disk instead.
	// And on either disk, a message leaves only when what it states is durable: a granted
	// vote only with that vote (or a later term) on the disk, an acknowledgement of
	// entries up to an index only with the disk's log reaching it in that term or a later
	// one.
	DurableCheck = "Durable State"
	// RecoveryCheck: a restarted server starts from its disk's snapshot (§7): right after
	// boot its applied index is the snapshot's index (the log before it is not replayed;
	// nothing after it is applied before the server learns it is committed) and its state
	// machine is the snapshot's.
	RecoveryCheck = "Snapshot Recovery"
)

// Host is one machine: a server (while up), its disk and its pending snapshot writes.
type Host struct {
	id   node.ID
	srv  Server // nil while crashed
	up   bool
	life uint64 // boots so far
	disk Disk
	// saves are the snapshot writes in progress (normally at most one); saveGen numbers
	// them across lives, so that ending a write lost in a crash finds nothing.
	saves   []Save
	saveGen uint64
	// The asynchronous disk (async.go): the writes in flight, oldest first, the number
	// of the latest write queued in this life, and what the latest boot recovered.
	async     bool
	writes    []Write
	lastWrite uint64
	recovered Recovery
}

// Save is a snapshot write in progress (node.Output.SaveSnapshot).
type Save struct {
	Gen   uint64        // identifies the write across the host's lives
	Since time.Duration // the local time of the step that asked for it
	Snap  node.Snapshot
}

// New returns a crashed host for server id with an empty disk: Boot starts it.
func New(id node.ID) *Host { return &Host{id: id} }

// ID is the host's server ID.
func (h *Host) ID() node.ID { return h.id }

// Up reports whether the server is running (booted and not crashed since).
func (h *Host) Up() bool { return h.up }

// Server is the running server, nil while crashed.
func (h *Host) Server() Server { return h.srv }

// Life is the number of boots so far (the current life's number while up).
func (h *Host) Life() uint64 { return h.life }

// Disk is the host's disk, read-only: the durable state a restart would boot from.
func (h *Host) Disk() *Disk { return &h.disk }

// Saves are the snapshot writes in progress, oldest first (read-only; valid until the next
// call that changes the host).
func (h *Host) Saves() []Save { return h.saves }

// SaveGen is the number of the latest snapshot write started: after a Step whose output
// has SaveSnapshot, the number to end that write with (SaveDone).
func (h *Host) SaveGen() uint64 { return h.saveGen }

// Rejected is the server's count of rejected inputs (node.Stats.Rejected), 0 if it does
// not keep one or is down.
func (h *Host) Rejected() uint64 {
	if s, ok := h.srv.(interface{ Stats() node.Stats }); ok {
		return s.Stats().Rejected
	}
	return 0
}

// Boot starts a new life of the server from the disk alone, with cfg (whose Seed the
// caller derives, typically from the life number Life()+1). It returns the server's first
// view and the problem if the Snapshot Recovery check failed; an error if newServer
// refused the disk or the configuration. The caller must then Step the server with an
// InputWake, which arms its timer. Booting a host that is up is a bug.
func (h *Host) Boot(newServer NewServer, cfg node.Config) (node.View, *Problem, error) {
	if h.up {
		panic(fmt.Sprintf("host: invariant broken: booting node %d, which is up", h.id))
	}
	h.life++
	h.recovered = h.disk.recoverTail()
	h.lastWrite = 0
	srv, err := newServer(cfg, h.disk.State())
	if err != nil {
		return node.View{}, nil, fmt.Errorf("booting node %d: %w", h.id, err)
	}
	h.srv, h.up = srv, true
	v := srv.View()
	return v, h.checkRecovery(&v), nil
}

// Crash stops the server: its process state and the snapshot writes in progress are lost,
// the disk is kept. It returns how many snapshot writes were lost and the index of the last
// one. Crashing a host that is down is a bug.
func (h *Host) Crash() (lostSaves int, lastLost node.Index) {
	lostSaves, lastLost, _ = h.CrashTorn(Tear{})
	return lostSaves, lastLost
}

// CrashTorn is Crash on a host whose asynchronous disk (SetAsync) has writes in flight:
// they are all lost, and the one in progress (the oldest) leaves the prefix t of its
// records on the disk, which the next Boot detects and discards. It also returns how many
// writes in flight were lost.
func (h *Host) CrashTorn(t Tear) (lostSaves int, lastLost node.Index, lostWrites int) {
	if !h.up {
		panic(fmt.Sprintf("host: invariant broken: crashing node %d, which is down", h.id))
	}
	h.tear(t)
	lostWrites = len(h.writes)
	h.writes = nil
	h.up, h.srv = false, nil
	if n := len(h.saves); n > 0 {
		lostSaves, lastLost = n, h.saves[n-1].Snap.Index
		clear(h.saves)
		h.saves = h.saves[:0]
	}
	return lostSaves, lastLost, lostWrites
}

// Step feeds one input to the server at local time now and carries out the durable part
// of its output: the disk write, and the start of a background snapshot write
// (Output.SaveSnapshot, numbered SaveGen()). It returns the output (whose messages,
// replies and applies the caller carries out), the server's view after the step, and the
// problem if the Durable State check failed. Stepping a host that is down is a bug.
func (h *Host) Step(now time.Duration, in node.Input) (node.Output, node.View, *Problem) {
	if !h.up {
		panic(fmt.Sprintf("host: invariant broken: stepping node %d, which is down", h.id))
	}
	out := h.srv.Step(now, in)
	var p *Problem
	if h.async {
		p = h.queueWrite(&out)
	} else {
		h.disk.write(&out)
	}
	v := h.srv.View()
	if p == nil {
		p = h.checkDurable(&v)
	}
	if p == nil {
		p = h.checkSent(out.Messages, v.Term)
	}
	if s := out.SaveSnapshot; s != nil {
		h.saveGen++
		h.saves = append(h.saves, Save{Gen: h.saveGen, Since: now, Snap: *s})
	}
	return out, v, p
}

// SaveOutcome says how ending a snapshot write went.
type SaveOutcome uint8

// The outcomes of SaveDone.
const (
	// SaveGone: no such write (lost in a crash, or already ended): nothing happened.
	SaveGone SaveOutcome = iota
	// SaveOvertaken: the disk already holds a snapshot at least as new (one installed from
	// the leader meanwhile): the write is discarded, and the server is not told (it dropped
	// that save when it installed, node.Output.InstallSnapshot).
	SaveOvertaken
	// SaveWritten: the disk took the snapshot and released the log prefix it covers; the
	// caller must now Step the server with InputSnapshotSaved at the snapshot's index.
	SaveWritten
	// SaveFailed: the snapshot does not fit the disk's log (a server bug); see the problem.
	SaveFailed
)

// SaveDone ends the snapshot write numbered gen. It returns the write (zero for SaveGone),
// the outcome and, for SaveFailed, the Durable State problem.
func (h *Host) SaveDone(gen uint64) (Save, SaveOutcome, *Problem) {
	k := slices.IndexFunc(h.saves, func(p Save) bool { return p.Gen == gen })
	if !h.up || k < 0 {
		return Save{}, SaveGone, nil
	}
	p := h.saves[k]
	h.saves = slices.Delete(h.saves, k, k+1)
	if p.Snap.Index <= h.disk.snapshot.Index {
		return p, SaveOvertaken, nil
	}
	if problem := h.disk.compact(&p.Snap); problem != "" {
		return p, SaveFailed, &Problem{Check: DurableCheck, Rule: "§7", Term: h.srv.View().Term,
			Detail: "node.Output.SaveSnapshot: " + problem}
	}
	return p, SaveWritten, nil
}

// Clone returns an independent copy of h: stepping, crashing or booting either never
// affects the other. The server is cloned with node.Node.Clone, or CloneServer for a
// Cloner; any other server cannot be cloned, which is a bug of the caller.
func (h *Host) Clone() *Host {
	c := *h
	c.disk.log = h.disk.log[:len(h.disk.log):len(h.disk.log)]
	c.saves = slices.Clone(h.saves)
	c.writes = slices.Clone(h.writes)
	c.disk.tail = slices.Clone(h.disk.tail)
	switch s := h.srv.(type) {
	case nil:
	case *node.Node:
		c.srv = s.Clone()
	case Cloner:
		c.srv = s.CloneServer()
	default:
		panic(fmt.Sprintf("host: Clone: node %d's server %T implements neither node.Node nor host.Cloner", h.id, h.srv))
	}
	return &c
}

// checkRecovery runs RecoveryCheck on the freshly booted server, whose view is v.
func (h *Host) checkRecovery(v *node.View) *Problem {
	s := &h.disk.snapshot
	problem := ""
	switch {
	case v.AppliedIndex != s.Index:
		problem = fmt.Sprintf("booted from a disk whose snapshot ends at index %d with applied index %d: a restart must start from the snapshot, neither replaying the log from the beginning nor applying entries not known to be committed",
			s.Index, v.AppliedIndex)
	case v.SnapshotIndex != s.Index || v.SnapshotTerm != s.Term:
		problem = fmt.Sprintf("booted from a disk whose snapshot ends at %d@t%d with a snapshot at %d@t%d",
			s.Index, s.Term, v.SnapshotIndex, v.SnapshotTerm)
	case s.Index > 0 && v.Store != nil:
		// Rare (once per restart), so the snapshot is decoded to compare states.
		restored, err := kv.Restore(s.Data)
		switch {
		case err != nil:
			problem = fmt.Sprintf("the disk's snapshot at index %d does not decode: %v", s.Index, err)
		case restored.Hash() != v.Store.Hash():
			problem = fmt.Sprintf("the state machine after boot (hash %#x) is not the disk's snapshot at index %d (hash %#x)",
				v.Store.Hash(), s.Index, restored.Hash())
		}
	}
	if problem == "" {
		return nil
	}
	return &Problem{Check: RecoveryCheck, Rule: "§7", Term: v.Term, Detail: problem}
}

// checkDurableAsync is DurableCheck on an asynchronous disk: the server believes durable
// exactly the hard state on its disk, and a log that agrees with the disk's up to its
// durable index; the disk's snapshot is never ahead of the server's.
func (h *Host) checkDurableAsync(v *node.View) *Problem {
	d := &h.disk
	if d.hardState != v.DurableHardState {
		return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: v.Term,
			Detail: fmt.Sprintf("server believes term %d vote %d durable but its disk has term %d vote %d",
				v.DurableHardState.Term, v.DurableHardState.Vote, d.hardState.Term, d.hardState.Vote)}
	}
	if d.snapshot.Index > v.SnapshotIndex {
		return &Problem{Check: DurableCheck, Rule: "§7", Term: v.Term,
			Detail: fmt.Sprintf("the disk has a snapshot at %d, past the server's at %d", d.snapshot.Index, v.SnapshotIndex)}
	}
	i := v.DurableIndex
	if i > d.LastIndex() {
		return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: v.Term,
			Detail: fmt.Sprintf("server believes its log durable up to %d but its disk log ends at %d", i, d.LastIndex())}
	}
	if i > d.snapshot.Index && i > v.SnapshotIndex {
		got, want := d.log[i-d.snapshot.Index-1], v.Log[i-v.SnapshotIndex-1]
		if !got.SameAs(want) {
			return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: v.Term,
				Detail: fmt.Sprintf("server believes entry %v durable but its disk has %v there", want, got)}
		}
	}
	return nil
}

// checkSent is the part of DurableCheck on the messages a step sends: each states only
// what is durable.
func (h *Host) checkSent(msgs []node.Message, term node.Term) *Problem {
	d := &h.disk
	for k := range msgs {
		m := &msgs[k]
		switch {
		case !m.Success:
		case m.Type == node.MsgVoteResp:
			if hs := d.hardState; hs.Term < m.Term || (hs.Term == m.Term && hs.Vote != m.To) {
				return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: term,
					Detail: fmt.Sprintf("granted its vote in term %d to node %d with term %d vote %d on its disk", m.Term, m.To, hs.Term, hs.Vote)}
			}
		case m.Type == node.MsgAppResp || m.Type == node.MsgSnapResp:
			if d.hardState.Term < m.Term || d.LastIndex() < m.MatchIndex {
				return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: term,
					Detail: fmt.Sprintf("acknowledged entries up to %d in term %d with a disk log ending at %d in term %d",
						m.MatchIndex, m.Term, d.LastIndex(), d.hardState.Term)}
			}
		}
	}
	return nil
}

// checkDurable is DurableCheck of the server's view v after a step. The server's view
// compacts its log when told InputSnapshotSaved, as the disk does, so the two stay equal.
func (h *Host) checkDurable(v *node.View) *Problem {
	if h.async {
		return h.checkDurableAsync(v)
	}
	hs := h.disk.hardState
	if hs.Term != v.Term || hs.Vote != v.Vote {
		return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: v.Term,
			Detail: fmt.Sprintf("server has term %d vote %d but its disk has term %d vote %d", v.Term, v.Vote, hs.Term, hs.Vote)}
	}
	d := &h.disk
	if d.snapshot.Index != v.SnapshotIndex || d.snapshot.Term != v.SnapshotTerm {
		return &Problem{Check: DurableCheck, Rule: "§7", Term: v.Term,
			Detail: fmt.Sprintf("server has a snapshot at %d@t%d but its disk has one at %d@t%d",
				v.SnapshotIndex, v.SnapshotTerm, d.snapshot.Index, d.snapshot.Term)}
	}
	n := len(d.log)
	if n != len(v.Log) || (n > 0 && (!d.log[n-1].SameAs(v.Log[n-1]) || !d.log[0].SameAs(v.Log[0]))) {
		return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: v.Term,
			Detail: fmt.Sprintf("server log has last index %d but its disk log has %d (or their first or last entries differ)",
				v.LastIndex(), d.LastIndex())}
	}
	return nil
}
