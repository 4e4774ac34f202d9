package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"raftsim/netsim"
	"raftsim/node"
	"raftsim/sim/schedule"
)

// Config describes one run. The zero value is not valid; start from DefaultConfig.
//
// The configuration also bounds the run's work: the Work Bound check fails a run whose
// events or messages per WorkWindow of virtual time, or packets in flight, exceed
// WorkSafetyFactor times what a healthy run of this configuration can need (the number of
// servers and clients, the heartbeat interval, the minimum election timeout, the network's
// minimum delay, longest delay and duplication rate, the proposer's interval; see
// Config.WorkLimits for the derivation), so that messages multiplying make a failed run
// instead of a hang.
type Config struct {
	// Scenario names the scenario, for results and replay commands.
	Scenario string
	// Seed is the root seed: every random stream of the run derives from it.
	Seed uint64
	// Nodes is the number of servers of the initial configuration, numbered 1..Nodes:
	// all are voters of the bootstrap configuration (node.Config.Peers).
	Nodes int
	// Spares is the number of extra servers, numbered Nodes+1..Nodes+Spares. They boot at
	// the start with empty state and no peers (node.Config.Peers nil): they are outside
	// the configuration and wait to be added (World.Admin with node.AdminAddServer).
	// Every server, voter or spare, is a host: World.Nodes() is Nodes+Spares.
	Spares int
	// Duration is the virtual deadline of the run.
	Duration time.Duration

	Node NodeOptions
	Net  netsim.Config
	// Load is the built-in proposer of opaque commands (off by default; see Workload).
	Load Workload
	// Clients are the simulated key-value clients whose history is checked (see Clients).
	Clients Clients
	// Clocks are the hosts' clock faults.
	Clocks Clocks

	// NewServer builds a server from its configuration and durable state; nil means the
	// raftsim node (node.New). It must return a fresh, independent server every call.
	NewServer func(cfg node.Config, d node.DurableState) (Server, error)

	// Trace, if not nil, receives one human-readable line per processed event. It costs
	// formatting on every event, so it is meant for replays, not for seed sweeps.
	Trace func(line string)

	// Interrupt, if not nil, is polled every few thousand events (World.Run); when it
	// returns true the run stops at once, with Result.Interrupted set. It is the one hook
	// outside the determinism boundary: a runner sets it from outside the run (to enforce a
	// wall-clock limit per seed, say), and it may read the wall clock. It can only stop a
	// run, never change what the run did: every event before the stop is exactly the
	// event of an uninterrupted run of the same seed, and nothing it does enters the trace
	// hash. A run that must not be cut short leaves it nil.
	Interrupt func() bool

	// Record, if not nil, receives the run's decisions as the lines of a timed schedule
	// (schedule version 2, in the order they are made): every fault the scenario injected,
	// every client operation, every packet's fate other than one copy delivered after
	// Net.DelayMin (see timed.go). It does not change the run.
	Record func(a schedule.Action)
	// Replay, if not nil, is a timed schedule (version 2) whose decisions the run follows
	// instead of the seed's: the faults it lists, its client operations, its packet
	// fates (see timed.go). The caller applies its headers (nodes, clients, duration...)
	// to the configuration. Replaying a recording of the same configuration gives the
	// recorded run, with the same trace hash. With Record set too, the replay records
	// what it did (the lines it used, packets on the schedule's delay left out): a
	// schedule that replays to exactly this run.
	Replay *schedule.Schedule
}

// NodeOptions are the Raft timing and batching options given to every server.
type NodeOptions struct {
	HeartbeatInterval    time.Duration
	ElectionTimeoutMin   time.Duration
	ElectionTimeoutMax   time.Duration
	MaxEntriesPerMessage int
	// ReadMode, CheckQuorum, PreVote, MaxClockDrift and LearnerCatchUpMax are passed to
	// node.Config unchanged.
	ReadMode          node.ReadMode
	CheckQuorum       bool
	PreVote           bool
	MaxClockDrift     float64
	LearnerCatchUpMax int
	// SnapshotThreshold and SnapshotChunkSize are passed to node.Config unchanged (§7: a
	// server snapshots on its own once it has applied SnapshotThreshold entries past its
	// latest snapshot; 0 turns snapshots off).
	SnapshotThreshold int
	SnapshotChunkSize int
	// SnapshotDelay is the virtual time a snapshot write (node.Output.SaveSnapshot) takes
	// on the host's disk. The server keeps stepping meanwhile; a crash before the write
	// ends loses it. 0: the write ends at the next event (after every event already due
	// now).
	SnapshotDelay time.Duration
}

