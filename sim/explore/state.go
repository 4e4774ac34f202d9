package explore

import (
	"fmt"
	"strconv"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim/check"
	"raftsim/sim/host"
)

// A state is one point of the search: every machine, the packets in flight, the clients,
// the checker's records and the budgets used. States are immutable once built: a
// transition copies what it changes (copy on write) and shares the rest, so a successor
// costs the clone of one host and of the checker, not of the whole cluster.
type state struct {
	hosts   []*machine // hosts[i] is server i+1
	net     []*packet  // in flight, ascending number
	next    uint32     // the next packet number
	clients []client   // clients[c] is client c+1
	chk     *check.Checker
	hist    []linearizability.Op // the clients' history, Call and Return stamped by stamp
	stamp   int64
	used    budget
	depth   int
}

// budget counts the bounded transitions a path has taken.
type budget struct {
	crashes, restarts, drops, dups, retries, admin uint16
}

// machine is one server on its host with its abstract clock: local is the last local
// time the server was stepped at, wakeAt the local time it asked to be woken (0: none).
// Machines are immutable once in a state.
type machine struct {
	unit   *host.Host
	local  time.Duration
	wakeAt time.Duration
	view   node.View // the view after the latest step (kept across a crash)
	// fp caches the machine's fingerprint per renaming (see fingerprint.go).
	fp fpCache
}

// packetKind says what a packet carries.
type packetKind uint8

const (
	pkMessage packetKind = iota + 1 // a Raft message between servers
	pkRequest                       // a client's request to a server
	pkReply                         // a server's reply to a client
)

// packet is one copy of something in flight, immutable once in a state. Endpoints are
// numbered as in the simulator: servers 1..Nodes, then client c at Nodes+c.
type packet struct {
	num      uint32
	kind     packetKind
	from, to int32
	msg      node.Message
	req      kv.Command
	rep      node.Reply
	fp       fpCache
}

// client is one client: it issues its operations one at a time; op is the index in the
// history of its outstanding operation (-1: idle).
type client struct {
	invoked int // operations invoked so far
	seq     uint64
	op      int
	cmd     kv.Command
}

// actionKind is a kind of transition.
type actionKind uint8

// The transitions. a and b are 1-based server or client numbers; num a packet number.
const (
	actDeliver  actionKind = iota + 1 // deliver packet num
	actDrop                           // drop packet num
	actDup                            // duplicate packet num (the copy gets the next number)
	actFire                           // server a's armed timer fires
	actCrash                          // server a crashes
	actRestart                        // server a boots from its disk
	actSave                           // server a's oldest snapshot write ends
	actInvoke                         // client a sends its next operation to server b
	actRetry                          // client a resends its outstanding operation to server b
	actTransfer                       // the operator asks server a to hand leadership to b
)

// action is one transition, as stored in the search's paths (8 bytes).
type action struct {
	kind actionKind
	a, b uint8
	num  uint32
}

// Failure is a broken check on a path: the check's name, the paper rule, the nodes and
// term involved, what was wrong, and the depth (the number of the transition) at which it
// broke.
type Failure struct {
	Check  string
	Rule   string
	Nodes  []node.ID
	Term   node.Term
	Detail string
	Depth  int
}

func (f *Failure) Error() string {
	s := f.Check
	if f.Rule != "" {
		s += " (" + f.Rule + ")"
	}
	s += " violated at transition " + strconv.Itoa(f.Depth)
	if f.Term != 0 {
		s += fmt.Sprintf(", term %d", f.Term)
	}
	switch len(f.Nodes) {
	case 0:
	case 1:
		s += fmt.Sprintf(", node %d", f.Nodes[0])
	default:
		s += fmt.Sprintf(", nodes %v", f.Nodes)
	}
	return s + ": " + f.Detail
}

// now is the virtual time the checker is told for the transition that makes depth d: one
// millisecond per transition, as a schedule replays in the simulator.
func now(d int) time.Duration { return time.Duration(d) * time.Millisecond }

// opsFor is how many of the ops operations client c (1-based) of clients issues.
func opsFor(c, clients, ops int) int {
	if c > ops {
		return 0
	}
	return (ops-c)/clients + 1
}

// opCommand is client c's k-th operation (k from 1) as the k-th operation overall of
// the client's share: the clients' operations alternate, over the single key "k0",
// between a put of a value unique to the operation and a get, so that every write is
// recognisable in every read.
func opCommand(c int, seq uint64, global int) kv.Command {
	cmd := kv.Command{Client: kv.ClientID(c), Seq: seq, Key: "k0", Op: kv.OpGet}
	if global%2 == 1 {
		cmd.Op = kv.OpPut
		cmd.Value = "c" + strconv.Itoa(c) + "." + strconv.FormatUint(seq, 10) + " "
	}
	return cmd
}

// leaderOf reports whether server id (1-based) is up and leads in its latest view.
func (s *state) leads(id int) bool {
	m := s.hosts[id-1]
	return m.unit.Up() && m.view.Role == node.Leader
}

// maxTerm is the highest term of any server's latest view.
func (s *state) maxTerm() node.Term {
	var t node.Term
	for _, m := range s.hosts {
		if m.view.Term > t {
			t = m.view.Term
		}
	}
	return t
}
