package node

// Tests of the rules of Raft §5 (extended paper, Figure 2), one rule per test, in the
// spirit of etcd-io/raft's raft_paper_test.go. Each test names its section.

import (
	"slices"
	"testing"
	"time"
)

// follower returns server id of a cluster of size servers, a follower with durable state d,
// its election timer armed at time 0.
func follower(t testing.TB, id ID, size int, d DurableState) *Node {
	t.Helper()
	n := mustNew(t, testConfig(id, size, uint64(id)), d)
	n.Step(0, Input{Kind: InputWake})
	return n
}

// candidate returns server 1 of a cluster of size servers, a candidate of term d's term+1.
func candidate(t testing.TB, size int, d DurableState) (*Node, Output) {
	t.Helper()
	n := follower(t, 1, size, d)
	out := n.Step(n.electionDeadline, Input{Kind: InputWake})
	if n.role != Candidate && size > 1 {
		t.Fatalf("role %v after election timeout, want candidate", n.role)
	}
	return n, out
}

// §5.1: a server that sees a higher term in a request becomes a follower of that term and
// forgets its vote; an AppendEntries also tells it who leads.
func TestHigherTermRequestStepsDown_5_1(t *testing.T) {
	for _, role := range []Role{Follower, Candidate, Leader} {
		for _, typ := range []MsgType{MsgVote, MsgApp} {
			t.Run(role.String()+"/"+typ.String(), func(t *testing.T) {
				n := nodeInRole(t, role)
				term := n.term + 3
				m := msg(typ, 2, 1, term)
				m.LastLogIndex, m.LastLogTerm = 100, term-1 // an up-to-date candidate
				if typ == MsgApp {
					m.PrevLogIndex, m.PrevLogTerm = n.log.lastIndex(), n.log.lastTerm()
				}
				out := deliver(n, time.Second, m)
				if n.role != Follower || n.term != term {
					t.Fatalf("after %v: role %v term %d, want follower of term %d", m, n.role, n.term, term)
				}
				wantVote, wantLeader := ID(2), None
				if typ == MsgApp {
					wantVote, wantLeader = None, 2
				}
				if n.vote != wantVote || n.leader != wantLeader {
					t.Fatalf("vote %d leader %d, want vote %d leader %d", n.vote, n.leader, wantVote, wantLeader)
				}
				if !out.HardStateChanged || out.HardState != (HardState{term, wantVote}) {
					t.Fatalf("output hard state %v changed=%v, want %v", out.HardState, out.HardStateChanged, HardState{term, wantVote})
				}
			})
		}
	}
}

// nodeInRole returns server 1 of a 3-server cluster in role, in term 2 or 3.
func nodeInRole(t testing.TB, role Role) *Node {
	d := DurableState{HardState: HardState{Term: 2}, Log: logOf(1, 2)}
	switch role {
	case Candidate:
		n, _ := candidate(t, 3, d)
		return n
	case Leader:
		n, _ := makeLeader(t, 3, d)
		return n
	}
	return follower(t, 1, 3, d)
}

// §5.1: a higher term in a response also makes a candidate or leader step down, with no
// vote and no known leader.
func TestHigherTermResponseStepsDown_5_1(t *testing.T) {
	for _, role := range []Role{Candidate, Leader} {
		for _, typ := range []MsgType{MsgVoteResp, MsgAppResp} {
			t.Run(role.String()+"/"+typ.String(), func(t *testing.T) {
				n := nodeInRole(t, role)
				term := n.term + 1
				m := msg(typ, 3, 1, term)
				m.ConflictIndex = 1
				out := deliver(n, time.Second, m)
				if n.role != Follower || n.term != term || n.vote != None || n.leader != None {
					t.Fatalf("role %v term %d vote %d leader %d, want follower of term %d, no vote, no leader",
						n.role, n.term, n.vote, n.leader, term)
				}
				if !out.HardStateChanged || out.HardState != (HardState{Term: term}) {
					t.Fatalf("hard state %v changed=%v", out.HardState, out.HardStateChanged)
				}
			})
		}
	}
}

// §5.1: a request with a stale term is rejected, and the reply carries the current term
// so that the sender learns it.
func TestStaleTermRequestRejected_5_1(t *testing.T) {
	for _, typ := range []MsgType{MsgVote, MsgApp} {
		t.Run(typ.String(), func(t *testing.T) {
			n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 5}, Log: logOf(1)})
			m := msg(typ, 2, 1, 4)
			m.LastLogIndex, m.LastLogTerm = 10, 4
			out := deliver(n, time.Millisecond, m)
			r := only(t, out, typ+1)
			if r.Success || r.Term != 5 || r.To != 2 || r.From != 1 {
				t.Fatalf("reply %v, want a rejection in term 5 to 2", r)
			}
			if n.term != 5 || n.vote != None || n.leader != None || out.HardStateChanged {
				t.Fatalf("state changed: term %d vote %d leader %d", n.term, n.vote, n.leader)
			}
		})
	}
}

