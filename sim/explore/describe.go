package explore

import (
	"fmt"

	"raftsim/node"
	"raftsim/sim/schedule"
)

// Step is one action of a counterexample, as a schedule action (with the packet's path
// and type, and a comment on what it carried).
type Step = schedule.Action

// describe replays path from the initial state and turns each action into a schedule
// action. A path the search produced always replays; anything else is a bug.
func (md *model) describe(path []action) []Step {
	s, fail := md.initial()
	if fail != nil {
		return nil
	}
	out := make([]Step, 0, len(path))
	for _, a := range path {
		out = append(out, md.step(s, a))
		next, fail, _ := md.applyWith(s, a, false)
		if fail != nil {
			break
		}
		s = next
	}
	return out
}

// step is the schedule action of a in state s.
func (md *model) step(s *state, a action) Step {
	st := Step{Node: node.ID(a.a)}
	switch a.kind {
	case actDeliver, actDrop, actDup:
		st = md.packetStep(s, a)
	case actFire:
		st.Kind = schedule.ActionFire
	case actCrash:
		st.Kind = schedule.ActionCrash
	case actRestart:
		st.Kind = schedule.ActionRestart
	case actSave:
		st.Kind = schedule.ActionSave
	case actInvoke, actRetry:
		st = Step{Kind: schedule.ActionRetry, Client: int(a.a), Node: node.ID(a.b)}
		if a.kind == actInvoke {
			cl := &s.clients[a.a-1]
			cmd := opCommand(int(a.a), cl.seq+1, int(a.a)+cl.invoked*len(s.clients))
			st.Kind, st.Op, st.Key, st.Value = schedule.ActionInvoke, cmd.Op, cmd.Key, cmd.Value
		}
	case actTransfer:
		st.Kind, st.Target = schedule.ActionTransfer, node.ID(a.b)
	default:
		panic(fmt.Sprintf("explore: invariant broken: unknown action kind %d", a.kind))
	}
	return st
}

func (md *model) packetStep(s *state, a action) Step {
	p := findPacket(s, a.num)
	st := Step{Packet: uint64(a.num), From: md.endpoint(p.from), To: md.endpoint(p.to)}
	switch a.kind {
	case actDeliver:
		st.Kind = schedule.ActionDeliver
	case actDrop:
		st.Kind = schedule.ActionDrop
	default:
		st.Kind = schedule.ActionDup
	}
	switch p.kind {
	case pkRequest:
		st.PacketType, st.Comment = schedule.PacketRequest, p.req.String()
	case pkReply:
		st.PacketType = schedule.PacketReply
		st.Comment = fmt.Sprintf("c%d#%d %v", p.rep.Client, p.rep.Seq, p.rep.Status)
		if p.rep.Status == node.ReplyOK {
			st.Comment += fmt.Sprintf(" %q", p.rep.Value)
		}
	default:
		t, ok := schedule.MessagePacket(p.msg.Type)
		if !ok {
			panic(fmt.Sprintf("explore: invariant broken: message type %v has no schedule token", p.msg.Type))
		}
		st.PacketType, st.Comment = t, p.msg.String()
	}
	return st
}

func (md *model) endpoint(e int32) schedule.Endpoint {
	if int(e) <= md.nodes {
		return schedule.ServerEndpoint(node.ID(e))
	}
	return schedule.ClientEndpoint(int(e) - md.nodes)
}

// Schedule is the counterexample as a schedule file the simulator replays (raftsim replay
// -schedule): the search's cluster and options, the path, and the failure it expects.
// It is nil if the search found no violation.
func (r *Result) Schedule(o *Options) *schedule.Schedule {
	if r.Failure == nil {
		return nil
	}
	s := schedule.New(o.Seed, o.Nodes)
	s.Scenario = "explore"
	s.Clients = o.Clients
	n := &o.Node
	s.Node = schedule.NodeOptions{
		HeartbeatInterval: n.HeartbeatInterval, ElectionTimeoutMin: n.ElectionTimeoutMin, ElectionTimeoutMax: n.ElectionTimeoutMax,
		MaxEntriesPerMessage: n.MaxEntriesPerMessage, LearnerCatchUpMax: n.LearnerCatchUpMax, ReadMode: n.ReadMode,
		MaxClockDrift: n.MaxClockDrift, PreVote: n.PreVote, CheckQuorum: n.CheckQuorum,
		SnapshotThreshold: n.SnapshotThreshold, SnapshotChunkSize: n.SnapshotChunkSize,
	}
	// A schedule states every value: the node's defaults for 0 are written out.
	if s.Node.LearnerCatchUpMax == 0 {
		s.Node.LearnerCatchUpMax = 2 * n.MaxEntriesPerMessage
	}
	if s.Node.SnapshotChunkSize == 0 {
		s.Node.SnapshotChunkSize = schedule.DefaultSnapshotChunk
	}
	s.Expect = schedule.Expect{Kind: schedule.ExpectFail, Check: r.Failure.Check}
	s.Actions = r.Path
	return s
}
