package linearizability

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"os" // determinism: only WriteHTMLFile uses it, to save the picture after a run; no run calls it
	"strings"

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
// linearizations found. It does not change r, but it must not be called concurrently on
// the same Result.
//
// Every partition is drawn with what its own search found. A partition whose search was
// stopped early (another key had already decided the verdict) is drawn without partial
// linearizations, since a stopped search proves nothing and porcupine would mark its
// next operations as errors. When the verdict is NotLinearizable, the page opens at the
// first error: it selects the failing key, shows the longest partial linearization found
// for it, outlines in red the first operation that could not extend it (and dashes the
// explanation's operations), scrolls there, and shows Explanation.Text above the picture.
func (r *Result) WriteHTML(w io.Writer, annotations []Annotation) error {
	if r == nil || (r.model.Step == nil && r.model.StepContext == nil) {
		return errors.New("linearizability: this Result holds no check to visualize (it did not come from Check)")
	}
	for i, a := range annotations {
		if a.Tag == "" {
			return fmt.Errorf("linearizability: annotation %d (%q) has no Tag (the row to show it in)", i, a.Description)
		}
	}
	data, err := json.Marshal(r.visualization(annotations))
	if err != nil {
		return err
	}
	// porcupine's page, drawn with no data, then given ours.
	var page bytes.Buffer
	if err := porcupine.Visualize(r.model, porcupine.LinearizationInfo{}, &page); err != nil {
		return err
	}
	out, err := replaceOnce(page.Bytes(), []byte(emptyData), data)
	if err != nil {
		return err
	}
	if out, err = nameClientRows(out); err != nil {
		return err
	}
	if out, err = replaceOnce(out, []byte(focusAnchor), []byte(focusAnchor+focusScript)); err != nil {
		return err
	}
	if banner := r.banner(); banner != "" {
		if out, err = replaceOnce(out, []byte(canvasAnchor), []byte(banner+canvasAnchor)); err != nil {
			return err
		}
	}
	_, err = w.Write(out)
	return err
}

// emptyData is the data porcupine's page (v1.3.1) holds when drawn with no partition.
const emptyData = `{"Partitions":[],"Annotations":[]}`

// focusAnchor ends porcupine's render function, where its selection helpers are in scope;
// focusScript, inserted there, opens the page at the first error (data.RaftsimFocus).
const (
	focusAnchor = "  handleMouseOut() // Initialize, same as mouse out\n"
	focusScript = `  // raftsim: open at the first error.
  const raftsimFocus = data.RaftsimFocus
  if (raftsimFocus) {
    select(raftsimFocus.Partition, raftsimFocus.Select)
    const rects = historyRects[raftsimFocus.Partition]
    for (const i of raftsimFocus.Explained) {
      rects[i].style.strokeDasharray = '6 3'
      rects[i].style.strokeWidth = '3'
    }
    const first = rects[raftsimFocus.Error]
    if (first) {
      first.id = 'raftsim-first-error'
      first.style.stroke = '#d00000'
      first.style.strokeWidth = '5'
      first.style.strokeDasharray = 'none'
      // Its label at its start, in view even when the operation is wider than the window.
      const label = first.parentNode.querySelector('text')
      label.setAttribute('x', Number(first.getAttribute('x')) + 10)
      label.setAttribute('text-anchor', 'start')
      // Its start, where the invalid linearization point is drawn, with what came
      // before it in view (an operation can be far wider than the window).
      first.scrollIntoView({block: 'center', inline: 'start'})
      window.scrollBy(-Math.min(450, window.innerWidth / 3), 0)
    }
  }
`
	canvasAnchor = `<div id="canvas"></div>`
)

// replaceOnce replaces the one occurrence of old in page: porcupine's page drawn
// otherwise than expected is an error here, not a page that silently lacks a feature.
func replaceOnce(page, old, new []byte) ([]byte, error) {
	if n := bytes.Count(page, old); n != 1 {
		return nil, fmt.Errorf("linearizability: porcupine's visualization is not as expected (%d matches of %.60q)", n, old)
	}
	return bytes.Replace(page, old, new, 1), nil
}

// banner is the text shown above the picture: the explanation and the keys left
// undecided, if any.
func (r *Result) banner() string {
	var b strings.Builder
	if r.Explanation != nil {
		b.WriteString(r.Explanation.Text())
	}
	var stopped, timedOut []string
	for i := range r.parts {
		switch r.parts[i].status {
		case partStopped:
			stopped = append(stopped, partitionName(r.parts[i].ops))
		case partTimedOut:
			timedOut = append(timedOut, partitionName(r.parts[i].ops))
		}
	}
	if len(stopped) > 0 {
		fmt.Fprintf(&b, "Not decided (the check stopped once the verdict was known; drawn without linearizations): %s\n", strings.Join(stopped, ", "))
	}
	if len(timedOut) > 0 {
		fmt.Fprintf(&b, "Not decided (out of budget; drawn with the partial linearizations found): %s\n", strings.Join(timedOut, ", "))
	}
	if b.Len() == 0 {
		return ""
	}
	// Fixed at the bottom like porcupine's legend at the top, so that it stays in view
	// when the page scrolls to the error; a click folds it to its first line.
	return `<pre id="raftsim-explanation" title="click to fold" onclick="this.style.maxHeight = this.style.maxHeight === '1.3em' ? '40vh' : '1.3em'" ` +
		`style="position: fixed; z-index: 1; left: 10px; right: 10px; bottom: 10px; max-height: 40vh; overflow: auto; margin: 0; padding: 6px; ` +
		`font-size: 13px; white-space: pre-wrap; background: rgba(255, 244, 244, 0.95); border: 1px solid #d88; border-radius: 4px; cursor: pointer;">` +
		html.EscapeString(b.String()) + "</pre>\n    "
}

// partitionName is `key "k"` for a KV partition.
func partitionName(ops []porcupine.Operation) string {
	if in, ok := ops[0].Input.(kvInput); ok {
		return fmt.Sprintf("key %q", in.key)
	}
	return "a partition"
}

// clientRowLabels are the two places in porcupine's visualization script (v1.3.1) that
// label a client's row with its 0-based index, and what replaces each so that the rows
// read c1, c2, ..., the names the simulator's trace and failure messages use (History
// numbers clients from 0: Op.Client 0 is c1).
var clientRowLabels = [...]struct{ old, new string }{
	{"const tag = i < realClients ? i.toString() : sortedTags[i - realClients]",
		"const tag = i < realClients ? 'c' + (i + 1) : sortedTags[i - realClients]"},
	{"text.textContent = i < realClients ? i : sortedTags[i - realClients]",
		"text.textContent = i < realClients ? 'c' + (i + 1) : sortedTags[i - realClients]"},
}

// nameClientRows relabels the client rows of porcupine's page. Each label must be found
// exactly once: a porcupine version that draws its rows otherwise is an error here, not a
// page with the wrong names.
func nameClientRows(page []byte) ([]byte, error) {
	for _, l := range clientRowLabels {
		if n := bytes.Count(page, []byte(l.old)); n != 1 {
			return nil, fmt.Errorf("linearizability: porcupine's visualization labels its client rows differently than expected (%d matches of %q): update clientRowLabels", n, l.old)
		}
		page = bytes.Replace(page, []byte(l.old), []byte(l.new), 1)
	}
	return page, nil
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
