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

// TestTraceHash pins the trace hash's definition: word-at-a-time FNV-style mixing (see
// traceHash), strings as little-endian 8-byte words plus their length. Pinned values catch
// any change of definition, which would change every golden hash.
func TestTraceHash(t *testing.T) {
	if uint64(fnvOffset) != fnv.New64a().Sum64() {
		t.Fatalf("fnvOffset = %#x, want FNV-1a's offset basis", uint64(fnvOffset))
	}
	pinned := []struct {
		words []uint64
		want  uint64
	}{
		{nil, 0xcbf29ce484222325},
		{[]uint64{0}, refWords(0)},
		{[]uint64{1, 2, 3}, refWords(1, 2, 3)},
	}
	for _, p := range pinned {
		h := fnvOffset
		for _, w := range p.words {
			h.word(w)
		}
		if uint64(h) != p.want {
			t.Errorf("words %v: hash %#x, want %#x", p.words, uint64(h), p.want)
		}
	}
	if h := fnvOffset; func() uint64 { h.word(1); h.word(2); h.word(3); return uint64(h) }() != 0x1538bbb23f267e07 {
		t.Errorf("the hash of words 1, 2, 3 changed: every golden trace hash would change too")
	}
	rapid.Check(t, func(t *rapid.T) {
		// One word mixes in bijectively: two different words from one state never collide.
		a, b := rapid.Uint64().Draw(t, "a"), rapid.Uint64().Draw(t, "b")
		start := traceHash(rapid.Uint64().Draw(t, "state"))
		ha, hb := start, start
		ha.word(a)
		hb.word(b)
		if (a == b) != (ha == hb) {
			t.Fatalf("words %#x and %#x from %#x: hashes %#x and %#x", a, b, uint64(start), uint64(ha), uint64(hb))
		}
		// Strings are their little-endian words, zero-padded, then their length.
		s := rapid.String().Draw(t, "s")
		hs, ref := start, start
		hs.str(s)
		buf := make([]byte, (len(s)/8+1)*8)
		copy(buf, s)
		for k := 0; k < len(buf); k += 8 {
			ref.word(binary.LittleEndian.Uint64(buf[k:]))
		}
		ref.word(uint64(len(s)))
		if hs != ref {
			t.Fatalf("str(%q) = %#x, reference %#x", s, uint64(hs), uint64(ref))
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

// refWords is the trace hash of words, written out from its definition.
func refWords(words ...uint64) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, w := range words {
		h = (h ^ w) * 0x9e3779b97f4a7c15
		h ^= h >> 29
	}
	return h
}
