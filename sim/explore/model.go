package explore

import (
	"errors"
	"fmt"
	"time"

	"raftsim/node"
	"raftsim/sim"
	"raftsim/sim/host"
)

// Options describe one search: the cluster, its servers' options, the bounds and the
// search itself. Start from DefaultOptions.
type Options struct {
	// Nodes is the number of servers, all voters of the bootstrap configuration (1..9).
	Nodes int
	// Clients is the number of clients (1..9) sharing the Bounds.Ops operations: client c
	// issues operations c, c+Clients, c+2*Clients... (1-based), one at a time.
	Clients int
	// Seed is the root seed: each server's election timer stream derives from it (as in a
	// simulator run with that seed), so a counterexample replays with the same servers.
	Seed uint64
	// Node holds the servers' Raft options (sim.NodeOptions). Time is abstract in the
	// explorer, so the timeouts matter only through the order of the deadlines a server
	// sets itself; SnapshotDelay is ignored (a snapshot write ends when the search says).
	Node sim.NodeOptions
	Bounds
	// Mode is the search strategy.
	Mode Mode
	// Symmetry turns on the reduction by server identities: states equal up to a
	// renaming of the servers count once.
	Symmetry bool
	// Independence turns on the reduction of independent deliveries: of two deliveries to
	// different servers, both in flight, only one order is explored.
	Independence bool
	// Workers is the number of goroutines expanding states (breadth-first and walks; 0:
	// one per CPU). Results do not depend on it.
	Workers int
	// MaxStates stops the search after this many distinct states (0: no limit); the
	// verdict is then Inconclusive.
	MaxStates int
	// Walks is the number of random walks (Mode Walk); each walk w draws from a stream
	// derived from Seed and w, so walks replay exactly.
	Walks int
	// Liveness is the bounded liveness check: from explored states with faults turned
	// off, a leader is elected and the clients' operations complete within Liveness
	// transitions of a fair, fault-free schedule (0: off).
	Liveness int
	// LivenessEvery checks liveness from one explored state in LivenessEvery, chosen by
	// fingerprint (so the same states whatever the worker count); 1 checks every state.
	LivenessEvery int
	// NewServer builds the servers (nil: the raftsim node). The servers must be clonable
	// (host.Host.Clone) and encodable (Stater).
	NewServer host.NewServer
	// Interrupt, if not nil, is polled between batches; when it returns true the search
	// stops with the verdict Inconclusive (a wall-clock budget, say).
	Interrupt func() bool
	// Progress, if not nil, is called after each batch of states with the statistics so
	// far (from the search's goroutine).
	Progress func(Stats)
}

// Bounds limit the transitions of a path. A bound of 0 turns the transition off.
type Bounds struct {
	Depth    int // transitions per path
	Crashes  int // crashes per path
	Restarts int // restarts per path
	Drops    int // dropped packets per path
	Dups     int // duplicated packets per path
	Ops      int // client operations per path (invocations)
	Retries  int // client retries per path
	Admin    int // leadership transfers per path
	// MaxTerm is the highest term a server may reach: a transition to a state beyond it
	// is not taken (a constraint, as in TLC).
	MaxTerm int
}

// Mode is a search strategy.
type Mode uint8

// The search strategies: one transition function, three ways to run it.
const (
	// BFS visits states in order of depth: the first violation found has a shortest path.
	BFS Mode = iota
	// DFS keeps only the current path: little memory, long paths first.
	DFS
	// Walk takes seeded random walks of Depth transitions: deep, not exhaustive.
	Walk
)

func (m Mode) String() string {
	switch m {
	case BFS:
		return "bfs"
	case DFS:
		return "dfs"
	case Walk:
		return "walk"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode parses "bfs", "dfs" or "walk".
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{BFS, DFS, Walk} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q; valid: bfs, dfs, walk", s)
}

// DefaultOptions is a 3-node cluster with one client, the simulator's standard timing
// (heartbeat 50 ms, election timeout 150-300 ms), ReadIndex reads, depth 10, one client
// operation, highest term 2, breadth-first.
func DefaultOptions() Options {
	d := sim.DefaultConfig()
	return Options{
		Nodes: 3, Clients: 1, Seed: 1, Node: d.Node,
		Bounds:        Bounds{Depth: 10, Ops: 1, MaxTerm: 2},
		LivenessEvery: 1,
	}
}

// Limits of the options: the search is for small, bounded spaces.
const (
	nodesMax   = 9
	clientsMax = 9
	depthMax   = 1000
	boundMax   = 1000
)

// Validate reports the first problem with o, or nil.
func (o *Options) Validate() error {
	switch {
	case o.Nodes < 1 || o.Nodes > nodesMax:
		return fmt.Errorf("explore: nodes must be in [1, %d], got %d", nodesMax, o.Nodes)
	case o.Clients < 1 || o.Clients > clientsMax:
		return fmt.Errorf("explore: clients must be in [1, %d], got %d", clientsMax, o.Clients)
	case o.Depth < 1 || o.Depth > depthMax:
		return fmt.Errorf("explore: depth must be in [1, %d], got %d", depthMax, o.Depth)
	case o.MaxTerm < 1 || o.MaxTerm > boundMax:
		return fmt.Errorf("explore: the highest term must be in [1, %d], got %d", boundMax, o.MaxTerm)
	case o.Mode > Walk:
		return fmt.Errorf("explore: unknown mode %d", o.Mode)
	case o.Workers < 0 || o.MaxStates < 0 || o.Walks < 0 || o.Liveness < 0 || o.LivenessEvery < 0:
		return errors.New("explore: workers, max-states, walks, liveness and liveness-every must not be negative")
	case o.Independence && o.Mode != BFS:
		return errors.New("explore: the independence reduction works with breadth-first search only")
	case o.Mode == Walk && o.Walks == 0:
		return errors.New("explore: mode walk needs a number of walks (Walks > 0)")
	case o.Node.ReadMode == node.ReadLease:
		return errors.New("explore: lease reads depend on bounded clock drift, which abstract time does not model; use the index or log read mode")
	}
	for _, b := range []struct {
		name string
		v    int
	}{{"crashes", o.Crashes}, {"restarts", o.Restarts}, {"drops", o.Drops}, {"dups", o.Dups},
		{"ops", o.Ops}, {"retries", o.Retries}, {"admin", o.Admin}} {
		if b.v < 0 || b.v > boundMax {
			return fmt.Errorf("explore: %s must be in [0, %d], got %d", b.name, boundMax, b.v)
		}
	}
	cfg := o.simConfig()
	return cfg.Validate()
}

// simConfig is the simulator configuration the explorer's servers are booted from
// (sim.Config.NodeConfig) and that a counterexample replays with.
func (o *Options) simConfig() sim.Config {
	c := sim.DefaultConfig()
	c.Scenario = "explore"
	c.Seed = o.Seed
	c.Nodes = o.Nodes
	c.Node = o.Node
	c.Clients.Count = o.Clients
	c.Clients.Keys = 1
	c.Duration = time.Duration(o.Depth+1) * time.Millisecond
	return c
}
