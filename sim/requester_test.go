package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"raftsim/node"
)

// fakeOwner is a requestOwner that records what the shared mechanism asks of it.
type fakeOwner struct {
	r         *requester
	sentTo    []node.ID // the server of every request packet loaded
	sentSeq   []uint64  // and the sequence number it carried
	retries   int
	idles     int
	giveUps   int
	completed []node.ID // the servers whose ReplyOK completed a request
	refused   []node.ReplyStatus
}

func (f *fakeOwner) what() string        { return f.r.tag(f.r.seq) + " test" }
func (f *fakeOwner) idle(w *World)       { f.idles++ }
func (f *fakeOwner) giveUp(w *World)     { f.giveUps++; f.r.state = clientIdle }
func (f *fakeOwner) countRetry(w *World) { f.retries++ }
func (f *fakeOwner) load(p *packet) {
	f.sentTo = append(f.sentTo, node.ID(p.to))
	f.sentSeq = append(f.sentSeq, f.r.seq)
}
func (f *fakeOwner) complete(w *World, from node.ID, r *node.Reply) {
	f.completed = append(f.completed, from)
	f.r.state = clientIdle
}
func (f *fakeOwner) refuse(w *World, from node.ID, status node.ReplyStatus) {
	f.refused = append(f.refused, status)
}

const (
	testTimeout   = 100 * time.Millisecond
	testBusyDelay = 30 * time.Millisecond
)

// newTestRequester is a requester on a fresh 3-server world without clients, using the
// admin client's endpoint, with request 1 sent to server 1 at time 0.
func newTestRequester(t *testing.T) (*World, *requester, *fakeOwner) {
	t.Helper()
	cfg := reliableConfig()
	cfg.Nodes, cfg.Clients.Count = 3, 0
	w := mustNew(t, cfg)
	f := &fakeOwner{}
	r := &requester{
		owner: f, addr: w.admin.addr, who: "t", name: "t", timerKind: evAdmin, packetKind: pkAdmin,
		timeout: testTimeout, busyDelay: testBusyDelay, rng: rand.New(rand.NewPCG(1, 2)),
		avoidUntil: make([]time.Duration, 3), giveUpAt: never, target: 1, seq: 1,
	}
	f.r = r
	w.sendRequest(r, false)
	return w, r, f
}

// fire runs r's timer as the event queue would: at its time, with its generation.
func fire(w *World, r *requester) {
	w.now = r.timerWant
	w.requesterTimer(r, r.timerGen)
}

func reply(w *World, r *requester, from node.ID, status node.ReplyStatus, seq uint64, leader node.ID) {
	w.deliverToRequester(r, &node.Reply{Seq: seq, Status: status, Leader: leader}, int(from))
}

