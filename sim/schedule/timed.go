package schedule

import (
	"fmt"
	"time"
)

// This file holds the types of version 2, the timed form: a seeded scenario run, exported
// (`raftsim run -schedule-out`), shrunk (`raftsim shrink`) or kept as a regression case.
// A version 2 schedule names a scenario and a seed: the scenario's configuration, script
// and assertion are used as they are, and the schedule replaces what the seed would
// otherwise decide outside the servers: the faults the script injects (with their times),
// the clients' operations, and each packet's fate. The servers' own randomness (their
// election timeouts) still comes from the seed.

// VersionTimed is the timed version of the format (version 2).
const VersionTimed = 2

// MaxTimedActions is the most action lines of one version 2 schedule: an exported run
// lists every packet it sent.
const MaxTimedActions = 20_000_000

// DefaultDelay is a version 2 schedule's delay when it has no delay header: the delay of
// a packet that has no packet line.
const DefaultDelay = time.Millisecond

// Timed holds a version 2 schedule's headers beyond those of version 1 (scenario, seed,
// expect). A zero field leaves the scenario's own setting.
type Timed struct {
	// Nodes overrides the scenario's number of voters (nodes N, 1..MaxServers); 0: the
	// scenario's. Shrinking lowers it.
	Nodes int
	// Clients overrides the scenario's number of clients (clients N, 1..MaxClients); 0:
	// the scenario's.
	Clients int
	// Duration ends the run early (duration D, positive); 0: the scenario's duration.
	Duration time.Duration
	// Delay is the delay of every packet that has no packet line (delay D, >= 0): a
	// plain delivery. Format always writes it; Parse gives DefaultDelay when absent.
	Delay time.Duration
	// ReadMode overrides the read mode (read-mode readindex|lease|local); "": the
	// scenario's.
	ReadMode string
	// PreVote and CheckQuorum override the scenario's (pre-vote on|off, check-quorum
	// on|off).
	PreVote, CheckQuorum Switch
}

// Switch is an optional on/off header of version 2.
type Switch uint8

// Switch values.
const (
	SwitchUnset Switch = iota // the header is absent: the scenario's own choice
	SwitchOn
	SwitchOff
)

// MaxEndpoints is the number of distinct endpoints a schedule can name: the servers, the
// clients and the admin client.
const MaxEndpoints = MaxServers + MaxClients + 1

// EndpointIndex is e's position in a Partition's Groups: servers 1..MaxServers at
// 0..MaxServers-1, clients after them, the admin client last; -1 for an invalid endpoint.
func EndpointIndex(e Endpoint) int {
	switch {
	case e.Kind == EndpointServer && e.N >= 1 && e.N <= MaxServers:
		return e.N - 1
	case e.Kind == EndpointClient && e.N >= 1 && e.N <= MaxClients:
		return MaxServers + e.N - 1
	case e.Kind == EndpointAdmin && e.N == 0:
		return MaxEndpoints - 1
	}
	return -1
}

// IndexEndpoint is the endpoint at position i of a Partition's Groups (EndpointIndex's
// inverse).
func IndexEndpoint(i int) Endpoint {
	switch {
	case i < MaxServers:
		return Endpoint{EndpointServer, i + 1}
	case i < MaxServers+MaxClients:
		return Endpoint{EndpointClient, i - MaxServers + 1}
	}
	return AdminEndpoint()
}

// Partition is the groups of a partition action: Groups[EndpointIndex(e)] is the group
// (1, 2, ...) endpoint e is listed in, 0 if it is not listed. Unlisted servers form one
// more group; an unlisted client or admin client reaches every server (as in
// sim.World.Partition). Canonical form numbers the groups in the order of their first
// member by EndpointIndex, so that two partitions that split the endpoints alike are
// equal.
type Partition struct {
	Groups [MaxEndpoints]uint8
}

// Fate is what the network did with one packet (a version 2 packet line). A packet has
// one copy, or two when the network duplicated it; each copy is lost or delivered after
// its delay. A packet on a cut link is dropped whatever its fate says.
type Fate struct {
	// Dup: the network made a second copy.
	Dup bool
	// Lost[i] says copy i was lost; Delays[i] is copy i's delay when it was not (zero
	// otherwise). Copy 1 exists only with Dup.
	Lost   [2]bool
	Delays [2]time.Duration
}

