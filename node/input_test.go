package node

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Bad input from outside is rejected and counted, never a panic, and changes nothing.
func TestMalformedInputRejected(t *testing.T) {
	app := func(prevIndex Index, prevTerm Term, es ...Entry) Message {
		m := msg(MsgApp, 2, 1, 5)
		m.PrevLogIndex, m.PrevLogTerm, m.Entries = prevIndex, prevTerm, es
		return m
	}
	e := func(i Index, t Term) Entry { return Entry{Index: i, Term: t} }
	tests := []struct {
		name string
		in   Input
	}{
		{"unknown input kind", Input{Kind: 0}},
		{"unknown input kind 99", Input{Kind: 99}},
		{"message type 0", Input{Kind: InputMessage, Message: msg(0, 2, 1, 5)}},
		{"message type too large", Input{Kind: InputMessage, Message: msg(msgTypeLimit, 2, 1, 5)}},
		{"response from a non-member", Input{Kind: InputMessage, Message: Message{Type: MsgAppResp, From: 9, To: 1, Term: 5, Success: true, MatchIndex: 1}}},
		{"from None", Input{Kind: InputMessage, Message: msg(MsgVote, None, 1, 5)}},
		{"from self", Input{Kind: InputMessage, Message: msg(MsgVote, 1, 1, 5)}},
		{"to another server", Input{Kind: InputMessage, Message: msg(MsgVote, 2, 3, 5)}},
		{"term 0", Input{Kind: InputMessage, Message: msg(MsgVoteResp, 2, 1, 0)}},
		{"vote: last term above message term", Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 2, To: 1, Term: 5, LastLogIndex: 3, LastLogTerm: 6}}},
		{"vote: last index 0 with a term", Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 2, To: 1, Term: 5, LastLogTerm: 2}}},
		{"vote: last term 0 with an index", Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 2, To: 1, Term: 5, LastLogIndex: 2}}},
		{"vote with entries", Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 2, To: 1, Term: 5, Entries: []Entry{e(1, 1)}}}},
		{"app: prev term above message term", Input{Kind: InputMessage, Message: app(1, 6)}},
		{"app: prev index 0 with a term", Input{Kind: InputMessage, Message: app(0, 1)}},
		{"app: entries not from prev+1", Input{Kind: InputMessage, Message: app(1, 1, e(3, 1))}},
		{"app: entries with a gap", Input{Kind: InputMessage, Message: app(1, 1, e(2, 1), e(4, 1))}},
		{"app: entries repeated", Input{Kind: InputMessage, Message: app(1, 1, e(2, 1), e(2, 1))}},
		{"app: entry term above message term", Input{Kind: InputMessage, Message: app(1, 1, e(2, 6))}},
		{"app: entry term below prev term", Input{Kind: InputMessage, Message: app(1, 3, e(2, 2))}},
		{"app: entry terms decrease", Input{Kind: InputMessage, Message: app(1, 1, e(2, 3), e(3, 2))}},
		{"app: entry term 0", Input{Kind: InputMessage, Message: app(0, 0, e(1, 0))}},
		{"app: entry of unknown kind", Input{Kind: InputMessage, Message: app(0, 0, Entry{Index: 1, Term: 1, Kind: 7})}},
		{"app: index overflow", Input{Kind: InputMessage, Message: app(^Index(0), 1, e(0, 1))}},
		{"app resp: rejection without hint", Input{Kind: InputMessage, Message: msg(MsgAppResp, 2, 1, 5)}},
		{"app resp: conflict term above message term", Input{Kind: InputMessage, Message: Message{Type: MsgAppResp, From: 2, To: 1, Term: 5, ConflictIndex: 1, ConflictTerm: 6}}},
		{"vote resp with entries", Input{Kind: InputMessage, Message: Message{Type: MsgVoteResp, From: 2, To: 1, Term: 5, Entries: []Entry{e(1, 1)}}}},
		// The bounds on terms and indexes (MaxTerm, MaxIndex).
		{"vote: term 2^64-1", Input{Kind: InputMessage, Message: msg(MsgVote, 2, 1, ^Term(0))}},
		{"vote: term MaxTerm+1", Input{Kind: InputMessage, Message: msg(MsgVote, 2, 1, MaxTerm+1)}},
		{"pre-vote: term MaxTerm+1", Input{Kind: InputMessage, Message: msg(MsgPreVote, 2, 1, MaxTerm+1)}},
		{"app: term MaxTerm+1", Input{Kind: InputMessage, Message: msg(MsgApp, 2, 1, MaxTerm+1)}},
		{"vote resp: term MaxTerm+1", Input{Kind: InputMessage, Message: msg(MsgVoteResp, 2, 1, MaxTerm+1)}},
		{"vote: last index above MaxIndex", Input{Kind: InputMessage, Message: Message{Type: MsgVote, From: 2, To: 1, Term: 5, LastLogIndex: MaxIndex + 1, LastLogTerm: 1}}},
		{"app: prev index above MaxIndex", Input{Kind: InputMessage, Message: app(MaxIndex+1, 1)}},
		{"app: entries past MaxIndex", Input{Kind: InputMessage, Message: app(MaxIndex, 1, e(MaxIndex+1, 1))}},
		{"app: leader commit above MaxIndex", Input{Kind: InputMessage, Message: Message{Type: MsgApp, From: 2, To: 1, Term: 5, LeaderCommit: MaxIndex + 1}}},
		{"app resp: match index above MaxIndex", Input{Kind: InputMessage, Message: Message{Type: MsgAppResp, From: 2, To: 1, Term: 5, Success: true, MatchIndex: MaxIndex + 1}}},
		{"app resp: conflict index above MaxIndex", Input{Kind: InputMessage, Message: Message{Type: MsgAppResp, From: 2, To: 1, Term: 5, ConflictIndex: ^Index(0)}}},
		{"snap: index above MaxIndex", Input{Kind: InputMessage, Message: Message{Type: MsgSnap, From: 2, To: 1, Term: 5,
			Snap: &SnapChunk{Index: MaxIndex + 1, Term: 1, Config: Configuration{Voters: []ID{1, 2, 3}}, Data: "x", Done: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, role := range []Role{Follower, Candidate, Leader} {
				n := nodeInRole(t, role)
				before := n.View()
				out := n.Step(time.Millisecond, tt.in)
				if n.stats.Rejected != 1 {
					t.Fatalf("%v: Rejected = %d, want 1", role, n.stats.Rejected)
				}
				if len(out.Messages) != 0 || len(out.Entries) != 0 || out.HardStateChanged || len(out.Apply) != 0 {
					t.Fatalf("%v: a rejected input produced %+v", role, out)
				}
				if after := n.View(); after.Term != before.Term || after.Role != before.Role || len(after.Log) != len(before.Log) {
					t.Fatalf("%v: a rejected input changed the node: %+v -> %+v", role, before, after)
				}
			}
		})
	}
}