// §5.1: responses of an older term are ignored.
func TestStaleResponsesIgnored_5_1(t *testing.T) {
	n, _ := candidate(t, 3, DurableState{HardState: HardState{Term: 4}})
	deliver(n, 0, Message{Type: MsgVoteResp, From: 2, To: 1, Term: 4, Success: true})
	if n.role != Candidate {
		t.Fatalf("a vote of term 4 elected the candidate of term 5")
	}
	l, _ := makeLeader(t, 3, DurableState{HardState: HardState{Term: 4}})
	deliver(l, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: 4, Success: true, MatchIndex: 1})
	if l.match[1] != 0 {
		t.Fatalf("an AppendEntries response of term 4 moved match to %d", l.match[1])
	}
	if n.stats.Rejected != 0 || l.stats.Rejected != 0 {
		t.Fatal("stale responses counted as malformed")
	}
}

// §5.2: a follower whose election timer fires becomes a candidate: term+1, a vote for
// itself (durable before the requests leave), and a RequestVote to every other server
// carrying its last log position.
func TestFollowerTimeoutStartsElection_5_2(t *testing.T) {
	n := follower(t, 1, 5, DurableState{HardState: HardState{Term: 3, Vote: 2}, Log: logOf(1, 3)})
	if out := n.Step(n.electionDeadline-1, Input{Kind: InputWake}); n.role != Follower || len(out.Messages) != 0 {
		t.Fatal("an early wake started an election")
	}
	out := n.Step(n.electionDeadline, Input{Kind: InputWake})
	if n.role != Candidate || n.term != 4 || n.vote != 1 || n.stats.Elections != 1 {
		t.Fatalf("role %v term %d vote %d elections %d", n.role, n.term, n.vote, n.stats.Elections)
	}
	if !out.HardStateChanged || out.HardState != (HardState{Term: 4, Vote: 1}) {
		t.Fatalf("hard state %v changed=%v, want term 4 vote 1", out.HardState, out.HardStateChanged)
	}
	var to []ID
	for _, m := range out.Messages {
		want := Message{Type: MsgVote, From: 1, To: m.To, Term: 4, LastLogIndex: 2, LastLogTerm: 3}
		if m.String() != want.String() || m.LastLogIndex != 2 {
			t.Fatalf("message %v, want %v", m, want)
		}
		to = append(to, m.To)
	}
	if !slices.Equal(to, []ID{2, 3, 4, 5}) {
		t.Fatalf("RequestVote sent to %v, want 2..5", to)
	}
	if out.WakeAt != n.electionDeadline {
		t.Fatalf("WakeAt %v, want the new election deadline", out.WakeAt)
	}
}

// §5.2: election timeouts are drawn uniformly from [min, max), from the node's own seeded
// stream: they differ across seeds and across resets, and are reproducible for one seed.
func TestElectionTimeoutRandomized_5_2(t *testing.T) {
	seen := map[time.Duration]bool{}
	for seed := range uint64(100) {
		var first time.Duration
		for try := range 2 {
			n := mustNew(t, testConfig(1, 3, seed), DurableState{})
			out := n.Step(0, Input{Kind: InputWake})
			if out.WakeAt < testElectionTimeoutMin || out.WakeAt >= testElectionTimeoutMax {
				t.Fatalf("seed %d: timeout %v outside [%v, %v)", seed, out.WakeAt, testElectionTimeoutMin, testElectionTimeoutMax)
			}
			if try == 0 {
				first = out.WakeAt
			} else if out.WakeAt != first {
				t.Fatalf("seed %d: timeouts %v then %v: not reproducible", seed, first, out.WakeAt)
			}
			seen[out.WakeAt] = true
		}
	}
	if len(seen) < 90 {
		t.Fatalf("only %d distinct timeouts over 100 seeds", len(seen))
	}
	// Successive resets of one node differ too.
	n := follower(t, 1, 3, DurableState{})
	spans := map[time.Duration]bool{}
	for range 20 {
		prev := n.electionDeadline
		out := n.Step(prev, Input{Kind: InputWake})
		span := out.WakeAt - prev
		if span < testElectionTimeoutMin || span >= testElectionTimeoutMax {
			t.Fatalf("timeout %v outside range", span)
		}
		spans[span] = true
	}
	if len(spans) < 15 {
		t.Fatalf("successive timeouts look constant: %v", spans)
	}
}

