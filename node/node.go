package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"raftsim/node/kv"
)

// pcgStream is the second PCG seed word: a fixed constant, so that the node's stream is a
// function of Config.Seed alone.
const pcgStream = 0x9e3779b97f4a7c15

// Node is one Raft server (Figure 2) as a pure state machine. Change it only through Step.
//
// Node holds plain values so that it can be cloned for model checking; use Clone rather
// than a struct copy, since a copy would share the per-peer slices and the log's spare
// capacity with the original. AppendState fingerprints it (state.go); a field added here
// must be encoded there or listed as left out in its test.
type Node struct {
	id ID

	// Membership (§6, see membership.go): the configuration in force, the configuration
	// entries in the log after the snapshot, and the snapshot's configuration. The
	// per-peer slices below are indexed by position in peers: every member, plus this
	// server.
	conf     Configuration
	confs    []confEntry
	snapConf Configuration
	peers    []ID   // ascending
	self     int    // position of id in peers
	inNew    []bool // per peer: a voter of C(new) (or of the only configuration)
	inOld    []bool // per peer: a voter of C(old), while joint
	change   confChange
	catchUp  Index // LearnerCatchUpMax

	electionTimeoutMin   time.Duration
	electionTimeoutMax   time.Duration
	heartbeatInterval    time.Duration
	maxEntriesPerMessage int
	readMode             ReadMode
	checkQuorum          bool
	preVote              bool
	snapshotThreshold    Index
	snapshotChunkSize    int
	leaseDuration        time.Duration // ReadLease: how long a lease lasts on this clock
	maxPending           int

	rng rand.PCG // election timeouts only; called via pointer so draws advance it

	// Persistent state (Figure 2): term, vote and log.
	term Term
	vote ID
	log  raftLog

	// Volatile state.
	role    Role
	leader  ID // the leader of term, or None
	commit  Index
	applied Index
	store   *kv.Store // the state machine, after applying entries up to applied

	// Snapshots (§7, see snapshot.go).
	snap      *Snapshot      // the latest durable snapshot (immutable; replaced, never modified)
	saving    *Snapshot      // a snapshot being saved by the host, or nil
	snapProg  []snapProgress // leader: per peer, the snapshot transfer in progress
	snapRecv  snapReceiver   // follower: the snapshot being received
	installed *Snapshot      // a snapshot installed in this step (Output.InstallSnapshot)

	now           time.Duration // the local clock reading of the current step
	leaderContact time.Duration // follower: when it last heard from the leader of its term

	timerArmed       bool
	electionDeadline time.Duration // follower and candidate
	heartbeatDue     time.Duration // leader

	// Per-peer state, indexed by position in peers.
	votes []bool  // candidate: who granted its vote in term (a set, so duplicates count once)
	next  []Index // leader: nextIndex
	match []Index // leader: matchIndex; match[self] is the leader's own last index

	// Leader: client service (see client.go).
	leaderSince   time.Duration
	termStart     Index                    // index of this term's no-op
	round         uint64                   // broadcast rounds sent in this term
	roundSentAt   [roundRing]time.Duration // send time of recent rounds, by round % roundRing
	acked         []uint64                 // per peer: highest round acknowledged in this term
	ackedAt       []time.Duration          // per peer: send time of that round
	readBroadcast bool                     // a read arrived in this step and needs a round
	// Leadership transfer (thesis §3.10): the target, when it started, and whether the
	// target has been told to campaign.
	transferTarget ID
	transferSince  time.Duration
	timeoutNowSent bool
	leaseRevoked   Term // the term in which this leader sent MsgTimeoutNow: it has no lease in it (leaseValid)
	waiters        []waiter
	reads          []pendingRead

	// Per-step state, reset by beginStep.
	stepHardState HardState // term and vote before the step
	stepCommit    Index     // commit index before the step
	stepLast      Index     // last log index before the step
	stepRole      Role      // role before the step
	written       Index     // lowest log index written during the step, 0 if none
	msgs          []Message // reused across steps: Output.Messages
	replies       []Reply   // reused across steps: Output.Replies
	commands      []AppliedCommand
	proposal      Proposal
	leaseRead     Term // Output.LeaseRead

	// dur is the asynchronous storage state (Config.AsyncStorage, durability.go); nil on
	// a synchronous disk, so that the common node stays small.
	dur *durability

	stats Stats
}

