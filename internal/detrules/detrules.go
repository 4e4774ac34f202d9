// Package detrules enforces raftsim's determinism rules (DESIGN.md, "Determinism rules") on
// the source of one package directory at a time.
//
// In node/, sim/, netsim/ and scenarios/ (outside _test.go files) the rules forbid:
//
//	rule          what
//	time.Now ...  time.Now, Since, Until, Sleep, After, AfterFunc, Tick, NewTimer, NewTicker
//	              (rule name = the function's name; time.Duration, time.Millisecond, the
//	              methods of time.Time and so on are fine)
//	go            go statements
//	chan          channel types (make(chan T), chan parameters and fields)
//	chan-send     send statements
//	chan-recv     receive expressions and range over a channel
//	select        select statements
//	import        importing sync, sync/..., crypto/rand, math/rand (v1), os, os/..., net,
//	              net/... or hash/maphash (randomly seeded per process)
//	rand-global   any use of a package-level function of math/rand/v2 other than the
//	              constructors New, NewPCG, NewChaCha8 and NewZipf (methods on a *rand.Rand
//	              or a source are fine)
//	range-map     range over a value whose type is a map: map types, named map types,
//	              aliases, and type parameters whose type set contains a map
//	map-iter      maps.Keys, maps.Values or maps.All (they iterate in map order), except
//	              as the direct argument of slices.Sorted, slices.SortedFunc or
//	              slices.SortedStableFunc, which is the idiomatic way to sort keys
//
// The only escape is a line comment on the same line of the form
//
//	// determinism: <why this is safe>
//
// with a non-empty reason; it suppresses every finding on its line. An escape without a
// reason suppresses nothing (the finding says so).
//
// # Type information and imports
//
// Most rules need go/types (is this range over a map? is this Now the time package's?), so
// CheckDir parses the package's non-test files (as selected by go/build for the current
// GOOS/GOARCH and build tags) and type-checks them with a Checker, which is also the
// importer:
//
//   - Packages of the enclosing module (the module root is found by walking up to go.mod)
//     are type-checked from source, recursively, and cached in the Checker, so sim importing
//     node and netsim sees the same *types.Package as a direct check of node.
//   - Every other package (standard library and third-party modules such as porcupine or
//     rapid) is imported from compiler export data through one gc importer
//     (go/importer.ForCompiler(fset, "gc", lookup)). The lookup table comes from one batched
//     `go list -e -export -deps` run in the module root over all non-module imports
//     reachable from the checked package, so the go command resolves versions, replace
//     directives and the build cache exactly as `go build` would; a path missed by the batch
//     (it should not happen) triggers one more go list. importer.Default() does the same for
//     the standard library internally, one go list per package, but cannot see module
//     dependencies, and using two importers would give two distinct copies of packages such
//     as time, so everything outside the module goes through the one importer. If the go
//     command cannot be run at all, the Checker falls back to
//     go/importer.ForCompiler(fset, "source", nil) for all non-module packages.
//
// Any parse or type error, in the checked package or anything it imports, makes CheckDir
// return an error: the rules never pass silently on code they could not understand.
//
// Imports: the standard library only (it runs the go command, so it is a test-time tool,
// not part of a simulation).
package detrules

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Finding is one violation of a determinism rule.
type Finding struct {
	Pos  token.Position
	Rule string // short rule name, e.g. "time.Now", "go", "range-map"
	Text string // what is wrong and what to do instead
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Pos, f.Rule, f.Text)
}

// CheckDir parses and type-checks the non-test .go files of the package in dir and returns
// its findings, sorted by position. dir must lie inside a module. It uses a fresh Checker;
// to check several directories of one module, a shared Checker (NewChecker) is faster.
func CheckDir(dir string) ([]Finding, error) {
	c, err := NewChecker(dir)
	if err != nil {
		return nil, err
	}
	return c.CheckDir(dir)
}

