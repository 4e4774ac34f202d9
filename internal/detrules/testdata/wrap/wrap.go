// Package wrap is a fixture: a wrapper package inside the module that hides a wall clock
// from its importers. Checking an importer's import graph finds it.
package wrap

import "time"

// Now is time.Now behind a module-local name.
func Now() time.Time { return time.Now() } // want "time.Now"
