package kv

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := Command{
			Client: ClientID(rapid.Uint64Min(1).Draw(t, "client")),
			Seq:    rapid.Uint64Min(1).Draw(t, "seq"),
			Op:     Op(rapid.IntRange(int(OpPut), int(OpAppend)).Draw(t, "op")),
			Key:    rapid.String().Draw(t, "key"),
			Value:  rapid.String().Draw(t, "value"),
		}
		got, err := Decode(c.Encode())
		if err != nil {
			t.Fatalf("Decode(%q): %v", c.Encode(), err)
		}
		if got != c {
			t.Fatalf("round trip: %+v -> %q -> %+v", c, c.Encode(), got)
		}
	})
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, s := range []string{
		"", "1", "1 2", "1 2 3", "x 2 3 1:k v", "1 2 9 1:k v", "0 2 2 1:k v", "1 0 2 1:k v",
		"1 2 2 5:k v", "1 2 2 -1:k v", "1 2 2 1:kv", "1 2 1 1:k v", "1 2 2 k v",
		// A key length near the int limit: colon+1+klen wrapped negative, passed the bounds
		// check and panicked slicing the key (found while writing FuzzDecode).
		"1 2 2 9223372036854775807:k v", "1 2 2 9223372036854775806:k v", "1 2 2 99999999999999999999:k v",
	} {
		if c, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", s, c)
		} else if !strings.Contains(err.Error(), "malformed") {
			t.Errorf("Decode(%q): error %q does not say malformed", s, err)
		}
	}
}

// Thesis §6.3: a retried command takes effect once and returns the first result; a stale
// one (the client has moved on) changes nothing.
func TestSessionsExactlyOnce(t *testing.T) {
	s := NewStore()
	steps := []struct {
		c       Command
		result  string
		outcome Outcome
	}{
		{Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"}, "a", Applied},
		{Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"}, "a", Duplicate},
		{Command{Client: 2, Seq: 1, Op: OpAppend, Key: "x", Value: "b"}, "ab", Applied},
		{Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"}, "a", Duplicate},
		{Command{Client: 1, Seq: 2, Op: OpPut, Key: "y", Value: "1"}, "", Applied},
		{Command{Client: 1, Seq: 1, Op: OpAppend, Key: "x", Value: "a"}, "", Stale},
		{Command{Client: 1, Seq: 3, Op: OpAppend, Key: "x", Value: "c"}, "abc", Applied},
	}
	for i, st := range steps {
		result, outcome := s.Apply(st.c)
		if result != st.result || outcome != st.outcome {
			t.Fatalf("step %d %v: got (%q, %v), want (%q, %v)", i, st.c, result, outcome, st.result, st.outcome)
		}
	}
	if got := s.Get("x"); got != "abc" {
		t.Fatalf("x = %q, want abc", got)
	}
	if seq, res, ok := s.LastApplied(1); !ok || seq != 3 || res != "abc" {
		t.Fatalf("session of client 1: %d %q %v", seq, res, ok)
	}
	if !slicesEqual(s.Keys(), []string{"x", "y"}) || len(s.Clients()) != 2 {
		t.Fatalf("keys %v clients %v", s.Keys(), s.Clients())
	}
}

func TestApplyPanicsOnGet(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "invariant") {
			t.Fatalf("recover() = %v, want an invariant panic", r)
		}
	}()
	NewStore().Apply(Command{Client: 1, Seq: 1, Op: OpGet, Key: "k"})
}

func TestCloneIsIndependentAndEqual(t *testing.T) {
	s := NewStore()
	s.Apply(Command{Client: 1, Seq: 1, Op: OpPut, Key: "a", Value: "1"})
	c := s.Clone()
	if !c.Equal(s) {
		t.Fatal("clone differs")
	}
	c.Apply(Command{Client: 2, Seq: 1, Op: OpAppend, Key: "a", Value: "2"})
	if s.Get("a") != "1" || c.Get("a") != "12" || c.Equal(s) {
		t.Fatalf("clone not independent: %q %q", s.Get("a"), c.Get("a"))
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// randomStore builds a store by applying random commands.
func randomStore(t *rapid.T) *Store {
	s := NewStore()
	for i := range rapid.IntRange(0, 30).Draw(t, "n") {
		c := Command{
			Client: ClientID(rapid.IntRange(1, 4).Draw(t, "client")),
			Seq:    uint64(rapid.IntRange(1, 6).Draw(t, "seq")),
			Op:     Op(rapid.IntRange(int(OpPut), int(OpAppend)).Draw(t, "op")),
			Key:    rapid.SampledFrom([]string{"a", "b", "", "k 1", "x:y"}).Draw(t, "key"),
			Value:  rapid.StringMatching(`[a-z 0-9:]{0,5}`).Draw(t, "value") + string(rune('a'+i%26)),
		}
		s.Apply(c)
	}
	return s
}

// §7: a snapshot holds the data and the session table; restoring it gives an equal store
// (same hash), and exactly-once survives: a retry of the last command is still a duplicate.
func TestSnapshotRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := randomStore(t)
		r, err := Restore(s.Encode())
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if !r.Equal(s) || r.Hash() != s.Hash() || r.Encode() != s.Encode() {
			t.Fatalf("restored store differs: %q vs %q", r.Encode(), s.Encode())
		}
		for _, id := range s.Clients() {
			seq, res, _ := s.LastApplied(id)
			got, outcome := r.Apply(Command{Client: id, Seq: seq, Op: OpAppend, Key: "zz", Value: "dup"})
			if outcome != Duplicate || got != res {
				t.Fatalf("retry after restore: %v %q, want duplicate %q", outcome, got, res)
			}
		}
	})
}

// The incremental hash equals the hash of the state rebuilt from scratch, and differs
// when the state does.
func TestHashIsIncremental(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := randomStore(t)
		fresh, _ := Restore(s.Encode())
		if s.Hash() != fresh.Hash() {
			t.Fatalf("incremental hash %#x, from scratch %#x", s.Hash(), fresh.Hash())
		}
		c := s.Clone()
		c.Apply(Command{Client: 9, Seq: 1, Op: OpAppend, Key: "a", Value: "!"})
		if c.Hash() == s.Hash() {
			t.Fatalf("hash unchanged after a write")
		}
	})
}

func TestRestoreRejectsMalformed(t *testing.T) {
	good := NewStore()
	good.Apply(Command{Client: 1, Seq: 1, Op: OpPut, Key: "a", Value: "1"})
	enc := good.Encode()
	for _, bad := range []string{"", "kv0\n", enc[:len(enc)-1], enc + "x", "kv1\n2 1 b1 x1 a1 y0 ", "kv1\n0 1 0 1 0 "} {
		if _, err := Restore(bad); err == nil {
			t.Errorf("Restore(%q): no error", bad)
		}
	}
}
