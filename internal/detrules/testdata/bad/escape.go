package bad

import "time"

func escapes() {
	_ = time.Now() /* want "time.Now" */ // determinism:
	_ = time.Now() /* want "time.Now" */ //determinism:
	_ = time.Now() // determinism: fixture: an escape with a reason suppresses the finding
	_ = time.Now() /* determinism: a block comment is not an escape */ // want "time.Now"
}

func weakEscapes() {
	_ = time.Now() /* want "time.Now" */ // determinism: ok
	_ = time.Now() /* want "time.Now" */ // determinism: safe here
	_ = time.Now() /* want "time.Now" */ // determinism: this is fine
	_ = time.Now() /* want "time.Now" */ // determinism: TODO explain why this is allowed
	_ = time.Now() /* want "time.Now" */ // determinism: trust me, it is deterministic
	_ = time.Now() // determinism: fixture: three real words
}
