package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/node/kv"
)

// fakeKV is a fake cluster that answers client requests directly, so that the client side
// is tested without the Raft node: node leader serves every request from one shared store
// with sessions (as if committed at once); the others answer NotLeader with a hint to it.
// It never sends Raft messages unless chatty is set (then every client request also makes
// the server send one heartbeat-shaped message to a peer).
type fakeKV struct {
	leader node.ID
	// silent(id, cmd, attempt) reports whether server id ignores this request; attempt
	// counts the requests for (client, seq) seen so far by any server, from 1.
	silent func(id node.ID, cmd kv.Command, attempt int) bool
	chatty bool
	store  *kv.Store
	seen   []fakeRequest
}

type fakeRequest struct {
	server node.ID
	cmd    kv.Command
}

func newFakeKV(leader node.ID) *fakeKV { return &fakeKV{leader: leader, store: kv.NewStore()} }

func (f *fakeKV) attempts(cmd kv.Command) int {
	n := 0
	for _, r := range f.seen {
		if r.cmd.Client == cmd.Client && r.cmd.Seq == cmd.Seq {
			n++
		}
	}
	return n
}

// newServer is a Config.NewServer building fake servers that share f.
func (f *fakeKV) newServer(c node.Config, d node.DurableState) (Server, error) {
	return &fakeServer{f: f, id: c.ID, peers: c.Peers}, nil
}

type fakeServer struct {
	f     *fakeKV
	id    node.ID
	peers []node.ID
}

func (s *fakeServer) Step(now time.Duration, in node.Input) node.Output {
	var out node.Output
	if in.Kind != node.InputClient {
		return out
	}
	f := s.f
	f.seen = append(f.seen, fakeRequest{s.id, in.Request})
	if f.silent != nil && f.silent(s.id, in.Request, f.attempts(in.Request)) {
		return out
	}
	r := node.Reply{Client: in.Request.Client, Seq: in.Request.Seq}
	switch {
	case s.id != f.leader:
		r.Status, r.Leader = node.ReplyNotLeader, f.leader
	case in.Request.Op == kv.OpGet:
		r.Status, r.Value = node.ReplyOK, f.store.Get(in.Request.Key)
	default:
		r.Status = node.ReplyOK
		r.Value, _ = f.store.Apply(in.Request)
	}
	out.Replies = []node.Reply{r}
	if f.chatty && len(s.peers) > 1 {
		to := s.peers[0]
		if to == s.id {
			to = s.peers[1]
		}
		out.Messages = []node.Message{{Type: node.MsgApp, From: s.id, To: to}}
	}
	return out
}

func (s *fakeServer) View() node.View {
	return node.View{ID: s.id, Peers: s.peers}
}

// fakeConfig is a reliable network with the fake cluster, 3 nodes, 2 clients, 2 s.
func fakeConfig(f *fakeKV) Config {
	c := reliableConfig()
	c.Nodes = 3
	c.Duration = 2 * time.Second
	c.Clients.Count = 2
	c.NewServer = f.newServer
	return c
}

// checkHistory checks the history's shape: stamps unique and increasing in processing
// order, Call < Return, each client's operations one at a time with sequence numbers in
// order, writes with unique values.
func checkHistory(t *testing.T, r Result) {
	t.Helper()
	seen := map[int64]bool{}
	values := map[string]bool{}
	lastReturn := map[int]int64{}
	var lastCall int64
	for i, op := range r.History {
		if op.Call <= lastCall {
			t.Fatalf("op %d: Call %d not after the previous op's Call %d", i, op.Call, lastCall)
		}
		lastCall = op.Call
		if op.Return <= op.Call {
			t.Fatalf("op %d: Return %d not after Call %d: %+v", i, op.Return, op.Call, op)
		}
		if op.ReturnTime < op.CallTime {
			t.Fatalf("op %d: returns before its call in virtual time: %+v", i, op)
		}
		for _, s := range []int64{op.Call, op.Return} {
			if seen[s] {
				t.Fatalf("op %d: stamp %d used twice", i, s)
			}
			seen[s] = true
		}
		if prev, ok := lastReturn[op.Client]; ok && op.Call < prev {
			t.Fatalf("op %d: client %d invoked before its previous op returned (%d < %d)", i, op.Client, op.Call, prev)
		}
		lastReturn[op.Client] = op.Return
		if op.Kind != linearizability.Get {
			if op.Value == "" || values[op.Value] {
				t.Fatalf("op %d: write value %q empty or not unique", i, op.Value)
			}
			values[op.Value] = true
		}
		if op.Unknown == op.HasOutput {
			t.Fatalf("op %d: Unknown %v and HasOutput %v", i, op.Unknown, op.HasOutput)
		}
	}
	c := r.Counts
	if uint64(len(r.History)) != c.ClientOps || c.ClientOK+c.ClientUnknown != c.ClientOps {
		t.Fatalf("counts %+v for %d ops", c, len(r.History))
	}
}

