package explore

// visited is the set of fingerprints seen, with a small value per state (the depth at
// which it was first seen): open addressing with linear probing, at most three quarters
// full, 20 bytes per slot (so 27 to 53 bytes per state). The all-zero fingerprint marks an empty slot, so a state whose
// fingerprint is zero is stored as {0, 1} (one more collision in 2^128).
type visited struct {
	keys []fp128
	vals []int32
	n    int
}

func newVisited() *visited {
	return &visited{keys: make([]fp128, 1<<12), vals: make([]int32, 1<<12)}
}

func (v *visited) len() int { return v.n }

// bytes is the set's memory.
func (v *visited) bytes() int { return len(v.keys) * 20 }

func (v *visited) slot(f fp128) int {
	if f == (fp128{}) {
		f.lo = 1
	}
	mask := len(v.keys) - 1
	i := int(f.lo) & mask
	for v.keys[i] != f && v.keys[i] != (fp128{}) {
		i = (i + 1) & mask
	}
	return i
}

// get returns f's value and whether f is in the set.
func (v *visited) get(f fp128) (int32, bool) {
	i := v.slot(f)
	if v.keys[i] == (fp128{}) {
		return 0, false
	}
	return v.vals[i], true
}

// put adds f with value val if it is new, or lowers its value to val; it reports whether
// f was new.
func (v *visited) put(f fp128, val int32) bool {
	if f == (fp128{}) {
		f.lo = 1
	}
	i := v.slot(f)
	if v.keys[i] != (fp128{}) {
		if val < v.vals[i] {
			v.vals[i] = val
		}
		return false
	}
	v.keys[i], v.vals[i] = f, val
	v.n++
	if 4*v.n > 3*len(v.keys) {
		v.grow()
	}
	return true
}

func (v *visited) grow() {
	keys, vals := v.keys, v.vals
	v.keys, v.vals = make([]fp128, 2*len(keys)), make([]int32, 2*len(keys))
	for i, k := range keys {
		if k != (fp128{}) {
			j := v.slot(k)
			v.keys[j], v.vals[j] = k, vals[i]
		}
	}
}