// Checker checks package directories of one module, caching type-checked packages and
// export data between calls. It is also the types.Importer used for those packages. It is
// not safe for concurrent use.
type Checker struct {
	root      string // module root directory (absolute)
	modPath   string // module path from go.mod
	goVersion string // "go1.26", from go.mod; empty if go.mod has none
	fset      *token.FileSet

	pkgs    map[string]*loaded // module packages by import path; nil value while loading
	exports map[string]string  // export data file by import path, from go list
	gc      types.Importer     // importer for everything outside the module
	noGo    error              // set if the go command could not be run: use source importer
	src     types.Importer     // fallback source importer, created on demand
}

type loaded struct {
	pkg   *types.Package
	files []*ast.File
	info  *types.Info
	err   error
}

// NewChecker returns a Checker for the module enclosing dir.
func NewChecker(dir string) (*Checker, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := findModuleRoot(abs)
	if err != nil {
		return nil, err
	}
	modPath, goVersion, err := readGoMod(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	c := &Checker{
		root:      root,
		modPath:   modPath,
		goVersion: goVersion,
		fset:      token.NewFileSet(),
		pkgs:      map[string]*loaded{},
		exports:   map[string]string{},
	}
	c.gc = importer.ForCompiler(c.fset, "gc", c.lookup)
	return c, nil
}

// ModuleRoot returns the directory holding the module's go.mod.
func (c *Checker) ModuleRoot() string { return c.root }

func findModuleRoot(dir string) (string, error) {
	for d := dir; ; {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("detrules: no go.mod in %s or any parent directory", dir)
		}
		d = parent
	}
}

var (
	moduleLine = regexp.MustCompile(`^module\s+"?([^"\s]+)"?`)
	goLine     = regexp.MustCompile(`^go\s+(\d+\.\d+(\.\d+)?)`)
)

func readGoMod(file string) (modPath, goVersion string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("detrules: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := moduleLine.FindStringSubmatch(line); m != nil {
			modPath = m[1]
		} else if m := goLine.FindStringSubmatch(line); m != nil {
			goVersion = "go" + m[1]
		}
	}
	if modPath == "" {
		return "", "", fmt.Errorf("detrules: %s has no module line", file)
	}
	return modPath, goVersion, nil
}

// importPath returns the import path of directory dir (absolute) inside the module.
func (c *Checker) importPath(dir string) (string, error) {
	rel, err := filepath.Rel(c.root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("detrules: %s is outside module %s (%s)", dir, c.modPath, c.root)
	}
	if rel == "." {
		return c.modPath, nil
	}
	return c.modPath + "/" + filepath.ToSlash(rel), nil
}

func (c *Checker) inModule(path string) bool {
	return path == c.modPath || strings.HasPrefix(path, c.modPath+"/")
}

func (c *Checker) dirOf(path string) string {
	return filepath.Join(c.root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(path, c.modPath), "/")))
}

// CheckDir parses and type-checks the non-test .go files of the package in dir (which must
// lie in this Checker's module) and returns its findings, sorted by position.
func (c *Checker) CheckDir(dir string) ([]Finding, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	path, err := c.importPath(abs)
	if err != nil {
		return nil, err
	}
	if err := c.prefetch(path); err != nil {
		return nil, err
	}
	l := c.load(path)
	if l.err != nil {
		return nil, l.err
	}
	var out []Finding
	for _, f := range l.files {
		out = append(out, c.checkFile(f, l.info)...)
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if d := strings.Compare(a.Pos.Filename, b.Pos.Filename); d != 0 {
			return d
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column - b.Pos.Column
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return out, nil
}

// buildPackage lists the package's non-test files in dir.
func buildPackage(dir string) (*build.Package, error) {
	bp, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("detrules: %s: %w", dir, err)
	}
	if len(bp.CgoFiles) > 0 {
		return nil, fmt.Errorf("detrules: %s: cgo files are not supported: %v", dir, bp.CgoFiles)
	}
	return bp, nil
}

// prefetch finds every non-module import reachable from module package path through
// module packages, and resolves their export data with one go list.
func (c *Checker) prefetch(path string) error {
	seen := map[string]bool{path: true}
	queue := []string{path}
	var external []string
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if _, done := c.pkgs[p]; done {
			continue
		}
		bp, err := buildPackage(c.dirOf(p))
		if err != nil {
			return err
		}
		for _, imp := range bp.Imports {
			if seen[imp] || imp == "unsafe" || imp == "C" {
				continue
			}
			seen[imp] = true
			switch {
			case c.inModule(imp):
				queue = append(queue, imp)
			case c.exports[imp] == "":
				external = append(external, imp)
			}
		}
	}
	if len(external) == 0 || c.noGo != nil {
		return nil
	}
	slices.Sort(external)
	if err := c.goList(external...); err != nil && c.noGo == nil {
		return err
	}
	return nil
}

