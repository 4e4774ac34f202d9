package sim

import (
	"fmt"
	"strings"

	"raftsim/node"
)

// traceStep writes the trace line of one step: the input is already on the event's line
// (deliver/wake/propose); this line says what changed and what was sent.
func (w *World) traceStep(h *machine, out *node.Output, v *node.View) {
	var b strings.Builder
	fmt.Fprintf(&b, "-> %v t%d", v.Role, v.Term)
	if v.Vote != node.None {
		fmt.Fprintf(&b, " vote=%d", v.Vote)
	}
	if v.Leader != node.None {
		fmt.Fprintf(&b, " leader=%d", v.Leader)
	}
	fmt.Fprintf(&b, " last=%d commit=%d", v.LastIndex(), v.CommitIndex)
	if v.SnapshotIndex > 0 {
		fmt.Fprintf(&b, " snap=%d", v.SnapshotIndex)
	}
	if out.HardStateChanged {
		fmt.Fprintf(&b, " | persist term=%d vote=%d", out.HardState.Term, out.HardState.Vote)
	}
	if s := out.InstallSnapshot; s != nil {
		fmt.Fprintf(&b, " | install snapshot %d@t%d (%d bytes)", s.Index, s.Term, len(s.Data))
	}
	if n := len(out.Entries); n > 0 {
		fmt.Fprintf(&b, " | write %d..%d", out.Entries[0].Index, out.Entries[n-1].Index)
	}
	if n := len(out.Apply); n > 0 {
		fmt.Fprintf(&b, " | apply %d..%d", out.Apply[0].Index, out.Apply[n-1].Index)
	}
	if s := out.SaveSnapshot; s != nil {
		fmt.Fprintf(&b, " | snapshot %d@t%d taken (%d bytes), writing", s.Index, s.Term, len(s.Data))
	}
	if out.Proposal.Accepted {
		fmt.Fprintf(&b, " | accepted at %d", out.Proposal.Index)
	}
	w.tracef(h.id, "%s", b.String())
	for i := range out.Messages {
		w.tracef(h.id, "   send %v", out.Messages[i])
	}
}
