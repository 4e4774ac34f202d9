package check

import (
	"encoding/binary"
	"fmt"
	"strings"

	"raftsim/node"
)

// This file holds AppendRecords: the checker's history in a canonical binary form, for a
// model checker's state fingerprint.

// recordsVersion opens every encoding, so that a change of the format cannot make two
// encodings of different formats equal.
const recordsVersion = 1

// AppendRecords appends to b a canonical binary encoding of the checker's records that a
// future verdict can depend on and that are not simply a copy of the nodes' current state,
// and returns the extended slice. It allocates nothing when b has the capacity.
//
// perm renames the servers: nil is the identity; otherwise perm[id] is the new name of
// server id, for every id of the cluster (len(perm) is the cluster size plus one, perm[0]
// is 0, and perm[1:] is a permutation of 1..n; anything else panics). Every server ID in
// the records is renamed, including those inside configuration entries, and per-node
// records come in the order of the new names, so that the records of a history encode,
// under perm, exactly as the records of the same history in a cluster whose servers were
// named by perm. IDs outside 1..n (a vote for an unknown server, say) are not renamed.
//
// The encoding determines every future Violation of this checker, given the nodes'
// current states (their views), up to the Time of the violation, the times quoted in
// Detail, and 64-bit hash collisions of the reference state (the checker's own state
// check already compares 64-bit hashes). Two checkers whose encodings are equal, stepped
// alike from equal node states, report the same Check, Rule, Nodes, Term and Index. In
// order, it holds:
//
//   - Per node, in the order of the new names: whether it is live; whether it is a spare
//     still left out of the trimming floor (Spare); whether it took office in its current
//     term already (so that the next leader step does not check it again); its durable
//     snapshot index (the trimming floor, Restart's check); the Exactly-once sessions
//     (client, last sequence number) of its state machine. A live node adds what the
//     checker derived from its steps rather than its view: the index it last applied
//     (Output.Apply, installs) and its configuration in force by its log (the quorum
//     checks' configuration before a step; a function of its log, snapshot and bootstrap,
//     kept for safety's sake). A crashed node adds its last log as Commit Quorum
//     counts it: the snapshot position and the terms of its entries (its disk may hold
//     less: writes not yet durable).
//   - The leader per term: (term, leader).
//   - The committed ledger: its floor (index and term) and the reference state's hash at
//     the floor, then per committed index: the entry (index, term, kind, data), the term
//     it was first seen committed in (Leader Completeness reads it), and the nodes first
//     seen committing and applying it (named in violations).
//   - The Log Matching record: its floor, then per index the records of each term seen
//     there, ascending by term: (term, term of the entry before, kind, data, the node
//     first seen writing it); kind and data are left out, and marked so, where they are
//     the committed entry's at that index, which the ledger holds already.
//   - The votes granted, ascending by term, then by new voter name: (term, voter,
//     candidate).
//
// Configuration entries' data names servers: if it is in Configuration.Encode's form
// (positive, strictly ascending IDs, as every valid configuration is written) it is
// encoded as its three sets, each renamed and sorted; any other data of such an entry is
// encoded as it is, not renamed.
//
// Left out, and why: what equals the live nodes' current views (term, role, log, commit
// and applied indexes, snapshot: the caller fingerprints the nodes); virtual times (the
// leader records' Time, which only Detail quotes); the leader records' First and Last
// (reports only: no check reads them); the bootstrap configurations (Bootstrap, or the
// first view's: fixed before any path branches, the same on every path) and where the
// configuration in force came from (index of its entry, a view found equal to it: caches
// of what the log says); the reference hashes above the floor and the
// reference store itself (a function of the state at the floor, whose hash is included,
// and of the committed ledger; how far the checker has advanced it lazily is not a
// property of the history); the last vote cached per node (it only skips a look-up whose
// answer is on record); the leader-record search hint; and the copy-on-write marks
// (Clone).
func (c *Checker) AppendRecords(b []byte, perm []node.ID) []byte {
	c.checkPerm(perm)
	b = append(b, recordsVersion)
	b = c.appendNodes(b, perm)
	b = appendU(b, uint64(len(c.leaders)))
	for k := range c.leaders {
		b = appendU(b, uint64(c.leaders[k].Term))
		b = appendID(b, perm, c.leaders[k].ID)
	}
	b = c.appendLedger(b, perm)
	b = c.appendMatch(b, perm)
	return c.appendVotes(b, perm)
}

// checkPerm panics unless perm is nil or renames exactly the cluster's servers 1..n.
func (c *Checker) checkPerm(perm []node.ID) {
	if perm == nil {
		return
	}
	n := len(c.nodes) - 1
	if len(perm) != n+1 || perm[0] != node.None {
		panic(fmt.Sprintf("check: AppendRecords: perm of length %d must have length %d (servers 0..%d) and perm[0] == 0",
			len(perm), n+1, n))
	}
	for i := 1; i <= n; i++ {
		if perm[i] < 1 || int(perm[i]) > n {
			panic(fmt.Sprintf("check: AppendRecords: perm[%d] = %d is outside 1..%d", i, int(perm[i]), n))
		}
		for j := 1; j < i; j++ {
			if perm[j] == perm[i] {
				panic(fmt.Sprintf("check: AppendRecords: perm[%d] = perm[%d] = %d", j, i, int(perm[i])))
			}
		}
	}
}

