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