// goList records the export data files of paths and all their dependencies.
func (c *Checker) goList(paths ...string) error {
	args := append([]string{"list", "-e", "-export", "-deps",
		"-f", "{{.ImportPath}}\t{{.Export}}\t{{with .Error}}{{.Err}}{{end}}", "--"}, paths...)
	cmd := exec.Command("go", args...)
	cmd.Dir = c.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			// No go command: fall back to the source importer from now on.
			c.noGo = err
			return nil
		}
		return fmt.Errorf("detrules: go list -export %s: %v\n%s", strings.Join(paths, " "), err, stderr.Bytes())
	}
	var errs []string
	for _, line := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[2] != "" {
			errs = append(errs, parts[0]+": "+parts[2])
			continue
		}
		if parts[1] != "" {
			c.exports[parts[0]] = parts[1]
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("detrules: go list -export: %s", strings.Join(errs, "; "))
	}
	return nil
}

// lookup serves export data to the gc importer.
func (c *Checker) lookup(path string) (io.ReadCloser, error) {
	file, ok := c.exports[path]
	if !ok {
		if err := c.goList(path); err != nil {
			return nil, err
		}
		if c.noGo != nil {
			return nil, fmt.Errorf("detrules: cannot run the go command: %v", c.noGo)
		}
		file = c.exports[path]
	}
	if file == "" {
		return nil, fmt.Errorf("detrules: go list gave no export data for %q", path)
	}
	return os.Open(file)
}

// Import implements types.Importer.
func (c *Checker) Import(path string) (*types.Package, error) {
	return c.ImportFrom(path, "", 0)
}

// ImportFrom implements types.ImporterFrom: module packages from source, everything else
// from export data (see the package doc).
func (c *Checker) ImportFrom(path, _ string, _ types.ImportMode) (*types.Package, error) {
	switch {
	case path == "unsafe":
		return types.Unsafe, nil
	case c.inModule(path):
		if err := c.prefetch(path); err != nil {
			return nil, err
		}
		l := c.load(path)
		return l.pkg, l.err
	case c.noGo == nil:
		pkg, err := c.gc.Import(path)
		if err == nil || c.noGo == nil {
			return pkg, err
		}
	}
	if c.src == nil {
		c.src = importer.ForCompiler(c.fset, "source", nil)
	}
	return c.src.Import(path)
}

// load parses and type-checks module package path from source, once.
func (c *Checker) load(path string) *loaded {
	if l, ok := c.pkgs[path]; ok {
		if l == nil {
			return &loaded{err: fmt.Errorf("detrules: import cycle through %s", path)}
		}
		return l
	}
	c.pkgs[path] = nil
	l := c.typeCheck(path)
	c.pkgs[path] = l
	return l
}

