package explore

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"raftsim/node"
)

// fp128 is a state's 128-bit fingerprint.
type fp128 struct{ hi, lo uint64 }

func (a fp128) less(b fp128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func cmpFP(a, b fp128) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
}

// Stater is what the explorer needs of a server beyond host.Server: a canonical encoding
// of everything in its state that can change its future behaviour under abstract time
// (see node.Node.AppendState, which the raftsim node provides), with every server ID
// renamed by perm (perm[id] is id's new name; nil: no renaming).
type Stater interface {
	AppendState(b []byte, perm []node.ID) []byte
}

// The fingerprint hash: a wyhash-style mix of 16-byte blocks into two 64-bit lanes that
// feed each other, finalised into 128 bits. It is not cryptographic; the collision odds
// stated in the package doc assume it behaves like a random function on the encodings.
const (
	fpK0 = 0xa0761d6478bd642f
	fpK1 = 0xe7037ed1a0b428db
	fpK2 = 0x8ebc6af09c88c6e3
	fpK3 = 0x589965cc75374cc3
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func hash128(b []byte) fp128 {
	s1 := uint64(len(b)) ^ fpK0
	s2 := uint64(len(b)) ^ fpK1
	for len(b) >= 16 {
		x, y := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		s1, s2 = mum(x^fpK1, y^s1), mum(y^fpK2, x^s2)+bits.RotateLeft64(s1, 29)
		b = b[16:]
	}
	var tail [16]byte
	copy(tail[:], b)
	x, y := binary.LittleEndian.Uint64(tail[:]), binary.LittleEndian.Uint64(tail[8:])
	s1, s2 = mum(x^fpK1, y^s1^fpK3), mum(y^fpK2, x^s2)+bits.RotateLeft64(s1, 29)
	h := fp128{hi: mum(s1^fpK3, s2^fpK0), lo: mum(s2^fpK2, s1^fpK1)}
	h.lo ^= h.hi >> 17
	return h
}

// fpCache holds a machine's or a packet's fingerprint per renaming (index into the
// search's list of renamings), computed on first use: the identity's inline, the others
// in more. Machines and packets are immutable, so the cache never goes stale; each
// worker fills its own copies.
type fpCache struct {
	set  uint64 // bit k: renaming k's value is computed
	v0   fp128
	more []fp128 // more[k-1] is renaming k's value
}

func (c *fpCache) get(k int) (fp128, bool) {
	if c.set&(1<<k) == 0 {
		return fp128{}, false
	}
	if k == 0 {
		return c.v0, true
	}
	return c.more[k-1], true
}

func (c *fpCache) put(k, n int, f fp128) {
	c.set |= 1 << k
	if k == 0 {
		c.v0 = f
		return
	}
	if len(c.more) < n-1 {
		c.more = append(c.more, make([]fp128, n-1-len(c.more))...)
	}
	c.more[k-1] = f
}

// hasher is a worker's scratch space for encodings.
type hasher struct {
	buf   []byte
	parts []fp128
}

func (h *hasher) u64(v uint64) { h.buf = binary.LittleEndian.AppendUint64(h.buf, v) }
func (h *hasher) fp(f fp128)   { h.u64(f.hi); h.u64(f.lo) }
func (h *hasher) str(s string) {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(s)))
	h.buf = append(h.buf, s...)
}

// perms is the list of renamings a search fingerprints under: the identity alone, or
// with Symmetry every permutation of the servers' IDs. perm[k][id] is id's new name.
func perms(nodes int, symmetry bool) [][]node.ID {
	id := make([]node.ID, nodes+1)
	for i := range id {
		id[i] = node.ID(i)
	}
	if !symmetry {
		return [][]node.ID{id}
	}
	var out [][]node.ID
	var rec func(k int)
	rec = func(k int) {
		if k > nodes {
			out = append(out, slices.Clone(id))
			return
		}
		for j := k; j <= nodes; j++ {
			id[k], id[j] = id[j], id[k]
			rec(k + 1)
			id[k], id[j] = id[j], id[k]
		}
	}
	rec(1)
	if len(out) > 64 {
		panic(fmt.Sprintf("explore: invariant broken: %d renamings exceed the cache's 64", len(out)))
	}
	return out
}

