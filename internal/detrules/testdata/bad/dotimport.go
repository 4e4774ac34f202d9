package bad

import (
	. "time"
)

func dot() Duration {
	return Since(Now()) // want "time.Since" "time.Now"
}