// §5.2: a candidate becomes leader once a majority (itself included) granted its vote;
// duplicated grants from one server count once.
func TestCandidateWinsWithMajority_5_2(t *testing.T) {
	n, _ := candidate(t, 5, DurableState{})
	grant := func(from ID) Output {
		return deliver(n, 0, Message{Type: MsgVoteResp, From: from, To: 1, Term: n.term, Success: true})
	}
	grant(2)
	grant(2) // duplicated by the network
	grant(2)
	deliver(n, 0, Message{Type: MsgVoteResp, From: 4, To: 1, Term: n.term}) // refused
	if n.role != Candidate {
		t.Fatalf("role %v with votes from 1 and 2 only, want candidate", n.role)
	}
	out := grant(3)
	if n.role != Leader || n.leader != 1 {
		t.Fatalf("role %v leader %d with votes from 1, 2, 3, want leader", n.role, n.leader)
	}
	if len(out.Messages) != 4 {
		t.Fatalf("new leader sent %d messages, want an AppendEntries to each of 4 peers", len(out.Messages))
	}
	if grant(4); n.role != Leader {
		t.Fatal("a late vote changed the leader")
	}
}

// §5.2: a single-voter cluster elects itself at once.
func TestSingleVoterBecomesLeader_5_2(t *testing.T) {
	n := follower(t, 1, 1, DurableState{})
	out := n.Step(n.electionDeadline, Input{Kind: InputWake})
	if n.role != Leader || n.term != 1 || n.commit != 1 {
		t.Fatalf("role %v term %d commit %d, want leader of term 1 with its no-op committed", n.role, n.term, n.commit)
	}
	if len(out.Apply) != 1 || out.Apply[0].Kind != EntryNoOp || len(out.Entries) != 1 {
		t.Fatalf("apply %v entries %v", out.Apply, out.Entries)
	}
	p := n.Step(n.electionDeadline, Input{Kind: InputPropose, Data: "x"})
	if !p.Proposal.Accepted || n.commit != 2 || len(p.Apply) != 1 || p.Apply[0].Data != "x" {
		t.Fatalf("proposal %v commit %d apply %v", p.Proposal, n.commit, p.Apply)
	}
}

// §5.2: each server votes for at most one candidate per term, first come first served; a
// repeated request from the same candidate is granted again. A grant is durable in the
// same output as the reply and restarts the election timer.
func TestOneVotePerTerm_5_2(t *testing.T) {
	n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 1}})
	ask := func(from ID, now time.Duration) Message {
		m := msg(MsgVote, from, 1, 2)
		return only(t, deliver(n, now, m), MsgVoteResp)
	}
	before := n.electionDeadline
	out := deliver(n, 10*time.Millisecond, msg(MsgVote, 2, 1, 2))
	if r := only(t, out, MsgVoteResp); !r.Success || r.Term != 2 {
		t.Fatalf("first request: %v, want granted in term 2", r)
	}
	if !out.HardStateChanged || out.HardState != (HardState{Term: 2, Vote: 2}) {
		t.Fatalf("grant output hard state %v changed=%v, want the vote durable with the reply", out.HardState, out.HardStateChanged)
	}
	if n.electionDeadline == before || n.electionDeadline < 10*time.Millisecond+testElectionTimeoutMin {
		t.Fatal("granting a vote did not restart the election timer")
	}
	if r := ask(3, 20*time.Millisecond); r.Success {
		t.Fatal("second candidate in the same term got a vote")
	}
	if r := ask(2, 30*time.Millisecond); !r.Success {
		t.Fatal("repeated request from the candidate voted for was refused")
	}
	if n.vote != 2 {
		t.Fatalf("vote %d, want 2", n.vote)
	}
}

// §5.2: a candidate that receives an AppendEntries from a leader of its own term
// recognises it and becomes a follower (keeping its vote for itself in that term).
func TestCandidateFollowsLeaderOfSameTerm_5_2(t *testing.T) {
	n, _ := candidate(t, 3, DurableState{HardState: HardState{Term: 1}})
	out := deliver(n, 0, msg(MsgApp, 2, 1, 2))
	if n.role != Follower || n.leader != 2 || n.term != 2 || n.vote != 1 {
		t.Fatalf("role %v leader %d term %d vote %d", n.role, n.leader, n.term, n.vote)
	}
	if r := only(t, out, MsgAppResp); !r.Success {
		t.Fatalf("reply %v, want success", r)
	}
	// An AppendEntries of an older term does not.
	n2, _ := candidate(t, 3, DurableState{HardState: HardState{Term: 1}})
	deliver(n2, 0, msg(MsgApp, 2, 1, 1))
	if n2.role != Candidate {
		t.Fatalf("a stale leader demoted the candidate")
	}
}

