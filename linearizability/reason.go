package linearizability

import (
	"fmt"
	"strings"

	"github.com/anishathalye/porcupine"
)

// reasoner finds why a failing set of one key's operations has no linearization.
//
// The specific reasons need a spelling of the set's own writes in which every value has
// one writer (the set is closed, so it spells every value observed in it), and rest on
// two facts of the model for such
// values: a state is the value of the last put applied (or the initial "") followed by
// the values of the appends applied since, each write applied at most once; so two states
// that start the same way (same put, or none) were both reached by appends alone, and the
// earlier is a prefix of the later. Each reason below states premises from which, with
// real-time order, these facts rule out every order.
type reasoner struct {
	ops     []kop
	set     []int     // indexes into ops, by Call; "[n]" in the text is set[n-1]
	full    *spelling // of all the key's writes, or nil
	at      clock
	porc    []porcupine.Operation // ops as checked, for the model
	minimal bool

	ws      map[int][]int  // observation -> the writes spelling it
	problem map[int]string // observation -> why no state can be its value
}

// why returns the first specific reason whose premises hold, else the generic one.
func (r *reasoner) why() string {
	if sp := newSpelling(r.ops, r.set); sp != nil && sp.unique {
		r.ws, r.problem = make(map[int][]int), make(map[int]string)
		for _, i := range r.set {
			if !r.ops[i].observes() {
				continue
			}
			parts, problem := sp.observed(r.ops, i)
			if problem != "" {
				// The set is closed, so the value is impossible with all the key's writes
				// too, which say more precisely why ("z" rather than "az").
				if r.full != nil {
					if _, p := r.full.observed(r.ops, i); p != "" {
						problem = p
					}
				}
				r.problem[i] = problem
				continue
			}
			ws := make([]int, len(parts))
			for k, t := range parts {
				ws[k] = sp.writers[t][0]
			}
			r.ws[i] = ws
		}
		if s := r.specific(); s != "" {
			return s
		}
	}
	return r.generic()
}

// specific tries the specific reasons in turn, over the set in order.
func (r *reasoner) specific() string {
	if s := r.impossible(); s != "" {
		return s
	}
	var obs []int
	for _, i := range r.set {
		if _, ok := r.ws[i]; ok {
			obs = append(obs, i)
		}
	}
	for _, o := range obs {
		if s := r.future(o); s != "" {
			return s
		}
	}
	for _, o := range obs {
		if s := r.stale(o); s != "" {
			return s
		}
	}
	for _, o1 := range obs {
		for _, o2 := range obs {
			if s := r.regress(o1, o2); o1 != o2 && s != "" {
				return s
			}
		}
	}
	for k, o1 := range obs {
		for _, o2 := range obs[k+1:] {
			if s := r.diverge(o1, o2); s != "" {
				return s
			}
		}
	}
	for _, o := range obs {
		for _, a := range r.set {
			for _, b := range r.set {
				if s := r.appendOrder(o, a, b); a != b && s != "" {
					return s
				}
			}
		}
	}
	return ""
}

// name is `get("k1") by c1 via n3`, `put("k1", "b") by c2 (no reply)`.
func (r *reasoner) name(i int) string {
	op := r.ops[i]
	s := fmt.Sprintf("%s by c%d", op.describeShort(), op.Client+1)
	switch {
	case op.Unknown:
		s += " (no reply)"
	case op.Server > 0:
		s += fmt.Sprintf(" via n%d", op.Server)
	}
	return s
}

func (r *reasoner) returned(i int) string {
	return fmt.Sprintf("returned %s at %s", quoteTrunc(r.ops[i].Output), r.completed(i))
}
func (r *reasoner) completed(i int) string { return r.at(r.ops[i].ReturnTime, r.ops[i].Return) }
func (r *reasoner) invoked(i int) string   { return r.at(r.ops[i].CallTime, r.ops[i].Call) }
func (r *reasoner) precedes(a, b int) bool { return r.ops[a].precedes(r.ops[b]) }
func (r *reasoner) value(w int) string     { return quoteTrunc(r.ops[w].Value) }