func TestClientsWithFakeCluster(t *testing.T) {
	tests := []struct {
		name    string
		leader  node.ID
		silent  func(id node.ID, cmd kv.Command, attempt int) bool
		modify  func(c *Config)
		wantOK  bool // every op but those pending at the end answered
		wantAll bool // every op unknown
		retries bool // retries expected
	}{
		{name: "healthy", leader: 2, wantOK: true, retries: true /* the first request may miss the leader */},
		{name: "lossy network", leader: 1, modify: func(c *Config) {
			c.Net.LossProbability, c.Net.DuplicateProbability = 0.2, 0.2
		}, retries: true},
		{name: "leader ignores first attempts", leader: 3, retries: true, silent: func(id node.ID, cmd kv.Command, attempt int) bool {
			return attempt == 1
		}},
		{name: "nobody answers", leader: 1, wantAll: true, retries: true, silent: func(node.ID, kv.Command, int) bool { return true }},
		{name: "one node", leader: 1, wantOK: true, modify: func(c *Config) { c.Nodes = 1 }},
		{name: "only gets", leader: 1, wantOK: true, retries: true, modify: func(c *Config) { c.Clients.PutWeight, c.Clients.AppendWeight = 0, 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(tt.leader)
			f.silent = tt.silent
			cfg := fakeConfig(f)
			if tt.modify != nil {
				tt.modify(&cfg)
			}
			r := runConfig(t, cfg)
			if r.Failure != nil {
				t.Fatalf("run failed: %v", r.Failure)
			}
			checkHistory(t, r)
			c := r.Counts
			t.Logf("counts %+v", c)
			if c.ClientOps == 0 {
				t.Fatal("no client operations")
			}
			if tt.wantOK && c.ClientUnknown > uint64(cfg.Clients.Count) {
				t.Errorf("%d ops unknown on a healthy cluster (at most the %d pending at the end)", c.ClientUnknown, cfg.Clients.Count)
			}
			if tt.wantAll && c.ClientOK != 0 {
				t.Errorf("%d ops answered by a cluster that answers nothing", c.ClientOK)
			}
			if tt.retries != (c.ClientRetries > 0) && tt.retries {
				t.Errorf("no retries, want some")
			}
			// Every request carries the command the client invoked: retries keep the seq
			// and the value.
			for _, req := range f.seen {
				op := findOp(r.History, int(req.cmd.Client)-1, req.cmd.Seq)
				if op == nil {
					t.Fatalf("request %v matches no invoked op", req.cmd)
				}
				if op.Key != req.cmd.Key || op.Value != req.cmd.Value {
					t.Fatalf("request %v differs from its op %+v", req.cmd, *op)
				}
			}
		})
	}
}

// findOp returns the seq-th operation (1-based) of zero-based client c.
func findOp(h []linearizability.Op, c int, seq uint64) *linearizability.Op {
	n := uint64(0)
	for i := range h {
		if h[i].Client == c {
			n++
			if n == seq {
				return &h[i]
			}
		}
	}
	return nil
}

