package bad

import (
	_ "expvar"        // want "import"
	_ "io/ioutil"     // want "import"
	_ "log"           // want "import"
	_ "log/slog"      // want "import"
	_ "os/signal"     // want "import"
	_ "plugin"        // want "import"
	_ "runtime"       // want "import"
	_ "runtime/pprof" // want "import"
	_ "syscall"       // want "import"
	_ "unsafe"        // want "import"
	_ "weak"          // want "import"
)
