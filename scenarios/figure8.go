package scenarios

import (
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// figure8 replays the schedule of Figure 8 of the Raft paper (§5.4.2) with five servers
// S1..S5, forcing the elections with World.Campaign and fixing every message delay at
// 5 ms so that the schedule is exact:
//
//	(a) S1 leads term 1 and replicates entry "a" at index 2 to S2 only.
//	(b) S1 crashes; S5 wins term 2 with the votes of S3 and S4, is cut off at once, and
//	    appends its no-op and entry "b" (indexes 2 and 3, term 2) locally.
//	(c) S5 crashes; S1 restarts and wins term 3. With one entry per AppendEntries, "a"
//	    (term 1) reaches a majority (S1-S4) before S1's own no-op of term 3 does. S1 must
//	    not commit "a" by counting replicas. S1 crashes right then.
//	(d) S5 restarts and wins term 4 with the votes of S3 and S4 (its last term, 2, beats
//	    their 1), and overwrites "a" everywhere with its own entries.
//
// The seed chooses which servers play S1..S5.
//
// The answer it asserts: an entry of an earlier term stored on a majority is not
// committed by counting (otherwise the checks would find a committed entry lost in (d)),
// and it can indeed be overwritten later.
func figure8() Scenario {
	return Scenario{
		Name:      "figure-8",
		Summary:   "the Figure 8 schedule: an old-term entry on a majority is not committed by counting, and is later overwritten",
		Questions: "S1",
		Configure: func(c *sim.Config) {
			scripted(c, 3*time.Second)
			c.Node.MaxEntriesPerMessage = 1
		},
		Script: figure8Script,
	}
}

// scripted configures a run whose schedule the script forces: every message takes exactly
// 5 ms, election timeouts are too long to fire on their own (only World.Campaign elects
// anyone), and there are no clients (only the script writes).
func scripted(c *sim.Config, d time.Duration) {
	reliable(c)
	c.Net.DelayMin, c.Net.DelayMax = ms(5), ms(5)
	c.Node.ElectionTimeoutMin, c.Node.ElectionTimeoutMax = ms(1000), ms(2000)
	c.Clients.Count = 0
	c.Duration = d
}

// castOf lets the seed choose which of five servers plays which role in a scripted
// scenario.
func castOf(w *sim.World) [5]node.ID {
	var cast [5]node.ID
	for i, p := range w.Random().Perm(5) {
		cast[i] = node.ID(p + 1)
	}
	return cast
}

func figure8Script(w *sim.World) Assertion {
	cast := castOf(w)
	s1, s2, s3, s4, s5 := cast[0], cast[1], cast[2], cast[3], cast[4]
	f := &figure8State{s1: s1, s5: s5}
	w.At(ms(100), "(a) S1 campaigns", func(w *sim.World) { w.Campaign(s1) })
	w.At(ms(300), "(a) S1 reaches only S2", func(w *sim.World) {
		w.Partition([]node.ID{s1, s2})
		f.propose(w, s1, "a", 1)
	})
	w.At(ms(400), "(b) S1 crashes; S5 campaigns", func(w *sim.World) {
		w.Crash(s1)
		w.Partition([]node.ID{s3, s4, s5})
		w.Campaign(s5)
	})
	// Votes arrive at 405 ms, answers at 410 ms: S5 is leader and its first
	// AppendEntries would arrive at 415 ms. Cut it off in between.
	w.At(ms(412), "(b) S5 is cut off and appends b", func(w *sim.World) {
		w.Isolate(s5)
		f.propose(w, s5, "b", 2)
	})
	w.At(ms(500), "(c) S5 crashes; S1 restarts and campaigns", func(w *sim.World) {
		w.Crash(s5)
		w.Heal()
		w.Restart(s1)
		w.Campaign(s1) // term 2: S3 and S4 already voted for S5, so this one fails
	})
	w.At(ms(520), "(c) S1 campaigns again", func(w *sim.World) { w.Campaign(s1) })
	w.At(ms(521), "(c) watch a reach a majority", f.watch)
	w.At(time.Second, "S1 restarts", func(w *sim.World) { w.Restart(s1) })
	w.Note("cast: S1..S5 are nodes %v", cast)
	return f.assert
}

// figure8State is what the figure-8 script learns while it runs.
type figure8State struct {
	s1, s5    node.ID       // the servers playing S1 and S5
	a, b      node.Proposal // where "a" and "b" were appended
	seenTrap  bool          // "a" held by a majority while nobody had committed it
	trapNotes string
}

func (f *figure8State) propose(w *sim.World, id node.ID, data string, wantTerm node.Term) {
	p := w.Propose(id, data)
	if !p.Accepted || p.Term != wantTerm {
		w.Failf("figure-8 schedule", "node %d did not append %q in term %d: %+v\n%s", id, data, wantTerm, p, w.Describe())
		return
	}
	if data == "a" {
		f.a = p
	} else {
		f.b = p
	}
}

// watch polls every millisecond for the moment of Figure 8 (c): "a" stored on a
// majority. It then checks that nobody has committed it, crashes S1 and lets S5 win.
func (f *figure8State) watch(w *sim.World) {
	holders, maxCommit := 0, node.Index(0)
	for id := node.ID(1); id <= 5; id++ {
		v := w.View(id)
		if holds(v, f.a.Index, f.a.Term) {
			holders++
		}
		if w.Up(id) && v.CommitIndex > maxCommit {
			maxCommit = v.CommitIndex
		}
	}
	if holders < 3 {
		if w.Now() > ms(700) {
			w.Failf("figure-8 schedule", "entry a never reached a majority under S1 in term 3\n%s", w.Describe())
			return
		}
		w.At(w.Now()+time.Millisecond, "(c) watch", f.watch)
		return
	}
	f.seenTrap = maxCommit < f.a.Index
	f.trapNotes = fmt.Sprintf("a held by %d servers, highest commit index %d, S1 in term %d", holders, maxCommit, w.View(f.s1).Term)
	w.Note("Figure 8 (c): %s", f.trapNotes)
	w.Crash(f.s1)
	w.Restart(f.s5)
	w.Campaign(f.s5) // term 3: S2-S4 voted for S1 in term 3, so this one fails
	w.At(w.Now()+ms(20), "(d) S5 campaigns again", func(w *sim.World) { w.Campaign(f.s5) })
}

func (f *figure8State) assert(w *sim.World, o *Outcome) error {
	if !f.seenTrap {
		return fmt.Errorf("at Figure 8 (c) the old-term entry was already committed: %s", f.trapNotes)
	}
	if e, ok := w.CommittedEntry(f.a.Index); !ok || !e.SameAs(node.Entry{Index: f.a.Index, Term: 2, Kind: node.EntryNoOp}) {
		return fmt.Errorf("index %d should end up holding S5's term-2 no-op, committed; ledger there: %v (known: %v)", f.a.Index, e, ok)
	}
	if e, ok := w.CommittedEntry(f.b.Index); !ok || e.Data != "b" {
		return fmt.Errorf("S5's entry b should be committed at index %d; ledger there: %v (known: %v)", f.b.Index, e, ok)
	}
	for id := node.ID(1); id <= 5; id++ {
		if holds(w.View(id), f.a.Index, f.a.Term) {
			return fmt.Errorf("node %d still holds entry a, which S5 should have overwritten\n%s", id, w.Describe())
		}
	}
	if l := w.LeaderHistory(); len(l) == 0 || l[len(l)-1].ID != f.s5 {
		return fmt.Errorf("S5 should lead the last term; leaders: %+v", l)
	}
	return nil
}

// holds reports whether v's log has an entry of term t at index i.
func holds(v node.View, i node.Index, t node.Term) bool {
	got, ok := v.TermAt(i)
	return ok && i > 0 && got == t
}
