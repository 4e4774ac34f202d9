package sim

import (
	"strconv"

	"raftsim/linearizability"
	"raftsim/node"
)

// Annotation colours: pale so that the operations stay readable over them.
const (
	colourCrash   = "#f4cccc" // red: a node is down
	colourNetwork = "#fce5cd" // orange: links are cut
)

// leaderColours cycle through the terms, so that consecutive terms differ.
var leaderColours = [...]string{"#d9ead3", "#cfe2f3", "#d9d2e9", "#fff2cc"}

// annotations builds the visualization's annotations from the timeline, on the history's
// timestamp scale (Happening.Stamp): one window per crash (tag "node N", from the crash to
// the restart or the end), per link change (tag "network", from the partition or cut to
// the next heal or link change), and per leader's term (tag "leaders", from taking office
// to its step-down, its crash, the next leader, or the end). A window's End is at least its
// Start.
func (w *World) annotations() []linearizability.Annotation {
	if len(w.timeline) == 0 {
		return nil
	}
	end := w.stamp
	endTime := w.now
	var out []linearizability.Annotation
	crashAt := make([]int, len(w.hosts)+1) // index+1 of the open crash window's happening; 0: none
	netOpen := -1                          // index of the open network window's happening
	leaderOpen := -1                       // index of the open leader window's happening
	span := func(h *Happening, endStamp int64, until string) (int64, int64, string) {
		return h.Stamp, max(endStamp, h.Stamp), "from " + fmtTime(h.Time) + " to " + until
	}
	closeNet := func(at *Happening) {
		if netOpen < 0 {
			return
		}
		h := &w.timeline[netOpen]
		s, e, d := span(h, at.Stamp, fmtTime(at.Time))
		out = append(out, linearizability.Annotation{Tag: "network", Start: s, End: e, Description: h.Text, Details: d, Color: colourNetwork})
		netOpen = -1
	}
	closeLeader := func(endStamp int64, until string) {
		if leaderOpen < 0 {
			return
		}
		h := &w.timeline[leaderOpen]
		s, e, d := span(h, endStamp, until)
		out = append(out, linearizability.Annotation{
			Tag: "leaders", Start: s, End: e,
			Description: "term " + strconv.FormatUint(uint64(h.Term), 10) + ": node " + strconv.Itoa(int(h.Node)),
			Details:     d, Color: leaderColours[int(h.Term)%len(leaderColours)],
		})
		leaderOpen = -1
	}
	closeCrash := func(id node.ID, endStamp int64, until string) {
		k := crashAt[id]
		if k == 0 {
			return
		}
		h := &w.timeline[k-1]
		s, e, d := span(h, endStamp, until)
		out = append(out, linearizability.Annotation{
			Tag: "node " + strconv.Itoa(int(id)), Start: s, End: e,
			Description: "node " + strconv.Itoa(int(id)) + " down", Details: d, Color: colourCrash,
		})
		crashAt[id] = 0
	}
	for i := range w.timeline {
		h := &w.timeline[i]
		switch h.Kind {
		case HappenCrash:
			closeCrash(h.Node, h.Stamp, fmtTime(h.Time)) // cannot be open; kept for safety
			crashAt[h.Node] = i + 1
			if leaderOpen >= 0 && w.timeline[leaderOpen].Node == h.Node {
				closeLeader(h.Stamp, fmtTime(h.Time)+" (crashed)")
			}
		case HappenRestart:
			closeCrash(h.Node, h.Stamp, fmtTime(h.Time))
		case HappenNetwork:
			closeNet(h)
			netOpen = i
		case HappenHeal:
			closeNet(h)
		case HappenLeader:
			closeLeader(h.Stamp, fmtTime(h.Time))
			leaderOpen = i
		case HappenStepDown:
			if leaderOpen >= 0 && w.timeline[leaderOpen].Node == h.Node {
				closeLeader(h.Stamp, fmtTime(h.Time)+" (stepped down)")
			}
		}
	}
	until := fmtTime(endTime) + " (end of run)"
	for id := 1; id <= len(w.hosts); id++ {
		closeCrash(node.ID(id), end, until)
	}
	if netOpen >= 0 {
		closeNet(&Happening{Time: endTime, Stamp: end})
	}
	closeLeader(end, until)
	return out
}
