//go:build ignore

// A generator that does not type-check in any build: only the rules that need no types
// apply, and every package-level variable counts.
package main // want "build-tag"

import (
	"errors"
	"time"
)

var (
	state   = undefined // want "global-var"
	errStop = errors.New("gen: stop")
)

func main() {
	_ = time.Now() // want "time.Now"
	go main()      // want "go"
	_ = undefinedToo.MapKeys()
}