// New returns a follower with the term, vote and log of d, commit and applied index 0. It
// returns an error if cfg is invalid (see Config.Validate) or d is not a state a server
// could have written: log indexes not consecutive from 1, log terms zero, decreasing or
// above the hard state's term, an unknown entry kind, or a vote for a server that is not
// a peer (or a vote in term 0), a term above MaxTerm or a log ending above MaxIndex.
// New copies d.Log; the caller keeps ownership of d.
//
// The host must then call Step with an InputWake, which arms the election timer.
func New(cfg Config, d DurableState) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	boot := Configuration{Voters: slices.Sorted(slices.Values(cfg.Peers))}
	if err := validateDurable(d); err != nil {
		return nil, err
	}
	n := &Node{
		id:                   cfg.ID,
		electionTimeoutMin:   cfg.ElectionTimeoutMin,
		electionTimeoutMax:   cfg.ElectionTimeoutMax,
		heartbeatInterval:    cfg.HeartbeatInterval,
		maxEntriesPerMessage: cfg.MaxEntriesPerMessage,
		readMode:             cfg.ReadMode,
		checkQuorum:          cfg.CheckQuorum,
		preVote:              cfg.PreVote,
		maxPending:           cfg.MaxPendingRequests,
		snapshotThreshold:    Index(cfg.SnapshotThreshold),
		snapshotChunkSize:    cfg.SnapshotChunkSize,
		term:                 d.HardState.Term,
		vote:                 d.HardState.Vote,
		log:                  raftLog{snapIndex: d.Snapshot.Index, snapTerm: d.Snapshot.Term, entries: slices.Clone(d.Log)},
		snap:                 cloneSnapshot(d.Snapshot),
		commit:               d.Snapshot.Index,
		applied:              d.Snapshot.Index,
		role:                 Follower,
		catchUp:              Index(cfg.LearnerCatchUpMax),
	}
	if cfg.AsyncStorage {
		n.dur = &durability{durable: d.HardState, durableIndex: d.Snapshot.Index + Index(len(d.Log))}
	}
	// A follower may vote for another server electionTimeoutMin after hearing from the
	// leader, by its own clock. Clocks drift by at most MaxClockDrift against real time,
	// so a lease of L on this clock must satisfy L/(1-d) <= electionTimeoutMin/(1+d).
	drift := cfg.MaxClockDrift
	n.leaseDuration = time.Duration(float64(float64(cfg.ElectionTimeoutMin)*(1-drift)) / (1 + drift))
	if n.maxPending == 0 {
		n.maxPending = defaultMaxPendingRequests
	}
	if n.snapshotChunkSize == 0 {
		n.snapshotChunkSize = defaultSnapshotChunkSize
	}
	// The configuration in force: the log's last configuration entry, else the
	// snapshot's, else the bootstrap one.
	n.snapConf = boot
	if !d.Snapshot.IsZero() {
		n.snapConf = d.Snapshot.Config
	}
	n.setConfig(n.snapConf)
	n.noteConfigEntries(n.log.entries)
	// Rebuild the state machine from the snapshot, never by replaying the log from the
	// start (§7); the entries after it are applied again as they are committed.
	n.store = kv.NewStore()
	if !d.Snapshot.IsZero() {
		store, err := kv.Restore(d.Snapshot.Data)
		if err != nil {
			return nil, fmt.Errorf("node: durable state: snapshot at %d: %w", d.Snapshot.Index, err)
		}
		n.store = store
	}
	if n.maxEntriesPerMessage == 0 {
		n.maxEntriesPerMessage = defaultMaxEntriesPerMessage
	}
	if n.catchUp == 0 {
		n.catchUp = 2 * Index(n.maxEntriesPerMessage)
	}
	n.rng.Seed(cfg.Seed, pcgStream)
	return n, nil
}

