package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
)

// entries returns entries lo..hi of term t.
func entries(lo, hi node.Index, t node.Term) []node.Entry {
	var es []node.Entry
	for i := lo; i <= hi; i++ {
		es = append(es, node.Entry{Index: i, Term: t, Data: fmt.Sprint("e", i)})
	}
	return es
}

func indexes(es []node.Entry) []node.Index {
	out := make([]node.Index, len(es))
	for i, e := range es {
		out[i] = e.Index
	}
	return out
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	fn()
}

// snapFake is a one-node "cluster" that commits and applies every proposal at once (as a
// put of the proposal to key "k" by client 1, sequence number its index) and takes a
// snapshot every threshold applied entries, to drive the host's snapshot machinery
// without the Raft node. Misbehaviours: compactEarly drops the log prefix when
// taking the snapshot instead of when told it is saved; replay restarts with applied 0.
type snapFake struct {
	id        node.ID
	threshold int
	hsDurable bool
	snap      node.Snapshot
	pending   node.Snapshot // the snapshot being saved
	saving    bool
	log       []node.Entry
	commit    node.Index
	applied   node.Index
	store     *kv.Store

	compactEarly, replay bool
	saved                *[]savedNote
}

type savedNote struct {
	at    time.Duration
	index node.Index
	life  int
}

type snapFakes struct {
	compactEarly, replay bool
	saved                []savedNote
	lives                int
	boots                []node.DurableState
}

func (fs *snapFakes) newServer(c node.Config, d node.DurableState) (Server, error) {
	fs.lives++
	fs.boots = append(fs.boots, d)
	f := &snapFake{id: c.ID, threshold: c.SnapshotThreshold, hsDurable: d.HardState.Term == 1,
		snap: d.Snapshot, log: d.Log, commit: d.Snapshot.Index, applied: d.Snapshot.Index, store: kv.NewStore(),
		compactEarly: fs.compactEarly, replay: fs.replay, saved: &fs.saved}
	if d.Snapshot.Index > 0 {
		st, err := kv.Restore(d.Snapshot.Data)
		if err != nil {
			return nil, err
		}
		f.store = st
	}
	if f.replay && d.Snapshot.Index > 0 {
		f.applied = f.snap.Index + node.Index(len(f.log)) // claims to have replayed its whole log
	}
	return f, nil
}

func (f *snapFake) last() node.Index { return f.snap.Index + node.Index(len(f.log)) }

func (f *snapFake) dropThrough(i node.Index) {
	f.log = slices.Clone(f.log[i-f.snap.Index:])
}

func (f *snapFake) Step(now time.Duration, in node.Input) node.Output {
	out := node.Output{HardState: node.HardState{Term: 1, Vote: f.id}}
	if !f.hsDurable {
		f.hsDurable, out.HardStateChanged = true, true
	}
	switch in.Kind {
	case node.InputPropose:
		i := f.last() + 1
		cmd := kv.Command{Client: 1, Seq: uint64(i), Op: kv.OpPut, Key: "k", Value: in.Data}
		e := node.Entry{Index: i, Term: 1, Kind: node.EntryCommand, Data: cmd.Encode()}
		f.log = append(f.log[:len(f.log):len(f.log)], e)
		out.Entries = []node.Entry{e}
		out.Proposal = node.Proposal{Accepted: true, Index: e.Index, Term: 1}
	case node.InputSnapshotSaved:
		*f.saved = append(*f.saved, savedNote{at: now, index: in.Index})
		if f.saving && in.Index == f.pending.Index && in.Index > f.snap.Index {
			if !f.compactEarly {
				f.dropThrough(in.Index)
			}
			f.snap = f.pending
		}
		f.saving = false
	}
	f.commit = f.last()
	for f.applied < f.commit {
		f.applied++
		v := f.View()
		e, ok := v.EntryAt(f.applied)
		if !ok {
			continue
		}
		out.Apply = append(out.Apply, e)
		cmd, _ := kv.Decode(e.Data)
		_, outcome := f.store.Apply(cmd)
		out.Commands = append(out.Commands, node.AppliedCommand{Index: e.Index, Client: cmd.Client, Seq: cmd.Seq, Outcome: outcome})
	}
	if f.threshold > 0 && !f.saving && int(f.applied-f.snap.Index) >= f.threshold {
		f.pending = node.Snapshot{Index: f.applied, Term: 1, Config: node.Configuration{Voters: []node.ID{f.id}}, Data: f.store.Encode()}
		f.saving = true
		out.SaveSnapshot = &f.pending
		if f.compactEarly {
			f.dropThrough(f.applied)
		}
	}
	return out
}

