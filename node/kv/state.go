package kv

import (
	"encoding/binary"
	"maps"
	"slices"
)

// AppendState appends to b a canonical binary encoding of the store's whole state, for the
// model checker's fingerprints (node.Node.AppendState), and returns the extended slice:
// the keys in ascending order, each with its value, then the clients with a session in
// ascending order, each with its last sequence number and result. Equal stores (Equal)
// encode alike and different ones differently. Left out: the running hashes (Hash, and
// the per-value and per-session ones), which are functions of what is encoded. Client IDs
// are encoded as they are: the model checker renames servers, never clients. It does not
// allocate when b has the capacity.
func (s *Store) AppendState(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s.keys)))
	for _, k := range s.keys {
		b = appendString(b, k)
		b = appendString(b, s.data[k].s)
	}
	b = binary.AppendUvarint(b, uint64(len(s.clients)))
	for _, id := range s.clients {
		ss := s.sessions[id]
		b = binary.AppendUvarint(b, uint64(id))
		b = binary.AppendUvarint(b, ss.lastSeq)
		b = appendString(b, ss.result)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// CloneInto makes *c an independent copy of s (c's previous contents are dropped): Clone
// without allocating the Store itself, for a caller that holds it in a larger allocation
// (node.Node.Clone). The maps are copied (maps.Clone copies their memory, without
// rehashing or visiting them in any order); the sorted key and client lists are shared,
// capped in both stores, since they change only by slices.Insert, which then has to
// reallocate: the copy is paid for by the next new key or client, not by every clone.
func (s *Store) CloneInto(c *Store) {
	s.keys, s.clients = slices.Clip(s.keys), slices.Clip(s.clients)
	*c = Store{data: maps.Clone(s.data), keys: s.keys, sessions: maps.Clone(s.sessions), clients: s.clients, hash: s.hash}
}