// §5.2: a candidate that neither wins nor loses (a split vote) times out and starts a new
// election with a higher term.
func TestSplitVoteStartsNewElection_5_2(t *testing.T) {
	n, _ := candidate(t, 4, DurableState{})
	deliver(n, 0, Message{Type: MsgVoteResp, From: 2, To: 1, Term: 1, Success: true})
	deliver(n, 0, Message{Type: MsgVoteResp, From: 3, To: 1, Term: 1})
	deliver(n, 0, Message{Type: MsgVoteResp, From: 4, To: 1, Term: 1})
	out := n.Step(n.electionDeadline, Input{Kind: InputWake})
	if n.role != Candidate || n.term != 2 || n.stats.Elections != 2 || len(out.Messages) != 3 {
		t.Fatalf("role %v term %d elections %d messages %d", n.role, n.term, n.stats.Elections, len(out.Messages))
	}
	if n.votes[1] {
		t.Fatal("a vote of term 1 still counts in term 2")
	}
}

// §5.2: whole clusters elect exactly one leader per term, for many seeds and sizes.
func TestClusterElectsOneLeader_5_2(t *testing.T) {
	for _, size := range []int{1, 2, 3, 5, 7} {
		for seed := range uint64(20) {
			c := newCluster(t, size, seed)
			l := c.electLeader()
			leaders := map[Term]ID{}
			for _, n := range c.nodes {
				if v := n.View(); v.Role == Leader {
					if other, ok := leaders[v.Term]; ok {
						t.Fatalf("size %d seed %d: leaders %d and %d in term %d", size, seed, other, v.ID, v.Term)
					}
					leaders[v.Term] = v.ID
				}
			}
			if l == None {
				t.Fatalf("size %d seed %d: no leader", size, seed)
			}
		}
	}
}

// §5.3: the leader appends a proposal to its log (durable before the AppendEntries that
// carry it leave), replicates it, and every server applies it once committed. Non-leaders
// refuse proposals with a hint.
func TestLeaderAppendsAndReplicates_5_3(t *testing.T) {
	c := newCluster(t, 3, 7)
	l := c.electLeader()
	c.deliverAll()
	f := l%3 + 1
	if p := c.step(f, Input{Kind: InputPropose, Data: "no"}).Proposal; p.Accepted || p.Leader != l {
		t.Fatalf("follower answered %+v, want a refusal naming leader %d", p, l)
	}
	want := c.node(l).log.lastIndex() + 1
	out := c.step(l, Input{Kind: InputPropose, Data: "x"})
	p := out.Proposal
	if !p.Accepted || p.Index != want || p.Term != c.node(l).term {
		t.Fatalf("proposal %+v, want accepted at index %d", p, want)
	}
	if len(out.Entries) != 1 || out.Entries[0].Data != "x" || out.Entries[0].Index != want {
		t.Fatalf("durable entries %v, want the proposal", out.Entries)
	}
	for _, m := range out.Messages {
		if m.Type != MsgApp || len(m.Entries) != 1 || m.Entries[0].Data != "x" || m.PrevLogIndex != want-1 {
			t.Fatalf("message %v does not carry the proposal after index %d", m, want-1)
		}
	}
	c.deliverAll()
	if c.node(l).commit != want {
		t.Fatalf("leader commit %d after one round trip, want %d", c.node(l).commit, want)
	}
	// Followers learn the commit index with the next AppendEntries (a heartbeat here).
	c.run(10, func() bool {
		for _, n := range c.nodes {
			if n.commit != want {
				return false
			}
		}
		return true
	})
	for i := range c.nodes {
		if a := c.applied[i]; Index(len(a)) != want || a[want-1].Data != "x" {
			t.Fatalf("server %d applied %v", i+1, a)
		}
	}
	c.checkSafety()
}

// §5.3: the follower's consistency check rejects an AppendEntries whose previous entry it
// lacks or holds with another term, with the hint for fast backtracking.
func TestFollowerConsistencyCheck_5_3(t *testing.T) {
	tests := []struct {
		name      string
		log       []Entry
		prevIndex Index
		prevTerm  Term
		wantOK    bool
		wantTerm  Term
		wantIndex Index
	}{
		{name: "match at 0", log: logOf(1, 1), prevIndex: 0, prevTerm: 0, wantOK: true},
		{name: "match", log: logOf(1, 1), prevIndex: 2, prevTerm: 1, wantOK: true},
		{name: "log too short", log: logOf(1, 1), prevIndex: 5, prevTerm: 3, wantIndex: 3},
		{name: "empty log", log: nil, prevIndex: 1, prevTerm: 1, wantIndex: 1},
		{name: "term differs", log: logOf(1, 2, 2, 2), prevIndex: 4, prevTerm: 3, wantTerm: 2, wantIndex: 2},
		{name: "term differs at 1", log: logOf(1, 2), prevIndex: 1, prevTerm: 3, wantTerm: 1, wantIndex: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 3}, Log: tt.log})
			m := msg(MsgApp, 2, 1, 3)
			m.PrevLogIndex, m.PrevLogTerm = tt.prevIndex, tt.prevTerm
			r := only(t, deliver(n, 0, m), MsgAppResp)
			if r.Success != tt.wantOK {
				t.Fatalf("reply %v, want success=%v", r, tt.wantOK)
			}
			if !tt.wantOK && (r.ConflictTerm != tt.wantTerm || r.ConflictIndex != tt.wantIndex) {
				t.Fatalf("hint %d@t%d, want %d@t%d", r.ConflictIndex, r.ConflictTerm, tt.wantIndex, tt.wantTerm)
			}
			if tt.wantOK && r.MatchIndex != tt.prevIndex {
				t.Fatalf("match %d, want %d", r.MatchIndex, tt.prevIndex)
			}
			if len(n.log.entries) != len(tt.log) {
				t.Fatal("a rejected AppendEntries changed the log")
			}
		})
	}
}