// Clients configures the simulated clients (Raft thesis §6.3). Each client has exactly one
// operation outstanding and issues the next one as soon as the last one ends (no think
// time); it retries an operation with the same sequence number until it gets an answer or
// gives up. See the package doc for the retry rules.
type Clients struct {
	Count int // number of clients (0: none); client c (1-based) is kv.ClientID(c)
	Keys  int // keys "k0".."k{Keys-1}", drawn uniformly
	// The operation mix: each operation is a get, put or append with these relative weights.
	GetWeight, PutWeight, AppendWeight int
	// RequestTimeout bounds one attempt: without an answer by then the client resends the
	// same command to another server.
	RequestTimeout time.Duration
	// GiveUpAfter bounds one operation, from its invocation: then the client gives up, the
	// operation's outcome is unknown, and the client moves on to its next sequence number.
	GiveUpAfter time.Duration
	// Start and Stop bound when clients invoke new operations (Stop 0: until the end). An
	// operation invoked before Stop runs to its end.
	Start, Stop time.Duration
	// NoHistory turns off the recording of the clients' history (Result.History stays
	// empty, so nothing is checked for linearizability). It exists to measure a long run's
	// memory without the history, which grows with the run by design; the clients behave
	// the same and the run's trace hash does not change.
	NoHistory bool
}