// TestClientRetriesKeepSeq: the leader ignores every first attempt, so each op times out
// once and is resent with the same sequence number to another server, after exactly
// RequestTimeout.
func TestClientRetriesKeepSeq(t *testing.T) {
	f := newFakeKV(1)
	f.silent = func(id node.ID, cmd kv.Command, attempt int) bool { return attempt == 1 }
	cfg := fakeConfig(f)
	cfg.Clients.Count = 1
	var lines []string
	cfg.Trace = func(s string) { lines = append(lines, s) }
	r := runConfig(t, cfg)
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	checkHistory(t, r)
	bySeq := map[uint64][]node.ID{}
	for _, req := range f.seen {
		bySeq[req.cmd.Seq] = append(bySeq[req.cmd.Seq], req.server)
	}
	for seq := uint64(1); seq < uint64(len(r.History)); seq++ {
		servers := bySeq[seq]
		if len(servers) < 2 {
			t.Fatalf("seq %d sent to %v: want a retry after the ignored first attempt", seq, servers)
		}
		if servers[0] == servers[1] {
			t.Errorf("seq %d: retried on the same server %d after a timeout", seq, servers[0])
		}
	}
	if r.Counts.ClientRetries < uint64(len(r.History))-1 {
		t.Errorf("%d retries for %d ops", r.Counts.ClientRetries, len(r.History))
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "timeout c1#1") }) {
		t.Error("no timeout trace line")
	}
}

// TestClientGivesUp: with nobody answering, each op ends exactly GiveUpAfter after its
// invocation, unknown, and the client moves to the next sequence number.
func TestClientGivesUp(t *testing.T) {
	f := newFakeKV(1)
	f.silent = func(node.ID, kv.Command, int) bool { return true }
	cfg := fakeConfig(f)
	cfg.Clients.Count = 1
	cfg.Clients.GiveUpAfter = 250 * time.Millisecond
	cfg.Duration = time.Second
	r := runConfig(t, cfg)
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	checkHistory(t, r)
	// Four ops given up at 250, 500, 750 ms and 1 s, and a fifth invoked at the deadline.
	if len(r.History) != 5 {
		t.Fatalf("%d ops in 1 s with give-up after 250 ms, want 5: %+v", len(r.History), r.History)
	}
	for i, op := range r.History {
		if !op.Unknown || op.CallTime != time.Duration(i)*250*time.Millisecond {
			t.Errorf("op %d: %+v, want unknown, called at %v", i, op, time.Duration(i)*250*time.Millisecond)
		}
		if i < 4 && op.ReturnTime-op.CallTime != cfg.Clients.GiveUpAfter {
			t.Errorf("op %d gave up after %v, want %v", i, op.ReturnTime-op.CallTime, cfg.Clients.GiveUpAfter)
		}
	}
	// Attempts: at 0, 100, 200 ms per op (timeout 100 ms), then the give-up at 250 ms.
	// (The last op's request, sent at the deadline, is still in flight at the end.)
	if got := len(f.seen); got != 4*3 {
		t.Errorf("%d requests delivered, want 3 per op given up", got)
	}
}

// TestClientsCrashAndPartition: requests to a crashed node time out; a partitioned client
// reaches no server; a partition among servers leaves unlisted clients connected.
func TestClientsCrashAndPartition(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *World)
		// okBefore1s: ops per client that must succeed; client 1 and client 2.
		want1, want2 func(ok, unknown int) bool
	}{
		{"crash the only node", func(w *World) { w.Crash(1) },
			func(ok, unk int) bool { return ok == 0 && unk > 0 }, func(ok, unk int) bool { return ok == 0 && unk > 0 }},
		{"isolate client 1", func(w *World) { w.Isolate(w.ClientAddr(1)) },
			func(ok, unk int) bool { return ok == 0 && unk > 0 }, func(ok, unk int) bool { return ok > 10 }},
		{"partition client 1 with no server", func(w *World) { w.Partition([]node.ID{w.ClientAddr(1)}) },
			func(ok, unk int) bool { return ok == 0 && unk > 0 }, func(ok, unk int) bool { return ok > 10 }},
		{"one-way cut from the leader to client 2", func(w *World) { w.CutOneWay(1, w.ClientAddr(2)) },
			func(ok, unk int) bool { return ok > 10 }, func(ok, unk int) bool { return ok == 0 && unk > 0 }},
		{"control", func(w *World) {},
			func(ok, unk int) bool { return ok > 10 }, func(ok, unk int) bool { return ok > 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKV(1)
			cfg := fakeConfig(f)
			cfg.Nodes = 1
			var lines []string
			cfg.Trace = func(s string) { lines = append(lines, s) }
			w := mustNew(t, cfg)
			tt.setup(w)
			r := w.Run()
			if r.Failure != nil {
				t.Fatal(r.Failure)
			}
			checkHistory(t, r)
			var ok, unk [2]int
			for _, op := range r.History {
				if op.Unknown {
					unk[op.Client]++
				} else {
					ok[op.Client]++
				}
			}
			if !tt.want1(ok[0], unk[0]) || !tt.want2(ok[1], unk[1]) {
				t.Errorf("client 1: %d ok %d unknown; client 2: %d ok %d unknown", ok[0], unk[0], ok[1], unk[1])
			}
			if tt.name == "crash the only node" && !slices.ContainsFunc(lines, func(l string) bool {
				return strings.Contains(l, "drop request") && strings.Contains(l, "node down")
			}) {
				t.Error("no trace of a request dropped at a crashed node")
			}
		})
	}
}