// rename is id's new name under perm (checked by checkPerm): IDs outside the cluster keep
// theirs.
func rename(perm []node.ID, id node.ID) node.ID {
	if id > 0 && int(id) < len(perm) {
		return perm[id]
	}
	return id
}

// oldName is the server that perm renames to k (1 <= k <= n).
func oldName(perm []node.ID, k node.ID) node.ID {
	for i := 1; i < len(perm); i++ {
		if perm[i] == k {
			return node.ID(i)
		}
	}
	return k // perm == nil
}

func appendU(b []byte, x uint64) []byte { return binary.AppendUvarint(b, x) }

func appendID(b []byte, perm []node.ID, id node.ID) []byte {
	return binary.AppendVarint(b, int64(rename(perm, id)))
}

func appendStr(b []byte, s string) []byte {
	b = appendU(b, uint64(len(s)))
	return append(b, s...)
}

// node flags in the encoding.
const (
	flagLive = 1 << iota
	flagOutside
	flagInOffice
)

// appendNodes appends the per-node records, in the order of the new names.
func (c *Checker) appendNodes(b []byte, perm []node.ID) []byte {
	n := len(c.nodes) - 1
	b = appendU(b, uint64(n))
	for k := 1; k <= n; k++ {
		id := oldName(perm, node.ID(k))
		ns := &c.nodes[id]
		var flags byte
		if ns.live {
			flags |= flagLive
		}
		if c.outside[id] {
			flags |= flagOutside
		}
		if ns.officeTerm == ns.term {
			flags |= flagInOffice
		}
		b = append(b, flags)
		b = appendU(b, uint64(ns.durableSnap))
		if ns.live {
			b = appendU(b, uint64(ns.applied))
			b = appendIDSet(b, perm, ns.conf.Voters)
			b = appendIDSet(b, perm, ns.conf.Outgoing)
			b = appendIDSet(b, perm, ns.conf.Learners)
		} else {
			b = appendLogTerms(b, &ns.logState)
		}
		lo, hi := c.sessionRange(id)
		b = appendU(b, uint64(hi-lo))
		for _, s := range c.sessions[lo:hi] {
			b = appendU(b, uint64(s.client))
			b = appendU(b, s.seq)
		}
	}
	return b
}

// appendLogTerms appends l's snapshot position and the terms of its entries, as runs of
// equal terms (maximal, so canonical): what holds (Commit Quorum) reads of a crashed node.
func appendLogTerms(b []byte, l *logState) []byte {
	b = appendU(b, uint64(l.snapIndex))
	b = appendU(b, uint64(l.snapTerm))
	b = appendU(b, uint64(len(l.log)))
	for k := 0; k < len(l.log); {
		j := k + 1
		for j < len(l.log) && l.log[j].Term == l.log[k].Term {
			j++
		}
		b = appendU(b, uint64(l.log[k].Term))
		b = appendU(b, uint64(j-k))
		k = j
	}
	return b
}

// appendLedger appends the committed ledger with its floor and the reference state's hash
// at the floor.
func (c *Checker) appendLedger(b []byte, perm []node.ID) []byte {
	b = appendU(b, uint64(c.base))
	b = appendU(b, uint64(c.baseTerm))
	b = binary.BigEndian.AppendUint64(b, c.refHash[0]) // refBase == base
	b = appendU(b, uint64(len(c.committed)))
	for k := range c.committed {
		e, m := &c.committed[k], &c.meta[k]
		b = appendU(b, uint64(e.Index))
		b = appendU(b, uint64(e.Term))
		b = append(b, byte(e.Kind))
		b = appendData(b, perm, e.Kind, e.Data)
		b = appendU(b, uint64(m.term))
		b = appendID(b, perm, m.by)
		b = appendID(b, perm, m.appliedBy)
	}
	return b
}

// appendMatch appends the Log Matching record, each index's records ascending by term
// (the slot keeps them in arrival order, which is not a property of the records).
func (c *Checker) appendMatch(b []byte, perm []node.ID) []byte {
	b = appendU(b, uint64(c.matchBase))
	b = appendU(b, uint64(len(c.match)))
	for k := range c.match {
		s := &c.match[k]
		if s.first.term == 0 { // no record (and then more is empty too)
			b = appendU(b, 0)
			continue
		}
		n := 1 + len(s.more)
		b = appendU(b, uint64(n))
		committed, _, _ := c.ledgerAt(c.matchBase + node.Index(k+1))
		var last node.Term // terms are unique in a slot and at least 1
		for range n {
			r := s.nextAbove(last)
			b = appendU(b, uint64(r.term))
			b = appendU(b, uint64(r.prevTerm))
			if committed != nil && committed.Term == r.term && committed.Kind == r.kind && committed.Data == r.data {
				b = append(b, 0) // the committed entry, already encoded with the ledger
			} else {
				b = append(b, 1, byte(r.kind))
				b = appendData(b, perm, r.kind, r.data)
			}
			b = appendID(b, perm, r.by)
			last = r.term
		}
	}
	return b
}