func (c *Checker) typeCheck(path string) *loaded {
	dir := c.dirOf(path)
	bp, err := buildPackage(dir)
	if err != nil {
		return &loaded{err: err}
	}
	l := &loaded{info: &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}}
	var errs []error
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(c.fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.files = append(l.files, f)
	}
	if len(errs) == 0 {
		conf := types.Config{
			Importer:  c,
			GoVersion: c.goVersion,
			Error:     func(err error) { errs = append(errs, err) },
		}
		l.pkg, _ = conf.Check(path, c.fset, l.files, l.info)
	}
	if len(errs) > 0 {
		msg := make([]string, 0, len(errs))
		for _, e := range errs {
			msg = append(msg, e.Error())
		}
		l.err = fmt.Errorf("detrules: type-checking %s failed, so its determinism can not be checked:\n\t%s",
			path, strings.Join(msg, "\n\t"))
	}
	return l
}

// Rule tables.

var bannedTimeFuncs = map[string]string{
	"Now":       "reads the wall clock; use the virtual time handed in",
	"Since":     "reads the wall clock; subtract virtual times instead",
	"Until":     "reads the wall clock; subtract virtual times instead",
	"Sleep":     "blocks on the wall clock; schedule an event instead",
	"After":     "is a wall-clock timer channel; schedule an event instead",
	"AfterFunc": "is a wall-clock timer; schedule an event instead",
	"Tick":      "is a wall-clock ticker; schedule an event instead",
	"NewTimer":  "is a wall-clock timer; schedule an event instead",
	"NewTicker": "is a wall-clock ticker; schedule an event instead",
}

var randConstructors = map[string]bool{"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true}

var mapIterFuncs = map[string]bool{"Keys": true, "Values": true, "All": true}

var sortedFuncs = map[string]bool{"Sorted": true, "SortedFunc": true, "SortedStableFunc": true}

// bannedImport explains why path may not be imported, or returns "".
func bannedImport(path string) string {
	under := func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") }
	switch {
	case under("sync"):
		return "synchronization has no place in a single-threaded run"
	case path == "crypto/rand":
		return "crypto/rand is not seedable; use a math/rand/v2 source seeded from the run"
	case path == "math/rand":
		return "math/rand (v1) is banned; use math/rand/v2 with an explicit seeded PCG source"
	case path == "hash/maphash":
		return "hash/maphash is randomly seeded per process; use FNV-1a"
	case under("os"):
		return "the simulation touches no files, processes or environment"
	case under("net"):
		return "the simulation touches no sockets; use netsim"
	}
	return ""
}

var escapeComment = regexp.MustCompile(`^//\s*determinism:(.*)$`)

// funcOf returns the package-level function (not method) ident refers to, or nil.
func funcOf(info *types.Info, id *ast.Ident) *types.Func {
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil {
		return nil
	}
	if sig, ok := fn.Type().(*types.Signature); !ok || sig.Recv() != nil {
		return nil
	}
	return fn
}

// calleeIdent returns the identifier naming the function of call (f or pkg.f), or nil.
func calleeIdent(call *ast.CallExpr) *ast.Ident {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // explicit instantiation f[T]
		fun = ix.X
	} else if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	switch f := fun.(type) {
	case *ast.Ident:
		return f
	case *ast.SelectorExpr:
		return f.Sel
	}
	return nil
}

// isMapType reports whether ranging over a value of type t iterates a map.
func isMapType(t types.Type) bool {
	if t == nil {
		return false
	}
	t = types.Unalias(t)
	if tp, ok := t.(*types.TypeParam); ok {
		iface, _ := tp.Constraint().Underlying().(*types.Interface)
		return iface != nil && typeSetHasMap(iface)
	}
	_, ok := t.Underlying().(*types.Map)
	return ok
}

