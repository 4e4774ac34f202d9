// Package good holds allowed look-alikes of banned forms; it must yield no findings.
package good

import (
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"

	"raftsim/internal/detrules/testdata/lib"
)

const tick = 50 * time.Millisecond

type timer struct{}

// Now is a method named Now on a user type.
func (timer) Now() time.Duration { return tick }

// After is a function named After in this package.
func After(d time.Duration) time.Duration { return d + time.Second }

type Event struct {
	At   time.Duration
	When time.Time
}

func lookalikes(m map[string]int, t lib.Table, e Event) int {
	var d time.Duration = 3 * time.Millisecond
	d += tick + After(d) + timer{}.Now()
	_ = d.Seconds()
	_ = e.When.After(e.When) // time.Time's method After, not time.After
	_ = e.When.Add(d).Sub(e.When)
	_ = time.Unix(0, 0).UTC()
	_ = lib.Clock{T: 1}.Now()

	r := rand.New(rand.NewPCG(1, 2))
	n := rand.New(rand.NewPCG(1, 2)).IntN(10) + r.IntN(5)
	r.Shuffle(3, func(i, j int) {})
	_ = rand.New(rand.NewChaCha8([32]byte{}))
	_ = rand.NewZipf(r, 1.5, 1, 10)
	var src rand.Source = rand.NewPCG(3, 4)
	_ = src.Uint64()

	for i, x := range []int{1, 2} {
		n += i + x
	}
	for i, ch := range "héllo" {
		n += i + int(ch)
	}
	for i := range 10 {
		n += i
	}
	arr := [3]int{}
	for i := range &arr {
		n += i
	}
	for v := range slices.Values([]int{1}) {
		n += v
	}
	n += m["a"] + t["b"] + len(m)
	if v, ok := m["c"]; ok {
		n += v
	}
	delete(m, "a")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		n += m[k]
	}
	keys := make([]string, 0, len(t))
	keys = slices.AppendSeq(keys, slices.Values([]string{"x"}))
	sort.Strings(keys)

	_ = time.Now()     // determinism: fixture shows a properly escaped line
	_ = time.Now()     //determinism: no space before the keyword is fine too
	for k := range m { // determinism: summing is order-independent
		n += m[k]
	}
	return n
}

var _ porcupine.Operation
