package sim

import (
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
)

// spareConfig is a reliable 3-voter cluster with spares and two clients.
func spareConfig(spares int) Config {
	c := reliableConfig()
	c.Nodes, c.Spares = 3, spares
	c.Clients.Count = 2
	c.Duration = 4 * time.Second
	return c
}

// timelineHas reports whether some happening's text contains s.
func timelineHas(r Result, s string) bool {
	return slices.ContainsFunc(r.Timeline, func(h Happening) bool { return strings.Contains(h.Text, s) })
}

func TestSparesBootOutside(t *testing.T) {
	cfg := spareConfig(2)
	w := mustNew(t, cfg)
	if w.Nodes() != 5 {
		t.Fatalf("Nodes() = %d, want 5 (3 voters and 2 spares)", w.Nodes())
	}
	if got, want := w.ClientAddr(1), node.ID(6); got != want {
		t.Errorf("ClientAddr(1) = %d, want %d", got, want)
	}
	if got, want := w.AdminAddr(), node.ID(8); got != want {
		t.Errorf("AdminAddr() = %d, want %d", got, want)
	}
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v\n%s", r.Failure, w.Describe())
	}
	if got := w.Voters(); !slices.Equal(got, []node.ID{1, 2, 3}) {
		t.Errorf("Voters() = %v, want [1 2 3]", got)
	}
	if !slices.Equal(r.FinalConfig.Voters, []node.ID{1, 2, 3}) {
		t.Errorf("FinalConfig = %v", r.FinalConfig)
	}
	for id := node.ID(4); id <= 5; id++ {
		v := w.View(id)
		if v.LastIndex() != 0 || len(v.Config.Voters) != 0 || v.Role != node.Follower || v.Term != 0 {
			t.Errorf("spare %d: %+v, want an idle server outside the configuration", id, v)
		}
	}
	if l := w.Leader(); l < 1 || l > 3 {
		t.Errorf("leader %d, want one of the voters", l)
	}
	if d := w.Describe(); !strings.Contains(d, "node 4 (up)") || !strings.Contains(d, "outside any configuration") || !strings.Contains(d, "voters [1 2 3]") {
		t.Errorf("Describe() does not show the spares and configurations:\n%s", d)
	}
	if r.Counts.ClientOK == 0 {
		t.Error("no client operation completed")
	}
	if got := w.check.Outside(); !slices.Equal(got, []node.ID{4, 5}) {
		t.Errorf("checker leaves out %v, want the spares [4 5]", got)
	}
}

func TestConfigValidateSpares(t *testing.T) {
	for _, spares := range []int{-1, maxNodes} {
		cfg := spareConfig(spares)
		if err := cfg.Validate(); err == nil {
			t.Errorf("Spares %d accepted", spares)
		}
	}
}

// TestAdminAddAndRemove adds a spare, then removes the leader (replacing it), through the
// admin client, on a network that loses and duplicates messages.
func TestAdminAddAndRemove(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		cfg := spareConfig(1)
		cfg.Seed = seed
		cfg.Net = DefaultConfig().Net
		cfg.Duration = 8 * time.Second
		w := mustNew(t, cfg)
		var added, removed time.Duration
		var old node.ID
		w.At(time.Second, "add 4", func(w *World) {
			w.Admin(node.AdminAddServer, 4, func(w *World) {
				added = w.Now()
				if got := w.Voters(); !slices.Contains(got, 4) {
					t.Errorf("seed %d: add-server 4 done but Voters() = %v", seed, got)
				}
				old = w.Leader()
				if old == node.None {
					old = 1
				}
				w.Admin(node.AdminRemoveServer, old, func(w *World) { removed = w.Now() })
			})
			if !w.AdminPending() {
				t.Error("AdminPending() false right after Admin")
			}
		})
		r := w.Run()
		if r.Failure != nil {
			t.Fatalf("seed %d: %v\n%s", seed, r.Failure, w.Describe())
		}
		if added == 0 || removed == 0 || w.AdminPending() {
			t.Fatalf("seed %d: add done at %v, remove done at %v, pending %v\n%s", seed, added, removed, w.AdminPending(), w.Describe())
		}
		want := slices.DeleteFunc([]node.ID{1, 2, 3, 4}, func(id node.ID) bool { return id == old })
		if got := w.Voters(); !slices.Equal(got, want) || !slices.Equal(r.FinalConfig.Voters, want) || r.FinalConfig.Joint() {
			t.Errorf("seed %d: Voters() = %v, FinalConfig %v, want %v", seed, got, r.FinalConfig, want)
		}
		if l := w.Leader(); l == old || l == node.None {
			t.Errorf("seed %d: leader %d after removing %d", seed, l, old)
		}
		c := r.Counts
		if c.AdminRequests != 2 || c.AdminCompleted != 2 {
			t.Errorf("seed %d: admin counts %d requested, %d completed", seed, c.AdminRequests, c.AdminCompleted)
		}
		for _, s := range []string{"admin: add-server 4 requested", "admin: add-server 4 done after", "(leader) appended configuration voters [1 2 3] learners [4]",
			"(joint with [1 2 3])", "committed at index", "admin: remove-server"} {
			if !timelineHas(r, s) {
				t.Errorf("seed %d: timeline lacks %q", seed, s)
			}
		}
		if !timelineHas(r, "no longer a voter") && !timelineHas(r, "lost contact") {
			t.Errorf("seed %d: timeline does not show the removed leader %d stepping down", seed, old)
		}
	}
}

