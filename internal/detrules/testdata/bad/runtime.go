package bad

import "runtime/debug"

func stacks() {
	_ = debug.Stack()            // want "runtime"
	_ = debug.SetGCPercent(50)   // want "runtime"
	stack := debug.Stack         // want "runtime"
	_, _ = debug.ReadBuildInfo() // want "runtime"
	_ = stack
}
