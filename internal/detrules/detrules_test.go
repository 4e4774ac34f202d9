package detrules

import (
	"errors"
	"fmt"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
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
		minWants int // guards against a fixture losing its annotations
	}{
		{"testdata/bad", 50},
		{"testdata/good", 0},
		{"testdata/lib", 0},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			findings, err := c.CheckDir(tc.dir)
			if err != nil {
				t.Fatalf("CheckDir: %v", err)
			}
			want := wants(t, tc.dir)
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

func TestEmptyEscapeSaysSo(t *testing.T) {
	findings, err := CheckDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range findings {
		if strings.Contains(f.Text, "gives no reason") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d findings mention the empty escape, want 2", n)
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
var exempt = map[string]string{}

// projectDirs are the directories DESIGN.md's determinism rules cover.
var projectDirs = []string{"node", "sim", "netsim", "scenarios"}

func TestProjectIsDeterministic(t *testing.T) {
	c, err := NewChecker(".")
	if err != nil {
		t.Fatal(err)
	}
	root := c.ModuleRoot()
	var checked []string
	for _, top := range projectDirs {
		dir := filepath.Join(root, top)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Logf("%s/ does not exist yet: nothing to check there", top)
			continue
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			name := d.Name()
			if path != dir && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			rel, _ := filepath.Rel(root, path)
			if _, err := build.Default.ImportDir(path, 0); err != nil {
				var noGo *build.NoGoError
				if errors.As(err, &noGo) {
					t.Logf("%s: no non-test Go files", rel)
					return nil
				}
			}
			findings, err := c.CheckDir(path)
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			checked = append(checked, filepath.ToSlash(rel))
			for _, f := range findings {
				file, _ := filepath.Rel(root, f.Pos.Filename)
				file = filepath.ToSlash(file)
				msg := fmt.Sprintf("%s:%d: %s: %s", file, f.Pos.Line, f.Rule, f.Text)
				if why, ok := exempt[file]; ok {
					t.Logf("exempt (%s): %s", why, msg)
					continue
				}
				t.Error(msg)
			}
			return nil
		})
		if err != nil {
			t.Errorf("walking %s: %v", top, err)
		}
	}
	t.Logf("checked %d package directories: %v", len(checked), checked)
	if len(checked) == 0 {
		t.Errorf("no package directories checked under %v", projectDirs)
	}
}
