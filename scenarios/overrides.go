package scenarios

import (
	"fmt"
	"strings"

	"raftsim/node"
	"raftsim/sim"
)

// Overrides change a scenario's node options, for example from the command line
// (raftsim run -reads local). The zero value changes nothing.
type Overrides struct {
	// Reads is the read mode: "readindex", "lease" or "local" ("": the scenario's own).
	// "lease" turns CheckQuorum on unless CheckQuorum says otherwise.
	Reads string
	// CheckQuorum, if not nil, turns CheckQuorum on or off.
	CheckQuorum *bool
	// PreVote, if not nil, turns PreVote on or off.
	PreVote *bool
}

// Apply applies the overrides to c. It returns an error that says what is valid for a bad
// value, or for a combination the node refuses.
func (o Overrides) Apply(c *sim.Config) error {
	if o.Reads != "" {
		mode, err := node.ParseReadMode(o.Reads)
		if err != nil {
			return err
		}
		c.Node.ReadMode = mode
		if mode == node.ReadLease && o.CheckQuorum == nil {
			c.Node.CheckQuorum = true
		}
	}
	if o.CheckQuorum != nil {
		c.Node.CheckQuorum = *o.CheckQuorum
	}
	if o.PreVote != nil {
		c.Node.PreVote = *o.PreVote
	}
	if c.Node.ReadMode == node.ReadLease && !c.Node.CheckQuorum {
		return fmt.Errorf("-reads lease needs CheckQuorum: drop -checkquorum=false")
	}
	return nil
}

// Flags renders the overrides as command-line flags (with a leading space), for replay
// commands; "" if there are none.
func (o Overrides) Flags() string {
	var b strings.Builder
	if o.Reads != "" {
		fmt.Fprintf(&b, " -reads %s", o.Reads)
	}
	if o.CheckQuorum != nil {
		fmt.Fprintf(&b, " -checkquorum=%v", *o.CheckQuorum)
	}
	if o.PreVote != nil {
		fmt.Fprintf(&b, " -prevote=%v", *o.PreVote)
	}
	return b.String()
}