// Clocks configures the hosts' clocks (see clock.go). Each host has a monotonic clock and
// a wall clock, which run at one rate 1+d, with d drawn once per node, from its own
// stream, uniformly in [-DriftMax, DriftMax]. The monotonic clock reads virtual time *
// rate, 0 at the start; the wall clock reads that plus an offset, which starts at a date
// far from zero and is stepped, forward or backward, by World.JumpClock. Scenarios can
// also change a clock's rate (World.SetClockRate). The Lease Safety check fails a run
// only while the clocks the servers read keep the bound this sets (rates within
// [1-DriftMax, 1+DriftMax], never stepped; see World.checkLease).
type Clocks struct {
	DriftMax float64 // in [0, 1): 0.01 means each clock runs up to 1% fast or slow
	// Adversarial puts every clock at an edge of the bound instead of drawing its rate:
	// 1-DriftMax while its server leads (its lease lasts as long as the bound allows, in
	// real time) and 1+DriftMax otherwise (a follower's election timer runs out as soon
	// as the bound allows), switching when leadership moves. It is the worst case a lease
	// computed for DriftMax must survive. With DriftMax 0 it changes nothing.
	Adversarial bool
	// WallClockServers lists the servers whose timers (election timeout, heartbeats,
	// lease) read their host's wall clock, which JumpClock steps forward and back. The
	// others, by default all, read the monotonic clock, as real servers do (etcd, and any
	// Go program timing with time.Since), and see nothing of a wall-clock step. A server
	// timing its lease on the wall clock extends the lease by every backward step: a
	// design error, kept so that a scenario (clock-jump) can show what it costs.
	WallClockServers []node.ID
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
// 100 ms, 1% loss, 1% duplication; 10 virtual seconds; 5 clients issuing operations back
// to back on 10 keys (get 2 : put 1 : append 2), with a 100 ms attempt timeout and giving up
// after 1 s. The built-in proposer is off and clocks are perfect.
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
		Clients: Clients{
			Count: 5, Keys: 10,
			GetWeight: 2, PutWeight: 1, AppendWeight: 2,
			RequestTimeout: 100 * time.Millisecond,
			GiveUpAfter:    time.Second,
		},
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
	if c.Spares < 0 || c.Nodes+c.Spares > maxNodes {
		return fmt.Errorf("sim: config: Spares must be in [0, %d] (Nodes+Spares at most %d), got %d", maxNodes-c.Nodes, maxNodes, c.Spares)
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
	if err := c.Clients.validate(); err != nil {
		return err
	}
	if c.Node.SnapshotDelay < 0 {
		return fmt.Errorf("sim: config: Node.SnapshotDelay must not be negative, got %v", c.Node.SnapshotDelay)
	}
	if d := c.Clocks.DriftMax; !(d >= 0 && d < 1) { // also rejects NaN
		return fmt.Errorf("sim: config: Clocks.DriftMax must be in [0, 1), got %v", d)
	}
	for i, id := range c.Clocks.WallClockServers {
		if id < 1 || int(id) > c.Nodes+c.Spares || slices.Contains(c.Clocks.WallClockServers[:i], id) {
			return fmt.Errorf("sim: config: Clocks.WallClockServers must list distinct servers of 1..%d, got %v", c.Nodes+c.Spares, c.Clocks.WallClockServers)
		}
	}
	return c.nodeConfig(1, 0).Validate()
}

// maxClients bounds the number of clients, like maxNodes bounds the servers.
const maxClients = 1000

func (c *Clients) validate() error {
	if c.Count < 0 || c.Count > maxClients {
		return fmt.Errorf("sim: config: Clients.Count must be in [0, %d], got %d", maxClients, c.Count)
	}
	if c.Count == 0 {
		return nil
	}
	switch {
	case c.Keys < 1:
		return fmt.Errorf("sim: config: Clients.Keys must be positive when there are clients, got %d", c.Keys)
	case c.GetWeight < 0 || c.PutWeight < 0 || c.AppendWeight < 0:
		return fmt.Errorf("sim: config: client operation weights must not be negative, got get %d put %d append %d",
			c.GetWeight, c.PutWeight, c.AppendWeight)
	case c.GetWeight+c.PutWeight+c.AppendWeight == 0:
		return errors.New("sim: config: client operation weights are all zero: set GetWeight, PutWeight or AppendWeight")
	case c.RequestTimeout <= 0:
		return fmt.Errorf("sim: config: Clients.RequestTimeout must be positive, got %v", c.RequestTimeout)
	case c.GiveUpAfter < c.RequestTimeout:
		return fmt.Errorf("sim: config: Clients.GiveUpAfter (%v) must be at least RequestTimeout (%v)", c.GiveUpAfter, c.RequestTimeout)
	case c.Start < 0 || c.Stop < 0:
		return fmt.Errorf("sim: config: Clients.Start and Stop must not be negative, got %v and %v", c.Start, c.Stop)
	case c.Stop != 0 && c.Stop < c.Start:
		return fmt.Errorf("sim: config: Clients.Stop (%v) is before Start (%v)", c.Stop, c.Start)
	}
	return nil
}

// NodeConfig is the node.Config of server id in its life-th boot (lives count from 1), as
// a run boots it: the election timer's seed derives from the root seed, id and life. The
// model checker boots its servers with it, so that a counterexample replays with the same
// servers.
func (c *Config) NodeConfig(id node.ID, life uint64) node.Config {
	return c.nodeConfig(id, deriveSeed(c.Seed, streamNodeTimer, uint64(id), life))
}

// nodeConfig is the node.Config of server id with the given seed: the servers 1..Nodes
// boot with the bootstrap configuration as peers, spares with none. A restarted server
// gets the same Peers; its disk (log or snapshot) says which configuration is in force.
func (c *Config) nodeConfig(id node.ID, seed uint64) node.Config {
	var peers []node.ID
	if int(id) <= c.Nodes {
		peers = make([]node.ID, c.Nodes)
		for i := range peers {
			peers[i] = node.ID(i + 1)
		}
	}
	return node.Config{
		ID:                   id,
		Peers:                peers,
		ElectionTimeoutMin:   c.Node.ElectionTimeoutMin,
		ElectionTimeoutMax:   c.Node.ElectionTimeoutMax,
		HeartbeatInterval:    c.Node.HeartbeatInterval,
		MaxEntriesPerMessage: c.Node.MaxEntriesPerMessage,
		ReadMode:             c.Node.ReadMode,
		CheckQuorum:          c.Node.CheckQuorum,
		PreVote:              c.Node.PreVote,
		MaxClockDrift:        c.Node.MaxClockDrift,
		LearnerCatchUpMax:    c.Node.LearnerCatchUpMax,
		SnapshotThreshold:    c.Node.SnapshotThreshold,
		SnapshotChunkSize:    c.Node.SnapshotChunkSize,
		Seed:                 seed,
	}
}