// head is the put a spelling starts with, or -1.
func (r *reasoner) head(ws []int) int {
	if len(ws) > 0 && r.ops[ws[0]].Kind == Put {
		return ws[0]
	}
	return -1
}

// start says what a value starts from.
func (r *reasoner) start(ws []int) string {
	if h := r.head(ws); h >= 0 {
		return "with the value of " + r.name(h)
	}
	return "from the initial empty value"
}

// impossible: an observed value no state of the key can be.
func (r *reasoner) impossible() string {
	for _, o := range r.set {
		if p, ok := r.problem[o]; ok {
			if r.ops[o].Kind == Append && !strings.HasSuffix(r.ops[o].Output, r.ops[o].Value) {
				return fmt.Sprintf("impossible result: %s %s, but %s", r.name(o), r.returned(o), p)
			}
			return fmt.Sprintf("impossible value: %s %s, but no state of the key can be that: %s", r.name(o), r.returned(o), p)
		}
	}
	return ""
}

// future: an observation holds a write invoked only after the observation completed.
func (r *reasoner) future(o int) string {
	for _, w := range r.ws[o] {
		if w != o && r.precedes(o, w) {
			return fmt.Sprintf("read of a later write: %s %s, which holds %s, but %s was invoked only at %s, after that",
				r.name(o), r.returned(o), r.value(w), r.name(w), r.invoked(w))
		}
	}
	return ""
}

// stale: a write completed before an observation was invoked, and the observation
// misses it, though it does not start with a put that could have come after the write.
func (r *reasoner) stale(o int) string {
	ws := r.ws[o]
	h := r.head(ws)
	for _, w := range r.set {
		if w == o || !r.ops[w].writes() || r.ops[w].Unknown || !r.precedes(w, o) || contains(ws, w) {
			continue
		}
		if h >= 0 && h != w && !r.precedes(h, w) {
			continue // the put it starts with may have overwritten w
		}
		return fmt.Sprintf("stale read: %s %s, after %s had completed at %s; invoked at %s, the %s must reflect that write",
			r.name(o), r.returned(o), r.name(w), r.completed(w), r.invoked(o), r.ops[o].Kind)
	}
	return ""
}

// regress: two observations in real-time order start the same way, and the later one
// is a proper prefix of the earlier one.
func (r *reasoner) regress(o1, o2 int) string {
	ws1, ws2 := r.ws[o1], r.ws[o2]
	if !r.precedes(o1, o2) || r.head(ws1) != r.head(ws2) || len(ws2) >= len(ws1) || !isPrefix(ws2, ws1) {
		return ""
	}
	lost := ws1[len(ws2)]
	return fmt.Sprintf("non-monotonic reads: %s %s, but %s had already %s, before the former was invoked at %s; both start %s, so no put came between them and the value could only grow, yet %s from %s is gone",
		r.name(o2), r.returned(o2), r.name(o1), r.returned(o1), r.invoked(o2), r.start(ws1), r.value(lost), r.name(lost))
}

// diverge: two observations start the same way and neither extends the other.
func (r *reasoner) diverge(o1, o2 int) string {
	ws1, ws2 := r.ws[o1], r.ws[o2]
	if r.head(ws1) != r.head(ws2) || isPrefix(ws1, ws2) || isPrefix(ws2, ws1) {
		return ""
	}
	d := 0
	for ws1[d] == ws2[d] {
		d++
	}
	return fmt.Sprintf("appends seen in different orders: %s %s, and %s %s; both start %s, so one must extend the other, but after %d writes in common one goes on with %s from %s, the other with %s from %s",
		r.name(o1), r.returned(o1), r.name(o2), r.returned(o2), r.start(ws1), d,
		r.value(ws1[d]), r.name(ws1[d]), r.value(ws2[d]), r.name(ws2[d]))
}