// TestAdminRetries cuts the admin client off, then lets it through: it retries the same
// request until it is answered.
func TestAdminRetries(t *testing.T) {
	cfg := spareConfig(1)
	w := mustNew(t, cfg)
	done := false
	w.At(time.Second, "cut the operator off", func(w *World) { w.Isolate(w.AdminAddr()) })
	w.At(time.Second, "add 4", func(w *World) { w.Admin(node.AdminAddServer, 4, func(*World) { done = true }) })
	w.At(1500*time.Millisecond, "heal", func(w *World) {
		if done {
			t.Error("admin request answered through a cut")
		}
		w.Heal()
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("%v\n%s", r.Failure, w.Describe())
	}
	if !done || r.Counts.AdminRetries < 3 {
		t.Fatalf("done %v after %d retries", done, r.Counts.AdminRetries)
	}
	if !timelineHas(r, "admin") { // the isolation names the admin endpoint
		t.Error("no admin happening")
	}
}

func TestAdminWhilePendingPanics(t *testing.T) {
	w := mustNew(t, spareConfig(1))
	w.Admin(node.AdminAddServer, 4, nil)
	mustPanic(t, "a second Admin while one is pending", func() { w.Admin(node.AdminRemoveServer, 1, nil) })
}

// TestAdminInvalidFailsTheRun: removing the last voter can never be done; the server
// answers ReplyInvalid and the run fails.
func TestAdminInvalidFailsTheRun(t *testing.T) {
	cfg := reliableConfig()
	cfg.Nodes, cfg.Clients.Count, cfg.Duration = 1, 0, 2*time.Second
	w := mustNew(t, cfg)
	w.At(500*time.Millisecond, "remove the only voter", func(w *World) { w.Admin(node.AdminRemoveServer, 1, nil) })
	r := w.Run()
	checkStopped(t, cfg, r)
	if r.Failure.Check != "Client protocol" || !strings.Contains(r.Failure.Detail, "admin") {
		t.Errorf("failure %v, want Client protocol about the admin request", r.Failure)
	}
}

func TestTransfer(t *testing.T) {
	cfg := spareConfig(0)
	w := mustNew(t, cfg)
	if w.Transfer(2) {
		t.Error("Transfer with no leader returned true")
	}
	var from, to node.ID
	w.At(time.Second, "transfer", func(w *World) {
		from = w.Leader()
		to = node.ID(int(from)%3 + 1)
		if !w.Transfer(to) {
			t.Error("Transfer returned false with a leader")
		}
	})
	w.At(2*time.Second, "check", func(w *World) {
		if l := w.Leader(); l != to {
			t.Errorf("leader %d one second after the transfer from %d to %d", l, from, to)
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("%v\n%s", r.Failure, w.Describe())
	}
	c := r.Counts
	if c.Transfers != 1 || c.TransfersStarted != 1 || c.TransfersCompleted != 1 || c.TransfersAborted != 0 {
		t.Errorf("transfer counts %+v", c)
	}
	for _, s := range []string{"operator asked leader", "started transferring leadership", "completed"} {
		if !timelineHas(r, s) {
			t.Errorf("timeline lacks %q", s)
		}
	}
}

// TestTransferAborts: a transfer to a crashed server cannot complete; the leader aborts it
// in time, so Transfer Liveness holds.
func TestTransferAborts(t *testing.T) {
	cfg := spareConfig(0)
	w := mustNew(t, cfg)
	var from node.ID
	w.At(time.Second, "crash a follower, transfer to it", func(w *World) {
		from = w.Leader()
		to := node.ID(int(from)%3 + 1)
		w.Crash(to)
		w.Transfer(to)
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("%v\n%s", r.Failure, w.Describe())
	}
	if r.Counts.TransfersAborted != 1 || !timelineHas(r, "aborted its leadership transfer") {
		t.Errorf("counts %+v: want one aborted transfer", r.Counts)
	}
	if w.Leader() != from {
		t.Errorf("leader %d, want %d to lead on", w.Leader(), from)
	}
}

// TestTransferLivenessFires runs servers whose views claim a transfer that never ends.
func TestTransferLivenessFires(t *testing.T) {
	cfg := spareConfig(0)
	cfg.NewServer = hooked(nil, func(v node.View) node.View {
		if v.Role == node.Leader {
			v.TransferTarget = v.ID%3 + 1
			v.TransferSince = 500 * time.Millisecond
		}
		return v
	})
	w := mustNew(t, cfg)
	r := w.Run()
	checkStopped(t, cfg, r)
	if r.Failure.Check != TransferLiveness {
		t.Fatalf("failure %v, want %s", r.Failure, TransferLiveness)
	}
	bound := cfg.Node.ElectionTimeoutMax + 2*cfg.Node.HeartbeatInterval
	if lead := w.LeaderHistory(); len(lead) == 0 || r.Failure.Time < 500*time.Millisecond+bound {
		t.Errorf("fired at %v, before the bound %v after 500ms", r.Failure.Time, bound)
	}
	if !slices.Contains(CheckNames(), TransferLiveness) {
		t.Error("CheckNames lacks Transfer Liveness")
	}
}

func TestPreVoteOption(t *testing.T) {
	cfg := spareConfig(0)
	cfg.Node.PreVote, cfg.Node.CheckQuorum = true, true
	w := mustNew(t, cfg)
	var cut node.ID
	var term node.Term
	w.At(time.Second, "isolate a follower", func(w *World) {
		cut = node.ID(int(w.Leader())%3 + 1)
		term = w.MaxTerm()
		w.Isolate(cut)
	})
	w.At(3*time.Second, "heal", func(w *World) { w.Heal() })
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("%v\n%s", r.Failure, w.Describe())
	}
	if r.Counts.PreVotes == 0 || !timelineHas(r, "pre-vote") {
		t.Errorf("no pre-vote seen (counts %+v)", r.Counts)
	}
	if w.View(cut).Term != term {
		t.Errorf("isolated node %d moved from term %d to %d despite PreVote", cut, term, w.View(cut).Term)
	}
	if st := w.NodeStats(cut); st.PreVotes == 0 || st.Elections != 0 {
		t.Errorf("NodeStats(%d) = %+v", cut, st)
	}
}

// TestAdminDeterministic: a run with spares, admin requests and a transfer is a function of
// its seed.
func TestAdminDeterministic(t *testing.T) {
	run := func() Result {
		cfg := spareConfig(2)
		cfg.Net = DefaultConfig().Net
		w := mustNew(t, cfg)
		w.At(time.Second, "add 4", func(w *World) {
			w.Admin(node.AdminAddServer, 4, func(w *World) { w.Transfer(4) })
		})
		return w.Run()
	}
	a, b := run(), run()
	if a.Failure != nil {
		t.Fatal(a.Failure)
	}
	if a.TraceHash != b.TraceHash || a.Counts != b.Counts {
		t.Errorf("same seed, different runs: %016x %+v\n%016x %+v", a.TraceHash, a.Counts, b.TraceHash, b.Counts)
	}
}

// TestCutAndDescribe: Cut cuts one link both ways; the admin endpoint appears in network
// descriptions only once used.
func TestCutAndDescribe(t *testing.T) {
	w := mustNew(t, spareConfig(0))
	w.Isolate(1)
	if d := w.describeNet(); strings.Contains(d, "admin") {
		t.Errorf("unused admin endpoint described: %s", d)
	}
	w.Heal()
	w.Cut(1, 2)
	if d := w.describeNet(); d != "cut: 1-2" {
		t.Errorf("after Cut(1, 2): %s", d)
	}
	w.Cut(w.AdminAddr(), 3)
	if d := w.describeNet(); d != "cut: 1-2 3-admin" {
		t.Errorf("after Cut(admin, 3): %s", d)
	}
}
