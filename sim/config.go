package sim

import (
	"errors"
	"fmt"
	"time"

	"raftsim/netsim"
	"raftsim/node"
)

// Config describes one run. The zero value is not valid; start from DefaultConfig.
type Config struct {
	// Scenario names the scenario, for results and replay commands.
	Scenario string
	// Seed is the root seed: every random stream of the run derives from it.
	Seed uint64
	// Nodes is the number of servers, numbered 1..Nodes. All are voters.
	Nodes int
	// Duration is the virtual deadline of the run.
	Duration time.Duration

	Node NodeOptions
	Net  netsim.Config
	Load Workload

	// NewServer builds a server from its configuration and durable state; nil means the
	// raftsim node (node.New). It must return a fresh, independent server every call.
	NewServer func(cfg node.Config, d node.DurableState) (Server, error)

	// Trace, if not nil, receives one human-readable line per processed event. It costs
	// formatting on every event, so it is meant for replays, not for seed sweeps.
	Trace func(line string)
}

// NodeOptions are the Raft timing and batching options given to every server.
type NodeOptions struct {
	HeartbeatInterval    time.Duration
	ElectionTimeoutMin   time.Duration
	ElectionTimeoutMax   time.Duration
	MaxEntriesPerMessage int
}

// Workload describes the built-in proposer: it proposes a fresh, unique command every
// interval drawn uniformly from [IntervalMin, IntervalMax], to the node it believes leads
// (following the refusals' leader hints, and trying a random node when it has none).
// A zero IntervalMax turns it off. (Clients with sessions and a checked history come with
// the linearizability work; this proposer only feeds the log.)
type Workload struct {
	IntervalMin time.Duration
	IntervalMax time.Duration
	// Start and Stop bound when the proposer is active (Stop 0: until the end).
	Start time.Duration
	Stop  time.Duration
}

// DefaultConfig is the standard configuration of DESIGN.md's performance budget: 5 nodes,
// heartbeat 50 ms, election timeout 150-300 ms, network delay 1-10 ms with a 1% tail to
// 100 ms, 1% loss, 1% duplication; 10 virtual seconds; a proposal every 5-15 ms.
func DefaultConfig() Config {
	return Config{
		Scenario: "custom",
		Seed:     1,
		Nodes:    5,
		Duration: 10 * time.Second,
		Node: NodeOptions{
			HeartbeatInterval:    50 * time.Millisecond,
			ElectionTimeoutMin:   150 * time.Millisecond,
			ElectionTimeoutMax:   300 * time.Millisecond,
			MaxEntriesPerMessage: 64,
		},
		Net: netsim.Config{
			DelayMin:             1 * time.Millisecond,
			DelayMax:             10 * time.Millisecond,
			TailProbability:      0.01,
			TailMax:              100 * time.Millisecond,
			LossProbability:      0.01,
			DuplicateProbability: 0.01,
		},
		Load: Workload{IntervalMin: 5 * time.Millisecond, IntervalMax: 15 * time.Millisecond},
	}
}

// maxNodes bounds the cluster size: per-node state lives in slices and the checks are
// written for clusters, not fleets.
const maxNodes = 64

// Validate reports the first problem with c, or nil.
func (c *Config) Validate() error {
	if c.Nodes < 1 || c.Nodes > maxNodes {
		return fmt.Errorf("sim: config: Nodes must be in [1, %d], got %d", maxNodes, c.Nodes)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("sim: config: Duration must be positive, got %v", c.Duration)
	}
	if err := c.Net.Validate(); err != nil {
		return fmt.Errorf("sim: config: %w", err)
	}
	if c.Load.IntervalMax < c.Load.IntervalMin || c.Load.IntervalMin < 0 {
		return errors.New("sim: config: workload interval must satisfy 0 <= IntervalMin <= IntervalMax")
	}
	if c.Load.Start < 0 || c.Load.Stop < 0 {
		return fmt.Errorf("sim: config: workload Start and Stop must not be negative, got %v and %v", c.Load.Start, c.Load.Stop)
	}
	if c.Load.IntervalMax > 0 && c.Load.IntervalMin == 0 {
		return errors.New("sim: config: workload IntervalMin must be positive when the workload is on")
	}
	return c.nodeConfig(1, 0).Validate()
}

// nodeConfig is the node.Config of server id with the given seed.
func (c *Config) nodeConfig(id node.ID, seed uint64) node.Config {
	peers := make([]node.ID, c.Nodes)
	for i := range peers {
		peers[i] = node.ID(i + 1)
	}
	return node.Config{
		ID:                   id,
		Peers:                peers,
		ElectionTimeoutMin:   c.Node.ElectionTimeoutMin,
		ElectionTimeoutMax:   c.Node.ElectionTimeoutMax,
		HeartbeatInterval:    c.Node.HeartbeatInterval,
		MaxEntriesPerMessage: c.Node.MaxEntriesPerMessage,
		Seed:                 seed,
	}
}