// validateDurable reports the first reason d cannot be a server's durable state.
func validateDurable(d DurableState) error {
	hs := d.HardState
	if hs.Vote < None {
		return fmt.Errorf("node: durable state: vote for %d", hs.Vote)
	}
	if err := d.Snapshot.Config.Validate(); err != nil {
		return fmt.Errorf("node: durable state: snapshot: %w", err)
	}
	if hs.Term > MaxTerm {
		return fmt.Errorf("node: durable state: term %d above MaxTerm %d", hs.Term, MaxTerm)
	}
	if last := d.Snapshot.Index + Index(len(d.Log)); d.Snapshot.Index > MaxIndex || last > MaxIndex {
		return fmt.Errorf("node: durable state: log ends above MaxIndex %d", MaxIndex)
	}
	if hs.Term == 0 && hs.Vote != None {
		return fmt.Errorf("node: durable state: vote for %d in term 0", hs.Vote)
	}
	sn := d.Snapshot
	if (sn.Index == 0) != (sn.Term == 0) || sn.Term > hs.Term {
		return fmt.Errorf("node: durable state: snapshot at %d@t%d with current term %d", sn.Index, sn.Term, hs.Term)
	}
	prev := sn.Term
	for i, e := range d.Log {
		switch {
		case e.Index != sn.Index+Index(i+1):
			return fmt.Errorf("node: durable state: log[%d] has index %d, want %d", i, e.Index, sn.Index+Index(i+1))
		case e.Term == 0 || e.Term < prev:
			return fmt.Errorf("node: durable state: entry %v has term %d after term %d", e, e.Term, prev)
		case e.Term > hs.Term:
			return fmt.Errorf("node: durable state: entry %v has a term above the current term %d", e, hs.Term)
		case !e.Kind.Valid():
			return fmt.Errorf("node: durable state: entry %v has unknown kind", e)
		}
		if e.Kind == EntryConfig {
			if _, err := DecodeConfiguration(e.Data); err != nil {
				return fmt.Errorf("node: durable state: entry %d: %w", e.Index, err)
			}
		}
		prev = e.Term
	}
	return nil
}

// Step feeds one input to the node at local clock reading now and returns what the host
// must do (see Output for the order). It is the only way the node's state changes. Bad
// input is counted in Stats.Rejected and otherwise ignored; Step panics only when an
// internal invariant is broken, which is a bug in this package.
func (n *Node) Step(now time.Duration, in Input) Output {
	n.beginStep(now)
	if !n.timerArmed {
		n.resetElectionTimer(now)
	}
	switch in.Kind {
	case InputWake:
		n.handleWake(now)
	case InputMessage:
		n.handleMessage(now, in.Message)
	case InputPropose:
		n.handlePropose(in.Data)
	case InputCampaign:
		if n.role != Leader {
			n.startElection(now)
		}
	case InputTransfer:
		n.handleTransfer(now, in.Target)
	case InputAdmin:
		n.handleAdmin(in.Admin)
	case InputClient:
		n.handleClient(in.Request)
	case InputSnapshotSaved:
		n.handleSnapshotSaved(in.Index)
	case InputDurable:
		n.handleDurable(in.Write)
	default:
		n.stats.Rejected++
	}
	return n.finishStep()
}

