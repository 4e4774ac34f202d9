package bad

import (
	"errors"
	"fmt"

	"raftsim/internal/detrules/testdata/lib"
)

var (
	table    = map[string]int{} // want "global-var"
	ptr      *int               // want "global-var"
	list     []int              // want "global-var"
	anything any                // want "global-var"
	hook     = func(int) {}
	limit    = 3
	arr      [3]int
	hits     hitCounter
	cfg      struct{ n int }
	errBad   error = notSentinel{} // want "global-var"
	errNew         = errors.New("bad: sentinel")
	errFmt         = fmt.Errorf("bad: sentinel %d", 2)
	_              = limit
)

type notSentinel struct{}

func (notSentinel) Error() string { return "x" }

type hitCounter int

func (c *hitCounter) inc() { *c++ }

func writes() {
	limit = 4             // want "global-var"
	limit++               // want "global-var"
	arr[1] = 2            // want "global-var"
	cfg.n += 1            // want "global-var"
	p := &limit           // want "global-var"
	hits.inc()            // want "global-var"
	hook = nil            // want "global-var"
	lib.Counter = 7       // want "global-var"
	lib.Counter++         // want "global-var"
	for limit = range 3 { // want "global-var"
	}
	errNew = nil // want "global-var"
	_, _, _, _, _ = p, table, ptr, list, anything
	_, _, _ = errBad, errFmt, lib.Counter
}
