// Package bad holds one file per banned form; every offending line carries a want comment.
package bad

import (
	"time"
)

func clocks() {
	start := time.Now()                        // want "time.Now"
	_ = time.Since(start)                      // want "time.Since"
	_ = time.Until(start)                      // want "time.Until"
	time.Sleep(time.Millisecond)               // want "time.Sleep"
	_ = time.After(time.Second)                // want "time.After"
	<-time.After(time.Second)                  // want "time.After" "chan-recv"
	_ = time.AfterFunc(time.Second, func() {}) // want "time.AfterFunc"
	_ = time.Tick(time.Second)                 // want "time.Tick"
	_ = time.NewTimer(time.Second)             // want "time.NewTimer"
	_ = time.NewTicker(time.Second)            // want "time.NewTicker"
	now := time.Now                            // want "time.Now"
	_ = now
}
