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

// traceHash is a running 64-bit FNV-1a hash over 64-bit words. It is never hash/maphash,
// which is seeded per process.
type traceHash uint64

const (
	fnvOffset traceHash = 14695981039346656037
	fnvPrime  traceHash = 1099511628211
)

func (h *traceHash) word(w uint64) {
	// Fold the word in byte by byte, as FNV-1a does, so that the hash is the standard one
	// over the little-endian encoding of the words.
	x := *h
	for i := 0; i < 8; i++ {
		x ^= traceHash(w & 0xff)
		x *= fnvPrime
		w >>= 8
	}
	*h = x
}

func (h *traceHash) str(s string) {
	x := *h
	for i := 0; i < len(s); i++ {
		x ^= traceHash(s[i])
		x *= fnvPrime
	}
	*h = x
	h.word(uint64(len(s)))
}
