package detrules

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wantRE matches `want "rule" "rule"...` inside a comment.
var (
	wantRE  = regexp.MustCompile(`want((?:\s+"[^"]*")+)`)
	quoteRE = regexp.MustCompile(`"([^"]*)"`)
)

// key is "file.go:line: rule".
func key(file string, line int, rule string) string {
	return fmt.Sprintf("%s:%d: %s", filepath.Base(file), line, rule)
}

// wants collects the `want` annotations of the non-test Go files in dir.
func wants(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				m := wantRE.FindStringSubmatch(c.Text)
				if m == nil {
					continue
				}
				line := fset.Position(c.Pos()).Line
				for _, q := range quoteRE.FindAllStringSubmatch(m[1], -1) {
					out = append(out, key(name, line, q[1]))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func findingKeys(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, key(f.Pos.Filename, f.Pos.Line, f.Rule))
	}
	slices.Sort(out)
	return out
}

// diff reports the elements only in a and only in b (multisets, sorted input).
func diff(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

func TestFixtures(t *testing.T) {
	c, err := NewChecker("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir      string
		minWants int      // guards against a fixture losing its annotations
		graph    []string // the import graph CheckGraph must walk (module packages)
	}{
		{"testdata/bad", 140, []string{"bad", "lib", "wrap"}},
		{"testdata/good", 0, []string{"good", "lib"}},
		{"testdata/lib", 0, []string{"lib"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			pkgs, findings, err := c.CheckGraph(tc.dir)
			if err != nil {
				t.Fatalf("CheckGraph: %v", err)
			}
			var want []string
			var graph []string
			for _, p := range pkgs {
				name := p[strings.LastIndex(p, "/")+1:]
				graph = append(graph, name)
				want = append(want, wants(t, filepath.Join("testdata", name))...)
			}
			slices.Sort(want)
			if !slices.Equal(graph, tc.graph) {
				t.Errorf("CheckGraph walked %v, want %v", graph, tc.graph)
			}
			if len(want) < tc.minWants {
				t.Fatalf("only %d want annotations in %s", len(want), tc.dir)
			}
			missing, unexpected := diff(want, findingKeys(findings))
			for _, m := range missing {
				t.Errorf("missed: %s", m)
			}
			for _, u := range unexpected {
				for _, f := range findings {
					if key(f.Pos.Filename, f.Pos.Line, f.Rule) == u {
						t.Errorf("unexpected finding: %s", f)
						break
					}
				}
			}
			for _, f := range findings {
				if f.Text == "" || !filepath.IsAbs(f.Pos.Filename) || f.Pos.Column == 0 {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
}

// TestBadEscapesSaySo checks that each escape in testdata/bad/escape.go that does not count
// says why on its finding.
func TestBadEscapesSaySo(t *testing.T) {
	findings, err := CheckDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		if _, why, ok := strings.Cut(f.Text, "(the determinism: escape on this line "); ok {
			got = append(got, strings.TrimSuffix(why, ", so it does not count)"))
		}
	}
	want := []string{
		"gives no reason", "gives no reason",
		"gives a reason of fewer than 3 words", "gives a reason of fewer than 3 words",
		"gives a placeholder, not a reason (say why the line is safe)",
		"gives a placeholder (todo), not a reason",
		"gives a placeholder, not a reason (say why the line is safe)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("escape problems:\n got %q\nwant %q", got, want)
	}
}

func TestReasonProblem(t *testing.T) {
	for _, tc := range []struct {
		reason string
		ok     bool
	}{
		{"", false},
		{"   ", false},
		{"ok", false},
		{"safe", false},
		{"fine", false},
		{"todo", false},
		{"order does not matter", true},
		{"safe here", false},
		{"it is fine", false},
		{"This is SAFE.", false},
		{"trust me, it's deterministic", false},
		{"TODO: write why this is allowed", false},
		{"FIXME later when we know more", false},
		{"-- -- --", false},
		{"sums are order-independent", true},
		{"summing is order-independent", true},
		{"runs after the run, never hashed", true},
	} {
		if got := reasonProblem(tc.reason) == ""; got != tc.ok {
			t.Errorf("reasonProblem(%q) = %q; want accepted = %v", tc.reason, reasonProblem(tc.reason), tc.ok)
		}
	}
}

func TestBannedImport(t *testing.T) {
	for _, tc := range []struct {
		path   string
		banned bool
	}{
		{"syscall", true},
		{"syscall/js", true},
		{"golang.org/x/sys", true},
		{"golang.org/x/sys/unix", true},
		{"golang.org/x/sysfoo", false},
		{"io/ioutil", true},
		{"io", false},
		{"io/fs", false}, // its file-system functions are flagged one by one
		{"log", true},
		{"log/slog", true},
		{"log/syslog", true},
		{"runtime", true},
		{"runtime/pprof", true},
		{"runtime/trace", true},
		{"runtime/debug", false}, // its functions are flagged one by one
		{"unsafe", true},
		{"weak", true},
		{"os/signal", true},
		{"sync/atomic", true},
		{"strings", false},
		{"math/rand/v2", false},
		{"context", false},
	} {
		if got := bannedImport(tc.path) != ""; got != tc.banned {
			t.Errorf("bannedImport(%q) banned = %v, want %v", tc.path, got, tc.banned)
		}
	}
}

func TestNameTags(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"x.go", nil},
		{"x_linux.go", []string{"linux"}},
		{"x_amd64.go", []string{"amd64"}},
		{"x_windows_arm64.go", []string{"windows", "arm64"}},
		{"linux.go", nil}, // go/build needs a prefix before the suffix
		{"gen_ignore.go", nil},
	} {
		if got := nameTags(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("nameTags(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want string
	}{
		{"type error", "testdata/broken", `type-checking raftsim/internal/detrules/testdata/broken failed`},
		{"no Go files", "testdata", "no buildable Go source files"},
		{"missing dir", "testdata/nonexistent", "testdata/nonexistent"},
		{"outside any module", os.TempDir(), "no go.mod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := CheckDir(tc.dir)
			if err == nil {
				t.Fatalf("CheckDir(%s) = %v, nil; want an error", tc.dir, fs)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckDir(%s) error %q does not contain %q", tc.dir, err, tc.want)
			}
		})
	}
	c, err := NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckDir(filepath.Dir(c.ModuleRoot())); err == nil || !strings.Contains(err.Error(), "outside module") {
		t.Fatalf("CheckDir outside the module: err = %v", err)
	}
}

// exempt lists files (module-relative, slash-separated) whose findings do not fail
// TestProjectIsDeterministic, with the reason. DESIGN.md exempts the parallel seed runner;
// prefer `// determinism: <reason>` on each line over an entry here, and keep entries to
// files that do nothing but run seeds in parallel. Findings in exempt files are logged.
var exempt = map[string]string{
	"sim/explore/parallel.go": "the model checker's worker pool: it only runs independent expansions whose results are merged in a fixed order",
}

// runRoots are the packages a simulation run starts from: the scenarios, the simulator
// (which a program can drive without scenarios) and the model checker (whose transitions
// step the same servers). Everything of the module they import is executed by a run or a
// search and so is checked.
var runRoots = []string{"scenarios", "sim", "sim/explore"}

// designDirs are the directories DESIGN.md's determinism rules name. Every package under
// them is checked even if no run root imports it yet, and each must be in the import graph
// of the run roots (or the doc and the graph disagree).
var designDirs = []string{"node", "sim", "netsim", "scenarios", "linearizability"}

func TestProjectIsDeterministic(t *testing.T) {
	c, err := NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	root := c.ModuleRoot()
	inGraph := map[string]bool{}
	var findings []Finding
	for _, r := range runRoots {
		pkgs, fs, err := c.CheckGraph(filepath.Join(root, r))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for _, p := range pkgs {
			inGraph[p] = true
		}
		findings = append(findings, fs...)
	}
	for _, dir := range packageDirs(t, root, designDirs) {
		rel, _ := filepath.Rel(root, dir)
		path := "raftsim/" + filepath.ToSlash(rel)
		if inGraph[path] {
			continue
		}
		t.Errorf("%s is under a directory DESIGN.md's determinism rules name but no run root %v imports it: check that it belongs there", path, runRoots)
		fs, err := c.CheckDir(dir)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		findings = append(findings, fs...)
	}
	seen := map[string]bool{}
	for _, f := range findings {
		file, _ := filepath.Rel(root, f.Pos.Filename)
		file = filepath.ToSlash(file)
		msg := fmt.Sprintf("%s:%d: %s: %s", file, f.Pos.Line, f.Rule, f.Text)
		if seen[msg] {
			continue // a package reached from two roots
		}
		seen[msg] = true
		if why, ok := exempt[file]; ok {
			t.Logf("exempt (%s): %s", why, msg)
			continue
		}
		t.Error(msg)
	}
	checked := slices.Sorted(maps.Keys(inGraph))
	t.Logf("checked %d packages: %v", len(checked), checked)
	for _, must := range []string{"raftsim/linearizability", "raftsim/node/kv", "raftsim/sim/check"} {
		if !inGraph[must] {
			t.Errorf("%s is not in the run roots' import graph %v", must, checked)
		}
	}
}

// packageDirs lists the directories under tops (module-relative) that hold non-test Go
// files, skipping testdata and hidden directories as the go command does.
func packageDirs(t *testing.T, root string, tops []string) []string {
	t.Helper()
	var out []string
	for _, top := range tops {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != filepath.Join(root, top) && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
				if dir := filepath.Dir(path); !slices.Contains(out, dir) {
					out = append(out, dir)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", top, err)
		}
	}
	return out
}
