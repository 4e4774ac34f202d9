package explore

import (
	"time"

	"raftsim/node"
	"raftsim/sim/host"
)

// Planted bugs, through the Server seam: each wraps the raftsim node and breaks one rule
// of the paper, as a buggy implementation would.

// wrapped is a raftsim node behind a test's rewriting of its inputs and outputs.
type wrapped struct {
	*node.Node
	in  func(n *node.Node, in *node.Input) (skip bool, out node.Output)
	out func(n *node.Node, out *node.Output)
}

func (w *wrapped) Step(now time.Duration, in node.Input) node.Output {
	if w.in != nil {
		if skip, out := w.in(w.Node, &in); skip {
			return out
		}
	}
	out := w.Node.Step(now, in)
	if w.out != nil {
		w.out(w.Node, &out)
	}
	return out
}

func (w *wrapped) CloneServer() host.Server {
	return &wrapped{Node: w.Node.Clone(), in: w.in, out: w.out}
}

// plant returns a NewServer that wraps every server with in and out.
func plant(in func(*node.Node, *node.Input) (bool, node.Output), out func(*node.Node, *node.Output)) host.NewServer {
	return func(cfg node.Config, d node.DurableState) (host.Server, error) {
		n, err := node.New(cfg, d)
		if err != nil {
			return nil, err
		}
		return &wrapped{Node: n, in: in, out: out}, nil
	}
}

// bugNoUpToDateCheck grants votes without the election restriction (§5.4.1): every
// candidate looks at least as up to date as the voter.
func bugNoUpToDateCheck() host.NewServer {
	return plant(func(_ *node.Node, in *node.Input) (bool, node.Output) {
		if in.Kind == node.InputMessage && in.Message.Type == node.MsgVote {
			in.Message.LastLogIndex, in.Message.LastLogTerm = node.MaxIndex, in.Message.Term
		}
		return false, node.Output{}
	}, nil)
}

// bugForgetVote boots from a disk whose vote is forgotten: a restarted server may vote
// again in the term it already voted in (Figure 2: votedFor is persistent).
func bugForgetVote() host.NewServer {
	return func(cfg node.Config, d node.DurableState) (host.Server, error) {
		d.HardState.Vote = node.None
		return node.New(cfg, d)
	}
}

// bugAckWithoutAppend answers an AppendEntries that carries entries with success
// without appending them (an acknowledgement of writes never made durable), so a leader
// counts a replica that does not exist.
func bugAckWithoutAppend() host.NewServer {
	return func(cfg node.Config, d node.DurableState) (host.Server, error) {
		n, err := node.New(cfg, d)
		return &ackWithoutAppend{Node: n}, err
	}
}

type ackWithoutAppend struct{ *node.Node }

func (a *ackWithoutAppend) CloneServer() host.Server { return &ackWithoutAppend{a.Node.Clone()} }

func (a *ackWithoutAppend) Step(now time.Duration, in node.Input) node.Output {
	m := &in.Message
	if in.Kind != node.InputMessage || m.Type != node.MsgApp || len(m.Entries) == 0 {
		return a.Node.Step(now, in)
	}
	claimed := m.PrevLogIndex + node.Index(len(m.Entries))
	m.Entries = nil // treated as a heartbeat...
	out := a.Node.Step(now, in)
	for i := range out.Messages {
		if r := &out.Messages[i]; r.Type == node.MsgAppResp && r.Success {
			r.MatchIndex = claimed // ... but acknowledged as if appended
		}
	}
	return out
}
