// Package nemesis is raftsim's one fault generator (DESIGN.md, "a nemesis"): it injects
// faults into a world (sim.World) from a table of fault kinds, each drawn with its own
// weight, at random gaps or on a fixed period, and can heal everything at the end. The
// randomized scenarios (churn, standard, swarm) are configurations of it (Options).
//
// The kinds (Kind) cover the network (random partitions, a pair of servers cut off,
// isolation, one-way cuts, bridges, healing, new loss/duplication/reordering/tail rates),
// the processes (crash, restart, pause), the clocks (a new rate within a drift bound, a
// forward jump) and the operator (adding a spare, removing a follower, removing the leader,
// re-adding a removed server, leadership transfer). Each kind is one entry of the table
// (kinds): its name and its action. Adding a kind (the disk's, once the simulator has
// them) is a constant at the end of the Kind list, a line in the table and its action;
// Mix gives it a weight, so configurations that do not name it draw exactly as before.
//
// One tick of the nemesis draws, from the world's fault stream (World.FaultRandom) and in
// this order: a victim (a server, uniformly among all of them, spares included), the kind
// (one IntN over the sum of the weights, walked in Kind order), then whatever the kind's
// action needs (another server, a duration, a rate); in random mode, the gap to the next
// tick last. A kind whose action cannot apply (a pause of a crashed server, a bridge in a
// cluster of two, a membership change while another is pending) does nothing that tick.
// The order of these draws is part of every configuration's trace: churn's and standard's
// golden hashes pin it.
//
// Operator actions go through the world's admin client (World.Admin: one request at a
// time) and World.Transfer. The nemesis requests a membership change only when no admin
// request is pending, the configuration in force is not joint and has no learner, and
// Options.AdminQuiet has passed since the previous change completed: a delayed duplicate
// of an old request, still in flight, could otherwise start a change nobody asked for
// (and, against a configuration of one voter, draw a ReplyInvalid). It never removes the
// last voter. With Options.Decommission a server whose removal completed is shut down
// (crashed) and stays down (no fault or heal restarts it) until the nemesis re-adds it:
// the operator's answer to removed servers disrupting a cluster that has neither PreVote
// nor CheckQuorum (thesis §4.2.3).
//
// Counts: the nemesis counts, per kind, the faults that took effect (Count, Summary), so
// that a scenario can assert that its faults happened and a sweep can say how many seeds
// hit each kind. A crash tick whose victim is already down restarts it instead, and
// counts as a restart.
//
// Determinism: the nemesis runs inside the simulator's goroutine, as scenario actions, and
// draws only from the world's fault stream.
//
// Imports: sim, node and the standard library.
package nemesis

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/sim"
)

// Kind is one kind of fault. The order of the constants is the order in which a tick walks
// the weights (see the package doc): new kinds go at the end.
type Kind int

const (
	// Crash crashes the victim; a victim already down is restarted instead (counted as a
	// Restart), unless it is decommissioned.
	Crash Kind = iota
	// Restart restarts the victim if it is down (and not decommissioned).
	Restart
	// Partition splits the servers in two: each server is on the listed side with
	// probability 1/2 (one draw per server, in ID order).
	Partition
	// PairPartition cuts the victim and one other server (drawn) off from the rest, the
	// two together.
	PairPartition
	// Isolate cuts the victim off from every server and client.
	Isolate
	// OneWay stops the victim's messages to one other server (drawn); the other way stays up.
	OneWay
	// Bridge cuts the victim and a third server apart while both still reach a second one
	// (a non-transitive partition; needs three servers).
	Bridge
	// Heal brings every link up.
	Heal
	// Pause stalls a live, unpaused victim for a duration in [Options.PauseMin,
	// Options.PauseMax).
	Pause
	// ClockRate sets the victim's clock rate to 1+d, d drawn in (-ClockDrift, ClockDrift).
	ClockRate
	// ClockJump steps the victim's wall clock forward or back by a duration in
	// (0, ClockJumpMax] (World.JumpClock): servers timing on the monotonic clock, the
	// default, must not notice.
	ClockJump
	// NetRates draws new loss, duplication, reordering and tail probabilities from
	// Options.Net; a rate without choices, and the delays, stay the run's.
	NetRates
	// AddServer asks the operator to add a server that never was a member (a spare).
	AddServer
	// RemoveServer asks the operator to remove a voter other than the leader.
	RemoveServer
	// RemoveLeader asks the operator to remove the current leader.
	RemoveLeader
	// ReAddServer asks the operator to add back a server the nemesis removed (restarting
	// it first if it was decommissioned).
	ReAddServer
	// Transfer asks the leader to hand leadership to another voter (drawn).
	Transfer

	// NumKinds is the number of kinds.
	NumKinds
)

