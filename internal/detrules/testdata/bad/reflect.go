package bad

import "reflect"

type embedsValue struct{ reflect.Value }

func reflection(m map[string]int, e embedsValue) {
	v := reflect.ValueOf(m)
	it := v.MapRange() // want "reflect-map"
	for it.Next() {
		_, _ = it.Key(), it.Value()
	}
	_ = v.MapKeys()            // want "reflect-map"
	keys := v.MapKeys          // want "reflect-map"
	_ = reflect.Value.MapRange // want "reflect-map"
	_ = e.MapKeys()            // want "reflect-map"
	for k := range v.Seq() {   // want "reflect-map"
		_ = k
	}
	for k, x := range v.Seq2() { // want "reflect-map"
		_, _ = k, x
	}
	_ = uintptr(v.Pointer())                    // want "reflect-pointer"
	_ = v.UnsafePointer()                       // want "reflect-pointer"
	_ = reflect.ValueOf(&m).Elem().UnsafeAddr() // want "reflect-pointer"
	_ = keys
}
