package explore

import (
	"fmt"
	"runtime/debug"
	"slices"

	"raftsim/linearizability"
	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim"
	"raftsim/sim/check"
	"raftsim/sim/host"
)

// model is what every transition needs to know of the search: the options, the
// simulator configuration the servers are booted from, and the server constructor. It
// is read-only once built and shared by every worker.
type model struct {
	opt       Options
	cfg       sim.Config
	newServer host.NewServer
	nodes     int
}

func newModel(o Options) (*model, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m := &model{opt: o, cfg: o.simConfig(), newServer: o.NewServer, nodes: o.Nodes}
	if m.newServer == nil {
		m.newServer = func(cfg node.Config, d node.DurableState) (host.Server, error) { return node.New(cfg, d) }
	}
	return m, nil
}

// initial boots every server at local time 0, as the simulator does at the start of a run.
func (md *model) initial() (*state, *Failure) {
	s := &state{next: 1, chk: check.New(md.nodes), hosts: make([]*machine, md.nodes), clients: make([]client, md.opt.Clients)}
	for c := range s.clients {
		s.clients[c].op = -1
	}
	t := transition{md: md, s: s, ownChk: true}
	for i := range s.hosts {
		s.hosts[i] = &machine{unit: host.New(node.ID(i + 1))}
		t.owned = append(t.owned, i)
		if !t.boot(i + 1) {
			return nil, t.fail
		}
	}
	return s, nil
}

// transition builds one successor state. It owns (may modify) the hosts listed in owned
// and the checker if ownChk; everything else is shared with the parent.
type transition struct {
	md     *model
	s      *state
	owned  []int
	ownChk bool
	fail   *Failure
	pruned bool // the successor breaks a constraint (the highest term)
}

// apply returns the successor of s by a, or the failure the transition caused, or
// pruned if the successor lies outside the bounds. A server's panic is a failure (a
// broken invariant names itself in the message).
func (md *model) apply(s *state, a action) (next *state, fail *Failure, pruned bool) {
	return md.applyWith(s, a, true)
}

// applyWith is apply, with the term bound enforced only if bounded.
func (md *model) applyWith(s *state, a action, bounded bool) (next *state, fail *Failure, pruned bool) {
	c := *s
	c.depth++
	t := transition{md: md, s: &c}
	defer func() {
		if r := recover(); r != nil {
			next, pruned = nil, false
			fail = &Failure{Check: "panic", Depth: c.depth, Detail: fmt.Sprintf("%v\n%s", r, debug.Stack())} // determinism: the stack only describes a path that already failed with a panic; it is never hashed
		}
	}()
	t.do(a)
	if t.fail != nil {
		return nil, t.fail, false
	}
	if bounded && (t.pruned || int(c.maxTerm()) > md.opt.MaxTerm) {
		return nil, nil, true
	}
	return &c, nil, false
}

func (t *transition) do(a action) {
	s := t.s
	switch a.kind {
	case actDeliver:
		p := t.take(a.num)
		t.deliver(p)
	case actDrop:
		t.take(a.num)
		s.used.drops++
	case actDup:
		p := *t.find(a.num)
		p.fp = fpCache{}
		t.put(&p)
		s.used.dups++
	case actFire:
		m := t.host(int(a.a))
		m.local = max(m.local, m.wakeAt)
		t.step(int(a.a), node.Input{Kind: node.InputWake})
	case actCrash:
		t.crash(int(a.a))
	case actRestart:
		s.used.restarts++
		t.boot(int(a.a))
	case actSave:
		t.save(int(a.a))
	case actInvoke:
		t.invoke(int(a.a), int(a.b))
	case actRetry:
		s.used.retries++
		cl := &s.clients[a.a-1]
		t.request(int(a.a), int(a.b), cl.cmd)
	case actTransfer:
		s.used.admin++
		t.step(int(a.a), node.Input{Kind: node.InputTransfer, Target: node.ID(a.b)})
	default:
		panic(fmt.Sprintf("explore: invariant broken: unknown action kind %d", a.kind))
	}
}

// host returns server id's machine, cloned on first use in this transition.
func (t *transition) host(id int) *machine {
	i := id - 1
	if !slices.Contains(t.owned, i) {
		if len(t.owned) == 0 {
			t.s.hosts = slices.Clone(t.s.hosts)
		}
		old := t.s.hosts[i]
		t.s.hosts[i] = &machine{unit: old.unit.Clone(), local: old.local, wakeAt: old.wakeAt, view: old.view}
		t.owned = append(t.owned, i)
	}
	return t.s.hosts[i]
}

// checker returns the checker, cloned on first use in this transition.
func (t *transition) checker() *check.Checker {
	if !t.ownChk {
		t.s.chk = t.s.chk.Clone()
		t.ownChk = true
	}
	return t.s.chk
}

// find is the packet numbered num, which must be in flight.
func (t *transition) find(num uint32) *packet {
	k, ok := slices.BinarySearchFunc(t.s.net, num, func(p *packet, n uint32) int { return int(int64(p.num) - int64(n)) })
	if !ok {
		panic(fmt.Sprintf("explore: invariant broken: packet m%d is not in flight", num))
	}
	return t.s.net[k]
}

// take removes the packet numbered num from the network and returns it.
func (t *transition) take(num uint32) *packet {
	p := t.find(num)
	k := slices.Index(t.s.net, p)
	net := make([]*packet, 0, len(t.s.net)+4)
	net = append(append(net, t.s.net[:k]...), t.s.net[k+1:]...)
	t.s.net = net
	return p
}

// put adds p to the network with the next packet number.
func (t *transition) put(p *packet) {
	p.num = t.s.next
	t.s.next++
	t.s.net = append(t.s.net[:len(t.s.net):len(t.s.net)], p)
}

