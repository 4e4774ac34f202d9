// Package netsim is raftsim's network model: it decides the fate of every message between
// integer node IDs 1..n (delivered once, twice or not at all, and after what delay) and
// keeps the current link state (partitions: symmetric, one-way and non-transitive).
//
// netsim does not know Raft messages and does not schedule anything: the simulator calls
// Send when a message leaves a node, schedules the returned copies on its own event queue,
// and calls Connected (or Arrive, which also counts) again when a copy is due, so that a
// partition also cuts messages already in flight.
//
// # Randomness and determinism
//
// A Network owns one PCG stream (math/rand/v2) seeded from the seed given to New; it never
// uses package-level random functions, clocks, goroutines or maps. Every call of Send
// consumes exactly drawsPerSend (11) draws from that stream, whatever the outcome and
// whatever the link state, so the stream position depends only on how many messages were
// sent: cutting a link or changing the fault rates does not reshuffle the fate of later
// messages. Bounded values are drawn with one multiply-high per draw (no rejection loop); its
// bias, at most span/2^64, is irrelevant for simulated delays.
//
// # Fate of one message
//
// If the link from -> to is cut, the message is dropped and counted as Cut. Otherwise the
// message has one copy, or two with DuplicateProbability. Each copy independently is lost
// with LossProbability; a surviving copy gets a base delay uniform in [DelayMin, DelayMax],
// or with TailProbability a tail delay uniform in (DelayMax, TailMax]; then, with
// ReorderProbability, it is held back by an extra delay uniform in [1ns, max(DelayMax, 1ns)]
// so that messages sent after it can overtake it. Config.MaxDelay bounds the result.
//
// Node IDs outside 1..n passed to any method are programmer bugs and panic. A node is
// always connected to itself.
//
// Imports: the standard library only.
package netsim

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strings"
	"time"
)

// pcgStream is the second PCG seed word: it separates netsim's stream from any other stream
// a caller might seed with the same first word.
const pcgStream = 0x6e6574_73696d_01 // "netsim" v1

// drawsPerSend is the fixed number of 64-bit draws each Send consumes: one for duplication,
// then five per copy (loss, tail, delay, reorder, extra reorder delay).
const drawsPerSend = 11

// MaxDelayBound is the largest DelayMax or TailMax Validate accepts, so that a delay plus
// the reorder extra can never overflow a time.Duration.
const MaxDelayBound = time.Duration(math.MaxInt64 / 4)

// Config holds the fault rates of a Network. The zero Config is a perfect network with
// zero delay.
type Config struct {
	DelayMin, DelayMax   time.Duration // base one-way delay, uniform in [DelayMin, DelayMax]
	TailProbability      float64       // chance a message's delay comes from the long tail instead
	TailMax              time.Duration // tail delays uniform in (DelayMax, TailMax]
	LossProbability      float64       // chance a copy is lost
	DuplicateProbability float64       // chance a message is delivered twice (the copy with its own delay)
	// ReorderProbability is the chance a copy is held back by an extra delay of up to
	// DelayMax so that later ones overtake it (random delays reorder too; this makes it
	// stronger).
	ReorderProbability float64
}

// Validate reports every problem with c, or nil if c is usable.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"DelayMin", c.DelayMin}, {"DelayMax", c.DelayMax}, {"TailMax", c.TailMax}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("netsim: %s is negative (%v)", d.name, d.v))
		}
		if d.v > MaxDelayBound {
			errs = append(errs, fmt.Errorf("netsim: %s %v exceeds the maximum %v", d.name, d.v, MaxDelayBound))
		}
	}
	if c.DelayMin > c.DelayMax {
		errs = append(errs, fmt.Errorf("netsim: DelayMin %v is greater than DelayMax %v", c.DelayMin, c.DelayMax))
	}
	if c.TailProbability > 0 && c.TailMax < c.DelayMax {
		errs = append(errs, fmt.Errorf("netsim: TailMax %v is below DelayMax %v while TailProbability is %v; tail delays lie in (DelayMax, TailMax]",
			c.TailMax, c.DelayMax, c.TailProbability))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"TailProbability", c.TailProbability},
		{"LossProbability", c.LossProbability},
		{"DuplicateProbability", c.DuplicateProbability},
		{"ReorderProbability", c.ReorderProbability},
	} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			errs = append(errs, fmt.Errorf("netsim: %s %v is outside [0, 1]", p.name, p.v))
		}
	}
	return errors.Join(errs...)
}

