package explore

import "raftsim/node"

// sleep is a set of (receiver, sender) endpoint pairs whose deliveries need not be
// explored from a state, because an equivalent order reaches the same states (the
// independence reduction): bit (to-1)*endpointsMax + from-1.
type sleep [3]uint64

const endpointsMax = nodesMax + clientsMax

func (z *sleep) has(to, from int32) bool {
	b := int(to-1)*endpointsMax + int(from-1)
	return z[b/64]&(1<<(b%64)) != 0
}

func (z *sleep) add(to, from int32) {
	b := int(to-1)*endpointsMax + int(from-1)
	z[b/64] |= 1 << (b % 64)
}

// and intersects z with o: a delivery is skipped only if every arrival at the state
// allows skipping it.
func (z *sleep) and(o *sleep) {
	for i := range z {
		z[i] &= o[i]
	}
}

// sleepAfter is the sleep set of a state reached by a: after a delivery to server j, a
// delivery to a server i < j of a packet not sent by j (so in flight before a) is
// explored in the other order instead (i first, then j), which reaches the same state:
// deliveries to different servers touch different hosts, and packet numbers are not
// part of a state's fingerprint. Anything else sleeps nothing.
func (md *model) sleepAfter(s *state, a action, p *packet) sleep {
	var z sleep
	if !md.opt.Independence || a.kind != actDeliver || p.kind == pkReply {
		return z
	}
	j := p.to
	for i := int32(1); i < j; i++ {
		for f := int32(1); f <= int32(md.nodes+len(s.clients)); f++ {
			if f != j {
				z.add(i, f)
			}
		}
	}
	return z
}

// actions appends the transitions enabled in s, in the search's fixed order, leaving
// out the deliveries z puts to sleep: per packet in flight (ascending number) deliver,
// drop, duplicate; per server fire, crash, restart, save; per client invoke and retry
// to each server; per leader a transfer to each other voter.
func (md *model) actions(dst []action, s *state, z *sleep) []action {
	o := &md.opt
	if s.depth >= o.Depth {
		return dst
	}
	for _, p := range s.net {
		if p.kind == pkReply || s.hosts[p.to-1].unit.Up() {
			if !z.has(p.to, p.from) {
				dst = append(dst, action{kind: actDeliver, num: p.num})
			}
		}
		if int(s.used.drops) < o.Drops {
			dst = append(dst, action{kind: actDrop, num: p.num})
		}
		if int(s.used.dups) < o.Dups {
			dst = append(dst, action{kind: actDup, num: p.num})
		}
	}
	for i, m := range s.hosts {
		id := uint8(i + 1)
		switch {
		case m.unit.Up():
			if m.wakeAt != 0 {
				dst = append(dst, action{kind: actFire, a: id})
			}
			if int(s.used.crashes) < o.Crashes {
				dst = append(dst, action{kind: actCrash, a: id})
			}
			if len(m.unit.Saves()) > 0 {
				dst = append(dst, action{kind: actSave, a: id})
			}
		case int(s.used.restarts) < o.Restarts:
			dst = append(dst, action{kind: actRestart, a: id})
		}
	}
	dst = md.clientActions(dst, s)
	if int(s.used.admin) < o.Admin {
		dst = md.transferActions(dst, s)
	}
	return dst
}

func (md *model) clientActions(dst []action, s *state) []action {
	o := &md.opt
	for c := range s.clients {
		cl := &s.clients[c]
		idle := cl.op < 0
		if idle && cl.invoked >= opsFor(c+1, len(s.clients), o.Ops) {
			continue
		}
		if !idle && int(s.used.retries) >= o.Retries {
			continue
		}
		kind := actInvoke
		if !idle {
			kind = actRetry
		}
		for to := 1; to <= md.nodes; to++ {
			dst = append(dst, action{kind: kind, a: uint8(c + 1), b: uint8(to)})
		}
	}
	return dst
}

func (md *model) transferActions(dst []action, s *state) []action {
	for i := range s.hosts {
		if !s.leads(i + 1) {
			continue
		}
		conf := &s.hosts[i].view.Config
		for _, v := range conf.Voters {
			if int(v) != i+1 && v != node.None {
				dst = append(dst, action{kind: actTransfer, a: uint8(i + 1), b: uint8(v)})
			}
		}
	}
	return dst
}
