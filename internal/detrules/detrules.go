// Package detrules enforces raftsim's determinism rules (DESIGN.md, "Determinism rules") on
// the source of one package directory at a time (CheckDir), or of a package and every
// package of the module it imports (CheckGraph). The project's test runs CheckGraph from the
// run roots (scenarios, sim, sim/explore), so every module package a run or a model
// checker's search executes is covered: today node, node/kv, netsim, sim, sim/check,
// sim/host, sim/schedule, sim/explore, scenarios and linearizability, and any package
// added to that graph later, including a wrapper package that hides a banned call. The
// model checker's worker pool (sim/explore/parallel.go) is the one exempt file.
//
// Outside _test.go files the rules forbid:
//
//	rule             what
//	time.<Name>      time.Now, Since, Until, Sleep, After, AfterFunc, Tick, NewTimer,
//	                 NewTicker, LoadLocation (reads zoneinfo files) and time.Local (the
//	                 machine's zone), as calls or as func values (f := time.Now,
//	                 call(time.Now)); rule name = "time." + the name. The method
//	                 time.Time.Local is rule time.Local too. time.Duration, time.UTC and
//	                 the other methods of time.Time are fine
//	go               go statements
//	chan             channel types (make(chan T), chan parameters and fields)
//	chan-send        send statements
//	chan-recv        receive expressions and range over a channel
//	select           select statements
//	import           importing sync, sync/... (also sync/atomic), crypto/rand, math/rand
//	                 (v1), hash/maphash, os, os/... (also os/signal), net, net/...,
//	                 syscall, syscall/..., golang.org/x/sys/..., io/ioutil, log, log/...
//	                 (also log/slog), runtime and runtime/... except runtime/debug,
//	                 unsafe (pointers as numbers), weak (GC-dependent), plugin, expvar
//	runtime          any use of a runtime/debug function (debug.Stack, SetGCPercent, ...):
//	                 the import is allowed so that each use carries its own escape
//	rand-global      any use of a package-level function of math/rand/v2 other than the
//	                 constructors New, NewPCG, NewChaCha8 and NewZipf (methods on a
//	                 *rand.Rand or a source are fine)
//	range-map        range over a value whose type is a map: map types, named map types,
//	                 aliases, and type parameters whose type set contains a map
//	map-iter         maps.Keys, maps.Values or maps.All (they iterate in map order), except
//	                 as the direct argument of slices.Sorted, slices.SortedFunc or
//	                 slices.SortedStableFunc, which is the idiomatic way to sort keys
//	reflect-map      reflect.Value's MapRange and MapKeys, always, and Seq and Seq2,
//	                 always too: a Value's kind is known only at run time, so the lint
//	                 cannot prove it is not a map (escape a use on a Value known not to be
//	                 one). Calls, method values and method expressions, also through a
//	                 struct embedding reflect.Value
//	reflect-pointer  reflect.Value's Pointer, UnsafePointer and UnsafeAddr (addresses)
//	fmt-pointer      a %p verb in a constant format of fmt.Printf, Sprintf, Errorf,
//	                 Fprintf or Appendf (prints an address)
//	context-timer    context.WithDeadline, WithTimeout, WithDeadlineCause,
//	                 WithTimeoutCause, AfterFunc
//	filepath-fs      path/filepath's Abs (working directory), EvalSymlinks, Glob, Walk,
//	                 WalkDir; its pure path functions (Join, Rel, Match, ...) are fine
//	fs-access        an io/fs function that takes an fs.FS (ReadFile, ReadDir, Glob, Stat,
//	                 Lstat, Sub, WalkDir, ReadLink); fs.ValidPath and the types are fine
//	wall-budget      a function of a third-party package (outside the standard library
//	                 and the module) with a time.Duration parameter: there it is a
//	                 wall-clock budget or timeout (porcupine.CheckOperationsVerbose)
//	global-var       a package-level variable whose type is not immutable by construction
//	                 (see below), and every write to any package-level variable, of this
//	                 package or another: assignment to it or a part of it, ++/--, range
//	                 assignment, &v, and a pointer-method call on it
//	float-fusion     a floating-point (or complex) multiplication that is not the direct
//	                 operand of an explicit conversion (float64(a*b)): the Go spec lets a
//	                 compiler fuse a product with a later addition, "possibly across
//	                 statements", into one multiply-add that rounds once, and amd64 with
//	                 GOAMD64=v3, arm64, ppc64le, s390x and riscv64 do, so a run would give
//	                 another trace hash there; the conversion rounds the product first.
//	                 Constant products are fine. (.ci/run also scans the compiled code of
//	                 those targets for fused instructions.)
//	build-tag        a file built only under a //go:build constraint or a _GOOS/_GOARCH
//	                 file name suffix: a run's behaviour would depend on the build (the
//	                 finding is at the package clause, where an escape goes)
//
// global-var: immutable by construction are numbers, strings, booleans, funcs, and arrays
// and structs of those: such a variable can change only by a write, which is flagged where
// it happens (in init too), so one never written is a constant in effect. Pointers, slices,
// maps, channels and interfaces reach contents that can change without a write to the
// variable, so they are flagged at the declaration. Allowed without an escape: blank
// variables (var _ I = T{}) and error sentinels, a variable of type error initialized by
// errors.New or fmt.Errorf (a write to one is still flagged). Not seen: a write from a
// package outside the checked graph (cmd/, tests), and state hidden in the bound receiver
// of a method value stored in a func variable.
//
// # Build constraints
//
// Every non-test .go file of a directory is checked, whatever its build constraints. A file
// the current build excludes (//go:build race, _windows.go, //go:build ignore) is
// type-checked, with the files of its package, in a build context that includes it: GOOS,
// GOARCH, cgo and tags from a satisfying assignment of its constraint's tags (at most 10
// tags, tried in order). If no such context type-checks (another OS's API, a generator of
// another package), the file gets the rules that need no types: imports, go, chan, select,
// pkg.Name members by the file's import names, reflect and time method names in a file
// importing reflect or time, %p in literal formats, and global-var on every non-sentinel
// package-level variable. range-map needs types, so the build-tag finding of such a file
// says that only the untyped rules were applied.
//
// # Escapes
//
// The only escape is a line comment on the same line of the form
//
//	// determinism: <why this is safe>
//
// It suppresses every finding on its line, if its reason is a reason: at least 3 words
// (a word has a letter), not starting with TODO, FIXME, XXX or TBD, and not made only of
// filler words ("ok", "safe", "fine", "this is fine", "trust me, it is deterministic"; the
// list is fillerWords). An escape that fails this suppresses nothing, and the finding
// says why. An escape on an import line covers the whole import, so it must say which
// uses it permits (linearizability/visualize.go's "os" is used only by WriteHTMLFile).
//
// linearizability runs porcupine after a run, on its history, with a wall-clock budget:
// its time.Now and time.Since (Result.Elapsed) and the porcupine call (wall-budget) carry
// one escape each; the rest of the package gets the rules unchanged.
//
// # Type information and imports
//
// Most rules need go/types (is this range over a map? is this Now the time package's?), so
// CheckDir parses the package's non-test files (as selected by go/build for the current
// GOOS/GOARCH and build tags; the others as in "Build constraints") and type-checks them
// with a Checker, which is also the importer:
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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
	pkg      *types.Package
	files    []*ast.File
	info     *types.Info
	excluded []string // non-test files the current build excludes by build constraints
	err      error
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
// lie in this Checker's module) and returns its findings, sorted by position. Files that
// the current build excludes by build constraints are checked too (package doc, "Build
// constraints").
func (c *Checker) CheckDir(dir string) ([]Finding, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	path, err := c.importPath(abs)
	if err != nil {
		return nil, err
	}
	out, _, err := c.check(path)
	return out, err
}

