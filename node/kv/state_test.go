package kv

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// stateBase is a store with two keys and two sessions.
func stateBase() *Store {
	s := NewStore()
	s.Apply(Command{Client: 1, Seq: 1, Op: OpAppend, Key: "a", Value: "x"})
	s.Apply(Command{Client: 2, Seq: 1, Op: OpPut, Key: "b", Value: "y"})
	return s
}

// Every field of Store and of what it holds is encoded (a change alters the encoding) or
// listed as derived: a field added later fails this test until it is in a table.
func TestStateFieldsCovered(t *testing.T) {
	encoded := map[string]func(s *Store){
		"Store.data":      func(s *Store) { s.data["a"] = value{s: "z", h: s.data["a"].h} },
		"Store.keys":      func(s *Store) { s.keys = s.keys[:1] },
		"Store.sessions":  func(s *Store) { s.sessions[1] = session{lastSeq: 5} },
		"Store.clients":   func(s *Store) { s.clients = s.clients[:1] },
		"value.s":         func(s *Store) { s.data["b"] = value{s: "w", h: s.data["b"].h} },
		"session.lastSeq": func(s *Store) { ss := s.sessions[2]; ss.lastSeq++; s.sessions[2] = ss },
		"session.result":  func(s *Store) { ss := s.sessions[1]; ss.result += "q"; s.sessions[1] = ss },
	}
	derived := map[string]func(s *Store){ // running hashes of what is encoded
		"Store.hash": func(s *Store) { s.hash++ },
		"value.h":    func(s *Store) { v := s.data["a"]; v.h.h++; s.data["a"] = v },
		"session.rh": func(s *Store) { ss := s.sessions[1]; ss.rh.h++; s.sessions[1] = ss },
	}
	seen, types := map[string]bool{}, map[reflect.Type]bool{}
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			if rt.Kind() == reflect.Map {
				walk(rt.Key())
			}
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || rt.PkgPath() != reflect.TypeFor[Store]().PkgPath() || types[rt] {
			return
		}
		types[rt] = true
		for f := range rt.Fields() {
			key := rt.Name() + "." + f.Name
			seen[key] = true
			change, enc := encoded[key]
			_, der := derived[key]
			switch {
			case der:
			case !enc:
				t.Errorf("%s is neither encoded nor derived: encode it in AppendState or say why not", key)
			default:
				s := stateBase()
				before := string(s.AppendState(nil))
				change(s)
				if string(s.AppendState(nil)) == before {
					t.Errorf("%s: changing it left the encoding as it was", key)
				}
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeFor[Store]())
	for _, key := range slices.Concat(slices.Collect(maps.Keys(encoded)), slices.Collect(maps.Keys(derived))) {
		if !seen[key] {
			t.Errorf("the tables list %s, which is not a field of an encoded type", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(derived)) {
		change := derived[key]
		s := stateBase()
		before := string(s.AppendState(nil))
		change(s)
		if string(s.AppendState(nil)) != before {
			t.Errorf("%s is derived, but changing it changed the encoding", key)
		}
	}
}

// Equal stores encode alike and unequal ones differently, whatever the order of the
// commands that built them; a store restored from its snapshot, and a clone, encode like
// it; a clone and its original stay independent, new keys and clients included (they
// share their capped key lists).
func TestStateEncodingMatchesEqual(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.Custom(func(t *rapid.T) *Store {
			s := NewStore()
			for k := rapid.IntRange(0, 6).Draw(t, "n"); k > 0; k-- {
				s.Apply(Command{Client: ClientID(rapid.IntRange(1, 3).Draw(t, "client")), Seq: uint64(k),
					Op:  Op(rapid.IntRange(int(OpPut), int(OpAppend)).Draw(t, "op")),
					Key: rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "key"), Value: rapid.StringN(0, 2, 2).Draw(t, "v")})
			}
			return s
		})
		a, b := gen.Draw(t, "a"), gen.Draw(t, "b")
		if (string(a.AppendState(nil)) == string(b.AppendState(nil))) != a.Equal(b) {
			t.Fatalf("encodings equal %v, stores equal %v", !a.Equal(b), a.Equal(b))
		}
		r, err := Restore(a.Encode())
		if err != nil {
			t.Fatal(err)
		}
		c := a.Clone()
		want := string(a.AppendState(nil))
		if string(r.AppendState(nil)) != want || string(c.AppendState(nil)) != want {
			t.Fatal("a restored store or a clone encodes differently")
		}
		c.Apply(Command{Client: 9, Seq: 1, Op: OpPut, Key: "new", Value: "v"})
		if string(a.AppendState(nil)) != want || slices.Contains(a.Keys(), "new") || slices.Contains(a.Clients(), 9) {
			t.Fatal("changing a clone changed its original")
		}
		cw := string(c.AppendState(nil))
		a.Apply(Command{Client: 8, Seq: 1, Op: OpPut, Key: "also", Value: "v"})
		if string(c.AppendState(nil)) != cw || slices.Contains(c.Keys(), "also") || !slices.IsSorted(a.Keys()) {
			t.Fatal("changing an original changed its clone")
		}
	})
}

// AppendState does not allocate when the buffer has room.
func TestStateEncodingDoesNotAllocate(t *testing.T) {
	s := stateBase()
	buf := make([]byte, 0, 256)
	if a := testing.AllocsPerRun(100, func() { buf = s.AppendState(buf[:0]) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
