package sim

// Subsystem tags for deriving independent random streams from the root seed.
const (
	streamNetwork uint64 = iota + 1
	streamNodeTimer
	streamWorkload
	streamFaults
	streamScenario
	streamClient // qualifier: the client's number (1-based)
	streamClock  // qualifier: the node's ID
	streamAdmin  // the admin client (World.Admin)
	// streamClientPick: the servers one client operation tries; qualifiers the client's
	// number and the operation's invocation time (so that removing another operation
	// from a timed schedule leaves an operation's choices alone).
	streamClientPick
)

// deriveSeed mixes the root seed with a subsystem tag and two qualifiers (for example the
// node ID and its incarnation) into an independent seed, with splitmix64's finalizer. The
// same inputs give the same seed on every machine.
func deriveSeed(root, stream, a, b uint64) uint64 {
	h := root
	for _, x := range [3]uint64{stream, a, b} {
		h = splitmix(h ^ splitmix(x+0x9e3779b97f4a7c15))
	}
	return h
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// traceHash is a running 64-bit hash of the events of a run: FNV-1a's structure (xor in,
// multiply by a prime) taken a 64-bit word at a time instead of a byte at a time, with a
// final xor-shift per word so that high bits feed back into low ones. It is a pure
// function of the words, the same on every machine; never hash/maphash, which is seeded
// per process. (Byte-wise FNV-1a cost a tenth of the simulator's time.)
type traceHash uint64

const (
	fnvOffset traceHash = 14695981039346656037
	hashPrime traceHash = 0x9e3779b97f4a7c15 // odd: multiplication by it is a bijection
)

func (h *traceHash) word(w uint64) {
	x := (*h ^ traceHash(w)) * hashPrime
	*h = x ^ x>>29
}

func (h *traceHash) str(s string) {
	// Eight bytes per word, little-endian, then the length (so "a" and "a\x00" differ).
	n := len(s)
	for len(s) >= 8 {
		h.word(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
		s = s[8:]
	}
	var tail uint64
	for i := len(s) - 1; i >= 0; i-- {
		tail = tail<<8 | uint64(s[i])
	}
	h.word(tail)
	h.word(uint64(n))
}
