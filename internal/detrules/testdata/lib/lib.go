// Package lib is a fixture imported by the other fixtures: it checks that module packages
// are resolved from source.
package lib

// Table is a named map type.
type Table map[string]int

// Set is a generic named map type.
type Set[K comparable] map[K]struct{}

// Clock has a method named Now that is not time.Now.
type Clock struct{ T int }

// Now returns the clock's reading.
func (c Clock) Now() int { return c.T }

// Tables returns a map.
func Tables() map[int]Table { return nil }

// Counter is a package-level variable that importers may write; the write is flagged in
// the writer (rule global-var).
var Counter int
