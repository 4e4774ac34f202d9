package linearizability

import (
	"fmt"
	"slices"
	"strconv"
)

// The data of porcupine's visualization page (v1.3.1), which its script reads by these
// field names. Check searches every key on its own, and porcupine's LinearizationInfo
// cannot be assembled from parts (its fields are unexported), so the page's data is built
// here from the searches' partial linearizations, the way porcupine builds it from one
// LinearizationInfo (TestVisualizationDataMatchesPorcupine holds the two together).
type (
	vizData struct {
		Partitions  []vizPartition
		Annotations []vizAnnotation
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
