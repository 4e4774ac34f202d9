package linearizability

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/anishathalye/porcupine"
)

// The data of porcupine's visualization page (v1.3.1), which its script reads by these
// field names. Check searches every key on its own, and porcupine's LinearizationInfo
// cannot be assembled from parts (its fields are unexported), so the page's data is built
// here from the searches' partial linearizations, the way porcupine builds it from one
// LinearizationInfo (TestVisualizationDataMatchesPorcupine holds the two together).
type (
	vizData struct {
		Partitions   []vizPartition
		Annotations  []vizAnnotation
		RaftsimFocus *vizFocus `json:",omitempty"`
	}
	vizPartition struct {
		History               []vizElement
		PartialLinearizations [][]vizStep
		Largest               map[int]int // operation -> the longest partial linearization holding it
	}
	vizElement struct {
		ClientId      int
		Start         int
		OriginalStart string
		End           int
		OriginalEnd   string
		Description   string
		Metadata      string
	}
	vizStep struct {
		Index            int
		StateDescription string
	}
	vizAnnotation struct {
		ClientId        int
		Tag             string
		Start           int
		End             int
		Description     string
		Details         string
		Annotation      bool // always true
		TextColor       string
		BackgroundColor string
	}
	// vizFocus is where the page opens (indexes into the partition's History).
	vizFocus struct {
		Partition int
		Select    int   // the operation to select: the last of the longest partial linearization
		Error     int   // the first operation that could not extend it
		Explained []int // the explanation's operations
	}
)

// visualization builds the page's data.
func (r *Result) visualization(annotations []Annotation) vizData {
	m := r.model
	describeOp, describeState, describeMeta := m.DescribeOperation, m.DescribeState, m.DescribeOperationMetadata
	if describeOp == nil { // porcupine's defaults
		describeOp = func(in, out any) string { return fmt.Sprintf("%v -> %v", in, out) }
	}
	if describeState == nil {
		describeState = func(s any) string { return fmt.Sprintf("%v", s) }
	}
	if describeMeta == nil {
		describeMeta = func(x any) string {
			if x == nil {
				return ""
			}
			return fmt.Sprintf("%v", x)
		}
	}
	at := r.timeMap(annotations)
	data := vizData{Partitions: make([]vizPartition, len(r.parts)), Annotations: make([]vizAnnotation, len(annotations))}
	for p := range r.parts {
		part := &r.parts[p]
		vp := vizPartition{History: make([]vizElement, len(part.ops)), PartialLinearizations: [][]vizStep{}, Largest: map[int]int{}}
		for i, op := range part.ops {
			vp.History[i] = vizElement{
				ClientId: op.ClientId, Start: at[op.Call], OriginalStart: strconv.FormatInt(op.Call, 10),
				End: at[op.Return], OriginalEnd: strconv.FormatInt(op.Return, 10),
				Description: describeOp(op.Input, op.Output), Metadata: describeMeta(op.Metadata),
			}
		}
		for k, lin := range part.drawn() {
			steps := make([]vizStep, len(lin))
			state := m.Init()
			for j, i := range lin {
				var ok bool
				if ok, state = m.Step(state, part.ops[i].Input, part.ops[i].Output); !ok {
					panic("linearizability: porcupine's partial linearization does not replay")
				}
				steps[j] = vizStep{Index: i, StateDescription: describeState(state)}
				if _, seen := vp.Largest[i]; !seen { // the first holding it is the longest
					vp.Largest[i] = k
				}
			}
			vp.PartialLinearizations = append(vp.PartialLinearizations, steps)
		}
		data.Partitions[p] = vp
	}
	for i, a := range annotations {
		end := max(a.End, a.Start)
		data.Annotations[i] = vizAnnotation{
			Tag: a.Tag, Start: at[a.Start], End: at[end], Description: a.Description, Details: a.Details,
			Annotation: true, BackgroundColor: a.Color,
		}
	}
	data.RaftsimFocus = r.vizFocus()
	return data
}

// timeMap maps every timestamp of the picture, in order, to 0, 100, 200, ... (porcupine's
// page relies on that spacing, and it keeps the numbers small).
func (r *Result) timeMap(annotations []Annotation) map[int64]int {
	var all []int64
	for p := range r.parts {
		for _, op := range r.parts[p].ops {
			all = append(all, op.Call, op.Return)
		}
	}
	for _, a := range annotations {
		all = append(all, a.Start, max(a.End, a.Start))
	}
	slices.Sort(all)
	all = slices.Compact(all)
	at := make(map[int64]int, len(all))
	for i, t := range all {
		at[t] = 100 * i
	}
	return at
}

// drawn is the partition's partial linearizations to draw, longest first (ties in index
// order, so the page is the same every time): none for a stopped search.
func (p *partition) drawn() [][]int {
	if p.status == partStopped {
		return nil
	}
	lins := slices.Clone(p.partials)
	slices.SortFunc(lins, func(a, b []int) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return slices.Compare(a, b)
	})
	return lins
}

// vizFocus is where the page opens: nil unless the verdict is NotLinearizable.
func (r *Result) vizFocus() *vizFocus {
	if r.Verdict != NotLinearizable || r.failing < 0 {
		return nil
	}
	part := &r.parts[r.failing]
	var longest []int
	if lins := part.drawn(); len(lins) > 0 {
		longest = lins[0]
	}
	f := &vizFocus{Partition: r.failing, Error: part.firstError(r.model, longest), Explained: slices.Clone(r.focus)}
	if f.Explained == nil {
		f.Explained = []int{}
	}
	f.Select = f.Error
	if len(longest) > 0 {
		f.Select = longest[len(longest)-1]
	}
	return f
}

// firstError is the first operation (by Call) that could come next after the partial
// linearization lin and that the model refuses there; if the model refuses none (the
// search pruned them as already explored), the first that could come next. porcupine's
// page marks these candidates as illegal next steps.
func (p *partition) firstError(m porcupine.Model, lin []int) int {
	in := make([]bool, len(p.ops))
	state := m.Init()
	for _, i := range lin {
		in[i] = true
		_, state = m.Step(state, p.ops[i].Input, p.ops[i].Output)
	}
	minEnd := int64(0)
	first := true
	for i, op := range p.ops {
		if !in[i] && (first || op.Return < minEnd) {
			minEnd, first = op.Return, false
		}
	}
	candidate, refused := -1, -1
	for i, op := range p.ops {
		if in[i] || op.Call >= minEnd {
			continue
		}
		if candidate < 0 || op.Call < p.ops[candidate].Call {
			candidate = i
		}
		if ok, _ := m.Step(state, op.Input, op.Output); !ok && (refused < 0 || op.Call < p.ops[refused].Call) {
			refused = i
		}
	}
	if refused >= 0 {
		return refused
	}
	return candidate
}