func (f *snapFake) View() node.View {
	v := node.View{ID: f.id, Term: 1, Vote: f.id, Role: node.Leader, Leader: f.id, Peers: []node.ID{f.id},
		SnapshotIndex: f.snap.Index, SnapshotTerm: f.snap.Term, Log: f.log,
		CommitIndex: f.commit, AppliedIndex: f.applied, Store: f.store}
	if f.snap.Index > 0 {
		snap := f.snap
		v.Snapshot = &snap
	}
	if f.compactEarly && f.saving {
		v.SnapshotIndex, v.SnapshotTerm = f.pending.Index, f.pending.Term
	}
	return v
}

// snapConfig is one fake node taking a snapshot every 5 entries, written in 20 ms, with
// a proposal every 10 ms from 100 ms on (entry k at 90+10k ms).
func snapConfig(fs *snapFakes) Config {
	c := reliableConfig()
	c.Nodes = 1
	c.Clients.Count = 0
	c.Duration = time.Second
	c.Node.SnapshotThreshold = 5
	c.Node.SnapshotDelay = 20 * time.Millisecond
	c.NewServer = fs.newServer
	return c
}

func proposeEvery10ms(w *World, from, to time.Duration) {
	for at := from; at <= to; at += 10 * time.Millisecond {
		w.At(at, "propose", func(w *World) { w.Propose(1, fmt.Sprint("p", w.Now()/time.Millisecond)) })
	}
}

