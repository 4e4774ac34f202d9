package bad

import (
	crand "crypto/rand" // want "import"
	_ "hash/maphash"    // want "import"
	mrand "math/rand"   // want "import"
	_ "net"             // want "import"
	_ "net/netip"       // want "import"
	"os"                // want "import"
	_ "os/exec"         // want "import"
	"sync"              // want "import"
	"sync/atomic"       // want "import"
)

var (
	mu      sync.Mutex
	counter atomic.Int64
	_       = crand.Reader
	_       = mrand.Intn
	_       = os.Getenv
)
