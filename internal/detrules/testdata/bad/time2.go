package bad

import "time"

func call(f func() time.Time) time.Time { return f() }

func zones(t time.Time) {
	_, _ = time.LoadLocation("Europe/Paris") // want "time.LoadLocation"
	_ = t.In(time.Local)                     // want "time.Local"
	_ = t.Local()                            // want "time.Local"
	local := t.Local                         // want "time.Local"
	_ = call(time.Now)                       // want "time.Now"
	_ = local
}