// §5.3: entries that conflict with the leader's (same index, different term) are deleted
// with all that follow, and the leader's appended; the durable write starts at the
// conflict.
func TestConflictingEntriesTruncated_5_3(t *testing.T) {
	n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 2}, Log: logOf(1, 1, 2, 2)})
	shared := n.View().Log // what an in-flight message or the disk may still hold
	m := msg(MsgApp, 2, 1, 3)
	m.PrevLogIndex, m.PrevLogTerm = 2, 1
	m.Entries = []Entry{{Index: 3, Term: 3, Data: "new"}}
	out := deliver(n, 0, m)
	if r := only(t, out, MsgAppResp); !r.Success || r.MatchIndex != 3 {
		t.Fatalf("reply %v", r)
	}
	if got := n.View().Log; len(got) != 3 || got[2].Data != "new" || got[2].Term != 3 {
		t.Fatalf("log %v, want 1,1,3", got)
	}
	if len(out.Entries) != 1 || out.Entries[0].Index != 3 {
		t.Fatalf("durable write %v, want from index 3", out.Entries)
	}
	if shared[2].Term != 2 || shared[3].Term != 2 {
		t.Fatalf("truncation overwrote shared entries: %v", shared)
	}
}

// §5.3: a stale or duplicated AppendEntries (shorter than the follower's log, all
// matching) must not remove entries that match; it only acknowledges what it carried.
func TestStaleAppendDoesNotTruncate_5_3(t *testing.T) {
	n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1, 1)})
	m := msg(MsgApp, 2, 1, 1)
	m.PrevLogIndex, m.PrevLogTerm = 1, 1
	m.Entries = n.log.slice(2, 3)
	for range 2 {
		out := deliver(n, 0, m)
		if r := only(t, out, MsgAppResp); !r.Success || r.MatchIndex != 2 {
			t.Fatalf("reply %v, want success with match 2", r)
		}
		if n.log.lastIndex() != 4 || len(out.Entries) != 0 {
			t.Fatalf("log length %d, durable write %v: matching entries removed", n.log.lastIndex(), out.Entries)
		}
	}
}

// Figure 7's logs: the leader of term 8 and followers (a)-(f).
var figure7 = struct {
	leader    []Term
	followers map[string][]Term
}{
	leader: []Term{1, 1, 1, 4, 4, 5, 5, 6, 6, 6},
	followers: map[string][]Term{
		"a": {1, 1, 1, 4, 4, 5, 5, 6, 6},
		"b": {1, 1, 1, 4},
		"c": {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},
		"d": {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},
		"e": {1, 1, 1, 4, 4, 4, 4},
		"f": {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
	},
}

// §5.3: with the conflict hint the leader finds the point where each of Figure 7's
// followers agrees with it in a few round trips (at most one per conflicting term), and
// then brings the follower's log up to its own.
func TestFastBacktrackingConverges_5_3(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		t.Run(name, func(t *testing.T) {
			fl := figure7.followers[name]
			l, out := makeLeader(t, 3, DurableState{HardState: HardState{Term: 7}, Log: logOf(figure7.leader...)})
			f := follower(t, 2, 3, DurableState{HardState: HardState{Term: 7}, Log: logOf(fl...)})
			queue := slices.Clone(out.Messages)
			rejections := 0
			for len(queue) > 0 {
				m := queue[0]
				queue = queue[1:]
				var o Output
				switch m.To {
				case 1:
					o = deliver(l, 0, m)
				case 2:
					o = deliver(f, 0, m)
					if !o.Messages[0].Success {
						rejections++
					}
				default:
					continue // server 3 is down
				}
				queue = append(queue, o.Messages...)
			}
			if !slices.EqualFunc(f.View().Log, l.View().Log, Entry.SameAs) {
				t.Fatalf("follower log %v, leader log %v", f.View().Log, l.View().Log)
			}
			if rejections > 3 {
				t.Fatalf("%d rejections, want at most 3", rejections)
			}
			if l.commit != 11 || l.match[1] != 11 {
				t.Fatalf("leader commit %d match %d, want 11", l.commit, l.match[1])
			}
		})
	}
}

