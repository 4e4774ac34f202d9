package linearizability

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

var testAnnotations = []Annotation{
	{Tag: "faults", Start: 3, End: 6, Description: "partition {1,2} | {3,4,5}", Details: "healed at 2s", Color: "#f4cccc"},
	{Tag: "leaders", Start: 4, End: 4, Description: "node 3 leader in term 7"},
}

func TestWriteHTML(t *testing.T) {
	tests := []struct {
		name   string
		ops    []Op
		budget time.Duration
		want   Verdict
		shows  string // an operation's description, JSON-escaped as in the page's data ("\"", "\u003e" for ">")
	}{
		{
			name: "linearizable",
			ops: []Op{
				at(put(0, "x", "1", 1, 2), 0, time.Millisecond),
				at(appendOp(1, "x", "2", "12", 5, 8), 2*time.Millisecond, 3*time.Millisecond),
				lost(put(2, "y", "3", 7, 0)),
			},
			budget: testBudget, want: Linearizable, shows: `append(\"x\", \"2\") -\u003e \"12\"`,
		},
		{
			name: "not linearizable",
			ops: []Op{
				put(0, "x", "1", 1, 2),
				put(1, "x", "2", 3, 6),
				get(2, "x", "1", 7, 8),
			},
			budget: testBudget, want: NotLinearizable, shows: `get(\"x\") -\u003e \"1\"`,
		},
		{
			name:   "inconclusive",
			ops:    hardAppends(10, "no such order"),
			budget: time.Microsecond, want: Inconclusive, shows: `append(\"x\", \"j\")`,
		},
		{name: "empty", budget: testBudget, want: Linearizable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.ops, tt.budget)
			if err != nil || res.Verdict != tt.want {
				t.Fatalf("%v, %v; want %v", res, err, tt.want)
			}
			var buf bytes.Buffer
			if err := res.WriteHTML(&buf, testAnnotations); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			wants := []string{"<html", "partition {1,2} | {3,4,5}", "healed at 2s", "node 3 leader in term 7", "#f4cccc"}
			if tt.shows != "" {
				wants = append(wants, tt.shows)
			}
			for _, want := range wants {
				if !strings.Contains(html, want) {
					t.Errorf("HTML (%d bytes) lacks %q", len(html), want)
				}
			}
			// WriteHTML does not accumulate annotations in the Result.
			var again bytes.Buffer
			if err := res.WriteHTML(&again, nil); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(again.String(), "healed at 2s") {
				t.Error("annotations of an earlier WriteHTML leaked into a later one")
			}

			path := filepath.Join(t.TempDir(), "history.html")
			if err := res.WriteHTMLFile(path, testAnnotations); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"<html", "healed at 2s", "node 3 leader in term 7"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("the file (%d bytes) lacks %q", len(data), want)
				}
			}
		})
	}
}

func TestWriteHTMLErrors(t *testing.T) {
	res, err := Check([]Op{put(0, "x", "1", 1, 2)}, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unwritable := filepath.Join(dir, "no such directory", "history.html")
	if err := res.WriteHTMLFile(unwritable, nil); err == nil {
		t.Error("WriteHTMLFile to a path in a missing directory: no error")
	}
	if err := res.WriteHTMLFile(dir, nil); err == nil {
		t.Error("WriteHTMLFile to a directory: no error")
	}

	path := filepath.Join(dir, "untagged.html")
	err = res.WriteHTMLFile(path, []Annotation{{Start: 1, Description: "where does this go"}})
	if err == nil || !strings.Contains(err.Error(), "no Tag") {
		t.Errorf("untagged annotation: error %v, want one about the Tag", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Errorf("a failed WriteHTMLFile left %s behind (%v)", path, statErr)
	}

	var zero Result
	if err := zero.WriteHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteHTML of a zero Result: no error")
	}
	var nilResult *Result
	if err := nilResult.WriteHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteHTML of a nil *Result: no error")
	}
}

