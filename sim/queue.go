package sim

import "time"

// eventKind says what an event does when it is processed.
type eventKind uint8

const (
	evDeliver  eventKind = iota + 1 // a message copy reaches its destination
	evWake                          // a node's requested wake-up time
	evAction                        // a scheduled scenario action (fault, probe, proposal)
	evPropose                       // the workload proposes its next command
	evClient                        // a client's timer: attempt timeout, backoff, give-up, start
	evSnapshot                      // a host's background snapshot write ends
	evAdmin                         // the admin client's timer: attempt timeout or backoff
)

func (k eventKind) String() string {
	switch k {
	case evDeliver:
		return "deliver"
	case evWake:
		return "wake"
	case evAction:
		return "action"
	case evPropose:
		return "propose"
	case evClient:
		return "client"
	case evSnapshot:
		return "snapshot"
	case evAdmin:
		return "admin"
	}
	return "event?"
}

// event is one entry of the event queue. It is kept small (no packet inside: packets
// live in the world's slab and the event holds their slot) because the heap moves events
// around on every push and pop.
type event struct {
	at   time.Duration
	seq  uint64 // insertion order: equal times come out first-in first-out
	kind eventKind
	node int32  // deliver: the destination endpoint; wake, snapshot: the host; client: the client (1-based); 0 for world events
	arg  uint64 // deliver: packet slot; wake: the host's wake generation; client: its timer generation; action: action index; snapshot: the write's generation
}

// before orders events by (virtual time, insertion sequence), so the order never depends
// on the heap's internals.
func (e *event) before(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// eventQueue is a binary min-heap of events. It is written out by hand rather than with
// container/heap so that pushes and pops do not box events in interfaces.
type eventQueue struct {
	items []event
	seq   uint64
}

func (q *eventQueue) len() int { return len(q.items) }

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.items = append(q.items, e)
	// Sift up with a hole: move parents down until e's place is found, then write e once.
	items := q.items
	i := len(items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !e.before(&items[parent]) {
			break
		}
		items[i] = items[parent]
		i = parent
	}
	items[i] = e
}

// peek returns the earliest event; the queue must not be empty.
func (q *eventQueue) peek() *event { return &q.items[0] }

func (q *eventQueue) pop() event {
	items := q.items
	top := items[0]
	last := len(items) - 1
	e := items[last]
	q.items = items[:last]
	if last == 0 {
		return top
	}
	// Sift down with a hole, as in push.
	i := 0
	for {
		child := 2*i + 1
		if child >= last {
			break
		}
		if right := child + 1; right < last && items[right].before(&items[child]) {
			child = right
		}
		if !items[child].before(&e) {
			break
		}
		items[i] = items[child]
		i = child
	}
	items[i] = e
	return top
}
