package node

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Configuration is a cluster membership (§6 of the extended paper). It lives in the log,
// as EntryConfig entries, and takes effect on a server as soon as the entry is in its log,
// committed or not. While Outgoing is not empty the configuration is joint, C(old,new):
// Outgoing is C(old), Voters is C(new), and every decision (elections, commitment, read
// confirmation, leases, CheckQuorum) needs a majority of each.
type Configuration struct {
	Voters   []ID // ascending
	Outgoing []ID // ascending; non-empty only in a joint configuration
	// Learners receive the log but never vote and never count in a majority; a new server
	// starts as one and is promoted once it has caught up.
	Learners []ID // ascending
}

// Joint reports whether c is a joint configuration C(old,new).
func (c *Configuration) Joint() bool { return len(c.Outgoing) > 0 }

// IsVoter reports whether id votes in c (in C(new) or, while joint, in C(old)).
func (c *Configuration) IsVoter(id ID) bool {
	return contains(c.Voters, id) || contains(c.Outgoing, id)
}

// IsMember reports whether id is a voter or a learner of c.
func (c *Configuration) IsMember(id ID) bool { return c.IsVoter(id) || contains(c.Learners, id) }

// Members returns every voter and learner of c, ascending, each once.
func (c *Configuration) Members() []ID {
	all := slices.Concat(c.Voters, c.Outgoing, c.Learners)
	slices.Sort(all)
	return slices.Compact(all)
}

// Equal reports whether c and o are the same configuration.
func (c *Configuration) Equal(o *Configuration) bool {
	return slices.Equal(c.Voters, o.Voters) && slices.Equal(c.Outgoing, o.Outgoing) && slices.Equal(c.Learners, o.Learners)
}

func (c Configuration) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "voters %v", c.Voters)
	if c.Joint() {
		fmt.Fprintf(&b, " (joint with %v)", c.Outgoing)
	}
	if len(c.Learners) > 0 {
		fmt.Fprintf(&b, " learners %v", c.Learners)
	}
	return b.String()
}

// Validate reports whether c is well formed: sorted, distinct, positive IDs in each set,
// no learner that is also a voter, and new voters in a joint configuration.
func (c Configuration) Validate() error {
	for _, set := range [][]ID{c.Voters, c.Outgoing, c.Learners} {
		for i, id := range set {
			if id <= None || (i > 0 && set[i-1] >= id) {
				return fmt.Errorf("node: configuration %v: IDs must be positive, ascending and distinct", c)
			}
		}
	}
	for _, id := range c.Learners {
		if c.IsVoter(id) {
			return fmt.Errorf("node: configuration %v: %d is both a learner and a voter", c, id)
		}
	}
	if c.Joint() && len(c.Voters) == 0 {
		return fmt.Errorf("node: configuration %v: a joint configuration needs new voters", c)
	}
	return nil
}

// Encode writes c as the data of an EntryConfig entry: "v 1 2 3|o 1 2|l 4".
func (c Configuration) Encode() string {
	var b strings.Builder
	for k, set := range [][]ID{c.Voters, c.Outgoing, c.Learners} {
		if k > 0 {
			b.WriteByte('|')
		}
		b.WriteByte("vol"[k])
		for _, id := range set {
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(int(id)))
		}
	}
	return b.String()
}

// DecodeConfiguration parses Encode's output.
func DecodeConfiguration(s string) (Configuration, error) {
	var c Configuration
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return c, fmt.Errorf("node: malformed configuration %q", s)
	}
	sets := [3]*[]ID{&c.Voters, &c.Outgoing, &c.Learners}
	for k, part := range parts {
		fields := strings.Fields(part)
		if len(fields) == 0 || fields[0] != string("vol"[k]) {
			return c, fmt.Errorf("node: malformed configuration %q", s)
		}
		for _, f := range fields[1:] {
			id, err := strconv.Atoi(f)
			if err != nil {
				return c, fmt.Errorf("node: malformed configuration %q: %v", s, err)
			}
			*sets[k] = append(*sets[k], ID(id))
		}
	}
	return c, c.Validate()
}