// MaxDelay is the largest delay Send can return under c (c must be valid).
func (c Config) MaxDelay() time.Duration {
	d := c.DelayMax
	if c.TailProbability > 0 && c.TailMax > d {
		d = c.TailMax
	}
	if c.ReorderProbability > 0 {
		d += max(c.DelayMax, 1)
	}
	return d
}

// Stats counts what a Network did. Every Send counts once in Sent and, if the link was
// cut, once in Cut; otherwise each copy counts in exactly one of Delivered or Lost.
type Stats struct {
	Sent        uint64 // messages passed to Send
	Delivered   uint64 // copies Send returned for delivery
	Lost        uint64 // copies lost
	Duplicated  uint64 // messages that got a second copy (whether or not either copy was then lost)
	Cut         uint64 // messages dropped at Send because the link was cut
	Reordered   uint64 // delivered copies held back by the reorder delay
	CutInFlight uint64 // copies dropped at delivery time by Arrive because the link had been cut
}

// Network is the link state and fault model of one simulated network. It is not safe for
// concurrent use (a run is single-threaded).
type Network struct {
	n      int
	stride int    // n+1: link (from, to) lives at cut[from*stride+to]
	cut    []bool // cut[from*stride+to]: from can not reach to
	rng    rand.PCG
	cfg    Config
	stats  Stats

	// Derived from cfg by setConfig.
	lossT, dupT, tailT, reorderT uint64 // probability thresholds on 53-bit draws
	baseSpan                     uint64 // DelayMax - DelayMin + 1
	tailSpan                     uint64 // TailMax - DelayMax
	extraSpan                    uint64 // max(DelayMax, 1)
}

// New returns a Network of nodes 1..nodes with all links up, fault rates cfg and a random
// stream seeded by seed.
func New(cfg Config, nodes int, seed uint64) (*Network, error) {
	if nodes < 1 {
		return nil, fmt.Errorf("netsim: need at least one node, got %d", nodes)
	}
	n := &Network{
		n:      nodes,
		stride: nodes + 1,
		cut:    make([]bool, (nodes+1)*(nodes+1)),
	}
	n.rng.Seed(seed, pcgStream)
	if err := n.SetConfig(cfg); err != nil {
		return nil, err
	}
	return n, nil
}

// threshold converts probability p into t such that a uniform 53-bit value k satisfies
// k < t with probability p (exactly 0 for p == 0, always for p == 1).
func threshold(p float64) uint64 {
	return uint64(math.Ceil(float64(p * (1 << 53))))
}

// SetConfig changes the fault rates from now on. Link state, statistics and the random
// stream are kept. An invalid cfg is rejected and the old one stays.
func (n *Network) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	n.cfg = cfg
	n.lossT = threshold(cfg.LossProbability)
	n.dupT = threshold(cfg.DuplicateProbability)
	n.tailT = threshold(cfg.TailProbability)
	n.reorderT = threshold(cfg.ReorderProbability)
	n.baseSpan = uint64(cfg.DelayMax-cfg.DelayMin) + 1
	n.tailSpan = 0
	if cfg.TailMax > cfg.DelayMax {
		n.tailSpan = uint64(cfg.TailMax - cfg.DelayMax)
	}
	n.extraSpan = uint64(max(cfg.DelayMax, 1))
	return nil
}

// Config returns the current fault rates.
func (n *Network) Config() Config { return n.cfg }

// Stats returns the counters so far.
func (n *Network) Stats() Stats { return n.stats }

// Nodes returns the number of nodes; valid IDs are 1..Nodes().
func (n *Network) Nodes() int { return n.n }

// below draws uniformly from [0, span) with one draw (span > 0).
func below(x, span uint64) uint64 {
	hi, _ := bits.Mul64(x, span)
	return hi
}

