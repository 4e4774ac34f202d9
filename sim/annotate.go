package sim

import (
	"sort"
	"strconv"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
)

// Annotation colours: pale so that the operations stay readable over them.
const (
	colourCrash   = "#f4cccc" // red: a node is down
	colourPause   = "#ead1dc" // mauve: a node is paused (alive, silent, its beliefs going stale)
	colourNetwork = "#fce5cd" // orange: links are cut
	colourInstant = "#eeeeee" // grey: a one-moment happening (snapshot, pre-vote, clock fault, ...)
)

// leaderColours cycle through the terms, so that consecutive terms differ.
var leaderColours = [...]string{"#d9ead3", "#cfe2f3", "#d9d2e9", "#fff2cc"}

// annotations builds the visualization's annotations from the timeline, on the history's
// timestamp scale (Happening.Stamp). Every happening is drawn:
//
//   - windows: a crash (row "node N", from the crash to the restart or the end), a pause
//     (row "node N", from the pause to its end, a crash, or the end of the run), a link
//     change (row "network", from the partition or cut to the next heal or link change),
//     and a leader's term (row "leaders", from taking office to its step-down, its crash,
//     the next leader, or the end). The happening that closes a window (a restart, a heal,
//     a step-down, a new leader) is named in the window's details;
//   - every other happening is an instant (Start == End): in its node's row when it has a
//     node, else in row "cluster".
//
// A window's End is at least its Start.
func (w *World) annotations() []linearizability.Annotation {
	if len(w.timeline) == 0 {
		return nil
	}
	a := annotator{w: w, crashAt: make([]int, len(w.hosts)+1), pauseAt: make([]int, len(w.hosts)+1), netOpen: -1, leaderOpen: -1}
	for i := range w.timeline {
		a.add(i)
	}
	end := &Happening{Time: w.now, Stamp: w.stamp, Text: "end of run"}
	for id := 1; id <= len(w.hosts); id++ {
		a.closeCrash(node.ID(id), end)
		a.closePause(node.ID(id), end)
	}
	a.closeNet(end)
	a.closeLeader(end, "")
	return a.out
}

// annotator turns the timeline into annotations in one pass; the open windows are indexes
// into the timeline (crashAt and pauseAt hold index+1 per node, 0 when none is open).
type annotator struct {
	w                   *World
	out                 []linearizability.Annotation
	crashAt, pauseAt    []int
	netOpen, leaderOpen int
	points              []stampPoint // the history's stamps by time, built on first need (stampAt)
}

// add draws happening i: it opens or closes windows, or adds an instant.
func (a *annotator) add(i int) {
	h := &a.w.timeline[i]
	switch h.Kind {
	case HappenCrash:
		a.closePause(h.Node, h)
		a.crashAt[h.Node] = i + 1
		if a.leaderOpen >= 0 && a.w.timeline[a.leaderOpen].Node == h.Node {
			a.closeLeader(h, " (crashed)")
		}
	case HappenRestart:
		a.closeCrash(h.Node, h)
	case HappenPause:
		a.pauseAt[h.Node] = i + 1
	case HappenNetwork:
		a.closeNet(h)
		a.netOpen = i
	case HappenHeal:
		a.closeNet(h)
	case HappenLeader:
		a.closeLeader(h, "")
		a.leaderOpen = i
	case HappenStepDown:
		if a.leaderOpen >= 0 && a.w.timeline[a.leaderOpen].Node == h.Node {
			a.closeLeader(h, " (stepped down)")
		} else {
			a.instant(h)
		}
	default:
		a.instant(h)
	}
}

// window appends the annotation of the window opened by from and closed at endStamp by
// the happening until (named in the details).
func (a *annotator) window(tag, desc, colour string, from, until *Happening, endStamp int64, endTime time.Duration, why string) {
	a.out = append(a.out, linearizability.Annotation{
		Tag: tag, Start: from.Stamp, End: max(endStamp, from.Stamp), Description: desc, Color: colour,
		Details: from.Text + ": from " + fmtTime(from.Time) + " to " + fmtTime(endTime) + why + " (" + until.Text + ")",
	})
}

func (a *annotator) closeCrash(id node.ID, until *Happening) {
	if k := a.crashAt[id]; k > 0 {
		a.window(nodeTag(id), "node "+strconv.Itoa(int(id))+" down", colourCrash, &a.w.timeline[k-1], until, until.Stamp, until.Time, "")
		a.crashAt[id] = 0
	}
}

// closePause closes node id's pause window at its own end, or earlier at until (a crash
// ends a pause; so does the end of the run).
func (a *annotator) closePause(id node.ID, until *Happening) {
	k := a.pauseAt[id]
	if k == 0 {
		return
	}
	from := &a.w.timeline[k-1]
	endTime, endStamp, closer := until.Time, until.Stamp, until
	if from.Until < until.Time {
		endTime, endStamp = from.Until, a.stampAt(from.Until)
		closer = &Happening{Text: "node " + strconv.Itoa(int(id)) + " resumed"}
	}
	a.window(nodeTag(id), "node "+strconv.Itoa(int(id))+" paused", colourPause, from, closer, endStamp, endTime, "")
	a.pauseAt[id] = 0
}

func (a *annotator) closeNet(until *Happening) {
	if a.netOpen >= 0 {
		a.window("network", a.w.timeline[a.netOpen].Text, colourNetwork, &a.w.timeline[a.netOpen], until, until.Stamp, until.Time, "")
		a.netOpen = -1
	}
}

func (a *annotator) closeLeader(until *Happening, why string) {
	if a.leaderOpen < 0 {
		return
	}
	h := &a.w.timeline[a.leaderOpen]
	desc := "term " + strconv.FormatUint(uint64(h.Term), 10) + ": node " + strconv.Itoa(int(h.Node))
	a.window("leaders", desc, leaderColours[int(h.Term)%len(leaderColours)], h, until, until.Stamp, until.Time, why)
	a.leaderOpen = -1
}

// instant draws a one-moment happening in its node's row, or in "cluster".
func (a *annotator) instant(h *Happening) {
	tag := "cluster"
	if h.Node != node.None {
		tag = nodeTag(h.Node)
	}
	a.out = append(a.out, linearizability.Annotation{
		Tag: tag, Start: h.Stamp, End: h.Stamp, Description: h.Kind.String(), Color: colourInstant,
		Details: fmtTime(h.Time) + ": " + h.Text,
	})
}

func nodeTag(id node.ID) string { return "node " + strconv.Itoa(int(id)) }

// stampAt is the last history timestamp handed out at or before virtual time t (0 if
// none): where a moment that has no happening of its own (the end of a pause) sits among
// the client operations. Stamps grow with virtual time, so the history's call and return
// stamps, ordered by stamp, have non-decreasing times.
func (a *annotator) stampAt(t time.Duration) int64 {
	if t >= a.w.now {
		return a.w.stamp
	}
	if a.points == nil {
		a.points = make([]stampPoint, 0, 2*len(a.w.history)+1)
		for _, op := range a.w.history {
			a.points = append(a.points, stampPoint{op.CallTime, op.Call})
			if !op.Unknown {
				a.points = append(a.points, stampPoint{op.ReturnTime, op.Return})
			}
		}
		sort.Slice(a.points, func(i, j int) bool { return a.points[i].stamp < a.points[j].stamp })
	}
	k := sort.Search(len(a.points), func(i int) bool { return a.points[i].at > t })
	if k == 0 {
		return 0
	}
	return a.points[k-1].stamp
}

// stampPoint is a history timestamp and the virtual time it was handed out at.
type stampPoint struct {
	at    time.Duration
	stamp int64
}