// cloneConfig returns a copy of c that shares nothing with it.
func cloneConfig(c Configuration) Configuration {
	return Configuration{Voters: slices.Clone(c.Voters), Outgoing: slices.Clone(c.Outgoing), Learners: slices.Clone(c.Learners)}
}

func contains(ids []ID, id ID) bool {
	_, ok := slices.BinarySearch(ids, id)
	return ok
}

// withID returns ids with id added (sorted, once).
func withID(ids []ID, id ID) []ID {
	if contains(ids, id) {
		return slices.Clone(ids)
	}
	out := append(slices.Clone(ids), id)
	slices.Sort(out)
	return out
}

// withoutID returns ids without id.
func withoutID(ids []ID, id ID) []ID {
	return slices.DeleteFunc(slices.Clone(ids), func(x ID) bool { return x == id })
}

// confEntry is a configuration entry in the log (after the snapshot).
type confEntry struct {
	index Index
	conf  Configuration
}

// setConfig makes c the configuration in force: the per-peer state is rebuilt for c's
// members (plus this server, which keeps a slot even when it is not a member, so that
// n.self is always valid), carrying over what it knew of servers that stay. Servers new
// to the leader start at nextIndex = lastIndex+1, as at the start of a term.
func (n *Node) setConfig(c Configuration) {
	if n.peers != nil && n.conf.Equal(&c) {
		return
	}
	peers := withID(c.Members(), n.id)
	k := len(peers)
	next, match := make([]Index, k), make([]Index, k)
	acked, ackedAt := make([]uint64, k), make([]time.Duration, k)
	votes, prog := make([]bool, k), make([]snapProgress, k)
	inNew, inOld := make([]bool, k), make([]bool, k)
	for i, id := range peers {
		next[i] = n.log.lastIndex() + 1
		if j := n.peerPos(id); j >= 0 {
			next[i], match[i], acked[i], ackedAt[i], votes[i], prog[i] =
				n.next[j], n.match[j], n.acked[j], n.ackedAt[j], n.votes[j], n.snapProg[j]
		}
		inNew[i], inOld[i] = contains(c.Voters, id), contains(c.Outgoing, id)
	}
	n.conf, n.peers, n.self = c, peers, slices.Index(peers, n.id)
	n.next, n.match, n.acked, n.ackedAt, n.votes, n.snapProg = next, match, acked, ackedAt, votes, prog
	n.inNew, n.inOld = inNew, inOld
}

// configAt returns the configuration in force at index i (i at or after the snapshot):
// the last configuration entry at or before i, else the snapshot's.
func (n *Node) configAt(i Index) Configuration {
	for k := len(n.confs) - 1; k >= 0; k-- {
		if n.confs[k].index <= i {
			return n.confs[k].conf
		}
	}
	return n.snapConf
}

// configFromLog recomputes the configuration in force from the snapshot's and the log's
// configuration entries: after a truncation, a compaction or an installed snapshot.
func (n *Node) configFromLog() {
	n.setConfig(n.configAt(n.log.lastIndex()))
}

// noteConfigEntries records the configuration entries among es, just appended, and puts
// the last one in force: a configuration takes effect when appended (§6).
func (n *Node) noteConfigEntries(es []Entry) {
	changed := false
	for i := range es {
		if es[i].Kind != EntryConfig {
			continue
		}
		c, err := DecodeConfiguration(es[i].Data)
		if err != nil {
			// A leader only appends configurations it made, and AppendEntries checks them;
			// a node's own log holding a bad one is a bug.
			n.broken("undecodable configuration entry %v: %v", es[i], err)
		}
		n.confs = append(n.confs, confEntry{index: es[i].Index, conf: c})
		changed = true
	}
	if changed {
		n.configFromLog()
	}
}

// forgetConfigsFrom drops the configuration entries at or after index from (truncated
// away) and puts the previous configuration back in force.
func (n *Node) forgetConfigsFrom(from Index) {
	k := len(n.confs)
	for k > 0 && n.confs[k-1].index >= from {
		k--
	}
	if k < len(n.confs) {
		n.confs = n.confs[:k]
		n.configFromLog()
	}
}