// CheckGraph checks the package in dir and every package of the module that it imports,
// directly or not (also through files excluded by build constraints). It returns the import
// paths checked, sorted, and all their findings, sorted by position.
func (c *Checker) CheckGraph(dir string) ([]string, []Finding, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	root, err := c.importPath(abs)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{root: true}
	queue := []string{root}
	var out []Finding
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		fs, imports, err := c.check(p)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, fs...)
		for _, imp := range imports {
			if c.inModule(imp) && !seen[imp] {
				seen[imp] = true
				queue = append(queue, imp)
			}
		}
	}
	sortFindings(out)
	pkgs := slices.Sorted(maps.Keys(seen))
	return pkgs, out, nil
}

// check checks module package path: its findings, sorted, and the imports of all its
// non-test files.
func (c *Checker) check(path string) ([]Finding, []string, error) {
	if err := c.prefetch(path); err != nil {
		return nil, nil, err
	}
	l := c.load(path)
	if l.err != nil {
		return nil, nil, l.err
	}
	var out []Finding
	imports := map[string]bool{}
	for _, f := range l.files {
		out = append(out, c.checkFile(f, l.info)...)
		addImports(imports, f)
	}
	for _, name := range l.excluded {
		fs, f, err := c.checkExcluded(c.dirOf(path), name)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, fs...)
		addImports(imports, f)
	}
	sortFindings(out)
	return out, slices.Sorted(maps.Keys(imports)), nil
}

func addImports(set map[string]bool, f *ast.File) {
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err == nil {
			set[p] = true
		}
	}
}

func sortFindings(out []Finding) {
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
}

// buildPackage lists the package's non-test files in dir. A directory whose only non-test
// files are excluded by build constraints is a package with no files for the current build
// (its excluded files are still checked).
func buildPackage(dir string) (*build.Package, error) {
	bp, err := build.Default.ImportDir(dir, 0)
	var noGo *build.NoGoError
	if errors.As(err, &noGo) && len(excludedFiles(bp)) > 0 {
		err = nil
	}
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
	l := &loaded{info: newInfo(), excluded: excludedFiles(bp)}
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

func newInfo() *types.Info {
	return &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
}
