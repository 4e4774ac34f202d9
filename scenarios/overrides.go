package scenarios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"raftsim/node"
	"raftsim/sim"
)

// Overrides change a scenario's node options, for example from the command line
// (raftsim run -reads local). The zero value changes nothing. Their error messages speak
// in command-line flags, since that is where they come from.
type Overrides struct {
	// Reads is the read mode: "readindex", "lease" or "local" ("": the scenario's own).
	// "lease" turns CheckQuorum on unless CheckQuorum says otherwise.
	Reads string
	// CheckQuorum, if not nil, turns CheckQuorum on or off.
	CheckQuorum *bool
	// PreVote, if not nil, turns PreVote on or off.
	PreVote *bool
}

// Validate reports a problem with the overrides themselves, whatever the scenario: an
// unknown read mode, or lease reads with CheckQuorum turned off. The error says what is
// valid.
func (o Overrides) Validate() error {
	if o.Reads == "" {
		return nil
	}
	mode, err := node.ParseReadMode(o.Reads)
	if err != nil {
		return fmt.Errorf("-reads: %w", err)
	}
	if mode == node.ReadLease && o.CheckQuorum != nil && !*o.CheckQuorum {
		return errors.New("-reads lease needs CheckQuorum: drop -checkquorum=false")
	}
	return nil
}

// Apply applies the overrides to c. It returns an error that says what is valid for a bad
// value, or for a combination the node refuses.
func (o Overrides) Apply(c *sim.Config) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Reads != "" {
		mode, _ := node.ParseReadMode(o.Reads) // valid: checked by Validate
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
		// Validate refused -reads lease with -checkquorum=false, so the lease is the
		// scenario's own choice (swarm picks it for some seeds).
		return errors.New("this run reads by lease, which needs CheckQuorum: with -checkquorum=false add -reads readindex (or -reads local)")
	}
	return nil
}

// Check reports whether Run(s, seed, Options{Overrides: o}) can start: it applies o to
// the scenario's configuration for seed and validates the result, as Run does, without
// running anything. A nil error means Run has no setup error (Outcome.Err) to report.
func (o Overrides) Check(s Scenario, seed uint64) error {
	cfg := s.Config(seed)
	if err := o.Apply(&cfg); err != nil {
		return err
	}
	return cfg.Validate()
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

// MaxSeed is the largest seed. Seeds are 1..MaxSeed: a run's root seed is a uint64, and 0
// is refused so that a flag left at its zero value cannot pass for a seed.
const MaxSeed = math.MaxUint64

// MaxSweep is the most seeds one -seeds sweep may run (raftsim run, and go test for this
// package): a sweep keeps every seed's outcome until it ends, and a million seeds is
// already hours of CPU. Sweep further with several runs.
const MaxSweep = 1_000_000

// ParseSeed parses a seed as written on a command line: a decimal integer from 1 to
// MaxSeed, without sign or spaces. The error says which rule s broke and what is valid.
func ParseSeed(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && isDecimal(s): // ParseUint says ErrRange for "1e30x" too
		return 0, fmt.Errorf("seed %s is out of range: seeds are 1..%d", shorten(s), uint64(MaxSeed))
	case err != nil || n == 0:
		return 0, fmt.Errorf("malformed seed %q: a seed is a positive decimal integer, 1..%d", shorten(s), uint64(MaxSeed))
	}
	return n, nil
}

// SeedFlags are the -seed and -seeds flags of a command line as given, so that raftsim
// and go test (for this package) read them, and refuse the same mistakes, alike.
type SeedFlags struct {
	// Seed and Seeds are the flags' values.
	Seed, Seeds string
	// SeedSet and SeedsSet say whether each flag was given (an empty value given is an
	// error, not "no flag").
	SeedSet, SeedsSet bool
}

// Select returns the seeds the flags choose: -seed N is seed N alone, -seeds N is seeds
// 1..N, with N from 1 to maxSweep. It returns nil and no error if neither flag was given
// (the caller's default applies). Both flags together are an error.
func (f SeedFlags) Select(maxSweep int) ([]uint64, error) {
	switch {
	case f.SeedSet && f.SeedsSet:
		return nil, errors.New("give -seed N (one seed) or -seeds N (seeds 1..N), not both")
	case f.SeedSet:
		n, err := ParseSeed(f.Seed)
		if err != nil {
			return nil, fmt.Errorf("-seed: %w", err)
		}
		return []uint64{n}, nil
	case f.SeedsSet:
		n, err := strconv.ParseUint(f.Seeds, 10, 64)
		if !isDecimal(f.Seeds) || err == nil && n == 0 {
			return nil, fmt.Errorf("-seeds %q: want how many seeds to run (seeds 1..N), N from 1 to %d", shorten(f.Seeds), maxSweep)
		}
		if err != nil || n > uint64(maxSweep) {
			return nil, fmt.Errorf("-seeds %s is too many: a sweep runs 1 to %d seeds", shorten(f.Seeds), maxSweep)
		}
		seeds := make([]uint64, n)
		for i := range seeds {
			seeds[i] = uint64(i + 1)
		}
		return seeds, nil
	}
	return nil, nil
}

// isDecimal reports whether s is decimal digits only (so that a value out of range is
// told from a malformed one: strconv.ParseUint reports the overflow first).
func isDecimal(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// shorten cuts a long flag value to a length an error message can quote.
func shorten(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