// compactConfigs moves the configuration at index i (the new snapshot) into snapConf and
// drops the entries it covers.
func (n *Node) compactConfigs(i Index) {
	n.snapConf = n.configAt(i)
	k := 0
	for k < len(n.confs) && n.confs[k].index <= i {
		k++
	}
	n.confs = slices.Clone(n.confs[k:])
}

// isVoter reports whether this server votes in the configuration in force.
func (n *Node) isVoter() bool { return n.inNew[n.self] || n.inOld[n.self] }

// quorumOver returns the largest value reached by a majority of the voters (of each
// majority, while joint). Non-voters never count.
func quorumOver[T cmp.Ordered](n *Node, vals []T) T {
	q := quorumMasked(vals, n.inNew)
	if n.conf.Joint() {
		q = min(q, quorumMasked(vals, n.inOld))
	}
	return q
}

func quorumMasked[T cmp.Ordered](vals []T, mask []bool) T {
	var buf [maxInlineVoters]T
	k := 0
	for i := range vals {
		if mask[i] {
			k++
		}
	}
	// Fill a stack buffer of exactly k values (append could move it to the heap).
	var s []T
	if k <= len(buf) {
		s = buf[:k]
	} else {
		s = make([]T, k)
	}
	k = 0
	for i, v := range vals {
		if mask[i] {
			s[k] = v
			k++
		}
	}
	return quorumValue(s)
}

// majorityOf reports whether the servers marked in granted include a majority of the
// voters (of each majority, while joint).
func (n *Node) majorityOf(granted []bool) bool {
	count := func(mask []bool) (yes, all int) {
		for i, in := range mask {
			if in {
				all++
				if granted[i] {
					yes++
				}
			}
		}
		return yes, all
	}
	yes, all := count(n.inNew)
	if all == 0 || yes < majority(all) {
		return false
	}
	if n.conf.Joint() {
		yes, all = count(n.inOld)
		return yes >= majority(all)
	}
	return true
}

// confChange is the membership change a leader is driving, one at a time (§6): a new
// server first catches up as a learner, then joins through C(old,new) and C(new); a voter
// leaves through C(old,new) and C(new); a learner leaves in one step.
type confChange struct {
	op      AdminOp
	server  ID
	waiters []waiter // admin requests to answer when the change is done
}

// active reports whether a change is under way.
func (c *confChange) active() bool { return c.op != 0 }

// done reports whether the configuration in force already is what op asks for.
func (n *Node) done(op AdminOp, server ID) bool {
	if n.conf.Joint() {
		return false
	}
	if op == AdminAddServer {
		return contains(n.conf.Voters, server)
	}
	return !n.conf.IsMember(server)
}

// handleAdmin starts, joins or answers a membership change.
func (n *Node) handleAdmin(req AdminRequest) {
	w := waiter{client: req.Client, seq: req.Seq}
	switch {
	case req.Client == 0 || req.Seq == 0 || req.Server <= None || (req.Op != AdminAddServer && req.Op != AdminRemoveServer):
		// Malformed: it can never be done.
		n.stats.Rejected++
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyInvalid})
	case n.role != Leader:
		// Only the leader judges a request against the configuration: a follower's may be
		// stale (a removed server keeps the configuration it last saw).
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyNotLeader, Leader: n.leader})
	case req.Op == AdminRemoveServer && len(n.conf.Voters) == 1 && n.conf.Voters[0] == req.Server:
		// Asking to remove the last voter: it can never be done.
		n.stats.Rejected++
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyInvalid})
	case n.change.op == req.Op && n.change.server == req.Server:
		if !containsWaiter(n.change.waiters, w) {
			n.change.waiters = append(n.change.waiters, w)
		}
	case n.done(req.Op, req.Server) && !n.change.active() && !n.configPending() && n.commit >= n.termStart:
		// Already in force and committed (a retry of a finished change, say): answered
		// once a majority confirms that this server still leads, as a read is (§6.4): a
		// deposed leader that has not noticed holds a stale configuration.
		n.confirmAdmin(req)
	case n.change.active() || n.commit < n.termStart || n.configPending() || n.transferTarget != None:
		// One change at a time, and only once this leader has committed an entry of its
		// own term: otherwise a change of an earlier leader may still be in flight (the
		// single-server-change bug, thesis §4.1).
		n.reply(Reply{Client: req.Client, Seq: req.Seq, Status: ReplyBusy, Leader: n.id})
	default:
		n.change = confChange{op: req.Op, server: req.Server, waiters: []waiter{w}}
		n.advanceChange()
	}
}

