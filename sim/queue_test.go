package sim

import (
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestEventQueueOrder pushes a fixed batch and checks the pop order: by time, and
// first-in first-out among equal times.
func TestEventQueueOrder(t *testing.T) {
	tests := []struct {
		name  string
		times []time.Duration // pushed in this order; arg is the push position
		want  []uint64        // args in pop order
	}{
		{"empty", nil, nil},
		{"one", []time.Duration{5}, []uint64{0}},
		{"ascending", []time.Duration{1, 2, 3}, []uint64{0, 1, 2}},
		{"descending", []time.Duration{3, 2, 1}, []uint64{2, 1, 0}},
		{"all equal is FIFO", []time.Duration{7, 7, 7, 7, 7, 7, 7, 7, 7}, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"ties interleaved", []time.Duration{2, 1, 2, 1, 0, 2, 1}, []uint64{4, 1, 3, 6, 0, 2, 5}},
		{"zero times", []time.Duration{0, 0, 1, 0}, []uint64{0, 1, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q eventQueue
			for i, at := range tt.times {
				q.push(event{at: at, arg: uint64(i)})
			}
			if q.len() != len(tt.times) {
				t.Fatalf("len = %d, want %d", q.len(), len(tt.times))
			}
			var got []uint64
			for q.len() > 0 {
				peek := *q.peek()
				e := q.pop()
				if peek != e {
					t.Fatalf("peek %+v differs from pop %+v", peek, e)
				}
				got = append(got, e.arg)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("popped %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("popped %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// refEvent is an entry of the reference queue: a time and the global push number.
type refEvent struct {
	at time.Duration
	id uint64
}

// TestEventQueueMatchesReference interleaves pushes and pops at random (with many equal
// times) and compares every pop with a sort-based reference queue ordered by (time, push
// order).
func TestEventQueueMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q eventQueue
		var ref []refEvent
		var nextID uint64
		now := time.Duration(0)
		ops := rapid.IntRange(1, 300).Draw(t, "ops")
		for range ops {
			if len(ref) > 0 && rapid.IntRange(0, 2).Draw(t, "pop?") == 0 {
				sort.SliceStable(ref, func(i, j int) bool {
					if ref[i].at != ref[j].at {
						return ref[i].at < ref[j].at
					}
					return ref[i].id < ref[j].id
				})
				want := ref[0]
				ref = ref[1:]
				if q.peek().arg != want.id || q.peek().at != want.at {
					t.Fatalf("peek = (at %v, id %d), want (at %v, id %d)", q.peek().at, q.peek().arg, want.at, want.id)
				}
				got := q.pop()
				if got.at != want.at || got.arg != want.id {
					t.Fatalf("pop = (at %v, id %d), want (at %v, id %d)", got.at, got.arg, want.at, want.id)
				}
				now = got.at
				continue
			}
			// Like the simulator, never schedule before the last popped time; a small
			// range of offsets makes equal times common.
			at := now + time.Duration(rapid.IntRange(0, 4).Draw(t, "offset"))
			q.push(event{at: at, kind: evWake, arg: nextID})
			ref = append(ref, refEvent{at: at, id: nextID})
			nextID++
			if q.len() != len(ref) {
				t.Fatalf("len = %d, want %d", q.len(), len(ref))
			}
		}
		// Drain: what is left also comes out in (time, push order).
		sort.SliceStable(ref, func(i, j int) bool {
			if ref[i].at != ref[j].at {
				return ref[i].at < ref[j].at
			}
			return ref[i].id < ref[j].id
		})
		for _, want := range ref {
			got := q.pop()
			if got.at != want.at || got.arg != want.id {
				t.Fatalf("drain: pop = (at %v, id %d), want (at %v, id %d)", got.at, got.arg, want.at, want.id)
			}
		}
		if q.len() != 0 {
			t.Fatalf("queue holds %d events after draining the reference", q.len())
		}
	})
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[eventKind]string{
		evDeliver: "deliver", evWake: "wake", evAction: "action", evPropose: "propose", evClient: "client", evSnapshot: "snapshot", evAdmin: "admin", 0: "event?", 99: "event?",
	} {
		if got := k.String(); got != want {
			t.Errorf("eventKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
