// Package kv is the replicated state machine that raftsim's Raft nodes apply committed
// entries to: a key-value store of strings (get, put, append) with exactly-once client
// sessions (Raft thesis §6.3).
//
// Sessions. Every command carries its client's ID and a sequence number. A client has at
// most one command outstanding and numbers its commands 1, 2, 3...; it retries a command
// with the same number until it gets an answer or gives up. The store keeps, per client,
// the last sequence number applied and its result. A command whose number is the last
// applied one is a retry: it is answered with the stored result and not applied again. A
// command with a smaller number is stale (the client has moved on) and is ignored. So a
// retried append takes effect once, however many copies of it reach the log.
//
// Sessions never expire. Expiry would have to be decided from the log alone (the same on
// every replica, never from a local clock); with the bounded number of simulated clients
// there is no need for it, so there is none.
//
// Determinism: the store keeps maps for lookups only and sorted key lists for anything that
// must visit every entry, so that nothing depends on Go's map iteration order.
//
// Imports: the standard library only.
package kv

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ClientID names a client. Clients are numbered from 1.
type ClientID uint64

// Op is a command's operation.
type Op uint8

// The operations.
const (
	OpGet Op = iota + 1
	OpPut
	OpAppend
)

func (o Op) String() string {
	switch o {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpAppend:
		return "append"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Valid reports whether o is a known operation.
func (o Op) Valid() bool { return o >= OpGet && o <= OpAppend }

// Command is one client operation.
type Command struct {
	Client ClientID
	Seq    uint64 // the client's sequence number, from 1
	Op     Op
	Key    string
	Value  string // put and append: the argument
}

func (c Command) String() string {
	switch c.Op {
	case OpGet:
		return fmt.Sprintf("c%d#%d get(%q)", c.Client, c.Seq, c.Key)
	default:
		return fmt.Sprintf("c%d#%d %v(%q, %q)", c.Client, c.Seq, c.Op, c.Key, c.Value)
	}
}

// Encode writes c as the data of a log entry: "client seq op keylen:key value". The key is
// length-prefixed so that keys and values may hold any byte.
func (c Command) Encode() string {
	var b strings.Builder
	b.Grow(24 + len(c.Key) + len(c.Value))
	b.WriteString(strconv.FormatUint(uint64(c.Client), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(c.Seq, 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(c.Op), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(c.Key)))
	b.WriteByte(':')
	b.WriteString(c.Key)
	b.WriteByte(' ')
	b.WriteString(c.Value)
	return b.String()
}

// errMalformed is wrapped by every Decode error.
var errMalformed = errors.New("kv: malformed command")

// Decode parses the data of a log entry written by Encode.
func Decode(s string) (Command, error) {
	var c Command
	fields := [3]uint64{}
	for i := range fields {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return c, fmt.Errorf("%w: %q: missing field %d", errMalformed, s, i+1)
		}
		n, err := strconv.ParseUint(s[:sp], 10, 64)
		if err != nil {
			return c, fmt.Errorf("%w: %q: field %d: %v", errMalformed, s, i+1, err)
		}
		fields[i], s = n, s[sp+1:]
	}
	c.Client, c.Seq, c.Op = ClientID(fields[0]), fields[1], Op(fields[2])
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return c, fmt.Errorf("%w: missing key length", errMalformed)
	}
	klen, err := strconv.Atoi(s[:colon])
	// Compared without adding to klen, which may be near the int limit and wrap.
	if err != nil || klen < 0 || klen > len(s)-colon-1 {
		return c, fmt.Errorf("%w: bad key length %q", errMalformed, s[:colon])
	}
	rest := s[colon+1:]
	c.Key = rest[:klen]
	rest = rest[klen:]
	if len(rest) == 0 || rest[0] != ' ' {
		return c, fmt.Errorf("%w: missing value separator", errMalformed)
	}
	c.Value = rest[1:]
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// Validate reports whether c is a well-formed command.
func (c Command) Validate() error {
	switch {
	case c.Client == 0:
		return fmt.Errorf("%w: client 0", errMalformed)
	case c.Seq == 0:
		return fmt.Errorf("%w: sequence number 0", errMalformed)
	case !c.Op.Valid():
		return fmt.Errorf("%w: unknown operation %d", errMalformed, c.Op)
	case c.Op == OpGet && c.Value != "":
		return fmt.Errorf("%w: get with a value", errMalformed)
	}
	return nil
}

// Outcome says what applying a command did.
type Outcome uint8

// Outcomes of Apply.
const (
	// Applied: the command took effect now.
	Applied Outcome = iota + 1
	// Duplicate: the command was the client's last applied one; its stored result is
	// returned and nothing changes.
	Duplicate
	// Stale: the client has already moved past this command; nothing changes and there is
	// no result to return.
	Stale
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// session is what the store remembers of one client.
type session struct {
	lastSeq uint64
	result  string
	rh      fnvState // result's running hash: an append's result is the whole value
}

// Store is the key-value state machine with its session table. The zero value is not
// ready; use NewStore.
type Store struct {
	data     map[string]value
	keys     []string // the keys of data, sorted: for deterministic traversal
	sessions map[ClientID]session
	clients  []ClientID // the keys of sessions, sorted
	hash     uint64     // see Hash
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{data: map[string]value{}, sessions: map[ClientID]session{}}
}

// Get returns the value of key ("" if absent).
func (s *Store) Get(key string) string { return s.data[key].s }

// LastApplied returns the last sequence number applied for client and its result, or
// ok == false if the client has no session.
func (s *Store) LastApplied(client ClientID) (seq uint64, result string, ok bool) {
	ss, ok := s.sessions[client]
	return ss.lastSeq, ss.result, ok
}

// Apply applies a committed write command (put or append) and returns its result: "" for
// put, the new value for append. See the package doc for duplicates and stale commands.
// Apply panics on a get or an invalid command: reads never enter the log, and the node
// validates commands before proposing them.
func (s *Store) Apply(c Command) (string, Outcome) {
	if err := c.Validate(); err != nil || c.Op == OpGet {
		panic(fmt.Sprintf("kv: invariant broken: applying %v (%v)", c, err))
	}
	ss, known := s.sessions[c.Client]
	switch {
	case known && c.Seq == ss.lastSeq:
		return ss.result, Duplicate
	case known && c.Seq < ss.lastSeq:
		return "", Stale
	}
	var result string
	rh := fnvStart
	switch c.Op {
	case OpPut:
		s.set(c.Key, c.Value)
	case OpAppend:
		old, ok := s.data[c.Key]
		if !ok {
			old.h = fnvStart
		}
		result, rh = old.s+c.Value, old.h.extend(c.Value)
		s.setValue(c.Key, value{s: result, h: rh})
	}
	if !known {
		i, _ := slices.BinarySearch(s.clients, c.Client)
		s.clients = slices.Insert(s.clients, i, c.Client)
	}
	s.setSession(c.Client, session{lastSeq: c.Seq, result: result, rh: rh})
	return result, Applied
}

func (s *Store) set(key, v string) { s.setValue(key, value{s: v, h: fnvStart.extend(v)}) }

// setValue stores v at key and updates the state hash: O(len(key)), not O(len(value)),
// since v carries its own running hash (appends make values long).
func (s *Store) setValue(key string, v value) {
	if old, ok := s.data[key]; ok {
		s.hash -= hashPair(key, old.h)
	} else {
		i, _ := slices.BinarySearch(s.keys, key)
		s.keys = slices.Insert(s.keys, i, key)
	}
	s.data[key] = v
	s.hash += hashPair(key, v.h)
}

// setSession records a client's session; the client must already be in s.clients.
func (s *Store) setSession(id ClientID, ss session) {
	if old, ok := s.sessions[id]; ok {
		s.hash -= hashSession(id, old)
	}
	s.sessions[id] = ss
	s.hash += hashSession(id, ss)
}

// Keys returns the keys in ascending order (read-only).
func (s *Store) Keys() []string { return s.keys }

// Clients returns the clients with a session, in ascending order (read-only).
func (s *Store) Clients() []ClientID { return s.clients }

// Clone returns an independent copy of s (see CloneInto).
func (s *Store) Clone() *Store {
	c := new(Store)
	s.CloneInto(c)
	return c
}

// Equal reports whether s and o hold the same data and sessions.
func (s *Store) Equal(o *Store) bool {
	if s.hash != o.hash || !slices.Equal(s.keys, o.keys) || !slices.Equal(s.clients, o.clients) {
		return false
	}
	for _, k := range s.keys {
		if s.data[k] != o.data[k] {
			return false
		}
	}
	for _, id := range s.clients {
		if s.sessions[id] != o.sessions[id] {
			return false
		}
	}
	return true
}