func containsWaiter(ws []waiter, w waiter) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// configPending reports whether the configuration in force is not yet committed.
func (n *Node) configPending() bool {
	return len(n.confs) > 0 && n.confs[len(n.confs)-1].index > n.commit
}

// advanceChange takes the next step of the change under way, or finishes a joint
// configuration a previous leader left behind. It runs after every leader step; each step
// waits for the previous configuration to commit.
func (n *Node) advanceChange() {
	if n.role != Leader || n.configPending() || n.commit < n.termStart {
		return
	}
	c := n.conf
	switch {
	case c.Joint():
		// C(old,new) is committed: move to C(new) (§6).
		n.appendConfig(Configuration{Voters: c.Voters, Learners: c.Learners})
	case !n.change.active():
		return
	case n.done(n.change.op, n.change.server):
		n.finishChange()
	case n.change.op == AdminRemoveServer && contains(c.Learners, n.change.server):
		n.appendConfig(Configuration{Voters: c.Voters, Learners: withoutID(c.Learners, n.change.server)})
	case n.change.op == AdminRemoveServer:
		n.appendConfig(Configuration{Voters: withoutID(c.Voters, n.change.server), Outgoing: c.Voters, Learners: c.Learners})
	case !contains(c.Learners, n.change.server):
		n.appendConfig(Configuration{Voters: c.Voters, Learners: withID(c.Learners, n.change.server)})
	case n.caughtUp(n.change.server):
		// The learner is close enough: promote it through C(old,new).
		n.appendConfig(Configuration{Voters: withID(c.Voters, n.change.server), Outgoing: c.Voters,
			Learners: withoutID(c.Learners, n.change.server)})
	}
}

// caughtUp reports whether server's log is within the catch-up bound of the leader's,
// and holds at least this leader's no-op: a learner that has acknowledged nothing yet is
// never "within the bound" of a short log.
func (n *Node) caughtUp(server ID) bool {
	i := n.peerPos(server)
	return i >= 0 && n.match[i] >= n.termStart && n.match[i]+n.catchUp >= n.log.lastIndex()
}

// appendConfig appends a configuration entry; it takes effect at once.
func (n *Node) appendConfig(c Configuration) {
	if err := c.Validate(); err != nil {
		n.broken("leader made an invalid configuration: %v", err)
	}
	n.appendLocal(EntryConfig, c.Encode())
	n.broadcastAppend()
	n.maybeCommit()
}

// finishChange answers the change's waiters. A leader that is no longer a voter of the
// committed C(new) steps down (§6): it managed the cluster until then without counting
// itself.
func (n *Node) finishChange() {
	for _, w := range n.change.waiters {
		n.reply(Reply{Client: w.client, Seq: w.seq, Status: ReplyOK})
	}
	n.change = confChange{}
}

// stepDownIfRemoved makes a leader that is not a voter of its committed configuration step
// down: its job ended when C(new) committed.
func (n *Node) stepDownIfRemoved() {
	if n.role == Leader && !n.isVoter() && !n.configPending() && !n.conf.Joint() {
		n.stepDownFromLeader(n.now)
	}
}

// abandonChange answers a change's waiters when this node stops leading; the next leader
// finishes any joint configuration, and the operator retries the rest.
func (n *Node) abandonChange() {
	for _, w := range n.change.waiters {
		n.reply(Reply{Client: w.client, Seq: w.seq, Status: ReplyNotLeader, Leader: n.leader})
	}
	n.change = confChange{}
}
