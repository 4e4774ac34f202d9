package host

import (
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

// asyncLeader boots a one-server cluster on an asynchronous disk and campaigns: the
// candidate's term and vote are write 1, still in flight.
func asyncLeader(t *testing.T) *Host {
	t.Helper()
	h := New(1)
	h.SetAsync()
	cfg := soloConfig()
	cfg.AsyncStorage = true
	if _, p, err := h.Boot(newNode, cfg); err != nil || p != nil {
		t.Fatalf("Boot: %v %v", err, p)
	}
	if _, _, p := h.Step(0, node.Input{Kind: node.InputWake}); p != nil {
		t.Fatal(p)
	}
	if out, _, p := h.Step(time.Millisecond, node.Input{Kind: node.InputCampaign}); p != nil || out.Write != 1 {
		t.Fatalf("campaign: write %d, problem %v", out.Write, p)
	}
	return h
}

// A write reaches the disk only when it is ended, in order, and the server is then told.
func TestAsyncWriteReachesDiskWhenDone(t *testing.T) {
	h := asyncLeader(t)
	if hs := h.Disk().HardState(); hs.Term != 0 || len(h.Writes()) != 1 {
		t.Fatalf("before WriteDone: disk term %d, %d writes in flight; want 0 and 1", hs.Term, len(h.Writes()))
	}
	if !h.WriteDone(1) || h.Disk().HardState() != (node.HardState{Term: 1, Vote: 1}) {
		t.Fatalf("after WriteDone(1): disk %+v", h.Disk().HardState())
	}
	out, v, p := h.Step(2*time.Millisecond, node.Input{Kind: node.InputDurable, Write: 1})
	if p != nil || v.Role != node.Leader || out.Write != 2 {
		t.Fatalf("after InputDurable: role %v, write %d, problem %v; want leader writing its no-op as write 2", v.Role, out.Write, p)
	}
	if h.WriteDone(1) {
		t.Error("a write ended twice")
	}
}

// A crash loses the writes in flight; a torn write leaves records that the next boot
// detects by checksum and discards.
func TestAsyncCrashTearsAndBootDiscards(t *testing.T) {
	for _, tt := range []struct {
		tear        Tear
		tail, whole int
		torn        bool
	}{
		{Tear{}, 0, 0, false},
		{Tear{Records: 1}, 1, 1, false},
		{Tear{Bytes: 2}, 1, 0, true},
	} {
		h := asyncLeader(t)
		if _, _, lost := h.CrashTorn(tt.tear); lost != 1 {
			t.Fatalf("%+v: lost %d writes, want 1", tt.tear, lost)
		}
		cfg := soloConfig()
		cfg.AsyncStorage = true
		v, p, err := h.Boot(newNode, cfg)
		if err != nil || p != nil {
			t.Fatalf("%+v: Boot: %v %v", tt.tear, err, p)
		}
		r := h.Recovered()
		if r.TailRecords != tt.tail || r.Intact != tt.whole || r.Torn != tt.torn {
			t.Errorf("%+v: recovered %+v, want %d records, %d intact, torn %v", tt.tear, r, tt.tail, tt.whole, tt.torn)
		}
		if v.Term != 0 || v.Vote != node.None {
			t.Errorf("%+v: booted in term %d vote %d: the unsealed write was not discarded", tt.tear, v.Term, v.Vote)
		}
	}
}

// The checksum catches any one byte changed, and a record cut short.
func TestChecksumDetects(t *testing.T) {
	b := []byte("\x03entry 7 of term 2")
	sum := checksum(b)
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		if checksum(c) == sum {
			t.Errorf("byte %d flipped: same checksum", i)
		}
	}
	if checksum(b[:len(b)-1]) == sum {
		t.Error("a record cut short has the same checksum")
	}
}

// fibber is a server whose view claims durable what the disk does not hold, or which
// sends a vote its disk does not back.
type fibber struct {
	Server
	view func(v node.View) node.View
	out  func(o node.Output) node.Output
}

func (l fibber) View() node.View { return l.view(l.Server.View()) }
func (l fibber) Step(now time.Duration, in node.Input) node.Output {
	return l.out(l.Server.Step(now, in))
}

// Durable State fires on an asynchronous disk when the server believes durable what is
// not, and on any disk when a message states what is not durable.
func TestDurableCheckAsyncFires(t *testing.T) {
	same := func(v node.View) node.View { return v }
	keep := func(o node.Output) node.Output { return o }
	for _, tt := range []struct {
		name  string
		async bool
		view  func(v node.View) node.View
		out   func(o node.Output) node.Output
		want  string
	}{
		{"believes its vote durable early", true, func(v node.View) node.View {
			v.DurableHardState = node.HardState{Term: v.Term, Vote: v.Vote}
			return v
		}, keep, "believes term 1 vote 1 durable"},
		{"believes its log durable early", true, func(v node.View) node.View {
			v.DurableIndex = v.LastIndex() + 1
			return v
		}, keep, "durable up to"},
		{"grants a vote not on its disk", false, same, func(o node.Output) node.Output {
			o.Messages = append(o.Messages, node.Message{Type: node.MsgVoteResp, From: 1, To: 2, Term: 9, Success: true})
			return o
		}, "granted its vote in term 9"},
		{"acknowledges entries not on its disk", false, same, func(o node.Output) node.Output {
			o.Messages = append(o.Messages, node.Message{Type: node.MsgAppResp, From: 1, To: 2, Term: 1, Success: true, MatchIndex: 50})
			return o
		}, "acknowledged entries up to 50"},
	} {
		h := New(1)
		cfg := soloConfig()
		if tt.async {
			h.SetAsync()
			cfg.AsyncStorage = true
		}
		newLiar := func(c node.Config, d node.DurableState) (Server, error) {
			s, err := node.New(c, d)
			return fibber{Server: s, view: tt.view, out: tt.out}, err
		}
		if _, _, err := h.Boot(newLiar, cfg); err != nil {
			t.Fatal(err)
		}
		var p *Problem
		for now := time.Duration(0); p == nil && now < time.Second; now += 10 * time.Millisecond {
			_, _, p = h.Step(now, node.Input{Kind: node.InputCampaign})
		}
		if p == nil || p.Check != DurableCheck || !strings.Contains(p.Detail, tt.want) {
			t.Errorf("%s: problem %+v, want Durable State saying %q", tt.name, p, tt.want)
		}
	}
}