// TestRequester drives the retrying requester shared by the clients and the admin client
// through each of its rules, with a fake owner and by hand (no event loop).
func TestRequester(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, w *World, r *requester, f *fakeOwner)
		// the expected end state
		target    node.ID // 0: any server but 1
		state     clientState
		timerAt   time.Duration
		sends     int
		retries   int
		completed []node.ID
		giveUps   int
		refused   int
	}{
		{name: "first attempt waits for its timeout",
			run:    func(t *testing.T, w *World, r *requester, f *fakeOwner) {},
			target: 1, state: clientWaiting, timerAt: testTimeout, sends: 1},
		{name: "a timeout retries the same request on another server and distrusts the first",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				fire(w, r)
				if r.avoidUntil[0] != testTimeout+clientAvoidFactor*testTimeout {
					t.Errorf("server 1 distrusted until %v, want %v", r.avoidUntil[0], testTimeout+clientAvoidFactor*testTimeout)
				}
			},
			target: 0, state: clientWaiting, timerAt: 2 * testTimeout, sends: 2, retries: 1},
		{name: "a leader hint is followed at once",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				w.now = 5 * time.Millisecond
				reply(w, r, 1, node.ReplyNotLeader, 1, 3)
			},
			target: 3, state: clientWaiting, timerAt: 5*time.Millisecond + testTimeout, sends: 2, retries: 1},
		{name: "a hint to a distrusted server is not followed: another server, after a backoff",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				w.now = 5 * time.Millisecond
				r.avoidUntil[2] = time.Second
				reply(w, r, 1, node.ReplyNotLeader, 1, 3)
			},
			target: 2, state: clientBackoff, timerAt: 5*time.Millisecond + clientBackoffDelay, sends: 1},
		{name: "the end of a backoff resends",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				reply(w, r, 1, node.ReplyNotLeader, 1, node.None)
				fire(w, r)
			},
			target: 0, state: clientWaiting, timerAt: clientBackoffDelay + testTimeout, sends: 2, retries: 1},
		{name: "busy: wait busyDelay, then ask the same server",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				reply(w, r, 1, node.ReplyBusy, 1, node.None)
			},
			target: 1, state: clientBackoff, timerAt: testBusyDelay, sends: 1},
		{name: "a refusal from an earlier attempt's server is ignored",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				fire(w, r)
				reply(w, r, 1, node.ReplyNotLeader, 1, 1)
			},
			target: 0, state: clientWaiting, timerAt: 2 * testTimeout, sends: 2, retries: 1},
		{name: "a reply for another sequence number is ignored",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				reply(w, r, 1, node.ReplyOK, 0, node.None)
			},
			target: 1, state: clientWaiting, timerAt: testTimeout, sends: 1},
		{name: "an OK from any attempt completes; its server is the next target",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				fire(w, r)
				reply(w, r, 1, node.ReplyOK, 1, node.None)
			},
			target: 1, state: clientIdle, timerAt: 2 * testTimeout, sends: 2, retries: 1, completed: []node.ID{1}},
		{name: "the give-up time ends the request",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				r.giveUpAt = 150 * time.Millisecond
				fire(w, r) // 100 ms: a retry, whose timer is cut to the give-up time
				fire(w, r)
			},
			target: 0, state: clientIdle, timerAt: 150 * time.Millisecond, sends: 2, retries: 1, giveUps: 1},
		{name: "ReplyInvalid and unknown statuses are refused",
			run: func(t *testing.T, w *World, r *requester, f *fakeOwner) {
				reply(w, r, 1, node.ReplyInvalid, 1, node.None)
				reply(w, r, 1, node.ReplyStatus(99), 1, node.None)
			},
			target: 1, state: clientWaiting, timerAt: testTimeout, sends: 1, refused: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, r, f := newTestRequester(t)
			tc.run(t, w, r, f)
			if (tc.target != 0 && r.target != tc.target) || (tc.target == 0 && r.target == 1) {
				t.Errorf("target %d, want %d (0: any but 1)", r.target, tc.target)
			}
			if r.state != tc.state || r.timerWant != tc.timerAt {
				t.Errorf("state %d with timer at %v, want %d at %v", r.state, r.timerWant, tc.state, tc.timerAt)
			}
			if len(f.sentTo) != tc.sends || f.retries != tc.retries || f.giveUps != tc.giveUps || len(f.refused) != tc.refused {
				t.Errorf("%d sends, %d retries, %d give-ups, %d refused; want %d, %d, %d, %d",
					len(f.sentTo), f.retries, f.giveUps, len(f.refused), tc.sends, tc.retries, tc.giveUps, tc.refused)
			}
			for i, seq := range f.sentSeq {
				if seq != 1 {
					t.Errorf("attempt %d carried sequence number %d, want 1 (a retry keeps it)", i+1, seq)
				}
			}
			if len(f.completed) != len(tc.completed) || (len(f.completed) > 0 && f.completed[0] != tc.completed[0]) {
				t.Errorf("completed by %v, want %v", f.completed, tc.completed)
			}
		})
	}
}

// TestRequesterTimer checks the timer bookkeeping: one live event at a time, a superseded
// generation is no event, and an idle requester's timer goes to its owner.
func TestRequesterTimer(t *testing.T) {
	w, r, f := newTestRequester(t)
	gen := r.timerGen
	w.armRequester(r, 2*testTimeout) // later than the live event: reuses it
	if r.timerGen != gen || r.liveAt != testTimeout || r.timerWant != 2*testTimeout {
		t.Fatalf("a later arm made a new event (gen %d -> %d, live at %v, want at %v)", gen, r.timerGen, r.liveAt, r.timerWant)
	}
	w.now = testTimeout
	w.requesterTimer(r, gen) // the live event fires early and re-arms for 2*testTimeout
	if !r.live || r.liveAt != 2*testTimeout || len(f.sentTo) != 1 {
		t.Fatalf("early event: live %v at %v, %d sends; want re-armed at %v, no resend", r.live, r.liveAt, len(f.sentTo), 2*testTimeout)
	}
	events := w.counts.Events
	w.requesterTimer(r, gen) // superseded
	if w.counts.Events != events || len(f.sentTo) != 1 {
		t.Fatalf("a superseded timer event acted")
	}
	r.state = clientIdle
	fire(w, r)
	if f.idles != 1 || w.counts.Events != events || len(f.sentTo) != 1 {
		t.Fatalf("idle timer: %d idle calls, %d events counted, %d sends; want the owner's idle alone", f.idles, w.counts.Events-events, len(f.sentTo))
	}
}

func TestPickOther(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name  string
		avoid []time.Duration
		not   node.ID
		want  []node.ID // the possible picks
	}{
		{"one server: itself", []time.Duration{0}, 1, []node.ID{1}},
		{"prefers a trusted server", []time.Duration{0, time.Second, 0}, 1, []node.ID{3}},
		{"all others distrusted: any other", []time.Duration{0, time.Second, time.Second}, 1, []node.ID{2, 3}},
	}
	for _, tc := range tests {
		for range 20 {
			got := pickOther(rng, tc.avoid, 0, tc.not)
			ok := false
			for _, id := range tc.want {
				ok = ok || got == id
			}
			if !ok {
				t.Fatalf("%s: picked %d, want one of %v", tc.name, got, tc.want)
			}
		}
	}
}
