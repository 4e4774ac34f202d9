package node

import (
	"errors"
	"fmt"
	"time"
)

// Config configures one server.
type Config struct {
	ID ID
	// Peers is the voting configuration, including ID. Order does not matter; IDs must be
	// positive and distinct.
	Peers []ID

	// The election timeout is drawn uniformly from [ElectionTimeoutMin, ElectionTimeoutMax)
	// each time the timer is reset (§5.2), from the node's own seeded stream.
	ElectionTimeoutMin time.Duration
	ElectionTimeoutMax time.Duration
	// HeartbeatInterval is how often a leader sends AppendEntries to each follower when it
	// has nothing else to send. It must be below ElectionTimeoutMin.
	HeartbeatInterval time.Duration

	// MaxEntriesPerMessage bounds the entries in one AppendEntries (0 means 64).
	MaxEntriesPerMessage int

	// Seed seeds the node's random stream (election timeouts). A host derives it from the
	// run's root seed; a restarted node gets a fresh seed from the same derivation so its
	// timeouts differ from its previous life.
	Seed uint64
}

const defaultMaxEntriesPerMessage = 64

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	if c.ID <= None {
		return fmt.Errorf("node: config: ID must be positive, got %d", c.ID)
	}
	if len(c.Peers) == 0 {
		return errors.New("node: config: Peers is empty")
	}
	self := false
	for i, p := range c.Peers {
		if p <= None {
			return fmt.Errorf("node: config: peer IDs must be positive, got %d", p)
		}
		for _, q := range c.Peers[:i] {
			if p == q {
				return fmt.Errorf("node: config: peer %d listed twice", p)
			}
		}
		if p == c.ID {
			self = true
		}
	}
	if !self {
		return fmt.Errorf("node: config: Peers %v does not include the node's own ID %d", c.Peers, c.ID)
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
	if c.MaxEntriesPerMessage < 0 {
		return fmt.Errorf("node: config: MaxEntriesPerMessage must not be negative, got %d", c.MaxEntriesPerMessage)
	}
	return nil
}