// Messages only a faulty peer could send, detectable with the node's state, are rejected
// and counted too.
func TestImpossibleMessagesRejected(t *testing.T) {
	t.Run("MatchIndex beyond the leader's log", func(t *testing.T) {
		l, _ := makeLeader(t, 3, DurableState{})
		deliver(l, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Success: true, MatchIndex: 2})
		if l.stats.Rejected != 1 || l.match[1] != 0 {
			t.Fatalf("rejected %d match %d", l.stats.Rejected, l.match[1])
		}
	})
	t.Run("second leader in a term", func(t *testing.T) {
		n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 2}})
		deliver(n, 0, msg(MsgApp, 2, 1, 2))
		out := deliver(n, 0, msg(MsgApp, 3, 1, 2))
		if n.stats.Rejected != 1 || len(out.Messages) != 0 || n.leader != 2 {
			t.Fatalf("rejected %d leader %d messages %v", n.stats.Rejected, n.leader, out.Messages)
		}
	})
	t.Run("truncating a committed entry", func(t *testing.T) {
		n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 2}, Log: logOf(1, 1)})
		m := msg(MsgApp, 2, 1, 2)
		m.PrevLogIndex, m.PrevLogTerm, m.LeaderCommit = 2, 1, 2
		deliver(n, 0, m)
		if n.commit != 2 {
			t.Fatalf("commit %d, want 2", n.commit)
		}
		m = msg(MsgApp, 2, 1, 2)
		m.PrevLogIndex, m.PrevLogTerm = 1, 1
		m.Entries = []Entry{{Index: 2, Term: 2}}
		out := deliver(n, 0, m)
		if n.stats.Rejected != 1 || len(out.Entries) != 0 || n.log.entries[1].Term != 1 {
			t.Fatalf("rejected %d, wrote %v, log %v", n.stats.Rejected, out.Entries, n.log.entries)
		}
	})
	t.Run("proposal to a non-leader is refused, not rejected", func(t *testing.T) {
		n := follower(t, 1, 3, DurableState{})
		out := n.Step(0, Input{Kind: InputPropose, Data: "x"})
		if out.Proposal.Accepted || n.stats.Rejected != 0 || len(out.Entries) != 0 {
			t.Fatalf("proposal %+v rejected %d", out.Proposal, n.stats.Rejected)
		}
	})
}

