package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"raftsim/linearizability"
	"raftsim/node"
)

// TestAnnotationsDrawEveryHappening builds a timeline with one happening of every kind and
// checks that each is drawn: an annotation starts or ends at its stamp and names it.
func TestAnnotationsDrawEveryHappening(t *testing.T) {
	w := &World{hosts: make([]*machine, 3), now: 10 * time.Second}
	add := func(kind HappeningKind, id node.ID, text string) *Happening {
		w.stamp += 10
		w.now = time.Duration(w.stamp) * time.Millisecond
		h := Happening{Time: w.now, Kind: kind, Node: id, Term: 2, Text: text, Stamp: w.stamp}
		w.timeline = append(w.timeline, h)
		return &w.timeline[len(w.timeline)-1]
	}
	// Every kind, in an order where each closing happening has something to close.
	add(HappenLeader, 1, "node 1 became leader of term 2")
	add(HappenPreVote, 2, "node 2 pre-vote (for term 3)")
	add(HappenSnapshot, 3, "node 3 saved a snapshot at index 5")
	add(HappenClock, 3, "node 3's clock now runs at rate 1.0100")
	add(HappenNote, node.None, "a scenario's note")
	add(HappenNetConfig, node.None, "network faults now: loss 5%")
	add(HappenConfig, node.None, "configuration {1 2 3} committed")
	add(HappenAdmin, 2, "admin: add server 2")
	add(HappenTransfer, 1, "node 1 started transferring leadership to node 2")
	add(HappenNetwork, node.None, "partition: {1} {2 3}")
	add(HappenHeal, node.None, "healed: all links up")
	add(HappenStepDown, 1, "node 1 stepped down")
	p := add(HappenPause, 2, "node 2 paused for 20ms")
	p.Until = p.Time + 20*time.Millisecond // ends before the next happening
	add(HappenCrash, 3, "node 3 crashed")
	add(HappenRestart, 3, "node 3 restarted from disk")
	w.stamp += 10
	w.now = time.Duration(w.stamp) * time.Millisecond

	seen := make([]bool, happeningKinds)
	annotations := w.annotations()
	for _, h := range w.timeline {
		if h.Kind.String() == fmt.Sprintf("happening(%d)", h.Kind) {
			t.Errorf("kind %d has no name", h.Kind)
		}
		for _, a := range annotations {
			if (a.Start == h.Stamp || a.End == h.Stamp) && strings.Contains(a.Details, h.Text) {
				seen[h.Kind] = true
			}
		}
	}
	for k := HappeningKind(1); k < happeningKinds; k++ {
		if !seen[k] {
			t.Errorf("no annotation draws the %s happening; annotations: %+v", k, annotations)
		}
	}
	if got := happeningKinds - 1; len(w.timeline) != int(got) {
		t.Fatalf("the timeline has %d happenings for %d kinds: add the new kind to this test", len(w.timeline), got)
	}
}

// TestAnnotationsPauseIsNotACrash: a pause is drawn as a pause window that ends when the
// pause does, not as a crash that lasts to the end of the run.
func TestAnnotationsPauseIsNotACrash(t *testing.T) {
	cfg := fakeConfig(newFakeKV(1))
	w := mustNew(t, cfg)
	w.At(500*time.Millisecond, "pause 2", func(w *World) { w.Pause(2, 200*time.Millisecond) })
	r := w.Run()
	if r.Failure != nil {
		t.Fatal(r.Failure)
	}
	var pause *linearizability.Annotation
	for i, a := range r.Annotations {
		if a.Tag == "node 2" && strings.Contains(a.Description, "down") {
			t.Errorf("the pause is drawn as a crash: %+v", a)
		}
		if a.Tag == "node 2" && a.Description == "node 2 paused" {
			pause = &r.Annotations[i]
		}
	}
	if pause == nil {
		t.Fatalf("no pause window in %+v", r.Annotations)
	}
	if !strings.Contains(pause.Details, "to 0.700000s") || !strings.Contains(pause.Details, "resumed") {
		t.Errorf("pause details %q: want it to end at 0.700000s, resumed", pause.Details)
	}
	// The window covers exactly the operations that ran entirely inside the pause.
	inside := 0
	for _, op := range r.History {
		during := op.CallTime > 500*time.Millisecond && !op.Unknown && op.ReturnTime <= 700*time.Millisecond
		covered := op.Call > pause.Start && op.Return <= pause.End
		if during != covered {
			t.Errorf("op %+v: during the pause %v, covered by the window [%d, %d] %v", op, during, pause.Start, pause.End, covered)
		}
		if during {
			inside++
		}
	}
	if inside == 0 || inside == len(r.History) {
		t.Errorf("%d of %d operations inside the pause: the test shows nothing", inside, len(r.History))
	}
}