// §5.3 (Leader Append-Only): a leader never overwrites or deletes entries in its own log,
// even when told to by an AppendEntries of its own term (which no correct server sends).
func TestLeaderNeverOverwritesOwnLog_5_3(t *testing.T) {
	l, _ := makeLeader(t, 3, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1)})
	before := slices.Clone(l.View().Log)
	m := msg(MsgApp, 2, 1, l.term)
	m.PrevLogIndex, m.PrevLogTerm = 1, 1
	m.Entries = []Entry{{Index: 2, Term: l.term, Data: "evil"}}
	out := deliver(l, 0, m)
	if len(out.Messages) != 0 || len(out.Entries) != 0 || l.stats.Rejected != 1 {
		t.Fatalf("leader answered %v, wrote %v, rejected %d", out.Messages, out.Entries, l.stats.Rejected)
	}
	if !slices.EqualFunc(before, l.View().Log, Entry.SameAs) || l.role != Leader {
		t.Fatal("leader's log changed")
	}
}

// §5.4.1: a vote is denied to a candidate whose log is less up-to-date: a lower last
// term, or the same last term and a shorter log.
func TestVoteDeniedToLessUpToDateCandidate_5_4_1(t *testing.T) {
	voterLog := logOf(1, 2, 2) // last entry 3@t2
	tests := []struct {
		name      string
		lastIndex Index
		lastTerm  Term
		grant     bool
	}{
		{"lower last term, longer log", 10, 1, false},
		{"same last term, shorter log", 2, 2, false},
		{"same last term, same length", 3, 2, true},
		{"same last term, longer log", 4, 2, true},
		{"higher last term, shorter log", 1, 3, true},
		{"empty log", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 3}, Log: voterLog})
			m := msg(MsgVote, 2, 1, 4)
			m.LastLogIndex, m.LastLogTerm = tt.lastIndex, tt.lastTerm
			r := only(t, deliver(n, 0, m), MsgVoteResp)
			if r.Success != tt.grant {
				t.Fatalf("granted=%v, want %v", r.Success, tt.grant)
			}
			if wantVote := map[bool]ID{true: 2, false: None}[tt.grant]; n.vote != wantVote || n.term != 4 {
				t.Fatalf("vote %d term %d, want vote %d in term 4", n.vote, n.term, wantVote)
			}
		})
	}
}

// §5.4.2 (Figure 8): a leader does not commit an entry of an earlier term by counting its
// replicas, even on a majority; that entry commits only once an entry of the current term
// is replicated on a majority.
func TestEarlierTermCommitsOnlyWithCurrentTerm_5_4_2(t *testing.T) {
	// Figure 8 (c): S1 leads in term 4 with 2@t2 in its log; its no-op is 3@t4.
	l, _ := makeLeader(t, 5, DurableState{HardState: HardState{Term: 3}, Log: logOf(1, 2)})
	if l.term != 4 || l.log.lastIndex() != 3 {
		t.Fatalf("leader term %d last %d", l.term, l.log.lastIndex())
	}
	ack := func(from ID, match Index) {
		deliver(l, 0, Message{Type: MsgAppResp, From: from, To: 1, Term: 4, Success: true, MatchIndex: match})
	}
	ack(2, 2)
	ack(3, 2) // 2@t2 is now on S1, S2, S3: a majority
	if l.commit != 0 {
		t.Fatalf("commit %d: an entry of term 2 was committed by counting replicas", l.commit)
	}
	ack(2, 3)
	if l.commit != 0 {
		t.Fatalf("commit %d with 3@t4 on two of five servers", l.commit)
	}
	ack(3, 3)
	if l.commit != 3 {
		t.Fatalf("commit %d, want 3 once 3@t4 is on a majority", l.commit)
	}
}