// String is the kind's name in notes and summaries ("crash", "one-way"...).
func (k Kind) String() string {
	if k < 0 || k >= NumKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kinds()[k].name
}

// Operator reports whether k is an operator action (a membership change or a transfer)
// rather than a fault of the network, the processes or the clocks.
func (k Kind) Operator() bool { return k >= AddServer && k <= Transfer }

// action is what a kind does in one tick: id is the tick's victim, r the fault stream.
type action func(n *Nemesis, w *sim.World, r *rand.Rand, id node.ID)

// kindInfo is one entry of the table of kinds.
type kindInfo struct {
	name string
	act  action
}

// kinds is the table of kinds, indexed by Kind. It is a function, not a variable, so that
// no state is shared between runs.
func kinds() *[NumKinds]kindInfo {
	return &[NumKinds]kindInfo{
		Crash:         {"crash", (*Nemesis).crash},
		Restart:       {"restart", (*Nemesis).restart},
		Partition:     {"partition", (*Nemesis).partition},
		PairPartition: {"pair-partition", (*Nemesis).pairPartition},
		Isolate:       {"isolate", (*Nemesis).isolate},
		OneWay:        {"one-way", (*Nemesis).oneWay},
		Bridge:        {"bridge", (*Nemesis).bridge},
		Heal:          {"heal", (*Nemesis).heal},
		Pause:         {"pause", (*Nemesis).pause},
		ClockRate:     {"clock-rate", (*Nemesis).clockRate},
		ClockJump:     {"clock-jump", (*Nemesis).clockJump},
		NetRates:      {"net-rates", (*Nemesis).netRates},
		AddServer:     {"add-server", (*Nemesis).addServer},
		RemoveServer:  {"remove-server", (*Nemesis).removeServer},
		RemoveLeader:  {"remove-leader", (*Nemesis).removeLeader},
		ReAddServer:   {"re-add-server", (*Nemesis).reAddServer},
		Transfer:      {"transfer", (*Nemesis).transfer},
	}
}

// Mix is how often each kind is drawn: Mix[k] is kind k's weight, 0 turns it off. A tick
// draws kind k with probability Mix[k]/Total.
type Mix [NumKinds]int

// Total is the sum of the weights.
func (m *Mix) Total() int {
	t := 0
	for _, x := range m {
		t += x
	}
	return t
}

// pick maps v in [0, Total) to its kind, walking the weights in Kind order.
func (m *Mix) pick(v int) Kind {
	for k, x := range m {
		if v < x {
			return Kind(k)
		}
		v -= x
	}
	panic(fmt.Sprintf("nemesis: invariant broken: draw %d past the mix's total %d", v, m.Total()))
}