func typeSetHasMap(iface *types.Interface) bool {
	for i := 0; i < iface.NumEmbeddeds(); i++ {
		switch e := types.Unalias(iface.EmbeddedType(i)).(type) {
		case *types.Union:
			for j := 0; j < e.Len(); j++ {
				if isMapType(e.Term(j).Type()) {
					return true
				}
			}
		default:
			if sub, ok := e.Underlying().(*types.Interface); ok {
				if typeSetHasMap(sub) {
					return true
				}
			} else if isMapType(e) {
				return true
			}
		}
	}
	return false
}

func isChanType(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := types.Unalias(t).Underlying().(*types.Chan)
	return ok
}

// checkFile applies the rules to one file.
func (c *Checker) checkFile(f *ast.File, info *types.Info) []Finding {
	escaped := map[int]bool{}    // lines with a valid escape
	unreasoned := map[int]bool{} // lines with an escape missing its reason
	for _, cg := range f.Comments {
		for _, cm := range cg.List {
			m := escapeComment.FindStringSubmatch(cm.Text)
			if m == nil {
				continue
			}
			line := c.fset.Position(cm.Slash).Line
			if strings.TrimSpace(m[1]) != "" {
				escaped[line] = true
			} else {
				unreasoned[line] = true
			}
		}
	}

	var out []Finding
	report := func(pos token.Pos, rule, format string, args ...any) {
		p := c.fset.Position(pos)
		if escaped[p.Line] {
			return
		}
		text := fmt.Sprintf(format, args...)
		if unreasoned[p.Line] {
			text += " (the determinism: escape on this line gives no reason, so it does not count)"
		}
		out = append(out, Finding{Pos: p, Rule: rule, Text: text})
	}

	for _, imp := range f.Imports {
		path := strings.Trim(imp.Path.Value, "`\"")
		if why := bannedImport(path); why != "" {
			report(imp.Path.Pos(), "import", "import of %q: %s", path, why)
		}
	}

	sortedArg := map[*ast.Ident]bool{} // maps.Keys etc. directly inside slices.Sorted*
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Go, "go", "go statement: a run is single-threaded")
		case *ast.ChanType:
			report(n.Pos(), "chan", "channel type: a run is single-threaded; use the event queue")
		case *ast.SendStmt:
			report(n.Arrow, "chan-send", "channel send: a run is single-threaded")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				report(n.OpPos, "chan-recv", "channel receive: a run is single-threaded")
			}
		case *ast.SelectStmt:
			report(n.Select, "select", "select statement: a run is single-threaded")
		case *ast.RangeStmt:
			t := info.TypeOf(n.X)
			if isMapType(t) {
				report(n.For, "range-map", "range over map (%s) iterates in random order; sort the keys or index a slice by node ID", t)
			} else if isChanType(t) {
				report(n.For, "chan-recv", "range over channel: a run is single-threaded")
			}
		case *ast.CallExpr:
			if id := calleeIdent(n); id != nil && len(n.Args) > 0 {
				if fn := funcOf(info, id); fn != nil && fn.Pkg().Path() == "slices" && sortedFuncs[fn.Name()] {
					if arg, ok := ast.Unparen(n.Args[0]).(*ast.CallExpr); ok {
						if aid := calleeIdent(arg); aid != nil {
							sortedArg[aid] = true
						}
					}
				}
			}
		case *ast.Ident:
			fn := funcOf(info, n)
			if fn == nil {
				break
			}
			switch pkg, name := fn.Pkg().Path(), fn.Name(); {
			case pkg == "time" && bannedTimeFuncs[name] != "":
				report(n.Pos(), "time."+name, "time.%s %s", name, bannedTimeFuncs[name])
			case pkg == "math/rand/v2" && !randConstructors[name]:
				report(n.Pos(), "rand-global", "rand.%s uses the process-wide random source; draw from a *rand.Rand seeded from the run", name)
			case pkg == "maps" && mapIterFuncs[name] && !sortedArg[n]:
				report(n.Pos(), "map-iter", "maps.%s iterates in random order; wrap it in slices.Sorted or sort otherwise", name)
			}
		}
		return true
	})
	return out
}
