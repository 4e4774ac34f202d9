//go:build race

package bad // want "build-tag"

import "time"

// raceOnly is type-checked under the race build that includes this file.
func raceOnly(m map[int]int) {
	_ = time.Now()     // want "time.Now"
	for k := range m { // want "range-map"
		_ = k
	}
	go func() {}() // want "go"
}
