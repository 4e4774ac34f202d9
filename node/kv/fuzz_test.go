package kv

import "testing"

// FuzzDecode feeds Decode any entry data (a faulty leader's log entries reach it): it
// never panics, and a command it accepts is valid and encodes to data that decodes to the
// same command.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		Command{Client: 1, Seq: 2, Op: OpPut, Key: "k", Value: "v"}.Encode(),
		Command{Client: 3, Seq: 1, Op: OpAppend, Key: "a b:c", Value: " x "}.Encode(),
		"1 2 2 9223372036854775807:k v", "1 2 1 1:k ", "01 2 2 0: ", "1 2 2 -1:k v", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Decode(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Decode(%q) accepted an invalid command: %v", s, err)
		}
		again, err := Decode(c.Encode())
		if err != nil || again != c {
			t.Fatalf("round trip: %q -> %+v -> %q -> %+v, %v", s, c, c.Encode(), again, err)
		}
	})
}

// FuzzRestore feeds Restore any snapshot data (a faulty leader's snapshot reaches it): it
// never panics, and a store it accepts encodes to data that restores to an equal store
// with the same hash.
func FuzzRestore(f *testing.F) {
	s := NewStore()
	s.Apply(Command{Client: 1, Seq: 1, Op: OpPut, Key: "k", Value: "v"})
	s.Apply(Command{Client: 2, Seq: 3, Op: OpAppend, Key: "a", Value: "x y"})
	for _, d := range []string{
		s.Encode(), NewStore().Encode(), "kv1\n1 1 k", "kv1\n18446744073709551615 ", "kv1\n2 1 b1 x1 a1 y0 ",
		"kv1\n0 1 0 1 0 ", "kv1\n0 0 trailing", "kv1\n01 1 k1 v0 ",
	} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d string) {
		st, err := Restore(d)
		if err != nil {
			return
		}
		again, err := Restore(st.Encode())
		if err != nil || !again.Equal(st) || again.Hash() != st.Hash() {
			t.Fatalf("round trip of %q: %v (equal %v)", d, err, err == nil && again.Equal(st))
		}
	})
}