// TestServerPartitionLeavesClientsConnected: a partition of servers only does not cut
// unlisted clients off.
func TestServerPartitionLeavesClientsConnected(t *testing.T) {
	f := newFakeKV(1)
	cfg := fakeConfig(f)
	w := mustNew(t, cfg)
	w.Partition([]node.ID{1}, []node.ID{2, 3})
	r := w.Run()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	if r.Counts.ClientOK < 20 {
		t.Errorf("only %d ops answered", r.Counts.ClientOK)
	}
	if !strings.Contains(r.Timeline[0].Text, "{1} | {2 3} | {}") {
		t.Errorf("partition described as %q", r.Timeline[0].Text)
	}
}

// TestBeforeSend: a hook that crashes the node suppresses the step's messages and
// replies; a hook that does nothing changes nothing.
func TestBeforeSend(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprint("crash=", crash), func(t *testing.T) {
			f := newFakeKV(1)
			f.chatty = true
			cfg := fakeConfig(f)
			cfg.Duration = 500 * time.Millisecond
			w := mustNew(t, cfg)
			calls := 0
			w.BeforeSend(func(w *World, id node.ID, out *node.Output) {
				calls++
				if crash && len(out.Replies) > 0 {
					w.Crash(id)
				}
			})
			r := w.Run()
			if r.Failure != nil {
				t.Fatal(r.Failure)
			}
			if calls == 0 {
				t.Fatal("hook never called")
			}
			if crash {
				if r.Counts.MessagesSent != 0 || r.Counts.ClientOK != 0 {
					t.Errorf("crashed before send, yet %d messages sent and %d ops answered", r.Counts.MessagesSent, r.Counts.ClientOK)
				}
				if r.Counts.Crashes == 0 {
					t.Error("no crash counted")
				}
			} else if r.Counts.MessagesSent == 0 || r.Counts.ClientOK == 0 {
				t.Errorf("control: %d messages, %d ops answered", r.Counts.MessagesSent, r.Counts.ClientOK)
			}
		})
	}
}

// TestClientReplyInvalidFailsTheRun: ReplyInvalid means the simulator sent garbage.
func TestClientReplyInvalidFailsTheRun(t *testing.T) {
	cfg := reliableConfig()
	cfg.Nodes = 1
	cfg.Clients.Count = 1
	cfg.NewServer = func(c node.Config, d node.DurableState) (Server, error) {
		return invalidServer{c.ID}, nil
	}
	r := runConfig(t, cfg)
	if r.Failure == nil || r.Failure.Check != "Client protocol" || !strings.Contains(r.Failure.Detail, "ReplyInvalid") {
		t.Fatalf("failure = %v, want a Client protocol failure about ReplyInvalid", r.Failure)
	}
}

type invalidServer struct{ id node.ID }

func (s invalidServer) Step(now time.Duration, in node.Input) node.Output {
	if in.Kind != node.InputClient {
		return node.Output{}
	}
	return node.Output{Replies: []node.Reply{{Client: in.Request.Client, Seq: in.Request.Seq, Status: node.ReplyInvalid}}}
}
func (s invalidServer) View() node.View { return node.View{ID: s.id, Peers: []node.ID{s.id}} }