func (t *transition) failWith(v *check.Violation) {
	if t.fail == nil {
		t.fail = &Failure{Check: v.Check, Rule: v.Rule, Nodes: v.Nodes, Term: v.Term, Detail: v.Detail, Depth: t.s.depth}
	}
}

func (t *transition) failHost(id int, p *host.Problem) {
	if t.fail == nil {
		t.fail = &Failure{Check: p.Check, Rule: p.Rule, Nodes: []node.ID{node.ID(id)}, Term: p.Term, Detail: p.Detail, Depth: t.s.depth}
	}
}

// deliver hands p to its receiver: a server steps with it; a client takes a reply.
func (t *transition) deliver(p *packet) {
	switch p.kind {
	case pkMessage:
		t.step(int(p.to), node.Input{Kind: node.InputMessage, Message: p.msg})
	case pkRequest:
		t.step(int(p.to), node.Input{Kind: node.InputClient, Request: p.req})
	case pkReply:
		t.reply(int(p.to)-t.md.nodes, p)
	}
}

// step feeds one input to server id, runs the checks, and puts its messages and
// replies in flight.
func (t *transition) step(id int, in node.Input) {
	m := t.host(id)
	out, v, problem := m.unit.Step(m.local, in)
	m.view = v
	if problem != nil {
		t.failHost(id, problem)
	}
	if viol := t.checker().Step(now(t.s.depth), node.ID(id), &out, &v); viol != nil {
		t.failWith(viol)
	}
	for i := range out.Messages {
		msg := &out.Messages[i]
		t.put(&packet{kind: pkMessage, from: int32(id), to: int32(msg.To), msg: *msg})
	}
	for i := range out.Replies {
		r := &out.Replies[i]
		c := int(r.Client)
		if c < 1 || c > len(t.s.clients) {
			continue // no such client (the explorer has no admin client)
		}
		t.put(&packet{kind: pkReply, from: int32(id), to: int32(t.md.nodes + c), rep: *r})
	}
	m.wakeAt = out.WakeAt
}

func (t *transition) crash(id int) {
	m := t.host(id)
	m.unit.Crash()
	m.wakeAt = 0
	t.s.used.crashes++
	t.checker().Crash(now(t.s.depth), node.ID(id))
}

// boot starts a new life of server id from its disk and steps it with its first wake-up.
func (t *transition) boot(id int) bool {
	m := t.host(id)
	v, problem, err := m.unit.Boot(t.md.newServer, t.md.cfg.NodeConfig(node.ID(id), m.unit.Life()+1))
	if err != nil {
		t.fail = &Failure{Check: "Restart", Nodes: []node.ID{node.ID(id)}, Depth: t.s.depth,
			Detail: fmt.Sprintf("node %d could not boot from its disk: %v", id, err)}
		return false
	}
	m.view, m.wakeAt = v, 0
	if problem != nil {
		t.failHost(id, problem)
		return false
	}
	if m.unit.Life() > 1 {
		if viol := t.checker().Restart(now(t.s.depth), node.ID(id), &v); viol != nil {
			t.failWith(viol)
			return false
		}
	}
	t.step(id, node.Input{Kind: node.InputWake})
	return t.fail == nil
}

// save ends server id's oldest snapshot write.
func (t *transition) save(id int) {
	m := t.host(id)
	p, outcome, problem := m.unit.SaveDone(m.unit.Saves()[0].Gen)
	switch outcome {
	case host.SaveFailed:
		t.failHost(id, problem)
	case host.SaveWritten:
		t.step(id, node.Input{Kind: node.InputSnapshotSaved, Index: p.Snap.Index})
	}
}

// invoke starts client c's next operation, sent to server to.
func (t *transition) invoke(c, to int) {
	s := t.s
	s.clients = slices.Clone(s.clients)
	cl := &s.clients[c-1]
	cl.seq++
	global := c + cl.invoked*len(s.clients)
	cl.invoked++
	cl.cmd = opCommand(c, cl.seq, global)
	kind := linearizability.Get
	if cl.cmd.Op == kv.OpPut {
		kind = linearizability.Put
	}
	s.stamp++
	cl.op = len(s.hist)
	s.hist = append(s.hist[:len(s.hist):len(s.hist)], linearizability.Op{
		Client: c - 1, Kind: kind, Key: cl.cmd.Key, Value: cl.cmd.Value, Call: s.stamp, Unknown: true})
	t.request(c, to, cl.cmd)
}

func (t *transition) request(c, to int, cmd kv.Command) {
	t.put(&packet{kind: pkRequest, from: int32(t.md.nodes + c), to: int32(to), req: cmd})
}

// reply gives client c a reply: an OK to its outstanding operation completes it; any
// other reply leaves it outstanding (the search retries it explicitly).
func (t *transition) reply(c int, p *packet) {
	s := t.s
	cl := &s.clients[c-1]
	r := &p.rep
	if r.Status == node.ReplyInvalid {
		t.fail = &Failure{Check: "Client protocol", Nodes: []node.ID{node.ID(p.from)}, Depth: s.depth,
			Detail: fmt.Sprintf("node %d answered %v with ReplyInvalid: the client sent a request the server calls malformed", p.from, cl.cmd)}
		return
	}
	if cl.op < 0 || r.Seq != cl.seq || r.Status != node.ReplyOK {
		return
	}
	s.clients = slices.Clone(s.clients)
	cl = &s.clients[c-1]
	s.hist = slices.Clone(s.hist)
	s.stamp++
	op := &s.hist[cl.op]
	op.Return, op.Output, op.HasOutput, op.Unknown = s.stamp, r.Value, true, false
	cl.op = -1
}