// nextAbove returns the slot's record of the lowest term above t (the slot has one).
func (s *matchSlot) nextAbove(t node.Term) *matchRec {
	var best *matchRec
	if s.first.term > t {
		best = &s.first
	}
	for i := range s.more {
		if r := &s.more[i]; r.term > t && (best == nil || r.term < best.term) {
			best = r
		}
	}
	return best
}

// appendVotes appends the votes, grouped by term (c.votes is ascending by term), each
// group in the order of the voters' new names.
func (c *Checker) appendVotes(b []byte, perm []node.ID) []byte {
	b = appendU(b, uint64(len(c.votes)))
	for lo := 0; lo < len(c.votes); {
		hi := lo + 1
		for hi < len(c.votes) && c.votes[hi].term == c.votes[lo].term {
			hi++
		}
		b = appendU(b, uint64(c.votes[lo].term))
		b = appendU(b, uint64(hi-lo))
		// Voters are distinct within a term, and so are their new names: emit them by
		// selection, ascending (a group has at most one vote per node).
		var last node.ID
		for range hi - lo {
			best := -1
			for j := lo; j < hi; j++ {
				if v := rename(perm, c.votes[j].voter); (last == node.None || v > last) &&
					(best < 0 || v < rename(perm, c.votes[best].voter)) {
					best = j
				}
			}
			last = rename(perm, c.votes[best].voter)
			b = appendID(b, perm, c.votes[best].voter)
			b = appendID(b, perm, c.votes[best].cand)
		}
		lo = hi
	}
	return b
}

// appendData appends an entry's data; a configuration's is renamed (see AppendRecords).
func appendData(b []byte, perm []node.ID, kind node.EntryKind, data string) []byte {
	if kind != node.EntryConfig {
		return appendStr(b, data)
	}
	secs, ok := configSections(data)
	if !ok {
		b = append(b, 0)
		return appendStr(b, data)
	}
	b = append(b, 1)
	for _, sec := range secs {
		b = appendU(b, uint64(strings.Count(sec, " ")))
		start := len(b)
		for sec != "" {
			j := 1
			x := 0
			for j < len(sec) && sec[j] != ' ' {
				x = x*10 + int(sec[j]-'0')
				j++
			}
			b = appendSortable(b, rename(perm, node.ID(x)))
			sec = sec[j:]
		}
		sortIDs(b[start:])
	}
	return b
}

// configSections splits data, if it is exactly Configuration.Encode's output for sets of
// positive, strictly ascending IDs of at most 18 digits, into its three ID lists (each
// " id id ..."). Only then does data determine its sets and they determine it.
func configSections(data string) (secs [3]string, ok bool) {
	rest := data
	for k := range secs {
		if k > 0 {
			if rest == "" || rest[0] != '|' {
				return secs, false
			}
			rest = rest[1:]
		}
		if rest == "" || rest[0] != "vol"[k] {
			return secs, false
		}
		rest = rest[1:]
		end := strings.IndexByte(rest, '|')
		if end < 0 || k == len(secs)-1 {
			end = len(rest)
		}
		if !ascendingIDs(rest[:end]) {
			return secs, false
		}
		secs[k], rest = rest[:end], rest[end:]
	}
	return secs, rest == ""
}

// ascendingIDs reports whether s is a list " id id ..." of positive decimal IDs without
// leading zeros, of at most 18 digits, strictly ascending.
func ascendingIDs(s string) bool {
	prev := 0
	for s != "" {
		if len(s) < 2 || s[0] != ' ' || s[1] < '1' || s[1] > '9' {
			return false
		}
		j, x := 1, 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			if j > 18 {
				return false
			}
			x = x*10 + int(s[j]-'0')
			j++
		}
		if x <= prev {
			return false
		}
		prev, s = x, s[j:]
	}
	return true
}

// appendIDSet appends a set of IDs (a configuration's voters, say) renamed and sorted.
func appendIDSet(b []byte, perm []node.ID, ids []node.ID) []byte {
	b = appendU(b, uint64(len(ids)))
	start := len(b)
	for _, id := range ids {
		b = appendSortable(b, rename(perm, id))
	}
	sortIDs(b[start:])
	return b
}

// appendSortable appends id in 8 bytes whose byte order is the numeric order of IDs
// (negative ones too), so that sortIDs can sort IDs inside the encoding itself, without a
// buffer of its own.
func appendSortable(b []byte, id node.ID) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(int64(id))^1<<63)
}

// sortIDs sorts the 8-byte IDs of appendSortable in b, ascending: an insertion sort, as
// sets are small (a configuration's servers).
func sortIDs(b []byte) {
	for i := 8; i < len(b); i += 8 {
		x := binary.BigEndian.Uint64(b[i:])
		j := i
		for j > 0 && binary.BigEndian.Uint64(b[j-8:]) > x {
			copy(b[j:j+8], b[j-8:j])
			j -= 8
		}
		binary.BigEndian.PutUint64(b[j:], x)
	}
}