// View returns a read-only look at the node. It does not allocate; its slices share the
// node's memory and are valid until the next Step.
func (n *Node) View() View {
	last := len(n.log.entries)
	v := View{
		ID:               n.id,
		Term:             n.term,
		Vote:             n.vote,
		Role:             n.role,
		Leader:           n.leader,
		SnapshotIndex:    n.log.snapIndex,
		TransferTarget:   n.transferTarget,
		TransferSince:    n.transferSince,
		SnapshotTerm:     n.log.snapTerm,
		Snapshot:         n.viewSnapshot(),
		Log:              n.log.entries[:last:last],
		CommitIndex:      n.commit,
		AppliedIndex:     n.applied,
		Peers:            n.conf.Voters,
		Config:           n.conf,
		Store:            n.store,
		DurableHardState: HardState{Term: n.term, Vote: n.vote},
		DurableIndex:     n.log.lastIndex(),
	}
	if d := n.dur; d != nil {
		v.DurableHardState, v.DurableIndex = d.durable, min(d.durableIndex, n.log.lastIndex())
	}
	return v
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// Clone returns an independent copy of n: stepping either never affects the other. The
// log's entries are shared: they are immutable, and the copy's log is capped so that its
// first append reallocates rather than writing into spare capacity the original will
// also append into (see raftLog). So are the peer list and its voter masks, which
// setConfig replaces and nothing writes into, and the configurations. The copy is one
// allocation with its state machine's struct and, for up to cloneArenaPeers peers, the
// arrays of its per-peer state (cloneArena); the state machine's maps are the only other
// allocations, with the waiting requests and configuration entries when there are any.
func (n *Node) Clone() *Node {
	a := new(cloneArena)
	c := &a.node
	*c = *n
	last := len(n.log.entries)
	c.log.entries = n.log.entries[:last:last]
	c.votes = cloneInto(a.votes[:], n.votes)
	c.next = cloneInto(a.next[:], n.next)
	c.match = cloneInto(a.match[:], n.match)
	c.acked = cloneInto(a.acked[:], n.acked)
	c.ackedAt = cloneInto(a.ackedAt[:], n.ackedAt)
	c.snapProg = cloneInto(a.snapProg[:], n.snapProg)
	c.confs = slices.Clone(n.confs) // truncated in place (forgetConfigsFrom), then appended to
	// Only ever appended to, or replaced: capped, the copy's first append reallocates.
	c.change.waiters = slices.Clip(n.change.waiters)
	c.snapRecv.buf = slices.Clip(n.snapRecv.buf)
	c.waiters = slices.Clone(n.waiters) // answered ones are removed in place
	c.reads = slices.Clone(n.reads)
	n.store.CloneInto(&a.store)
	c.store = &a.store
	if n.dur != nil {
		c.dur = n.dur.clone()
	}
	c.msgs, c.replies, c.commands = nil, nil, nil
	return c
}

// cloneArenaPeers is how many peers' state a clone keeps in its own allocation: enough for
// the model checker's small clusters (3 servers and a spare). With 5, cloneArena would
// pass 2048 bytes, the next size class after a Node alone (1792); larger clusters get
// their per-peer slices allocated apart.
const cloneArenaPeers = 4

// cloneArena is a Clone with the room for its state machine's struct and its per-peer
// slices, allocated at once.
type cloneArena struct {
	node     Node
	store    kv.Store
	votes    [cloneArenaPeers]bool
	next     [cloneArenaPeers]Index
	match    [cloneArenaPeers]Index
	acked    [cloneArenaPeers]uint64
	ackedAt  [cloneArenaPeers]time.Duration
	snapProg [cloneArenaPeers]snapProgress
}

// cloneInto returns a copy of src in buf's array, capped, if it fits; else a fresh copy.
func cloneInto[T any](buf, src []T) []T {
	if src == nil || len(src) > len(buf) {
		return slices.Clone(src)
	}
	c := buf[:len(src):len(src)]
	copy(c, src)
	return c
}

// handleWake acts on whatever timer is due: a leader's heartbeat, or the election timeout
// of a follower or candidate (§5.2). An early wake does nothing.
func (n *Node) handleWake(now time.Duration) {
	if n.role == Leader {
		if now >= n.heartbeatDue {
			if n.checkQuorum && !n.quorumActive(n.electionTimeoutMax) {
				// CheckQuorum: no majority has answered for an election timeout, so
				// another leader may well exist; stop serving (thesis §6.2).
				n.stepDownFromLeader(now)
				return
			}
			n.checkTransferTimeout(now)
			n.broadcastAppend()
			n.resendTimeoutNow()
			n.heartbeatDue = now + n.heartbeatInterval
		}
		return
	}
	if now >= n.electionDeadline {
		n.startElection(now)
	}
}

// handleMessage checks m and dispatches it. Any message with a higher term makes the node
// a follower in that term first (§5.1), whether it is a request or a response.
func (n *Node) handleMessage(now time.Duration, m Message) {
	if !n.wellFormed(&m) {
		n.stats.Rejected++
		return
	}
	if m.Type == MsgVote && m.Term > n.term && !m.Transfer && n.inLease() {
		// CheckQuorum: a live leader exists; this candidate cannot see it and must not
		// depose it. Ignore the request entirely, term included (thesis §6.2). A
		// candidate sent by a leadership transfer is answered: the leader wants it.
		n.stats.VotesIgnored++
		return
	}
	// A pre-vote's term is only proposed, and a granted pre-vote answer carries it back:
	// neither may move anyone's term (thesis §9.6).
	proposedTerm := m.Type == MsgPreVote || (m.Type == MsgPreVoteResp && m.Success)
	if m.Term > n.term && !proposedTerm {
		leader := None
		if m.Type == MsgApp {
			leader = m.From
		}
		n.stepDown(now, m.Term, leader)
	}
	switch m.Type {
	case MsgVote:
		n.handleVote(now, &m)
	case MsgVoteResp:
		n.handleVoteResp(now, &m)
	case MsgApp:
		n.handleApp(now, &m)
	case MsgAppResp:
		n.handleAppResp(&m)
	case MsgSnap:
		n.handleSnap(now, &m)
	case MsgSnapResp:
		n.handleSnapResp(&m)
	case MsgPreVote:
		n.handlePreVote(now, &m)
	case MsgPreVoteResp:
		n.handlePreVoteResp(now, &m)
	case MsgTimeoutNow:
		n.handleTimeoutNow(now, &m)
	}
}

// peerPos returns the position of id in peers, or -1.
func (n *Node) peerPos(id ID) int {
	for i, p := range n.peers {
		if p == id {
			return i
		}
	}
	return -1
}

// send queues m for the host, from this node. On an asynchronous disk a response that
// reports this server's state waits for its writes (durability.go).
func (n *Node) send(m Message) {
	m.From = n.id
	if n.dur != nil && dependsOnDisk(m.Type) {
		n.dur.after = append(n.dur.after, m)
		return
	}
	n.msgs = append(n.msgs, m)
}

// beginStep resets the per-step state.
func (n *Node) beginStep(now time.Duration) {
	n.now = now
	n.stepHardState = HardState{Term: n.term, Vote: n.vote}
	n.stepCommit = n.commit
	n.stepLast = n.log.lastIndex()
	n.stepRole = n.role
	n.written = 0
	clear(n.msgs) // drop references to entries of earlier steps
	n.msgs = n.msgs[:0]
	clear(n.replies)
	n.replies = n.replies[:0]
	n.commands = n.commands[:0]
	n.readBroadcast = false
	n.installed = nil
	n.proposal = Proposal{}
	n.leaseRead = 0
}

// noteWritten records that the log was written from index i on during this step.
func (n *Node) noteWritten(i Index) {
	if n.written == 0 || i < n.written {
		n.written = i
	}
}

// finishStep builds the step's Output: the durable part, the messages, the entries newly
// committed (applied exactly once, in order), and the next wake-up.
func (n *Node) finishStep() Output {
	if n.readBroadcast && n.role == Leader {
		n.broadcastAppend()
	}
	var apply []Entry
	if hi := n.applyLimit(); hi > n.applied {
		apply = n.log.slice(n.applied+1, hi+1)
		n.applied = hi
		n.applyCommitted(apply)
	}
	if n.role == Leader {
		n.serveReads()
		n.advanceChange()
		n.stepDownIfRemoved()
	}
	save := n.maybeSnapshot()
	n.checkInvariants()
	out := Output{
		HardState: HardState{Term: n.term, Vote: n.vote},
		Proposal:  n.proposal,
		WakeAt:    n.electionDeadline,
	}
	out.HardStateChanged = out.HardState != n.stepHardState
	out.LeaseRead = n.leaseRead
	out.InstallSnapshot = n.installed
	out.SaveSnapshot = save
	if n.written != 0 {
		// One write from the lowest index touched: a truncation followed by appends, or
		// several appends, collapse into a single "drop from here, then append".
		out.Entries = n.log.slice(n.written, n.log.lastIndex()+1)
	}
	if n.dur != nil {
		n.finishWrite(&out)
	}
	if len(n.msgs) > 0 {
		out.Messages = n.msgs
	}
	out.Apply = apply
	if len(n.replies) > 0 {
		out.Replies = n.replies
	}
	if len(n.commands) > 0 {
		out.Commands = n.commands
	}
	if n.role == Leader {
		out.WakeAt = n.heartbeatDue
	}
	return out
}
