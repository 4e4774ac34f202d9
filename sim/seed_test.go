package sim

import (
	"encoding/binary"
	"hash/fnv"
	"testing"

	"pgregory.net/rapid"
)

// TestDeriveSeedPinned pins a few values: they are part of every golden trace hash, so a
// change to the derivation must be deliberate.
func TestDeriveSeedPinned(t *testing.T) {
	tests := []struct {
		root, stream, a, b uint64
		want               uint64
	}{
		{1, streamNetwork, 0, 0, 0xb3a9f830fb7b0803},
		{42, streamNodeTimer, 3, 2, 0x15dc6af5322dc2f8},
		{0, 0, 0, 0, 0xe9ebc47caadd0e7d},
	}
	for _, tt := range tests {
		if got := deriveSeed(tt.root, tt.stream, tt.a, tt.b); got != tt.want {
			t.Errorf("deriveSeed(%d, %d, %d, %d) = %#x, want %#x", tt.root, tt.stream, tt.a, tt.b, got, tt.want)
		}
		// Stable: the same inputs give the same seed again.
		if a, b := deriveSeed(tt.root, tt.stream, tt.a, tt.b), deriveSeed(tt.root, tt.stream, tt.a, tt.b); a != b {
			t.Errorf("deriveSeed(%d, %d, %d, %d) not stable: %#x then %#x", tt.root, tt.stream, tt.a, tt.b, a, b)
		}
	}
}

// TestDeriveSeedDistinct checks that every (stream, a, b) of a realistic grid (each
// subsystem, node IDs, incarnations) gives a distinct seed, for a few roots, and that no
// two roots share a seed on the grid either.
func TestDeriveSeedDistinct(t *testing.T) {
	type key struct{ root, stream, a, b uint64 }
	seen := make(map[uint64]key)
	for _, root := range []uint64{0, 1, 2, 3, 1 << 63} {
		for stream := streamNetwork; stream <= streamScenario; stream++ {
			for a := uint64(0); a <= 64; a++ {
				for b := uint64(0); b <= 8; b++ {
					k := key{root, stream, a, b}
					s := deriveSeed(root, stream, a, b)
					if prev, dup := seen[s]; dup {
						t.Fatalf("deriveSeed%+v = deriveSeed%+v = %#x", k, prev, s)
					}
					seen[s] = k
				}
			}
		}
	}
	// The qualifiers are not interchangeable.
	if deriveSeed(1, streamNodeTimer, 1, 2) == deriveSeed(1, streamNodeTimer, 2, 1) {
		t.Error("deriveSeed is symmetric in a and b")
	}
	if deriveSeed(1, 2, 3, 0) == deriveSeed(1, 3, 2, 0) {
		t.Error("deriveSeed is symmetric in stream and a")
	}
}

// fnvRef is the reference: hash/fnv's FNV-1a 64 over the little-endian bytes of each word
// and, for a string, its bytes followed by its length as a word.
type fnvRef struct{ buf []byte }

func (r *fnvRef) word(w uint64) { r.buf = binary.LittleEndian.AppendUint64(r.buf, w) }
func (r *fnvRef) str(s string) {
	r.buf = append(r.buf, s...)
	r.word(uint64(len(s)))
}
func (r *fnvRef) sum() uint64 {
	h := fnv.New64a()
	h.Write(r.buf)
	return h.Sum64()
}

func TestTraceHashIsFNV1a(t *testing.T) {
	// The empty hash is FNV-1a's offset basis.
	if got, want := uint64(fnvOffset), fnv.New64a().Sum64(); got != want {
		t.Fatalf("fnvOffset = %#x, hash/fnv's empty sum = %#x", got, want)
	}
	tests := []struct {
		name  string
		words []uint64
	}{
		{"zero", []uint64{0}},
		{"one", []uint64{1}},
		{"byte order", []uint64{0x0102030405060708}},
		{"max", []uint64{^uint64(0)}},
		{"several", []uint64{1, 2, 3, 0xdeadbeef, 1 << 63}},
	}
	for _, tt := range tests {
		h, ref := fnvOffset, fnvRef{}
		for _, w := range tt.words {
			h.word(w)
			ref.word(w)
		}
		if uint64(h) != ref.sum() {
			t.Errorf("%s: traceHash = %#x, FNV-1a 64 = %#x", tt.name, uint64(h), ref.sum())
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		h, ref := fnvOffset, fnvRef{}
		for range rapid.IntRange(0, 20).Draw(t, "n") {
			if rapid.Bool().Draw(t, "string?") {
				s := rapid.String().Draw(t, "s")
				h.str(s)
				ref.str(s)
			} else {
				w := rapid.Uint64().Draw(t, "w")
				h.word(w)
				ref.word(w)
			}
		}
		if uint64(h) != ref.sum() {
			t.Fatalf("traceHash = %#x, FNV-1a 64 reference = %#x", uint64(h), ref.sum())
		}
	})
	// A string's length is part of the hash: "ab" then "c" differs from "a" then "bc".
	var x, y traceHash = fnvOffset, fnvOffset
	x.str("ab")
	x.str("c")
	y.str("a")
	y.str("bc")
	if x == y {
		t.Error(`str("ab")+str("c") hashes like str("a")+str("bc")`)
	}
}