// TestAnnotationsCoverCrashes: each crash window spans the history stamps of the ops run
// entirely while the node was down.
func TestAnnotationsCoverCrashes(t *testing.T) {
	f := newFakeKV(1)
	cfg := fakeConfig(f)
	w := mustNew(t, cfg)
	w.At(500*time.Millisecond, "crash 2", func(w *World) { w.Crash(2) })
	w.At(time.Second, "restart 2", func(w *World) { w.Restart(2) })
	w.At(1500*time.Millisecond, "crash 3", func(w *World) { w.Crash(3) })
	w.At(1600*time.Millisecond, "cut", func(w *World) { w.Isolate(1) })
	w.At(1700*time.Millisecond, "heal", func(w *World) { w.Heal() })
	r := w.Run()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	windows := map[string][2]time.Duration{"node 2": {500 * time.Millisecond, time.Second}, "node 3": {1500 * time.Millisecond, cfg.Duration},
		"network": {1600 * time.Millisecond, 1700 * time.Millisecond}}
	for tag, span := range windows {
		var a *linearizability.Annotation
		for i := range r.Annotations {
			if r.Annotations[i].Tag == tag {
				a = &r.Annotations[i]
			}
		}
		if a == nil {
			t.Fatalf("no annotation tagged %q in %+v", tag, r.Annotations)
		}
		if a.End < a.Start || a.Color == "" || a.Description == "" {
			t.Errorf("bad annotation %+v", *a)
		}
		inside := 0
		for _, op := range r.History {
			during := op.CallTime > span[0] && (op.ReturnTime < span[1] || span[1] == cfg.Duration)
			covered := op.Call > a.Start && op.Return <= a.End
			if during != covered {
				t.Errorf("%s window [%d, %d] (%v..%v): op %+v during=%v covered=%v", tag, a.Start, a.End, span[0], span[1], op, during, covered)
			}
			if during {
				inside++
			}
		}
		if inside == 0 && tag != "network" { // isolating the leader for 100 ms: nothing completes
			t.Errorf("%s: no op ran inside the window", tag)
		}
	}
}

// TestClientsDeterministic: same seed, same hash and history, with clients and drift on;
// another seed differs.
func TestClientsDeterministic(t *testing.T) {
	run := func(seed uint64) Result {
		cfg := DefaultConfig()
		cfg.Seed = seed
		cfg.Duration = 2 * time.Second
		cfg.Clocks.DriftMax = 0.05
		w := mustNew(t, cfg)
		w.At(time.Second, "crash", func(w *World) { w.Crash(w.Leader()) })
		w.At(1200*time.Millisecond, "jump", func(w *World) { w.JumpClock(2, 30*time.Millisecond) })
		return w.Run()
	}
	a, b, c := run(3), run(3), run(4)
	if a.Failure != nil {
		t.Fatal(a.Failure)
	}
	if a.TraceHash != b.TraceHash || a.Counts != b.Counts || !slices.Equal(a.History, b.History) || !slices.Equal(a.Annotations, b.Annotations) {
		t.Errorf("same seed, different runs: %016x %016x", a.TraceHash, b.TraceHash)
	}
	if a.TraceHash == c.TraceHash {
		t.Error("different seeds, same hash")
	}
}

// TestClientsRealNode runs the clients against the raftsim node (needs the node's client
// handling): most ops complete and the history is linearizable.
func TestClientsRealNode(t *testing.T) {
	for _, mode := range []node.ReadMode{node.ReadIndex, node.ReadLease} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Duration = 3 * time.Second
			cfg.Node.ReadMode = mode
			cfg.Node.CheckQuorum = mode == node.ReadLease
			w := mustNew(t, cfg)
			w.At(time.Second, "crash the leader", func(w *World) { w.Crash(w.Leader()) })
			w.At(1500*time.Millisecond, "restart", func(w *World) {
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					w.Restart(id)
				}
			})
			r := w.Run()
			if r.Failure != nil {
				t.Fatalf("run failed: %v", r.Failure)
			}
			checkHistory(t, r)
			if r.Counts.ClientOK < r.Counts.ClientOps/2 {
				t.Fatalf("only %d of %d ops answered: %+v", r.Counts.ClientOK, r.Counts.ClientOps, r.Counts)
			}
			res, err := linearizability.Check(r.History, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != linearizability.Linearizable {
				t.Fatalf("history not linearizable: %v", res)
			}
			tags := map[string]bool{}
			for _, a := range r.Annotations {
				tags[a.Tag] = true
			}
			if !tags["leaders"] || !tags["node 1"] && !tags["node 2"] && !tags["node 3"] && !tags["node 4"] && !tags["node 5"] {
				t.Errorf("annotations lack leaders or a crash window: %+v", r.Annotations)
			}
		})
	}
}