// machineFP is m's fingerprint under renaming perm: whether it is up, the server's state
// (Stater) when up, the disk when down (a down server is its disk), the armed timer (only
// whether one is armed: time is abstract) and the snapshot writes in progress.
func (h *hasher) machineFP(m *machine, perm []node.ID) fp128 {
	h.buf = h.buf[:0]
	u := m.unit
	if u.Up() {
		h.buf = append(h.buf, 1)
		st, ok := u.Server().(Stater)
		if !ok {
			panic(fmt.Sprintf("explore: server %T of node %d cannot be fingerprinted: it does not implement explore.Stater", u.Server(), u.ID()))
		}
		h.buf = st.AppendState(h.buf, perm)
		if m.wakeAt != 0 {
			h.buf = append(h.buf, 1)
		} else {
			h.buf = append(h.buf, 0)
		}
	} else {
		h.buf = append(h.buf, 0)
		ds := u.Disk().State()
		h.buf = node.AppendDurableState(h.buf, &ds, perm)
	}
	for _, s := range u.Saves() {
		h.u64(uint64(s.Snap.Index))
		h.u64(uint64(s.Snap.Term))
	}
	return hash128(h.buf)
}

// packetFP is p's fingerprint under renaming perm (its number is left out: in-flight
// packets are a multiset).
func (h *hasher) packetFP(p *packet, perm []node.ID, nodes int) fp128 {
	h.buf = h.buf[:0]
	rename := func(e int32) uint64 {
		if int(e) <= nodes {
			return uint64(perm[e])
		}
		return uint64(e)
	}
	h.buf = append(h.buf, byte(p.kind))
	h.u64(rename(p.from)<<32 | rename(p.to))
	switch p.kind {
	case pkMessage:
		h.buf = node.AppendMessage(h.buf, &p.msg, perm)
	case pkRequest:
		c := &p.req
		h.u64(uint64(c.Client))
		h.u64(c.Seq)
		h.buf = append(h.buf, byte(c.Op))
		h.str(c.Key)
		h.str(c.Value)
	case pkReply:
		h.buf = node.AppendReply(h.buf, &p.rep, perm)
	}
	return hash128(h.buf)
}

// stateFP is s's fingerprint under renaming k of ps: the machines in the order of their
// new names, the packets in flight as a sorted multiset, the clients, the history (its
// order of calls and returns, not absolute times), the budgets used and the checker's
// records (check.Checker.AppendRecords). The depth and the packet numbers are left out.
func (h *hasher) stateFP(s *state, ps [][]node.ID, k int) fp128 {
	perm := ps[k]
	n := len(ps)
	nodes := len(s.hosts)
	h.parts = h.parts[:0]
	for range s.hosts {
		h.parts = append(h.parts, fp128{})
	}
	for i, m := range s.hosts {
		f, ok := m.fp.get(k)
		if !ok {
			f = h.machineFP(m, perm)
			m.fp.put(k, n, f)
		}
		h.parts[perm[i+1]-1] = f
	}
	for _, p := range s.net {
		f, ok := p.fp.get(k)
		if !ok {
			f = h.packetFP(p, perm, nodes)
			p.fp.put(k, n, f)
		}
		h.parts = append(h.parts, f)
	}
	slices.SortFunc(h.parts[nodes:], cmpFP)
	h.buf = h.buf[:0]
	for _, f := range h.parts {
		h.fp(f)
	}
	h.u64(uint64(len(s.net)))
	for _, c := range s.clients {
		h.u64(uint64(c.invoked)<<32 | c.seq<<1 | b2u(c.op >= 0))
	}
	for i := range s.hist {
		op := &s.hist[i]
		h.u64(uint64(op.Client)<<8 | uint64(op.Kind)<<1 | b2u(op.Unknown))
		h.u64(uint64(op.Call)<<32 | uint64(op.Return))
		h.str(op.Value)
		h.str(op.Output)
	}
	u := &s.used
	h.u64(uint64(u.crashes) | uint64(u.restarts)<<16 | uint64(u.drops)<<32 | uint64(u.dups)<<48)
	h.u64(uint64(u.retries) | uint64(u.admin)<<16)
	h.buf = s.chk.AppendRecords(h.buf, perm)
	return hash128(h.buf)
}

// canonical is s's fingerprint: with one renaming, its own; with symmetry, the least over
// every renaming of the servers, so that states equal up to renaming share it.
func (h *hasher) canonical(s *state, ps [][]node.ID) fp128 {
	best := h.stateFP(s, ps, 0)
	for k := 1; k < len(ps); k++ {
		if f := h.stateFP(s, ps, k); f.less(best) {
			best = f
		}
	}
	return best
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
