package host

import (
	"encoding/binary"
	"fmt"

	"raftsim/node"
)

// This file is the asynchronous disk (SetAsync). A step's durable part is not written when
// the step returns: it becomes a Write in flight, numbered by the server
// (node.Output.Write), and reaches the disk only when the caller ends it with WriteDone,
// one write at a time and in order (the simulator after a latency drawn from the disk's
// own stream). The server is then told with node.InputDurable, and only then do the
// messages that depend on the write leave (the server holds them). A crash loses every
// write in flight; with a Tear, the write in progress leaves a prefix of its records on
// the disk.
//
// The disk format. A write is a sequence of records (the hard state, an installed
// snapshot, the entries, in node.Output's order) closed by a seal. Each record is written
// as its encoding preceded by a checksum of it (64-bit FNV-1a, which detects any change of
// one byte, and a shorter record, with certainty or probability 1-2^-64). The
// simulator keeps the sealed writes applied to the Disk's structured state and, after a
// torn crash, the records of the unsealed write as bytes (Disk.tail). Boot reads that tail
// as recovery would: it checks each record's checksum, stops at the first that fails (the
// torn one), and discards the whole unsealed write, intact records included. That is
// safe because nothing depending on the write ever left: the server's responses waited
// for WriteDone, and a write without its seal never had one.

// Write is a durable write in flight (node.Output.Write): what a step asked to make
// durable. Its slices are the server's immutable entries and snapshot.
type Write struct {
	Seq              uint64
	HardStateChanged bool
	HardState        node.HardState
	Install          *node.Snapshot
	Entries          []node.Entry
}

// Tear says how much of the write in progress a crash leaves on the disk: Records whole
// records of it, then Bytes bytes of the next one (0: none). Counts beyond the write are
// clipped; the seal is never written by a crash (a write with its seal is complete).
type Tear struct {
	Records int
	Bytes   int
}

// Recovery is what Boot found past the disk's last sealed write: the records of a write
// torn by a crash, how many of them were intact, and whether one failed its checksum. The
// whole unsealed write was discarded.
type Recovery struct {
	TailRecords int
	Intact      int
	Torn        bool
}

// record is one record of the disk format as it lies on the disk: its bytes (a prefix of
// its encoding if a crash tore it) and the checksum written before them, of the whole
// encoding.
type record struct {
	data []byte
	sum  uint64
}

// Record kinds, the first byte of a record's encoding.
const (
	recordHardState byte = iota + 1
	recordSnapshot
	recordEntry
)

// SetAsync makes the host's disk asynchronous (see the file comment). It must be called
// before the first Boot, and the server must then number its writes
// (node.Config.AsyncStorage).
func (h *Host) SetAsync() {
	if h.life > 0 {
		panic(fmt.Sprintf("host: invariant broken: SetAsync on node %d after it booted", h.id))
	}
	h.async = true
}

// Async reports whether the host's disk is asynchronous.
func (h *Host) Async() bool { return h.async }

// Writes are the writes in flight, oldest first (read-only; valid until the next call
// that changes the host).
func (h *Host) Writes() []Write { return h.writes }

// Recovered is what the latest Boot found past the last sealed write (zero if nothing).
func (h *Host) Recovered() Recovery { return h.recovered }

// queueWrite records the durable part of out as a write in flight.
func (h *Host) queueWrite(out *node.Output) *Problem {
	durable := out.HardStateChanged || out.InstallSnapshot != nil || len(out.Entries) > 0
	switch {
	case out.Write == 0 && !durable:
		return nil
	case out.Write == 0:
		return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: out.HardState.Term,
			Detail: "the server's output has a durable part but no write number (node.Output.Write), on an asynchronous disk"}
	case !durable || out.Write != h.lastWrite+1:
		return &Problem{Check: DurableCheck, Rule: "Figure 2", Term: out.HardState.Term,
			Detail: fmt.Sprintf("the server numbered a write %d after write %d (durable part: %v): writes are numbered 1, 2, ... and only outputs with a durable part are writes",
				out.Write, h.lastWrite, durable)}
	}
	h.lastWrite = out.Write
	h.writes = append(h.writes, Write{Seq: out.Write, HardStateChanged: out.HardStateChanged, HardState: out.HardState,
		Install: out.InstallSnapshot, Entries: out.Entries[:len(out.Entries):len(out.Entries)]})
	return nil
}

// WriteDone ends the oldest write in flight, numbered seq: the disk takes it. It reports
// false, changing nothing, if that write is not in flight (lost in a crash). Ending any
// other write than the oldest is a bug of the caller: writes complete in order.
func (h *Host) WriteDone(seq uint64) bool {
	if !h.up || len(h.writes) == 0 || h.writes[0].Seq > seq {
		return false
	}
	if h.writes[0].Seq != seq {
		panic(fmt.Sprintf("host: invariant broken: node %d: write %d ended before write %d", h.id, seq, h.writes[0].Seq))
	}
	w := h.writes[0]
	h.disk.write(&node.Output{HardStateChanged: w.HardStateChanged, HardState: w.HardState,
		InstallSnapshot: w.Install, Entries: w.Entries})
	h.writes[0] = Write{}
	h.writes = h.writes[1:]
	if len(h.writes) == 0 {
		h.writes = nil // release the array
	}
	return true
}

// tear leaves on the disk the records of the write in progress that a crash let through.
func (h *Host) tear(t Tear) {
	if len(h.writes) == 0 || (t.Records == 0 && t.Bytes == 0) {
		return
	}
	recs := encodeWrite(&h.writes[0])
	n := min(t.Records, len(recs))
	h.disk.tail = append(h.disk.tail[:0], recs[:n]...)
	if n < len(recs) && t.Bytes > 0 {
		r := recs[n]
		r.data = r.data[:min(t.Bytes, len(r.data)-1)] // a torn record is shorter than its encoding
		h.disk.tail = append(h.disk.tail, r)
	}
}

// encodeWrite encodes a write's records in the disk format.
func encodeWrite(w *Write) []record {
	var recs []record
	add := func(b []byte) { recs = append(recs, record{data: b, sum: checksum(b)}) }
	if w.HardStateChanged {
		b := []byte{recordHardState}
		b = binary.AppendUvarint(b, uint64(w.HardState.Term))
		add(binary.AppendUvarint(b, uint64(w.HardState.Vote)))
	}
	if s := w.Install; s != nil {
		b := []byte{recordSnapshot}
		b = binary.AppendUvarint(b, uint64(s.Index))
		b = binary.AppendUvarint(b, uint64(s.Term))
		b = append(b, s.Config.Encode()...)
		add(append(b, s.Data...))
	}
	for _, e := range w.Entries {
		b := []byte{recordEntry}
		b = binary.AppendUvarint(b, uint64(e.Index))
		b = binary.AppendUvarint(b, uint64(e.Term))
		b = append(b, byte(e.Kind))
		add(append(b, e.Data...))
	}
	return recs
}

// checksum is 64-bit FNV-1a over b, with its length folded in first.
func checksum(b []byte) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < 8; i++ {
		h = (h ^ uint64(len(b)>>(8*i)&0xff)) * prime
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * prime
	}
	return h
}

// recoverTail reads the records past the last sealed write, as recovery at boot would, and
// discards them (see the file comment).
func (d *Disk) recoverTail() Recovery {
	r := Recovery{TailRecords: len(d.tail)}
	for _, rec := range d.tail {
		if checksum(rec.data) != rec.sum {
			r.Torn = true
			break
		}
		r.Intact++
	}
	d.tail = nil
	return r
}