// TestSnapshotWriteInBackground: a snapshot the server takes is written SnapshotDelay
// later; meanwhile the server keeps stepping and the disk still holds the full log; then
// the disk drops the covered prefix (into a fresh array) and the server is told with
// InputSnapshotSaved, after which the server and its disk agree again.
func TestSnapshotWriteInBackground(t *testing.T) {
	fs := &snapFakes{}
	cfg := snapConfig(fs)
	cfg.Duration = 300 * time.Millisecond
	var lines []string
	cfg.Trace = func(l string) { lines = append(lines, l) }
	w := mustNew(t, cfg)
	proposeEvery10ms(w, 100*time.Millisecond, 200*time.Millisecond) // entries 1..11
	var oldLog []node.Entry
	w.At(145*time.Millisecond, "during the write", func(w *World) {
		// Entry 5 was applied at 140 ms and its snapshot taken; the write ends at 160 ms.
		d := w.Disk(1)
		if !w.SavingSnapshot(1) || d.Snapshot.Index != 0 || len(d.Log) != 6-1 {
			t.Errorf("at 145 ms: saving %v, disk snapshot %d, %d entries; want a write in progress over the full log of 5",
				w.SavingSnapshot(1), d.Snapshot.Index, len(d.Log))
		}
		oldLog = w.host(1).disk().Log()
	})
	w.At(161*time.Millisecond, "after the write", func(w *World) {
		d := w.Disk(1)
		if w.SavingSnapshot(1) || d.Snapshot.Index != 5 || !strings.Contains(d.Snapshot.Data, "p140") {
			t.Errorf("at 161 ms: saving %v, disk snapshot %+v; want the snapshot at 5 saved", w.SavingSnapshot(1), d.Snapshot)
		}
		// Entries 6 and 7 were proposed at 150 and 160 ms (the latter before the write's
		// event, which was queued later).
		if !slices.Equal(indexes(d.Log), []node.Index{6, 7}) {
			t.Errorf("disk log after the save: %v, want [6 7]", indexes(d.Log))
		}
		if len(oldLog) > 0 && &w.host(1).disk().Log()[0] == &oldLog[len(oldLog)-1] {
			t.Errorf("the disk log still shares the array holding the dropped prefix")
		}
		if v := w.View(1); v.SnapshotIndex != 5 || len(v.Log) != 2 {
			t.Errorf("view after the save: snapshot %d, %d entries", v.SnapshotIndex, len(v.Log))
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v", r.Failure)
	}
	want := []savedNote{{at: 160 * time.Millisecond, index: 5}, {at: 210 * time.Millisecond, index: 10}}
	if !slices.Equal(fs.saved, want) {
		t.Errorf("InputSnapshotSaved steps %+v, want %+v", fs.saved, want)
	}
	c := r.Counts
	if c.SnapshotsTaken != 2 || c.SnapshotsSaved != 2 || c.SnapshotsLost != 0 || c.SnapshotsInstalled != 0 {
		t.Errorf("counts: taken %d saved %d lost %d installed %d, want 2 2 0 0", c.SnapshotsTaken, c.SnapshotsSaved, c.SnapshotsLost, c.SnapshotsInstalled)
	}
	// The log peaked at 7 entries (5 applied and snapshotted, 6 and 7 during the write).
	if c.MaxRetainedLog != 7 {
		t.Errorf("MaxRetainedLog %d, want 7", c.MaxRetainedLog)
	}
	var notes []string
	for _, h := range r.Timeline {
		if h.Kind == HappenSnapshot {
			notes = append(notes, h.Text)
		}
	}
	if !slices.Equal(notes, []string{"node 1 saved a snapshot at index 5", "node 1 saved a snapshot at index 10"}) {
		t.Errorf("timeline snapshot notes %q", notes)
	}
	trace := strings.Join(lines, "\n")
	for _, s := range []string{"snapshot 5@t1 taken", "snapshot 5@t1 written after 20ms", "snap=5"} {
		if !strings.Contains(trace, s) {
			t.Errorf("trace lacks %q", s)
		}
	}
}

// TestSnapshotWriteZeroDelay: with SnapshotDelay 0 the write ends at the next event, after
// the step that took it and every event already due at that time.
func TestSnapshotWriteZeroDelay(t *testing.T) {
	fs := &snapFakes{}
	cfg := snapConfig(fs)
	cfg.Node.SnapshotDelay = 0
	cfg.Duration = 200 * time.Millisecond
	w := mustNew(t, cfg)
	proposeEvery10ms(w, 100*time.Millisecond, 140*time.Millisecond)
	if r := w.Run(); r.Failure != nil {
		t.Fatalf("run failed: %v", r.Failure)
	}
	if want := []savedNote{{at: 140 * time.Millisecond, index: 5}}; !slices.Equal(fs.saved, want) {
		t.Errorf("InputSnapshotSaved steps %+v, want %+v", fs.saved, want)
	}
}

// TestSnapshotWriteLostInCrash: a crash during the write loses it: the disk keeps its old
// snapshot and the full log, the write's event does nothing, the restarted server boots
// from what the disk has; a later snapshot is saved and a restart boots from it.
func TestSnapshotWriteLostInCrash(t *testing.T) {
	fs := &snapFakes{}
	cfg := snapConfig(fs)
	cfg.Duration = 500 * time.Millisecond
	w := mustNew(t, cfg)
	proposeEvery10ms(w, 100*time.Millisecond, 140*time.Millisecond) // entries 1..5, snapshot at 140 ms
	var eventsAtCrash uint64
	w.At(150*time.Millisecond, "crash during the write", func(w *World) {
		w.Crash(1)
		eventsAtCrash = w.Counts().Events
	})
	w.At(170*time.Millisecond, "restart", func(w *World) {
		if w.Counts().Events != eventsAtCrash+1 { // +1: this action
			t.Errorf("the lost write's event counted as an event")
		}
		d := w.Disk(1)
		if d.Snapshot.Index != 0 || len(d.Log) != 5 {
			t.Errorf("disk after a crash during the write: snapshot %d, %d entries; want none and 5", d.Snapshot.Index, len(d.Log))
		}
		w.Restart(1)
	})
	// The new life applies 1..5 again (it has no snapshot), takes one at 5, saves it at 190 ms.
	proposeEvery10ms(w, 300*time.Millisecond, 340*time.Millisecond) // entries 6..10: snapshot at 10, saved at 360 ms
	w.At(400*time.Millisecond, "crash and restart after the save", func(w *World) {
		w.Crash(1)
		w.Restart(1)
		if v := w.View(1); v.AppliedIndex != 10 || v.SnapshotIndex != 10 || len(v.Log) != 0 {
			t.Errorf("after a restart from the snapshot at 10: applied %d, snapshot %d, %d entries", v.AppliedIndex, v.SnapshotIndex, len(v.Log))
		}
	})
	r := w.Run()
	if r.Failure != nil {
		t.Fatalf("run failed: %v", r.Failure)
	}
	want := []savedNote{{at: 190 * time.Millisecond, index: 5}, {at: 360 * time.Millisecond, index: 10}}
	if !slices.Equal(fs.saved, want) {
		t.Errorf("InputSnapshotSaved steps %+v, want %+v (none for the lost write)", fs.saved, want)
	}
	if c := r.Counts; c.SnapshotsTaken != 3 || c.SnapshotsSaved != 2 || c.SnapshotsLost != 1 {
		t.Errorf("counts: taken %d saved %d lost %d, want 3 2 1", c.SnapshotsTaken, c.SnapshotsSaved, c.SnapshotsLost)
	}
	if len(fs.boots) != 3 || fs.boots[2].Snapshot.Index != 10 || !strings.Contains(fs.boots[2].Snapshot.Data, "p340") || len(fs.boots[2].Log) != 0 {
		t.Errorf("boots: %+v; want the third from the snapshot at 10 with an empty log", fs.boots)
	}
	found := false
	for _, h := range r.Timeline {
		found = found || h.Kind == HappenCrash && strings.Contains(h.Text, "losing the write of its snapshot at index 5")
	}
	if !found {
		t.Errorf("the timeline does not say the crash lost the snapshot write")
	}
}

// TestDurableStateCheckSnapshots: a server whose view compacts its log before its
// snapshot is durable fails the Durable State check at that step; one that replays its
// log from the beginning after a restart fails the recovery check.
func TestDurableStateCheckSnapshots(t *testing.T) {
	t.Run("compacts early", func(t *testing.T) {
		fs := &snapFakes{compactEarly: true}
		cfg := snapConfig(fs)
		w := mustNew(t, cfg)
		proposeEvery10ms(w, 100*time.Millisecond, 200*time.Millisecond)
		r := w.Run()
		checkStopped(t, cfg, r)
		if f := r.Failure; f.Check != "Durable State" || f.Time != 140*time.Millisecond || !strings.Contains(f.Detail, "snapshot at 5@t1 but its disk has one at 0@t0") {
			t.Fatalf("failure %v, want Durable State at 140ms about the snapshot", f)
		}
	})
	t.Run("replays from the start", func(t *testing.T) {
		fs := &snapFakes{replay: true}
		cfg := snapConfig(fs)
		w := mustNew(t, cfg)
		proposeEvery10ms(w, 100*time.Millisecond, 170*time.Millisecond) // snapshot at 5, entries 6..8 after it
		w.At(300*time.Millisecond, "crash and restart", func(w *World) { w.Crash(1); w.Restart(1) })
		r := w.Run()
		checkStopped(t, cfg, r)
		if f := r.Failure; f.Check != RecoveryCheck || f.Time != 300*time.Millisecond || !strings.Contains(f.Detail, "snapshot ends at index 5 with applied index 8") {
			t.Fatalf("failure %v, want %s at 300ms", f, RecoveryCheck)
		}
		if !slices.Contains(CheckNames(), RecoveryCheck) {
			t.Errorf("CheckNames() lacks %q", RecoveryCheck)
		}
	})
}

// TestNoHistory: without the history the clients behave the same (same trace hash and
// counts) and Result.History is empty.
func TestNoHistory(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Duration = 3 * time.Second
	a := runConfig(t, cfg)
	cfg.Clients.NoHistory = true
	b := runConfig(t, cfg)
	if a.Failure != nil || b.Failure != nil {
		t.Fatalf("runs failed: %v / %v", a.Failure, b.Failure)
	}
	if a.TraceHash != b.TraceHash || a.Counts != b.Counts {
		t.Errorf("NoHistory changed the run: %016x %+v vs %016x %+v", a.TraceHash, a.Counts, b.TraceHash, b.Counts)
	}
	if len(a.History) == 0 || len(b.History) != 0 {
		t.Errorf("history lengths %d and %d, want some and none", len(a.History), len(b.History))
	}
}