// §5.4.2 (Figure 8 (d)): the reason for that rule. An entry of an earlier term stored on
// a majority can still be overwritten: S5, with 2@t3, is more up-to-date than S3's 2@t2,
// wins S3's vote, and replaces S3's entry.
func TestFigure8EntryOnMajorityOverwritten_5_4_2(t *testing.T) {
	s3 := follower(t, 3, 5, DurableState{HardState: HardState{Term: 4}, Log: logOf(1, 2)})
	v := msg(MsgVote, 5, 3, 5)
	v.LastLogIndex, v.LastLogTerm = 2, 3
	if r := only(t, deliver(s3, 0, v), MsgVoteResp); !r.Success {
		t.Fatal("S3 refused S5, whose log is more up-to-date")
	}
	a := msg(MsgApp, 5, 3, 5)
	a.PrevLogIndex, a.PrevLogTerm = 1, 1
	a.Entries = []Entry{{Index: 2, Term: 3, Data: "s5"}, {Index: 3, Term: 5, Kind: EntryNoOp}}
	a.LeaderCommit = 3
	out := deliver(s3, 0, a)
	if got := s3.View().Log; len(got) != 3 || got[1].Term != 3 {
		t.Fatalf("S3's log %v, want 2@t2 replaced", got)
	}
	if len(out.Apply) != 3 || out.Apply[1].Data != "s5" {
		t.Fatalf("applied %v", out.Apply)
	}
}

// Figure 2: a follower sets commitIndex = min(leaderCommit, index of last new entry), and
// only on a successful AppendEntries; it never moves backwards.
func TestFollowerCommitIsMinOfLeaderCommitAndLastNew_5_3(t *testing.T) {
	tests := []struct {
		name         string
		prev         Index
		entries      int
		leaderCommit Index
		want         Index
	}{
		{"leader commit below", 1, 1, 1, 1},
		{"last new entry below", 1, 1, 5, 2},
		{"heartbeat", 3, 0, 5, 3},
		{"prefix only", 0, 0, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1, 1, 1)})
			m := msg(MsgApp, 2, 1, 1)
			m.PrevLogIndex, m.PrevLogTerm = tt.prev, map[bool]Term{true: 1, false: 0}[tt.prev > 0]
			m.Entries = n.log.slice(tt.prev+1, tt.prev+1+Index(tt.entries))
			m.LeaderCommit = tt.leaderCommit
			out := deliver(n, 0, m)
			if n.commit != tt.want || Index(len(out.Apply)) != tt.want {
				t.Fatalf("commit %d applied %d, want %d", n.commit, len(out.Apply), tt.want)
			}
		})
	}
	n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1, 1)})
	m := msg(MsgApp, 2, 1, 1)
	m.PrevLogIndex, m.PrevLogTerm, m.LeaderCommit = 4, 1, 4 // fails the consistency check
	deliver(n, 0, m)
	if n.commit != 0 {
		t.Fatalf("a rejected AppendEntries advanced commit to %d", n.commit)
	}
	m.PrevLogIndex, m.LeaderCommit = 3, 3
	deliver(n, 0, m)
	m.LeaderCommit = 1 // reordered: an older commit index
	deliver(n, 0, m)
	if n.commit != 3 {
		t.Fatalf("commit %d, want 3: it must not move backwards", n.commit)
	}
}

// §5.3, Figure 2: committed entries are applied in index order, each exactly once, by
// every server, under a stream of proposals.
func TestApplyInOrderExactlyOnce_5_3(t *testing.T) {
	c := newCluster(t, 5, 3)
	for k := range 200 {
		l := c.electLeader()
		c.step(l, Input{Kind: InputPropose, Data: string(rune('a' + k%26))})
		if k%3 == 0 {
			c.deliverAll()
		}
		if k%50 == 0 {
			c.tick()
		}
	}
	c.run(100, func() bool {
		for _, n := range c.nodes {
			if n.commit != c.node(c.leader()).log.lastIndex() {
				return false
			}
		}
		return true
	})
	for i, n := range c.nodes {
		if Index(len(c.applied[i])) != n.applied || n.applied != n.commit {
			t.Fatalf("server %d applied %d entries, applied index %d, commit %d", i+1, len(c.applied[i]), n.applied, n.commit)
		}
	}
	c.checkSafety()
}

// Figure 2 (persist before send): every output that sends a message depending on new
// durable state carries that state. A candidate's RequestVotes go with its term and
// self-vote; a grant with the vote; a follower's acknowledgement with the entries; a
// leader's AppendEntries with the entries they carry.
func TestDurableStateInSameOutputAsMessages(t *testing.T) {
	c, out := candidate(t, 3, DurableState{})
	if !out.HardStateChanged || out.HardState != (HardState{Term: 1, Vote: 1}) {
		t.Fatalf("candidate output: %+v", out)
	}
	f := follower(t, 2, 3, DurableState{})
	out = deliver(f, 0, out.Messages[0])
	if r := only(t, out, MsgVoteResp); !r.Success || !out.HardStateChanged || out.HardState.Vote != 1 {
		t.Fatalf("grant output: %+v", out)
	}
	out = deliver(c, 0, out.Messages[0])
	if c.role != Leader || len(out.Entries) != 1 || out.Entries[0].Kind != EntryNoOp {
		t.Fatalf("new leader output: %+v", out)
	}
	out = deliver(f, 0, out.Messages[0])
	if r := only(t, out, MsgAppResp); !r.Success || len(out.Entries) != 1 {
		t.Fatalf("follower ack output: %+v", out)
	}
}