func TestDescriptions(t *testing.T) {
	long := strings.Repeat("abcdefghij", 10)
	tests := []struct {
		in   kvInput
		out  kvOutput
		want string
	}{
		{kvInput{kind: Get, key: "k"}, kvOutput{value: "v", checked: true}, `get("k") -> "v"`},
		{kvInput{kind: Get, key: "k"}, kvOutput{checked: true}, `get("k") -> ""`},
		{kvInput{kind: Put, key: "k", value: "v"}, kvOutput{}, `put("k", "v")`},
		{kvInput{kind: Put, key: "k", value: "v"}, kvOutput{unknown: true}, `put("k", "v") -> ?`},
		{kvInput{kind: Append, key: "k", value: "x"}, kvOutput{value: "abx", checked: true}, `append("k", "x") -> "abx"`},
		{kvInput{kind: Append, key: "k", value: "x"}, kvOutput{}, `append("k", "x")`},
		{kvInput{kind: Append, key: "k", value: "x"}, kvOutput{unknown: true}, `append("k", "x") -> ?`},
		{kvInput{kind: Get, key: "k"}, kvOutput{value: long, checked: true},
			`get("k") -> "abcdefghijabcdef"…"abcdefghijabcdefghijabcdefghijabcdefghij" (100 bytes)`},
	}
	for _, tt := range tests {
		if got := describeKVOperation(tt.in, tt.out); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
	if got, want := kvModel.DescribeState("ab"), `"ab"`; got != want {
		t.Errorf("state: got %s, want %s", got, want)
	}
	if got := kvModel.DescribeState(long); len(got) > 100 || !strings.Contains(got, "(100 bytes)") {
		t.Errorf("long state: %s", got)
	}
	if got, want := describeMeta(opMeta{callTime: time.Second, returnTime: 2 * time.Second}), "virtual time 1s -> 2s"; got != want {
		t.Errorf("meta: got %q, want %q", got, want)
	}
	if got, want := describeMeta(opMeta{callTime: time.Second, returnTime: 2 * time.Second, server: 3}), "virtual time 1s -> 2s, via n3"; got != want {
		t.Errorf("meta: got %q, want %q", got, want)
	}
	if got, want := describeMeta(opMeta{callTime: time.Second, unknown: true}), "virtual time 1s -> ? (outcome unknown)"; got != want {
		t.Errorf("meta: got %q, want %q", got, want)
	}
	if got := describeMeta(nil); got != "" {
		t.Errorf("nil meta: %q", got)
	}
}

// TestWriteHTMLNamesClientRows: the rows of the picture name the clients as the simulator
// does (c1 for Op.Client 0), not by porcupine's 0-based index.
func TestWriteHTMLNamesClientRows(t *testing.T) {
	res, err := Check([]Op{put(0, "x", "1", 1, 2), get(1, "x", "1", 3, 4)}, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.WriteHTML(&buf, nil); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, l := range clientRowLabels {
		if strings.Contains(html, l.old) || !strings.Contains(html, l.new) {
			t.Errorf("the page still labels client rows by index (%q)", l.old)
		}
	}
	if _, err := nameClientRows([]byte("<html>a page drawn some other way</html>")); err == nil {
		t.Error("a page without porcupine's row labels was accepted: the rows would silently keep their 0-based names")
	}
}

// pageData extracts the data object from a porcupine page.
func pageData(t *testing.T, page string) string {
	t.Helper()
	const start, end = "const data = ", "\n\n      render(data)"
	i, j := strings.Index(page, start), strings.Index(page, end)
	if i < 0 || j < i {
		t.Fatalf("no data in the page (%d bytes)", len(page))
	}
	return page[i+len(start) : j]
}

// The page data built from the per-key searches is what porcupine builds from one
// LinearizationInfo of the same history (where its partial linearizations are unique, so
// that its unordered sets compare).
func TestVisualizationDataMatchesPorcupine(t *testing.T) {
	annotations := append(slices.Clone(testAnnotations), Annotation{Tag: "faults", Start: 9, End: 2, Description: "backwards"})
	tests := []struct {
		name string
		ops  []Op
	}{
		{"linearizable, three keys", []Op{
			vt(via(put(0, "x", "1", 1, 2), 1), 0, 1),
			vt(via(appendOp(1, "x", "2", "12", 5, 8), 2), 2, 3),
			lost(put(2, "y", "3", 7, 0)),
			get(0, "y", "", 3, 4),
			get(3, "z", "", 6, 9),
		}},
		{"not linearizable, one key", []Op{put(0, "x", "a", 1, 2), put(1, "x", "b", 3, 4), get(2, "x", "a", 5, 6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.ops, testBudget)
			if err != nil {
				t.Fatal(err)
			}
			data := res.visualization(annotations)
			data.RaftsimFocus = nil // ours alone
			ours, err := json.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			var history []porcupine.Operation
			for _, p := range res.parts {
				history = append(history, p.ops...)
			}
			_, info := porcupine.CheckOperationsVerbose(kvModel, history, testBudget)
			extra := make([]porcupine.Annotation, len(annotations))
			for i, a := range annotations {
				extra[i] = porcupine.Annotation{Tag: a.Tag, Start: a.Start, End: a.End, Description: a.Description, Details: a.Details, BackgroundColor: a.Color}
			}
			info.AddAnnotations(extra)
			var page bytes.Buffer
			if err := porcupine.Visualize(kvModel, info, &page); err != nil {
				t.Fatal(err)
			}
			if theirs := pageData(t, page.String()); string(ours) != theirs {
				t.Errorf("page data differs from porcupine's:\nours   %s\ntheirs %s", ours, theirs)
			}
		})
	}
}

// TestWriteHTMLOpensAtFirstError: a failing check's page carries the hook that selects the
// failing key, outlines the first operation that could not be linearized and scrolls to
// it, the data saying where that is, and the explanation; a passing check's page has the
// hook but nothing for it to do.
func TestWriteHTMLOpensAtFirstError(t *testing.T) {
	bad := []Op{
		put(0, "k1", "a", 1, 2), put(1, "k1", "b", 3, 4), get(2, "k1", "a", 5, 6),
		put(3, "other", "z", 7, 8), get(3, "other", "z", 9, 10),
	}
	tests := []struct {
		name  string
		ops   []Op
		focus string // the data's RaftsimFocus, "" for none
	}{
		{"not linearizable", bad, `"RaftsimFocus":{"Partition":0,"Select":1,"Error":2,"Explained":[0,1,2]}`},
		{"linearizable", bad[3:], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.ops, testBudget)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := res.WriteHTML(&buf, nil); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			if !strings.Contains(page, focusAnchor+focusScript) {
				t.Error("the page lacks the open-at-first-error hook at the end of render")
			}
			data := pageData(t, page)
			if tt.focus == "" {
				if strings.Contains(data, "RaftsimFocus") || strings.Contains(page, `id="raftsim-explanation"`) {
					t.Error("a linearizable history's page has a focus or an explanation")
				}
				return
			}
			if !strings.Contains(data, tt.focus) {
				t.Errorf("the data lacks %s:\n%s", tt.focus, data)
			}
			banner := `id="raftsim-explanation"`
			if !strings.Contains(page, banner) || !strings.Contains(page, html.EscapeString(res.Explanation.Why)) {
				t.Error("the page does not show the explanation")
			}
		})
	}
}

// A search stopped early proved nothing: its key is drawn without partial linearizations
// (porcupine would mark its next operations as errors) and named as not decided.
func TestWriteHTMLStoppedKey(t *testing.T) {
	ops := append(staleRead("a", 0), rekey(hardAppends(10, "no such order"), "m", 10000)...)
	res, err := Check(ops, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	if res.parts[1].status != partStopped {
		t.Fatalf("key m: status %d, want stopped", res.parts[1].status)
	}
	data := res.visualization(nil)
	if n := len(data.Partitions[1].PartialLinearizations); n != 0 {
		t.Errorf("the stopped key is drawn with %d partial linearizations", n)
	}
	if len(data.Partitions[0].PartialLinearizations) == 0 {
		t.Error("the failing key is drawn without its partial linearizations")
	}
	if b := res.banner(); !strings.Contains(b, `Not decided (the check stopped once the verdict was known; drawn without linearizations): key &#34;m&#34;`) {
		t.Errorf("the banner does not name the stopped key:\n%s", b)
	}
}
