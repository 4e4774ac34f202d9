package bad

import (
	"maps"
	"slices"

	"raftsim/internal/detrules/testdata/lib"
)

type localMap map[int]string

type aliasMap = map[int]bool

type holder struct{ m map[string]int }

func ranges(m map[string]int, t lib.Table, l localMap, a aliasMap, h *holder, s lib.Set[int]) {
	for k := range m { // want "range-map"
		_ = k
	}
	for k, v := range t { // want "range-map"
		_, _ = k, v
	}
	for range l { // want "range-map"
	}
	for _, v := range a { // want "range-map"
		_ = v
	}
	for k := range h.m { // want "range-map"
		_ = k
	}
	for k := range s { // want "range-map"
		_ = k
	}
	for k := range lib.Tables() { // want "range-map"
		_ = k
	}
	for k := range map[int]int{1: 1} { // want "range-map"
		_ = k
	}
	for k := range maps.Keys(m) { // want "map-iter"
		_ = k
	}
	_ = slices.Collect(maps.Values(m)) // want "map-iter"
	for k, v := range maps.All(t) {    // want "map-iter"
		_, _ = k, v
	}
}

func generic[M ~map[K]V, K comparable, V any](m M) {
	for k := range m { // want "range-map"
		_ = k
	}
}

type intMap interface {
	~map[int]int
}

type intMapOrNamed interface {
	intMap
	any
}

func generic2[T intMap](t T) {
	for k := range t { // want "range-map"
		_ = k
	}
}

func generic3[T interface{ intMapOrNamed }](t T) {
	for k := range t { // want "range-map"
		_ = k
	}
}
