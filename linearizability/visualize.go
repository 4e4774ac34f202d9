package linearizability

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os" // determinism: only WriteHTMLFile uses it, to save the picture after a run; no run calls it

	"github.com/anishathalye/porcupine"
)

// Annotation is an extra bar in the visualization, in its own row: a fault window, a leader
// or term change, a node's crash.
type Annotation struct {
	Tag         string // the row, e.g. "faults", "leaders", "node 3"; must not be empty
	Start, End  int64  // timestamps on the history's scale (End == Start for an instant; End < Start is read as Start)
	Description string // shown on the bar
	Details     string // shown in the tooltip
	Color       string // optional CSS background color, e.g. "#f4cccc"
}

// WriteHTML writes porcupine's visualization of the checked history, one self-contained HTML
// file that opens in a browser, with the annotations added. It works for every verdict: a
// linearizable history shows its linearization, the others the longest partial
// linearizations found. It does not change r (the annotations go to this picture only), but
// it must not be called concurrently on the same Result.
func (r *Result) WriteHTML(w io.Writer, annotations []Annotation) error {
	if r == nil || (r.model.Step == nil && r.model.StepContext == nil) {
		return errors.New("linearizability: this Result holds no check to visualize (it did not come from Check)")
	}
	extra := make([]porcupine.Annotation, 0, len(annotations))
	for i, a := range annotations {
		if a.Tag == "" {
			return fmt.Errorf("linearizability: annotation %d (%q) has no Tag (the row to show it in)", i, a.Description)
		}
		extra = append(extra, porcupine.Annotation{
			Tag:             a.Tag,
			Start:           a.Start,
			End:             a.End,
			Description:     a.Description,
			Details:         a.Details,
			BackgroundColor: a.Color,
		})
	}
	// A copy: AddAnnotations appends to the info's annotations, and r.info has none, so the
	// copy gets its own slice and r stays as Check left it.
	info := r.info
	info.AddAnnotations(extra)
	return porcupine.Visualize(r.model, info, w)
}

// WriteHTMLFile is WriteHTML to a file at path, created or truncated. On failure the file
// is removed.
func (r *Result) WriteHTMLFile(path string, annotations []Annotation) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("linearizability: writing the visualization: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("linearizability: writing the visualization: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriter(f)
	if err := r.WriteHTML(bw, annotations); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("linearizability: writing the visualization: %w", err)
	}
	return nil
}
