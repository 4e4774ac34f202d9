package check

import (
	"fmt"
	"slices"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// This file holds the checks of the quorum decisions a leader makes from what it receives
// rather than from its log: confirming a read (ReadIndex, thesis §6.4) and staying in
// office (CheckQuorum, thesis §6.2). The Checker sees outputs and views only, so these
// live in a Decisions value the simulator feeds with every step's input too, and they
// judge each decision against the configuration in force by the leader's log
// (Checker.ConfigInForce), never against the leader's own belief.

// Check names of the decisions judged here.
const (
	// ReadQuorum: a leader answers a read (ReadIndex) only after a majority of the voters
	// of its configuration in force (of each majority, while joint), counting itself if
	// it votes, acknowledged a broadcast round it sent after the read arrived (thesis
	// §6.4, steps 2 and 3).
	ReadQuorum = "Read Quorum"
	// LeaderQuorum: with CheckQuorum, a leader stays in office only while a majority of
	// the voters of its configuration in force acknowledged a round it sent within an
	// election timeout (thesis §6.2).
	LeaderQuorum = "Leader Quorum"
)

// DecisionRules are the server options the decision checks need.
type DecisionRules struct {
	// ReadIndex: reads are confirmed with a round of heartbeats (node.ReadIndex); in the
	// other read modes Read Quorum has nothing to judge.
	ReadIndex bool
	// CheckQuorum is node.Config.CheckQuorum; Leader Quorum judges only with it on.
	CheckQuorum bool
	// ElectionTimeoutMax and HeartbeatInterval are the servers' (node.Config).
	ElectionTimeoutMax, HeartbeatInterval time.Duration
}

// sentRing is how many recent broadcast rounds of a leader Decisions remembers the send
// time of: more than the node's own window (roundRing, 64), so that what Decisions knows
// of a leader's acknowledgements is never less than what the leader knows.
const sentRing = 256

// Decisions checks Read Quorum and Leader Quorum, one leader term at a time per server.
// Create it with NewDecisions; feed it every step with Step.
type Decisions struct {
	rules   DecisionRules
	servers []leaderTerm // indexed by ID; slot 0 unused
	// reads and stays count the decisions judged: answered reads, and heartbeats at which
	// a leader stayed in office past the window.
	reads, stays int
}

// Judged is how many reads (Read Quorum) and stays in office (Leader Quorum) were judged
// so far: how much a run exercised the checks.
func (d *Decisions) Judged() (reads, stays int) { return d.reads, d.stays }

// leaderTerm is what Decisions knows of one server's current term as leader.
type leaderTerm struct {
	life    uint64
	leading bool
	term    node.Term
	since   time.Duration // local time it took office
	round   uint64        // the highest round it sent in the term
	sentAt  [sentRing]time.Duration
	acked   []uint64        // per peer ID: the highest round it received an acknowledgement of
	ackedAt []time.Duration // per peer ID: the send time of that round (-1: unknown)
	reads   []waitingRead
	// conf is the configuration in force by its log at its previous step, and confSince
	// the local time it came into force (or the leader took office, if later).
	conf      node.Configuration
	confOK    bool
	confSince time.Duration
}

// waitingRead is a read the leader has received and not answered: it needs a round of at
// least minRound acknowledged by a majority.
type waitingRead struct {
	client   kv.ClientID
	seq      uint64
	minRound uint64
}

// NewDecisions returns the decision checks of a cluster of servers 1..servers.
func NewDecisions(servers int, rules DecisionRules) *Decisions {
	return &Decisions{rules: rules, servers: make([]leaderTerm, servers+1)}
}

// StepInfo is one step of one server, as Decisions needs it.
type StepInfo struct {
	Now   time.Duration // virtual time
	Local time.Duration // the server's clock reading for the step
	Life  uint64        // the server's boot count (a new life starts afresh)
	ID    node.ID
	In    *node.Input
	Out   *node.Output
	View  *node.View // after the step
}

// Step judges one step; conf is the configuration in force at the server after the step
// by its log (Checker.ConfigInForce), confOK whether it is known. It returns the first
// violation, or nil.
func (d *Decisions) Step(s *StepInfo, conf node.Configuration, confOK bool) *Violation {
	if s.ID < 1 || int(s.ID) >= len(d.servers) {
		panic(fmt.Sprintf("check: Decisions.Step for unknown server %d", s.ID))
	}
	lt := &d.servers[s.ID]
	if lt.life != s.Life {
		*lt = leaderTerm{life: s.Life}
	}
	prev, prevOK := lt.conf, lt.confOK
	wasLeading := lt.leading
	if lt.leading {
		d.input(lt, s)
	}
	v := s.View
	if v.Role != node.Leader || (lt.leading && v.Term != lt.term) {
		lt.leading, lt.reads = false, lt.reads[:0]
	}
	if v.Role == node.Leader && !lt.leading {
		d.takeOffice(lt, s)
	}
	if lt.confOK != confOK || !sameConfig(&lt.conf, &conf) {
		lt.conf, lt.confOK, lt.confSince = conf, confOK, s.Local
	}
	if !lt.leading {
		return nil
	}
	d.outputs(lt, s)
	sc := stepConf{prev: prev, prevOK: prevOK, after: conf, afterOK: confOK}
	if x := d.checkReads(lt, s, &sc); x != nil {
		return x
	}
	if wasLeading && s.In.Kind == node.InputWake {
		return d.checkLeaderQuorum(lt, s, &sc)
	}
	return nil
}

// takeOffice starts a new leader term: round 0, nothing acknowledged.
func (d *Decisions) takeOffice(lt *leaderTerm, s *StepInfo) {
	lt.leading, lt.term, lt.since, lt.round = true, s.View.Term, s.Local, 0
	lt.confSince = s.Local
	n := len(d.servers)
	if lt.acked == nil {
		lt.acked, lt.ackedAt = make([]uint64, n), make([]time.Duration, n)
	}
	clear(lt.acked)
	for i := range lt.ackedAt {
		lt.ackedAt[i] = -1
	}
	lt.reads = lt.reads[:0]
}

// input records what the step's input tells of a leader in office: an acknowledgement of a
// round of its term (MsgAppResp or MsgSnapResp, accepted or not, as the node counts them),
// or a read that arrived.
func (d *Decisions) input(lt *leaderTerm, s *StepInfo) {
	in := s.In
	switch in.Kind {
	case node.InputMessage:
		m := &in.Message
		if (m.Type != node.MsgAppResp && m.Type != node.MsgSnapResp) || m.Term != lt.term || m.Round > lt.round {
			return
		}
		if p := int(m.From); p >= 1 && p < len(lt.acked) && m.Round > lt.acked[p] {
			lt.acked[p] = m.Round
			if lt.round-m.Round < sentRing {
				lt.ackedAt[p] = max(lt.ackedAt[p], lt.sentAt[m.Round%sentRing])
			}
		}
	case node.InputClient:
		if d.rules.ReadIndex && in.Request.Op == kv.OpGet && in.Request.Validate() == nil {
			lt.reads = append(lt.reads, waitingRead{client: in.Request.Client, seq: in.Request.Seq, minRound: lt.round + 1})
		}
	}
}

// outputs records the rounds the step broadcast (every AppendEntries and snapshot chunk
// of a leader carries its round).
func (d *Decisions) outputs(lt *leaderTerm, s *StepInfo) {
	for k := range s.Out.Messages {
		m := &s.Out.Messages[k]
		if (m.Type == node.MsgApp || m.Type == node.MsgSnap) && m.Term == lt.term && m.Round > lt.round {
			for r := lt.round + 1; r <= m.Round && r-lt.round <= sentRing; r++ {
				lt.sentAt[r%sentRing] = s.Local
			}
			lt.round = m.Round
		}
	}
}

// checkReads checks Read Quorum for the reads the step answered (ReplyOK to a waiting
// read): some configuration in force during the step must have a majority that
// acknowledged a round of at least the read's minRound. A read that waits several times
// (a client's retries, a duplicated request) is answered once per copy, in arrival order
// (the node serves its reads first come, first served), so each reply answers the
// earliest copy still waiting, the one with the lowest minRound.
func (d *Decisions) checkReads(lt *leaderTerm, s *StepInfo, sc *stepConf) *Violation {
	if len(lt.reads) == 0 {
		return nil
	}
	for k := range s.Out.Replies {
		r := &s.Out.Replies[k]
		if r.Status != node.ReplyOK {
			continue
		}
		j := slices.IndexFunc(lt.reads, func(w waitingRead) bool { return w.client == r.Client && w.seq == r.Seq })
		if j < 0 {
			continue
		}
		minRound := lt.reads[j].minRound
		lt.reads = slices.Delete(lt.reads, j, j+1)
		d.reads++
		acked := func(p node.ID) bool {
			return p == s.ID || (int(p) < len(lt.acked) && lt.acked[p] >= minRound)
		}
		if !sc.afterOK || inForceDuring(&sc.prev, sc.prevOK, s.Out.Entries, &sc.after, true,
			func(c node.Configuration) bool { return quorumOf(&c, acked) }) {
			continue
		}
		return violation(ReadQuorum, s.Now, lt.term, 0, ids(s.ID),
			"leader %d answered client %d's read (seq %d) though only %v acknowledged a round from %d on (sent after the read arrived); configuration in force by its log %v",
			s.ID, r.Client, r.Seq, ackers(&sc.after, acked), minRound, sc.after)
	}
	return nil
}

// checkLeaderQuorum checks Leader Quorum at a wake of a leader that stays in office (a
// heartbeat: the node checks CheckQuorum there). The node steps down at a heartbeat
// unless a majority acknowledged a round sent within ElectionTimeoutMax of its clock, and
// heartbeats come every HeartbeatInterval, so at any wake of a leader in office for more
// than ElectionTimeoutMax + HeartbeatInterval, a majority of its configuration in force
// must have acknowledged a round sent within that much. What Decisions knows of the
// acknowledgements is at least what the leader knows (the same messages, a longer window
// of rounds), so a correct leader never fails it. A leader whose configuration in force
// changed within that window is not judged: its last check may have used the older one.
func (d *Decisions) checkLeaderQuorum(lt *leaderTerm, s *StepInfo, sc *stepConf) *Violation {
	if !d.rules.CheckQuorum || !sc.afterOK || len(sc.after.Voters) == 0 {
		return nil
	}
	window := d.rules.ElectionTimeoutMax + d.rules.HeartbeatInterval
	if s.Local-lt.since <= window || s.Local-lt.confSince <= window {
		return nil
	}
	from := s.Local - window
	d.stays++
	active := func(p node.ID) bool {
		return p == s.ID || (int(p) < len(lt.ackedAt) && lt.ackedAt[p] >= from)
	}
	if quorumOf(&sc.after, active) {
		return nil
	}
	return violation(LeaderQuorum, s.Now, lt.term, 0, ids(s.ID),
		"leader %d (CheckQuorum on) is still in office at local time %v though only %v acknowledged a round it sent since %v (ElectionTimeoutMax + HeartbeatInterval ago); configuration in force by its log %v",
		s.ID, s.Local, ackers(&sc.after, active), from, sc.after)
}

// quorumOf reports whether the servers for which yes holds include a majority of c's
// voters and, while c is joint, of its outgoing voters. A configuration without voters
// has no majority.
func quorumOf(c *node.Configuration, yes func(node.ID) bool) bool {
	count := func(set []node.ID) bool {
		n := 0
		for _, id := range set {
			if yes(id) {
				n++
			}
		}
		return len(set) > 0 && n >= majorityOf(len(set))
	}
	return count(c.Voters) && (!c.Joint() || count(c.Outgoing))
}

// ackers lists the members of c for which yes holds, for reports.
func ackers(c *node.Configuration, yes func(node.ID) bool) []node.ID {
	var out []node.ID
	for _, id := range c.Members() {
		if yes(id) {
			out = append(out, id)
		}
	}
	return out
}