// Send decides the fate of one message from -> to. It returns how many copies are
// delivered (0, 1 or 2) and the delay of each (delays[:copies]). It always consumes the
// same number of draws. A message on a cut link (see Connected) is dropped (copies 0) and
// counted as Cut, not as Lost.
func (n *Network) Send(from, to int) (delays [2]time.Duration, copies int) {
	return n.Decide(from, to).Copies()
}

// Fate is the whole of Send's decision for one message: whether the link was cut, whether
// the network made a second copy, and, for each copy, whether it was lost and its delay.
// A recorded run keeps it so that a replay can impose it again (Impose).
type Fate struct {
	Cut bool // the link was cut: nothing is delivered, whatever the rest says
	Dup bool // a second copy was made (copy 1)
	// Lost[i]: copy i was lost; Delays[i]: copy i's delay when it was not.
	Lost   [2]bool
	Delays [2]time.Duration
}

// Copies is how many copies f delivers, and their delays in copy order.
func (f Fate) Copies() (delays [2]time.Duration, copies int) {
	if f.Cut {
		return delays, 0
	}
	for c := 0; c < 2; c++ {
		if (c == 1 && !f.Dup) || f.Lost[c] {
			continue
		}
		delays[copies] = f.Delays[c]
		copies++
	}
	return delays, copies
}

// Decide is Send, returning the whole fate. It consumes drawsPerSend draws and counts the
// message in Stats exactly as Send does.
func (n *Network) Decide(from, to int) Fate {
	i := n.index(from, to)
	n.stats.Sent++
	f := Fate{Cut: n.cut[i]}
	f.Dup = n.rng.Uint64()>>11 < n.dupT
	for c := 0; c < 2; c++ {
		loss, tail, base, reorder, extra := n.rng.Uint64(), n.rng.Uint64(), n.rng.Uint64(), n.rng.Uint64(), n.rng.Uint64()
		if f.Cut || (c == 1 && !f.Dup) {
			continue
		}
		if loss>>11 < n.lossT {
			n.stats.Lost++
			f.Lost[c] = true
			continue
		}
		var d time.Duration
		switch {
		case tail>>11 >= n.tailT:
			d = n.cfg.DelayMin + time.Duration(below(base, n.baseSpan))
		case n.tailSpan == 0:
			d = n.cfg.DelayMax
		default:
			d = n.cfg.DelayMax + 1 + time.Duration(below(base, n.tailSpan))
		}
		if reorder>>11 < n.reorderT {
			d += 1 + time.Duration(below(extra, n.extraSpan))
			n.stats.Reordered++
		}
		f.Delays[c] = d
	}
	n.countFate(f)
	return f
}

// countFate counts a decided fate's cut, duplicate and delivered copies (lost ones are
// counted as they are drawn).
func (n *Network) countFate(f Fate) {
	if f.Cut {
		n.stats.Cut++
		return
	}
	if f.Dup {
		n.stats.Duplicated++
	}
	_, copies := f.Copies()
	n.stats.Delivered += uint64(copies)
}

// Impose is Send with the fate given instead of drawn, for replaying a recorded run: the
// link's current state decides whether it is cut (f.Cut is ignored); the rest is f's. It
// draws nothing and counts the message in Stats as Send would have, except Reordered,
// which a fate does not record.
func (n *Network) Impose(from, to int, f Fate) Fate {
	f.Cut = n.cut[n.index(from, to)]
	n.stats.Sent++
	if !f.Cut {
		for c := 0; c < 2; c++ {
			if f.Lost[c] && (c == 0 || f.Dup) {
				n.stats.Lost++
			}
		}
	}
	n.countFate(f)
	return f
}

// Connected reports whether from can currently send to to. The simulator also calls it at
// delivery time, so a partition cuts messages already in flight.
func (n *Network) Connected(from, to int) bool {
	return !n.cut[n.index(from, to)]
}

// Arrive is Connected for a copy that is due for delivery now: it reports whether the copy
// may be delivered and, if not, counts it in Stats.CutInFlight.
func (n *Network) Arrive(from, to int) bool {
	if n.cut[n.index(from, to)] {
		n.stats.CutInFlight++
		return false
	}
	return true
}

// index returns the link index of from -> to, panicking on invalid IDs.
func (n *Network) index(from, to int) int {
	if uint(from-1) >= uint(n.n) || uint(to-1) >= uint(n.n) {
		n.badLink(from, to)
	}
	return from*n.stride + to
}

