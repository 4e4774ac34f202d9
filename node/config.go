package node

import (
	"errors"
	"fmt"
	"time"
)

// Config configures one server.
type Config struct {
	ID ID
	// Peers is the bootstrap configuration's voters: the configuration in force until
	// the snapshot or the log says otherwise. Order does not matter; IDs must be positive
	// and distinct. A server that joins an existing cluster starts with no peers (it is
	// not a member) and learns the configuration from the leader's log or snapshot.
	Peers []ID

	// LearnerCatchUpMax is how far behind the leader's last index a learner may be for
	// the leader to promote it to voter (0 means 2*MaxEntriesPerMessage).
	LearnerCatchUpMax int

	// The election timeout is drawn uniformly from [ElectionTimeoutMin, ElectionTimeoutMax)
	// each time the timer is reset (§5.2), from the node's own seeded stream.
	ElectionTimeoutMin time.Duration
	ElectionTimeoutMax time.Duration
	// HeartbeatInterval is how often a leader sends AppendEntries to each follower when it
	// has nothing else to send. It must be below ElectionTimeoutMin.
	HeartbeatInterval time.Duration

	// MaxEntriesPerMessage bounds the entries in one AppendEntries (0 means 64).
	MaxEntriesPerMessage int

	// ReadMode is how a leader serves reads (gets); see ReadMode. The zero value is
	// ReadIndex.
	ReadMode ReadMode

	// CheckQuorum makes a leader step down when it has not heard from a majority within
	// ElectionTimeoutMax, and makes a follower that heard from a leader within
	// ElectionTimeoutMin ignore RequestVotes (so a partitioned or removed server cannot
	// depose a healthy leader). ReadLease requires it.
	CheckQuorum bool

	// PreVote makes a server whose election timer fires first ask whether a majority would
	// vote for it, without raising its term, and become a candidate only if so (thesis
	// §9.6): a server that cannot win does not disrupt the cluster with higher terms.
	PreVote bool

	// MaxClockDrift bounds the rate difference between any server's clock and real time
	// (0.01 means 1%). ReadLease shortens the lease by it; see ReadMode.
	MaxClockDrift float64

	// MaxPendingRequests bounds the client requests a leader holds waiting for commit or
	// for a read to be confirmed (0 means 1024). Past it the leader answers ReplyBusy.
	MaxPendingRequests int

	// SnapshotThreshold is how many entries a node applies after its latest snapshot
	// before it takes a new one (0: never; §7, "each server takes snapshots
	// independently").
	SnapshotThreshold int
	// SnapshotChunkSize is the most bytes of snapshot data one InstallSnapshot message
	// carries (0 means 4096).
	SnapshotChunkSize int

	// AsyncStorage says the host makes writes durable in the background and reports them
	// with InputDurable (see durability.go): the node then grants no vote, acknowledges no
	// entry and counts none of its own log toward a commit before it is durable. Off, the
	// host makes each output's durable part durable before the output's messages leave.
	AsyncStorage bool

	// Seed seeds the node's random stream (election timeouts). A host derives it from the
	// run's root seed; a restarted node gets a fresh seed from the same derivation so its
	// timeouts differ from its previous life.
	Seed uint64
}

const (
	defaultMaxEntriesPerMessage = 64
	defaultMaxPendingRequests   = 1024
	defaultSnapshotChunkSize    = 4096
)

// ReadMode is how a leader serves linearizable reads (thesis §6.4).
type ReadMode uint8

// Read modes.
const (
	// ReadIndex: the leader records its commit index, confirms it is still leader with a
	// round of heartbeats acknowledged by a majority, waits until it has applied up to
	// the recorded index, then answers (thesis §6.4). A new leader first commits an entry
	// of its own term (its no-op). Linearizable.
	ReadIndex ReadMode = iota
	// ReadLease: the leader answers from its state while its lease holds: the lease starts
	// when a majority acknowledged a broadcast and lasts
	// ElectionTimeoutMin*(1-MaxClockDrift)/(1+MaxClockDrift) of the leader's clock, since
	// no follower of that majority votes for another server within ElectionTimeoutMin of
	// its own clock (CheckQuorum) (thesis §6.4.1). Linearizable while clocks drift within
	// MaxClockDrift.
	ReadLease
	// ReadLocal: a node that believes it is leader answers from its state at once, with no
	// check. Not linearizable: a deposed leader serves stale reads. Kept so scenarios can
	// show why.
	ReadLocal
	readModeLimit
)

func (m ReadMode) String() string {
	switch m {
	case ReadIndex:
		return "readindex"
	case ReadLease:
		return "lease"
	case ReadLocal:
		return "local"
	}
	return fmt.Sprintf("readmode(%d)", uint8(m))
}

// ParseReadMode parses "readindex", "lease" or "local".
func ParseReadMode(s string) (ReadMode, error) {
	for m := ReadIndex; m < readModeLimit; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown read mode %q: valid modes are readindex, lease, local", s)
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	if c.ID <= None {
		return fmt.Errorf("node: config: ID must be positive, got %d", c.ID)
	}
	for i, p := range c.Peers {
		if p <= None {
			return fmt.Errorf("node: config: peer IDs must be positive, got %d", p)
		}
		for _, q := range c.Peers[:i] {
			if p == q {
				return fmt.Errorf("node: config: peer %d listed twice", p)
			}
		}
	}
	if c.HeartbeatInterval <= 0 {
		return fmt.Errorf("node: config: HeartbeatInterval must be positive, got %v", c.HeartbeatInterval)
	}
	if c.ElectionTimeoutMin <= c.HeartbeatInterval {
		return fmt.Errorf("node: config: ElectionTimeoutMin (%v) must exceed HeartbeatInterval (%v)",
			c.ElectionTimeoutMin, c.HeartbeatInterval)
	}
	if c.ElectionTimeoutMax <= c.ElectionTimeoutMin {
		return fmt.Errorf("node: config: ElectionTimeoutMax (%v) must exceed ElectionTimeoutMin (%v)",
			c.ElectionTimeoutMax, c.ElectionTimeoutMin)
	}
	if c.ReadMode >= readModeLimit {
		return fmt.Errorf("node: config: unknown ReadMode %d", c.ReadMode)
	}
	if c.ReadMode == ReadLease && !c.CheckQuorum {
		return errors.New("node: config: ReadLease needs CheckQuorum: a lease is only safe if followers refuse votes while they hear from the leader")
	}
	if c.MaxClockDrift < 0 || c.MaxClockDrift >= 1 {
		return fmt.Errorf("node: config: MaxClockDrift must be in [0, 1), got %v", c.MaxClockDrift)
	}
	if c.MaxPendingRequests < 0 {
		return fmt.Errorf("node: config: MaxPendingRequests must not be negative, got %d", c.MaxPendingRequests)
	}
	if c.LearnerCatchUpMax < 0 {
		return fmt.Errorf("node: config: LearnerCatchUpMax must not be negative, got %d", c.LearnerCatchUpMax)
	}
	if c.SnapshotThreshold < 0 || c.SnapshotChunkSize < 0 {
		return fmt.Errorf("node: config: SnapshotThreshold and SnapshotChunkSize must not be negative, got %d and %d",
			c.SnapshotThreshold, c.SnapshotChunkSize)
	}
	if c.MaxEntriesPerMessage < 0 {
		return fmt.Errorf("node: config: MaxEntriesPerMessage must not be negative, got %d", c.MaxEntriesPerMessage)
	}
	return nil
}