// Copies is how many copies of the packet are delivered, and their delays in copy order.
func (f Fate) Copies() (delays [2]time.Duration, copies int) {
	n := 1
	if f.Dup {
		n = 2
	}
	for i := 0; i < n; i++ {
		if !f.Lost[i] {
			delays[copies] = f.Delays[i]
			copies++
		}
	}
	return delays, copies
}

// Plain reports whether f is one copy delivered after delay d.
func (f Fate) Plain(d time.Duration) bool { return f == Fate{Delays: [2]time.Duration{d}} }

func (s Switch) String() string {
	switch s {
	case SwitchUnset:
		return "unset"
	case SwitchOn:
		return "on"
	case SwitchOff:
		return "off"
	}
	return fmt.Sprintf("switch(%d)", uint8(s))
}

// Valid reports whether s is a known Switch value.
func (s Switch) Valid() bool { return s <= SwitchOff }

// NewPartition is the partition into the given groups, in canonical form: each group is
// a non-empty list of endpoints, and an endpoint is listed at most once. It returns an
// *Error for an empty group, an invalid endpoint (not in EndpointIndex's range), an
// endpoint listed twice, or no group at all.
func NewPartition(groups ...[]Endpoint) (Partition, error) {
	var p Partition
	if len(groups) == 0 {
		return p, &Error{Msg: "a partition with no group; want at least one group of endpoints"}
	}
	for g, list := range groups {
		if len(list) == 0 {
			return Partition{}, &Error{Msg: fmt.Sprintf("group %d of the partition is empty; a group lists at least one endpoint", g+1)}
		}
		for _, e := range list {
			if msg := p.add(e, g+1); msg != "" {
				return Partition{}, &Error{Msg: msg}
			}
		}
	}
	return p.Canonical(), nil
}

// add puts e in group g (numbered as written, from 1), or says why it cannot.
func (p *Partition) add(e Endpoint, g int) string {
	i := EndpointIndex(e)
	switch {
	case i < 0:
		return fmt.Sprintf("bad endpoint %v in the partition; want a server n1..n%d, a client c1..c%d or admin", e, MaxServers, MaxClients)
	case p.Groups[i] != 0:
		return fmt.Sprintf("%v is listed twice in the partition (groups %d and %d); an endpoint is in at most one group", e, p.Groups[i], g)
	}
	p.Groups[i] = uint8(g)
	return ""
}

// Canonical is p with its groups renumbered 1, 2, ... in the order of their first member
// by EndpointIndex (group numbers as such carry no meaning).
func (p Partition) Canonical() Partition {
	var renumber [256]uint8
	var next uint8
	for i, g := range p.Groups {
		if g != 0 {
			if renumber[g] == 0 {
				next++
				renumber[g] = next
			}
			p.Groups[i] = renumber[g]
		}
	}
	return p
}

// groupCount is the number of groups of a canonical p (its highest group number).
func (p Partition) groupCount() int {
	n := 0
	for _, g := range p.Groups {
		n = max(n, int(g))
	}
	return n
}

// Lists is p's groups in canonical order (by first member in EndpointIndex order), each
// group's members in EndpointIndex order; nil for a partition with no group.
func (p Partition) Lists() [][]Endpoint {
	c := p.Canonical()
	lists := make([][]Endpoint, c.groupCount())
	for i, g := range c.Groups {
		if g != 0 {
			lists[g-1] = append(lists[g-1], IndexEndpoint(i))
		}
	}
	if len(lists) == 0 {
		return nil
	}
	return lists
}

// String is p in the format's syntax, its groups in canonical order separated by " | ":
// "n1 n2 c1 | n3".
func (p Partition) String() string { return string(p.appendTo(nil)) }

func (p Partition) appendTo(b []byte) []byte {
	for g, list := range p.Lists() {
		if g > 0 {
			b = append(b, " |"...)
		}
		for j, e := range list {
			if g > 0 || j > 0 {
				b = append(b, ' ')
			}
			b = e.appendTo(b)
		}
	}
	return b
}