// String lists the kinds that are on with their weights: "crash×2 restart×1 heal×1".
func (m *Mix) String() string {
	var parts []string
	for k, x := range m {
		if x > 0 {
			parts = append(parts, fmt.Sprintf("%v×%d", Kind(k), x))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// NetChoices are the probabilities a NetRates tick chooses among, one list per rate (an
// empty list leaves that rate alone).
type NetChoices struct {
	Loss, Duplicate, Reorder, Tail []float64
}

// Options configure a nemesis. A tick happens in random mode (GapMax > 0: the first at
// Start, then after gaps drawn in [GapMin, GapMax), none at or after End) or in periodic
// mode (Period > 0: at Start, Start+Period, ... before End, each followed HealAfter later,
// if HealAfter > 0, by a heal of everything). The other fields are the kinds' strengths.
type Options struct {
	// Mix is each kind's weight.
	Mix Mix

	Start, End     time.Duration
	GapMin, GapMax time.Duration
	Period         time.Duration
	HealAfter      time.Duration
	// FinalHeal heals everything (HealAll) at End.
	FinalHeal bool
	// Label, HealLabel and FinalHealLabel name the nemesis's actions in the trace (and the
	// trace hash): a tick, a periodic heal, the final heal.
	Label, HealLabel, FinalHealLabel string

	// PauseMin and PauseMax bound a Pause's duration.
	PauseMin, PauseMax time.Duration
	// ClockDrift bounds a ClockRate's change: keep it within the servers' MaxClockDrift
	// when they read by lease.
	ClockDrift float64
	// ClockJumpMax bounds a ClockJump.
	ClockJumpMax time.Duration
	// Net are the rates a NetRates tick chooses among.
	Net NetChoices
	// AdminQuiet is how long after a membership change completes the next may be
	// requested: at least the longest a copy of the old request can stay in flight.
	AdminQuiet time.Duration
	// Decommission shuts a removed server down (see the package doc).
	Decommission bool
}

// Validate reports the first problem with o, or nil.
func (o *Options) Validate() error {
	for k, x := range o.Mix {
		if x < 0 {
			return fmt.Errorf("nemesis: the weight of %v is negative (%d)", Kind(k), x)
		}
	}
	switch {
	case o.GapMax > 0 && o.Period > 0:
		return fmt.Errorf("nemesis: both random gaps (GapMax %v) and a period (%v): choose one mode", o.GapMax, o.Period)
	case o.GapMax > 0 && (o.GapMin <= 0 || o.GapMin > o.GapMax):
		return fmt.Errorf("nemesis: gaps must satisfy 0 < GapMin <= GapMax, got %v and %v", o.GapMin, o.GapMax)
	case o.Period < 0 || o.HealAfter < 0 || o.Start < 0 || o.End < o.Start:
		return fmt.Errorf("nemesis: times must satisfy 0 <= Start <= End, Period >= 0 and HealAfter >= 0, got %v, %v, %v, %v", o.Start, o.End, o.Period, o.HealAfter)
	case o.Mix[Pause] > 0 && (o.PauseMin <= 0 || o.PauseMin > o.PauseMax):
		return fmt.Errorf("nemesis: pauses need 0 < PauseMin <= PauseMax, got %v and %v", o.PauseMin, o.PauseMax)
	case o.Mix[ClockRate] > 0 && !(o.ClockDrift > 0 && o.ClockDrift < 1):
		return fmt.Errorf("nemesis: clock-rate faults need ClockDrift in (0, 1), got %v", o.ClockDrift)
	case o.Mix[ClockJump] > 0 && o.ClockJumpMax <= 0:
		return fmt.Errorf("nemesis: clock jumps need a positive ClockJumpMax, got %v", o.ClockJumpMax)
	case o.AdminQuiet < 0:
		return fmt.Errorf("nemesis: AdminQuiet must not be negative, got %v", o.AdminQuiet)
	}
	for _, rates := range [][]float64{o.Net.Loss, o.Net.Duplicate, o.Net.Reorder, o.Net.Tail} {
		for _, p := range rates {
			if !(p >= 0 && p <= 1) { // also refuses NaN
				return fmt.Errorf("nemesis: network rates must be in [0, 1], got %v", p)
			}
		}
	}
	return nil
}

// Nemesis is one run's fault generator. It belongs to one world.
type Nemesis struct {
	opts  Options
	table *[NumKinds]kindInfo
	total int

	counts      [NumKinds]int
	changesDone int // membership changes completed (their admin request answered OK)

	removed []bool // removed[id]: the nemesis removed server id (a ReAddServer candidate)
	down    []bool // down[id]: server id is decommissioned
	// quietUntil is when the next membership change may be requested.
	quietUntil time.Duration
	netChanged bool // a NetRates tick changed the network's rates
}

// New returns a nemesis with options o; it returns an error for invalid options.
func New(o Options) (*Nemesis, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Nemesis{opts: o, table: kinds(), total: o.Mix.Total()}, nil
}

// Options returns the nemesis's options.
func (n *Nemesis) Options() Options { return n.opts }

// Start schedules the nemesis on w: its ticks (random or periodic mode) and, with
// FinalHeal, the final heal at End, after which onHeal (if not nil) runs. Call it once,
// from the scenario's script.
func (n *Nemesis) Start(w *sim.World, onHeal func(w *sim.World)) {
	n.removed = make([]bool, w.Nodes()+1)
	n.down = make([]bool, w.Nodes()+1)
	o := &n.opts
	switch {
	case n.total == 0:
	case o.Period > 0:
		for at := o.Start; at < o.End; at += o.Period {
			w.At(at, o.Label, func(w *sim.World) { n.inject(w) })
			if o.HealAfter > 0 {
				w.At(at+o.HealAfter, o.HealLabel, n.HealAll)
			}
		}
	case o.GapMax > 0:
		w.At(o.Start, o.Label, n.tick)
	}
	if o.FinalHeal {
		w.At(o.End, o.FinalHealLabel, func(w *sim.World) {
			n.HealAll(w)
			if onHeal != nil {
				onHeal(w)
			}
		})
	}
}

// tick injects one fault and schedules the next tick (random mode), until End.
func (n *Nemesis) tick(w *sim.World) {
	if w.Now() >= n.opts.End {
		return
	}
	r := n.inject(w)
	gap := n.opts.GapMin
	if span := n.opts.GapMax - n.opts.GapMin; span > 0 {
		gap += time.Duration(r.Int64N(int64(span)))
	}
	w.At(w.Now()+gap, n.opts.Label, n.tick)
}

// inject draws a victim and a kind and runs the kind's action; it returns the stream.
func (n *Nemesis) inject(w *sim.World) *rand.Rand {
	r := w.FaultRandom()
	id := node.ID(r.IntN(w.Nodes()) + 1)
	k := n.opts.Mix.pick(r.IntN(n.total))
	n.table[k].act(n, w, r, id)
	return r
}

// HealAll heals everything: every link up, every server that is down and not
// decommissioned restarted (in ID order), the network's rates back to the run's if a
// NetRates tick changed them. Pauses end by themselves and clocks keep their rates.
func (n *Nemesis) HealAll(w *sim.World) {
	w.Heal()
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if !n.decommissioned(id) {
			w.Restart(id)
		}
	}
	if n.netChanged {
		n.netChanged = false
		if err := w.SetNetwork(w.Config().Net); err != nil {
			panic(fmt.Sprintf("nemesis: invariant broken: the run's own network configuration is refused: %v", err))
		}
	}
}

// count records that a fault of kind k took effect.
func (n *Nemesis) count(k Kind) { n.counts[k]++ }

// Count is how many faults of kind k took effect so far (for operator kinds: how many
// requests were made).
func (n *Nemesis) Count(k Kind) int { return n.counts[k] }

// Counts returns every kind's count, indexed by Kind.
func (n *Nemesis) Counts() [NumKinds]int { return n.counts }

// ChangesDone is how many of the membership changes the nemesis requested have completed.
func (n *Nemesis) ChangesDone() int { return n.changesDone }

// Summary lists the kinds that took effect with their counts, in Kind order: "crash 4,
// restart 2, partition 1" ("nothing" if none), and the membership changes completed.
func (n *Nemesis) Summary() string {
	var parts []string
	for k, c := range n.counts {
		if c > 0 {
			parts = append(parts, fmt.Sprintf("%v %d", Kind(k), c))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	s := strings.Join(parts, ", ")
	if n.requestedChanges() > 0 {
		s += fmt.Sprintf(" (membership changes completed: %d)", n.changesDone)
	}
	return s
}

func (n *Nemesis) requestedChanges() int {
	return n.counts[AddServer] + n.counts[RemoveServer] + n.counts[RemoveLeader] + n.counts[ReAddServer]
}

// decommissioned reports whether server id is shut down for good (until re-added).
func (n *Nemesis) decommissioned(id node.ID) bool { return int(id) < len(n.down) && n.down[id] }