// Figure 2: a server restarted from the durable state its outputs asked for has the same
// term, vote and log, and the restarted cluster carries on with the same committed log.
func TestRestartFromDurableState(t *testing.T) {
	c := newCluster(t, 3, 11)
	for k := range 30 {
		c.step(c.electLeader(), Input{Kind: InputPropose, Data: string(rune('a' + k))})
	}
	c.deliverAll()
	committed := slices.Clone(c.node(c.leader()).View().Log[:c.node(c.leader()).commit])
	for i, n := range c.nodes {
		r := mustNew(t, testConfig(n.id, 3, 99+uint64(i)), c.disks[i].state())
		rv, nv := r.View(), n.View()
		if rv.Term != nv.Term || rv.Vote != nv.Vote || !slices.EqualFunc(rv.Log, nv.Log, Entry.SameAs) {
			t.Fatalf("server %d restarted with term %d vote %d log %d, was term %d vote %d log %d",
				i+1, rv.Term, rv.Vote, len(rv.Log), nv.Term, nv.Vote, len(nv.Log))
		}
		if rv.Role != Follower || rv.CommitIndex != 0 || rv.AppliedIndex != 0 {
			t.Fatalf("restarted server: %+v", rv)
		}
		c.nodes[i] = r
		c.applied[i] = nil
		c.step(r.id, Input{Kind: InputWake})
	}
	c.electLeader()
	c.run(100, func() bool {
		for _, n := range c.nodes {
			if n.commit < Index(len(committed)) {
				return false
			}
		}
		return true
	})
	for i := range c.nodes {
		if !slices.EqualFunc(c.applied[i][:len(committed)], committed, Entry.SameAs) {
			t.Fatalf("server %d re-applied %v, want %v", i+1, c.applied[i][:len(committed)], committed)
		}
	}
	c.checkSafety()
}

// §5.2: InputCampaign starts an election at once, as a timeout would; a leader ignores it.
func TestCampaignInput_5_2(t *testing.T) {
	n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 2}})
	out := n.Step(time.Millisecond, Input{Kind: InputCampaign})
	if n.role != Candidate || n.term != 3 || len(out.Messages) != 2 || !out.HardStateChanged {
		t.Fatalf("role %v term %d messages %v", n.role, n.term, out.Messages)
	}
	l, _ := makeLeader(t, 3, DurableState{})
	term := l.term
	if out := l.Step(0, Input{Kind: InputCampaign}); l.role != Leader || l.term != term || len(out.Messages) != 0 {
		t.Fatalf("leader campaigned: role %v term %d", l.role, l.term)
	}
	if n.stats.Rejected != 0 || l.stats.Rejected != 0 {
		t.Fatal("campaign counted as malformed")
	}
}

// §5.2, Figure 2: the election timer restarts only on AppendEntries from the current
// leader or on granting a vote. A RequestVote of a higher term that is refused (the
// candidate's log is behind) moves a follower to the new term but keeps its deadline, so a
// server returning from a partition with an inflated term cannot keep postponing the
// elections of servers that can win. A leader that steps down arms a fresh timer.
func TestRefusedHigherTermVoteKeepsElectionDeadline_5_2(t *testing.T) {
	d := DurableState{HardState: HardState{Term: 2}, Log: logOf(1, 2)}
	n := follower(t, 1, 3, d)
	deadline := n.electionDeadline
	m := msg(MsgVote, 2, 1, 9)
	m.LastLogIndex, m.LastLogTerm = 1, 1 // behind: refused
	out := deliver(n, deadline-time.Millisecond, m)
	if n.term != 9 || n.vote != None {
		t.Fatalf("term %d vote %d, want term 9 and no vote", n.term, n.vote)
	}
	if out.WakeAt != deadline {
		t.Fatalf("WakeAt %v after a refused vote, want the old deadline %v", out.WakeAt, deadline)
	}
	// A granted vote does restart the timer.
	m = msg(MsgVote, 3, 1, 10)
	m.LastLogIndex, m.LastLogTerm = 5, 2
	now := deadline - time.Millisecond
	if out = deliver(n, now, m); out.WakeAt < now+n.electionTimeoutMin {
		t.Fatalf("WakeAt %v after granting a vote at %v, want a fresh timeout", out.WakeAt, now)
	}

	l := nodeInRole(t, Leader)
	m = msg(MsgVote, 2, 1, l.term+1)
	now = 10 * time.Second
	if out = deliver(l, now, m); l.role != Follower || out.WakeAt < now+l.electionTimeoutMin {
		t.Fatalf("deposed leader: role %v WakeAt %v, want a follower with a fresh timeout after %v", l.role, out.WakeAt, now)
	}
}
