package host

import (
	"slices"
	"strings"
	"testing"

	"raftsim/node"
)

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	fn()
}

// entries returns entries from..to, all of term t.
func entries(from, to node.Index, t node.Term) []node.Entry {
	var es []node.Entry
	for i := from; i <= to; i++ {
		es = append(es, node.Entry{Index: i, Term: t, Kind: node.EntryNormal, Data: "e"})
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

// TestDiskSnapshots exercises the disk's snapshot rules directly: a saved snapshot drops
// the prefix it covers into a fresh array; an installed one keeps the suffix only if the
// log holds the snapshot's last entry (Figure 13); writes are placed after the snapshot.
func TestDiskSnapshots(t *testing.T) {
	var d Disk
	d.write(&node.Output{Entries: entries(1, 10, 1)})
	old := d.log
	if p := d.compact(&node.Snapshot{Index: 6, Term: 1, Data: "s6"}); p != "" {
		t.Fatalf("compact(6): %s", p)
	}
	if d.snapshot.Index != 6 || !slices.Equal(indexes(d.log), []node.Index{7, 8, 9, 10}) || d.LastIndex() != 10 {
		t.Fatalf("after compact(6): snapshot %d, log %v", d.snapshot.Index, indexes(d.log))
	}
	if &d.log[0] == &old[6] || cap(d.log) != len(d.log) {
		t.Errorf("the compacted log still shares the old array (cap %d): the prefix is not released", cap(d.log))
	}
	// An older or equal snapshot changes nothing.
	if p := d.compact(&node.Snapshot{Index: 4, Term: 1}); p != "" || d.snapshot.Index != 6 || len(d.log) != 4 {
		t.Errorf("compact(4) after 6: %q, snapshot %d, %d entries", p, d.snapshot.Index, len(d.log))
	}
	// A snapshot that does not fit the log is reported, not applied.
	if p := d.compact(&node.Snapshot{Index: 8, Term: 2}); !strings.Contains(p, "term") || d.snapshot.Index != 6 {
		t.Errorf("compact(8@t2) over entries of term 1: %q, snapshot %d", p, d.snapshot.Index)
	}
	if p := d.compact(&node.Snapshot{Index: 11, Term: 1}); !strings.Contains(p, "beyond") || d.snapshot.Index != 6 {
		t.Errorf("compact(11) beyond the log: %q, snapshot %d", p, d.snapshot.Index)
	}
	// Writes go after the snapshot; a truncation inside the suffix copies.
	shared := d.log
	d.write(&node.Output{Entries: entries(9, 9, 2)})
	if !slices.Equal(indexes(d.log), []node.Index{7, 8, 9}) || d.log[2].Term != 2 || shared[2].Term != 1 {
		t.Errorf("truncating write: log %v (terms %v), shared old slice changed: %v", indexes(d.log), d.log, shared)
	}
	mustPanic(t, "a write inside the snapshot", func() { d.write(&node.Output{Entries: entries(6, 7, 2)}) })
	mustPanic(t, "a write leaving a gap", func() { d.write(&node.Output{Entries: entries(11, 11, 2)}) })

	// InstallSnapshot: matching entry at its index keeps the suffix...
	d.install(&node.Snapshot{Index: 8, Term: 1, Data: "i8"})
	if d.snapshot.Index != 8 || !slices.Equal(indexes(d.log), []node.Index{9}) {
		t.Errorf("install(8@t1): snapshot %d, log %v", d.snapshot.Index, indexes(d.log))
	}
	// ... the same snapshot keeps everything ...
	d.install(&node.Snapshot{Index: 8, Term: 1})
	if len(d.log) != 1 {
		t.Errorf("install of the disk's own snapshot dropped entries: %v", indexes(d.log))
	}
	// ... a mismatch or a snapshot past the log empties it.
	d.install(&node.Snapshot{Index: 9, Term: 3})
	if d.snapshot.Index != 9 || d.snapshot.Term != 3 || len(d.log) != 0 {
		t.Errorf("install(9@t3) over 9@t2: snapshot %d@t%d, log %v", d.snapshot.Index, d.snapshot.Term, indexes(d.log))
	}
	d.install(&node.Snapshot{Index: 20, Term: 3})
	if d.snapshot.Index != 20 || len(d.log) != 0 || d.LastIndex() != 20 {
		t.Errorf("install(20): snapshot %d, log %v", d.snapshot.Index, indexes(d.log))
	}
	mustPanic(t, "an install older than the disk's snapshot", func() { d.install(&node.Snapshot{Index: 3, Term: 1}) })
	st := d.State()
	if st.Snapshot.Index != 20 || len(st.Log) != 0 {
		t.Errorf("state(): %+v", st)
	}
}