// New refuses configurations and durable states that no server could have.
func TestNewValidates(t *testing.T) {
	good := testConfig(1, 3, 1)
	tests := []struct {
		name string
		cfg  Config
		d    DurableState
		want string // a substring of the error, "" for success
	}{
		{"empty", good, DurableState{}, ""},
		{"with log", good, DurableState{HardState: HardState{Term: 3, Vote: 2}, Log: logOf(1, 1, 3)}, ""},
		{"bad config", Config{ID: 1}, DurableState{}, "HeartbeatInterval"},
		{"negative vote", good, DurableState{HardState: HardState{Term: 1, Vote: -7}}, "vote"},
		{"vote in term 0", good, DurableState{HardState: HardState{Vote: 2}}, "term 0"},
		{"index gap", good, DurableState{HardState: HardState{Term: 1}, Log: []Entry{{Index: 1, Term: 1}, {Index: 3, Term: 1}}}, "index"},
		{"not from 1", good, DurableState{HardState: HardState{Term: 1}, Log: []Entry{{Index: 2, Term: 1}}}, "index"},
		{"terms decrease", good, DurableState{HardState: HardState{Term: 3}, Log: logOf(2, 1)}, "term"},
		{"term 0 entry", good, DurableState{HardState: HardState{Term: 3}, Log: logOf(0)}, "term"},
		{"entry beyond current term", good, DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 2)}, "current term"},
		{"unknown kind", good, DurableState{HardState: HardState{Term: 1}, Log: []Entry{{Index: 1, Term: 1, Kind: 9}}}, "kind"},
		{"term above MaxTerm", good, DurableState{HardState: HardState{Term: MaxTerm + 1}}, "MaxTerm"},
		{"snapshot above MaxIndex", good, DurableState{HardState: HardState{Term: 1}, Snapshot: Snapshot{Index: ^Index(0), Term: 1}}, "MaxIndex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := New(tt.cfg, tt.d)
			if tt.want == "" {
				if err != nil || n == nil {
					t.Fatalf("New: %v", err)
				}
				if v := n.View(); v.Role != Follower || v.Term != tt.d.HardState.Term || v.Vote != tt.d.HardState.Vote || len(v.Log) != len(tt.d.Log) {
					t.Fatalf("view %+v", v)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// New copies the durable log: a host that later changes its own slice does not change
// the node.
func TestNewCopiesLog(t *testing.T) {
	d := DurableState{HardState: HardState{Term: 1}, Log: logOf(1, 1)}
	n := mustNew(t, testConfig(1, 3, 1), d)
	d.Log[0].Data = "changed"
	if n.View().Log[0].Data == "changed" {
		t.Fatal("the node shares the host's log")
	}
}

// Peers may be given in any order; View reports them ascending.
func TestPeersSorted(t *testing.T) {
	cfg := testConfig(2, 3, 1)
	cfg.Peers = []ID{3, 1, 2}
	n := mustNew(t, cfg, DurableState{})
	if p := n.View().Peers; p[0] != 1 || p[1] != 2 || p[2] != 3 {
		t.Fatalf("peers %v", p)
	}
	if cfg.Peers[0] != 3 {
		t.Fatal("New modified the caller's Peers")
	}
}

// Clone gives an independent node: stepping one does not change the other.
func TestCloneIndependent(t *testing.T) {
	l, _ := makeLeader(t, 3, DurableState{})
	c := l.Clone()
	l.Step(0, Input{Kind: InputPropose, Data: "a"})
	c.Step(0, Input{Kind: InputPropose, Data: "b"})
	if l.log.entries[1].Data != "a" || c.log.entries[1].Data != "b" {
		t.Fatalf("logs %v / %v", l.log.entries, c.log.entries)
	}
	deliver(l, 0, Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Success: true, MatchIndex: 2})
	if c.match[1] != 0 || l.match[1] != 2 {
		t.Fatalf("match %d / %d", l.match[1], c.match[1])
	}
}

// §6: requests may come from servers outside the configuration a server knows (a leader
// adding it, a removed server still campaigning), so they are answered, not rejected.
func TestRequestFromNonMemberAnswered_6(t *testing.T) {
	n := follower(t, 1, 3, DurableState{HardState: HardState{Term: 2}})
	m := msg(MsgVote, 9, 1, 3)
	out := deliver(n, n.electionDeadline-1, m)
	if n.stats.Rejected != 0 || len(out.Messages) != 1 || out.Messages[0].To != 9 {
		t.Fatalf("vote request from server 9: rejected %d, sent %v", n.stats.Rejected, out.Messages)
	}
}

// The known case behind MaxTerm: a RequestVote of term 2^64-1 was granted, and the next
// election timeout wrapped the term to 0 ("term decreased: 18446744073709551615 -> 0").
// It is rejected and counted; the node then campaigns normally in term 1 (§5.2).
func TestRequestVoteTermOverflowRejected(t *testing.T) {
	n := follower(t, 1, 3, DurableState{})
	out := deliver(n, time.Millisecond, msg(MsgVote, 2, 1, ^Term(0)))
	if n.stats.Rejected != 1 || len(out.Messages) != 0 || out.HardStateChanged || n.term != 0 || n.vote != None {
		t.Fatalf("rejected %d, sent %v, term %d vote %d: want the request rejected and nothing granted",
			n.stats.Rejected, out.Messages, n.term, n.vote)
	}
	n.Step(n.electionDeadline, Input{Kind: InputWake})
	if n.role != Candidate || n.term != 1 {
		t.Fatalf("after the election timeout: %v of term %d, want candidate of term 1", n.role, n.term)
	}
}

// A peer may bring a node to term MaxTerm itself (it is accepted); the node then never
// campaigns, whatever asks it to, since its election would need term MaxTerm+1. It keeps
// serving as a follower: a leader of term MaxTerm is obeyed.
func TestNoCampaignAtMaxTerm(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   func(n *Node) (time.Duration, Input)
	}{
		{"election timeout", func(n *Node) (time.Duration, Input) { return n.electionDeadline, Input{Kind: InputWake} }},
		{"campaign", func(n *Node) (time.Duration, Input) { return time.Second, Input{Kind: InputCampaign} }},
		{"timeout now", func(n *Node) (time.Duration, Input) {
			return time.Second, Input{Kind: InputMessage, Message: msg(MsgTimeoutNow, 2, 1, MaxTerm)}
		}},
	} {
		for _, preVote := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/prevote=%v", tt.name, preVote), func(t *testing.T) {
				cfg := testConfig(1, 3, 1)
				cfg.PreVote = preVote
				n := mustNew(t, cfg, DurableState{})
				n.Step(0, Input{Kind: InputWake})
				out := deliver(n, time.Millisecond, msg(MsgVote, 2, 1, MaxTerm))
				if m := only(t, out, MsgVoteResp); !m.Success || n.term != MaxTerm || n.stats.Rejected != 0 {
					t.Fatalf("vote in term MaxTerm: %v, term %d, rejected %d; want it granted", m, n.term, n.stats.Rejected)
				}
				now, in := tt.in(n)
				out = n.Step(now, in)
				if n.role != Follower || n.term != MaxTerm || len(out.Messages) != 0 {
					t.Fatalf("%v of term %d sent %v, want a silent follower of term MaxTerm", n.role, n.term, out.Messages)
				}
				app := msg(MsgApp, 3, 1, MaxTerm)
				if m := only(t, deliver(n, now, app), MsgAppResp); !m.Success || n.leader != 3 {
					t.Fatalf("AppendEntries of term MaxTerm answered %v, leader %d", m, n.leader)
				}
			})
		}
	}
}

// A committed command entry whose data a correct leader never writes (here a key length
// near the int limit, which once panicked kv.Decode) is skipped and counted by every
// replica alike, never a crash.
func TestHostileCommandEntrySkipped(t *testing.T) {
	n := follower(t, 1, 3, DurableState{})
	m := msg(MsgApp, 2, 1, 1)
	m.LeaderCommit = 1
	m.Entries = []Entry{{Index: 1, Term: 1, Kind: EntryCommand, Data: "1 2 2 9223372036854775807:k v"}}
	out := deliver(n, time.Millisecond, m)
	if len(out.Apply) != 1 || n.stats.Rejected != 1 || len(out.Commands) != 0 || len(n.store.Keys()) != 0 {
		t.Fatalf("applied %v, rejected %d, commands %v: want the entry applied as a no-op and counted", out.Apply, n.stats.Rejected, out.Commands)
	}
}
