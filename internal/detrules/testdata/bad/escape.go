package bad

import "time"

func escapes() {
	_ = time.Now() /* want "time.Now" */ // determinism:
	_ = time.Now() /* want "time.Now" */ //determinism:
	_ = time.Now() // determinism: fixture: an escape with a reason suppresses the finding
	_ = time.Now() /* determinism: a block comment is not an escape */ // want "time.Now"
}