//go:noinline
func (n *Network) badLink(from, to int) {
	panic(fmt.Sprintf("netsim: invalid link %d -> %d: node IDs must be in 1..%d", from, to, n.n))
}

func (n *Network) check(op string, ids ...int) {
	for _, id := range ids {
		if id < 1 || id > n.n {
			panic(fmt.Sprintf("netsim: %s: invalid node ID %d: node IDs must be in 1..%d", op, id, n.n))
		}
	}
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			if a == b {
				panic(fmt.Sprintf("netsim: %s: node %d given twice (%v); a node is always connected to itself", op, a, ids))
			}
		}
	}
}

func (n *Network) set(from, to int, cut bool) { n.cut[from*n.stride+to] = cut }

// Partition replaces all cuts by a symmetric partition: nodes in different groups cannot
// talk. Nodes not listed in any group form one extra group together. Listing a node twice
// panics. Partition() with no groups heals everything.
func (n *Network) Partition(groups ...[]int) {
	group := make([]int, n.stride) // 0: the extra group of unlisted nodes
	for g, members := range groups {
		for _, id := range members {
			n.check("Partition", id)
			if group[id] != 0 {
				panic(fmt.Sprintf("netsim: Partition: node %d is listed in groups %d and %d", id, group[id]-1, g))
			}
			group[id] = g + 1
		}
	}
	for a := 1; a <= n.n; a++ {
		for b := 1; b <= n.n; b++ {
			n.set(a, b, group[a] != group[b])
		}
	}
}

// Isolate cuts id from everyone else, both directions, in addition to the current cuts.
func (n *Network) Isolate(id int) {
	n.check("Isolate", id)
	for o := 1; o <= n.n; o++ {
		if o != id {
			n.set(id, o, true)
			n.set(o, id, true)
		}
	}
}

// Cut cuts the link between a and b in both directions, in addition to the current cuts.
func (n *Network) Cut(a, b int) {
	n.check("Cut", a, b)
	n.set(a, b, true)
	n.set(b, a, true)
}

// CutOneWay cuts from -> to only: from can no longer reach to, to still reaches from (unless
// that direction is cut too). It adds to the current cuts.
func (n *Network) CutOneWay(from, to int) {
	n.check("CutOneWay", from, to)
	n.set(from, to, true)
}

// Bridge makes a non-transitive triangle: a and c can not talk (in either direction), and
// both reach b and are reached by it. It adds the a-c cut to the current cuts and restores
// the links a-b and b-c if they were cut; other links are unchanged. Several Bridge calls
// build larger bridges, e.g. Bridge(1,3,4), Bridge(1,3,5), Bridge(2,3,4), Bridge(2,3,5) from a
// healed network is {1,2,3} | {3,4,5} with node 3 in both halves.
func (n *Network) Bridge(a, b, c int) {
	n.check("Bridge", a, b, c)
	n.set(a, c, true)
	n.set(c, a, true)
	n.set(a, b, false)
	n.set(b, a, false)
	n.set(b, c, false)
	n.set(c, b, false)
}

// Heal brings all links up.
func (n *Network) Heal() { clear(n.cut) }

// Describe returns the current cuts, human-readable and deterministic: "all links up", or
// "cut: " followed by one item per pair of nodes with a cut, in order of (lower ID, higher
// ID): "1-3" is cut both ways, "2->4" and "4->2" one way only, e.g. "cut: 1-3 2->4".
func (n *Network) Describe() string {
	var b strings.Builder
	for x := 1; x <= n.n; x++ {
		for y := x + 1; y <= n.n; y++ {
			xy, yx := n.cut[x*n.stride+y], n.cut[y*n.stride+x]
			if !xy && !yx {
				continue
			}
			if b.Len() == 0 {
				b.WriteString("cut:")
			}
			switch {
			case xy && yx:
				fmt.Fprintf(&b, " %d-%d", x, y)
			case xy:
				fmt.Fprintf(&b, " %d->%d", x, y)
			default:
				fmt.Fprintf(&b, " %d->%d", y, x)
			}
		}
	}
	if b.Len() == 0 {
		return "all links up"
	}
	return b.String()
}
