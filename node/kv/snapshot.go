package kv

import (
	"fmt"
	"strconv"
	"strings"
)

// This file makes a Store a value that can be snapshotted (Raft §7): a deterministic
// encoding of the data and the session table (exactly-once must survive a restore), and
// an incremental hash of the whole state so that checkers can compare replicas' states
// cheaply after every apply.

// snapshotMagic starts every encoding, with its version.
const snapshotMagic = "kv1\n"

// Encode writes the store's data and sessions, in key and client order: equal stores
// encode to equal strings on every machine.
func (s *Store) Encode() string {
	var b strings.Builder
	b.WriteString(snapshotMagic)
	writeInt(&b, uint64(len(s.keys)))
	for _, k := range s.keys {
		writeStr(&b, k)
		writeStr(&b, s.data[k].s)
	}
	writeInt(&b, uint64(len(s.clients)))
	for _, id := range s.clients {
		ss := s.sessions[id]
		writeInt(&b, uint64(id))
		writeInt(&b, ss.lastSeq)
		writeStr(&b, ss.result)
	}
	return b.String()
}

func writeInt(b *strings.Builder, n uint64) {
	b.WriteString(strconv.FormatUint(n, 10))
	b.WriteByte(' ')
}

func writeStr(b *strings.Builder, s string) {
	writeInt(b, uint64(len(s)))
	b.WriteString(s)
}

// decoder reads an encoding written by Encode.
type decoder struct {
	s   string
	err error
}

func (d *decoder) int() uint64 {
	if d.err != nil {
		return 0
	}
	sp := strings.IndexByte(d.s, ' ')
	if sp < 0 {
		d.err = fmt.Errorf("kv: snapshot: truncated")
		return 0
	}
	n, err := strconv.ParseUint(d.s[:sp], 10, 64)
	if err != nil {
		d.err = fmt.Errorf("kv: snapshot: bad number %q", d.s[:sp])
		return 0
	}
	d.s = d.s[sp+1:]
	return n
}

func (d *decoder) str() string {
	n := d.int()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)) {
		d.err = fmt.Errorf("kv: snapshot: string of %d bytes with %d left", n, len(d.s))
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

// Restore rebuilds a store from Encode's output. It returns an error for anything Encode
// could not have written (truncation, unsorted or repeated keys or clients, trailing
// bytes).
func Restore(data string) (*Store, error) {
	if !strings.HasPrefix(data, snapshotMagic) {
		return nil, fmt.Errorf("kv: snapshot: missing header")
	}
	d := &decoder{s: data[len(snapshotMagic):]}
	s := NewStore()
	for n := d.int(); n > 0 && d.err == nil; n-- {
		k, v := d.str(), d.str()
		if len(s.keys) > 0 && k <= s.keys[len(s.keys)-1] {
			return nil, fmt.Errorf("kv: snapshot: key %q out of order", k)
		}
		s.set(k, v)
	}
	for n := d.int(); n > 0 && d.err == nil; n-- {
		id, seq, result := ClientID(d.int()), d.int(), d.str()
		if id == 0 || seq == 0 || (len(s.clients) > 0 && id <= s.clients[len(s.clients)-1]) {
			return nil, fmt.Errorf("kv: snapshot: bad session of client %d seq %d", id, seq)
		}
		s.clients = append(s.clients, id)
		s.setSession(id, session{lastSeq: seq, result: result, rh: fnvStart.extend(result)})
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.s != "" {
		return nil, fmt.Errorf("kv: snapshot: %d trailing bytes", len(d.s))
	}
	return s, nil
}

// Hash is a 64-bit hash of the store's whole state (data and sessions), maintained
// incrementally: it is the sum over keys and over sessions of a hash of each, so updating
// one key or session costs O(its size). Equal states have equal hashes.
func (s *Store) Hash() uint64 { return s.hash }

// Domain tags keep a key/value pair and a session from hashing alike.
const (
	hashTagData    = 0x6b76_6461_7461_0001
	hashTagSession = 0x6b76_7365_7373_0002
)

// value is a stored value with the running FNV-1a state of its bytes, so that an append
// extends the hash instead of rehashing the whole value.
type value struct {
	s string
	h fnvState
}

// fnvState is an FNV-1a 64 state over a string's bytes, with the string's length.
type fnvState struct {
	h   uint64
	len uint64
}

var fnvStart = fnvState{h: 14695981039346656037}

// extend feeds more bytes to the state.
func (f fnvState) extend(s string) fnvState {
	h := f.h
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fnvState{h: h, len: f.len + uint64(len(s))}
}

// sum finalizes the state into a well-mixed hash.
func (f fnvState) sum() uint64 { return mix(f.h ^ f.len) }

func hashString(s string) uint64 { return fnvStart.extend(s).sum() }

// mix is splitmix64's finalizer: a bijection that spreads every input bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func hashPair(key string, value fnvState) uint64 {
	return mix(hashTagData ^ hashString(key)*0x9e3779b97f4a7c15 ^ value.sum())
}

func hashSession(id ClientID, ss session) uint64 {
	return mix(hashTagSession ^ mix(uint64(id))*0x9e3779b97f4a7c15 ^ mix(ss.lastSeq+0x632be59bd9b4e019) ^ ss.rh.sum())
}
