package host

import (
	"fmt"
	"slices"

	"raftsim/node"
)

// Disk is a host's simulated stable storage: the hard state, the latest durable snapshot,
// and the log after it. Writes made in a step are synchronous (what a step reported as
// durable survives a crash); a snapshot the server took of its own state machine
// (Output.SaveSnapshot) is written in the background (Host.SaveDone) and only replaces the
// disk's snapshot, and releases the log prefix it covers, when that write ends.
type Disk struct {
	hardState node.HardState
	// snapshot is the latest durable snapshot (zero: none); log holds the entries after
	// it, log[k].Index == snapshot.Index+k+1.
	snapshot node.Snapshot
	// log shares entries with the server and with in-flight messages; entries are
	// immutable, and writes never store into an existing slot (see write).
	log []node.Entry
	// tail holds the records a crash let through of a write it tore (async.go): the
	// disk's bytes past its last sealed write, read and discarded by the next Boot.
	tail []record
}

// HardState is the durable term and vote.
func (d *Disk) HardState() node.HardState { return d.hardState }

// Snapshot is the latest durable snapshot (zero: none).
func (d *Disk) Snapshot() node.Snapshot { return d.snapshot }

// Log is the durable log after the snapshot (read-only).
func (d *Disk) Log() []node.Entry { return d.log[:len(d.log):len(d.log)] }

// LastIndex is the index of the disk's last entry (the snapshot's if the log is empty).
func (d *Disk) LastIndex() node.Index { return d.snapshot.Index + node.Index(len(d.log)) }

// State is the durable state a restarted server is rebuilt from.
func (d *Disk) State() node.DurableState {
	return node.DurableState{HardState: d.hardState, Snapshot: d.snapshot, Log: d.log[:len(d.log):len(d.log)]}
}

// write applies one output's durable part, in the order node.Output documents: hard
// state, then InstallSnapshot, then Entries.
func (d *Disk) write(out *node.Output) {
	if out.HardStateChanged {
		d.hardState = out.HardState
	}
	if out.InstallSnapshot != nil {
		d.install(out.InstallSnapshot)
	}
	if len(out.Entries) == 0 {
		return
	}
	first := out.Entries[0].Index
	base := d.snapshot.Index
	if first <= base || first > d.LastIndex()+1 {
		panic(fmt.Sprintf("host: invariant broken: durable write at index %d does not follow the disk's snapshot at %d and log of %d entries after it",
			first, base, len(d.log)))
	}
	keep := d.log
	if k := int(first - base - 1); k < len(d.log) {
		// A truncation: cut with a full slice expression so that the append below copies
		// rather than overwriting entries that older messages or the server still share.
		keep = d.log[:k:k]
	}
	d.log = append(keep, out.Entries...)
}

// install makes a snapshot received from the leader durable (node.Output.InstallSnapshot,
// Figure 13): the log keeps its entries after the snapshot only if it holds the
// snapshot's last entry (same index and term); otherwise it is emptied. The kept suffix is
// copied, so that the discarded prefix's memory is released.
func (d *Disk) install(s *node.Snapshot) {
	if s.Index < d.snapshot.Index {
		panic(fmt.Sprintf("host: invariant broken: InstallSnapshot at index %d is older than the disk's snapshot at index %d",
			s.Index, d.snapshot.Index))
	}
	base := d.snapshot.Index
	switch {
	case s.Index == base && s.Term == d.snapshot.Term:
		// The same snapshot: the whole log follows it.
	case s.Index > base && s.Index <= d.LastIndex() && d.log[s.Index-base-1].Term == s.Term:
		d.log = slices.Clone(d.log[s.Index-base:])
	default:
		d.log = nil
	}
	d.snapshot = *s
}

// compact makes the server's own snapshot s durable, if it is newer than the disk's, and
// drops the log entries it covers, copying the suffix into a fresh slice so that the
// dropped prefix's memory is released. It returns a description of the problem if s does
// not fit the disk's log (a snapshot beyond the durable log, or of another term than the
// durable entry at its index): a server bug.
func (d *Disk) compact(s *node.Snapshot) (problem string) {
	if s.Index <= d.snapshot.Index {
		return "" // the disk already holds a snapshot at least as new (an install overtook it)
	}
	base := d.snapshot.Index
	if s.Index > d.LastIndex() {
		return fmt.Sprintf("snapshot at index %d is beyond the durable log, which ends at %d", s.Index, d.LastIndex())
	}
	if t := d.log[s.Index-base-1].Term; t != s.Term {
		return fmt.Sprintf("snapshot at index %d has term %d, but the durable entry there has term %d", s.Index, s.Term, t)
	}
	d.log = slices.Clone(d.log[s.Index-base:])
	d.snapshot = *s
	return ""
}