// appendOrder: append a completed before append b was invoked, and an observation
// holds b but a after b, or b and not a with no put that could have erased a.
func (r *reasoner) appendOrder(o, a, b int) string {
	if r.ops[a].Kind != Append || r.ops[b].Kind != Append || !r.precedes(a, b) {
		return ""
	}
	ws := r.ws[o]
	pa, pb := index(ws, a), index(ws, b)
	h := r.head(ws)
	switch {
	case pb < 0:
		return ""
	case pa > pb:
		return fmt.Sprintf("appends seen out of real-time order: %s %s, with %s before %s, but %s had completed at %s, before %s was invoked at %s",
			r.name(o), r.returned(o), r.value(b), r.value(a), r.name(a), r.completed(a), r.name(b), r.invoked(b))
	case pa < 0 && (h < 0 || r.precedes(h, a)):
		return fmt.Sprintf("lost write: %s %s, which holds %s but not %s, yet %s had completed at %s, before %s was invoked at %s, and no put can have erased it",
			r.name(o), r.returned(o), r.value(b), r.value(a), r.name(a), r.completed(a), r.name(b), r.invoked(b))
	}
	return ""
}

// generic enumerates every order of the set that real-time order allows and says where
// the model rejects each (a set too large to enumerate gets porcupine's word for it).
func (r *reasoner) generic() string {
	n := len(r.set)
	if n > 8 {
		s := fmt.Sprintf("no order of these %d operations respects real time and gives each its observed result (porcupine's exhaustive search)", n)
		if r.minimal {
			s += "; without any one of them there is one"
		}
		return s
	}
	var ends []string
	count := 0
	var order []int
	var walk func(used uint, state any)
	walk = func(used uint, state any) {
		if used == 1<<n-1 {
			panic("linearizability: a failing set has a linearization: " + r.orderText(order))
		}
		for k := range n {
			if used&(1<<k) != 0 || !r.ready(used, k) {
				continue
			}
			po := r.porc[r.set[k]]
			ok, next := kvStep(state, po.Input, po.Output)
			if !ok {
				if count++; len(ends) < 4 {
					ends = append(ends, r.deadEnd(order, k, state.(string)))
				}
				continue
			}
			order = append(order, k)
			walk(used|1<<k, next)
			order = order[:len(order)-1]
		}
	}
	walk(0, "")
	s := "every order real time allows fails: " + strings.Join(ends, "; ")
	if count > len(ends) {
		s += fmt.Sprintf("; and %d more", count-len(ends))
	}
	return s
}

// ready reports whether every operation that precedes set[k] is in used.
func (r *reasoner) ready(used uint, k int) bool {
	for j := range r.set {
		if used&(1<<j) == 0 && r.precedes(r.set[j], r.set[k]) {
			return false
		}
	}
	return true
}

// deadEnd is "[1 2] then [3] returned "a" while the value is "b"".
func (r *reasoner) deadEnd(order []int, k int, state string) string {
	op := r.ops[r.set[k]]
	s := fmt.Sprintf("[%d] returned %s while the value is %s", k+1, quoteTrunc(op.Output), quoteTrunc(state))
	if op.Kind == Append {
		s = fmt.Sprintf("[%d] returned %s while appending gives %s", k+1, quoteTrunc(op.Output), quoteTrunc(state+op.Value))
	}
	if len(order) == 0 {
		return "first, " + s
	}
	return r.orderText(order) + " then " + s
}

func (r *reasoner) orderText(order []int) string {
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprint(k + 1)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func contains(ws []int, w int) bool { return index(ws, w) >= 0 }

func index(ws []int, w int) int {
	for i, x := range ws {
		if x == w {
			return i
		}
	}
	return -1
}

// isPrefix reports whether a is a prefix of b.
func isPrefix(a, b []int) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
