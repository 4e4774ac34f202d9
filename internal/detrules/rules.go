package detrules

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"strconv"
	"strings"
)

// Rule tables. The package doc's table lists exactly these.

var bannedTimeFuncs = map[string]string{
	"Now":          "reads the wall clock; use the virtual time handed in",
	"Since":        "reads the wall clock; subtract virtual times instead",
	"Until":        "reads the wall clock; subtract virtual times instead",
	"Sleep":        "blocks on the wall clock; schedule an event instead",
	"After":        "is a wall-clock timer channel; schedule an event instead",
	"AfterFunc":    "is a wall-clock timer; schedule an event instead",
	"Tick":         "is a wall-clock ticker; schedule an event instead",
	"NewTimer":     "is a wall-clock timer; schedule an event instead",
	"NewTicker":    "is a wall-clock ticker; schedule an event instead",
	"LoadLocation": "reads the machine's zoneinfo files; use UTC",
	"Local":        "is the machine's time zone (set from TZ and /etc/localtime); use UTC",
}

var randConstructors = map[string]bool{"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true}

var mapIterFuncs = map[string]bool{"Keys": true, "Values": true, "All": true}

var sortedFuncs = map[string]bool{"Sorted": true, "SortedFunc": true, "SortedStableFunc": true}

var contextTimers = map[string]bool{
	"WithDeadline": true, "WithTimeout": true, "WithDeadlineCause": true, "WithTimeoutCause": true, "AfterFunc": true,
}

var filepathFS = map[string]bool{"Abs": true, "EvalSymlinks": true, "Glob": true, "Walk": true, "WalkDir": true}

// fsFuncs are io/fs's functions that take an FS, for files that could not be type-checked
// (with types, any io/fs function with an fs.FS parameter counts).
var fsFuncs = map[string]bool{
	"Glob": true, "ReadFile": true, "ReadLink": true, "WalkDir": true, "ReadDir": true,
	"Sub": true, "Lstat": true, "Stat": true,
}

// reflectMethods are the methods of reflect.Value that are banned, by rule.
var reflectMethods = map[string]string{
	"MapRange":      "reflect-map",
	"MapKeys":       "reflect-map",
	"Seq":           "reflect-map",
	"Seq2":          "reflect-map",
	"Pointer":       "reflect-pointer",
	"UnsafePointer": "reflect-pointer",
	"UnsafeAddr":    "reflect-pointer",
}

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
	case under("syscall") || under("golang.org/x/sys"):
		return "system calls reach the real clock, files and processes"
	case path == "io/ioutil":
		return "io/ioutil reads and writes files"
	case under("log"):
		return "logging writes to the process's output with wall-clock time stamps; record happenings in the trace"
	case path == "runtime/debug":
		return "" // only its functions are flagged, one by one (rule "runtime")
	case under("runtime"):
		return "the runtime's state (goroutines, CPUs, GC, stacks, finalizers) differs between processes"
	case path == "unsafe":
		return "unsafe exposes memory addresses, which differ between runs"
	case path == "weak":
		return "weak pointers change when the garbage collector runs"
	case path == "plugin":
		return "plugins are loaded from files"
	case path == "expvar":
		return "expvar is process-wide mutable state served over HTTP"
	}
	return ""
}

// file is the context of one file's check. info is nil when the file could not be
// type-checked (see the package doc, "Build constraints"): then package members are
// resolved by the file's import names.
type file struct {
	c       *Checker
	f       *ast.File
	info    *types.Info
	imports map[string]string                // local import name -> path, for the untyped mode
	sels    map[*ast.Ident]*ast.SelectorExpr // Sel -> its selector, for the untyped mode
	esc     escapes
	out     []Finding
}

func (x *file) report(pos token.Pos, rule, format string, args ...any) {
	p := x.c.fset.Position(pos)
	if x.esc.ok[p.Line] {
		return
	}
	text := fmt.Sprintf(format, args...)
	if why, bad := x.esc.bad[p.Line]; bad {
		text += " (the determinism: escape on this line " + why + ", so it does not count)"
	}
	x.out = append(x.out, Finding{Pos: p, Rule: rule, Text: text})
}

// checkFile applies the rules to one file; info is nil for an untyped check.
func (c *Checker) checkFile(f *ast.File, info *types.Info) []Finding {
	x := &file{c: c, f: f, info: info, imports: importNames(f), esc: c.escapes(f)}
	if info == nil {
		x.sels = map[*ast.Ident]*ast.SelectorExpr{}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				x.sels[s.Sel] = s
			}
			return true
		})
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if why := bannedImport(path); why != "" {
			x.report(imp.Path.Pos(), "import", "import of %q: %s", path, why)
		}
	}
	x.checkGlobals()
	x.checkBuildTag()
	sortedArg := map[*ast.Ident]bool{} // maps.Keys etc. directly inside slices.Sorted*
	rounded := map[ast.Expr]bool{}     // direct operands of explicit conversions
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			x.report(n.Go, "go", "go statement: a run is single-threaded")
		case *ast.ChanType:
			x.report(n.Pos(), "chan", "channel type: a run is single-threaded; use the event queue")
		case *ast.SendStmt:
			x.report(n.Arrow, "chan-send", "channel send: a run is single-threaded")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				x.report(n.OpPos, "chan-recv", "channel receive: a run is single-threaded")
			}
		case *ast.SelectStmt:
			x.report(n.Select, "select", "select statement: a run is single-threaded")
		case *ast.RangeStmt:
			x.checkRange(n)
		case *ast.CallExpr:
			if id := calleeIdent(n); id != nil && len(n.Args) > 0 {
				if path, name, _ := x.member(id); path == "slices" && sortedFuncs[name] {
					if arg, ok := ast.Unparen(n.Args[0]).(*ast.CallExpr); ok {
						if aid := calleeIdent(arg); aid != nil {
							sortedArg[aid] = true
						}
					}
				}
			}
			x.checkFormat(n)
			if x.info != nil && len(n.Args) == 1 && x.info.Types[n.Fun].IsType() {
				rounded[ast.Unparen(n.Args[0])] = true
			}
		case *ast.BinaryExpr:
			x.checkFloatProduct(n, rounded[n])
		case *ast.SelectorExpr:
			x.checkMethod(n)
		case *ast.Ident:
			if path, name, obj := x.member(n); path != "" {
				x.checkMember(n, path, name, obj, sortedArg[n])
			}
		}
		return true
	})
	return x.out
}

// checkFloatProduct reports a non-constant floating-point or complex product that no
// explicit conversion rounds (rounded: it is the direct operand of one).
func (x *file) checkFloatProduct(n *ast.BinaryExpr, rounded bool) {
	if n.Op != token.MUL || rounded || x.info == nil {
		return
	}
	tv, ok := x.info.Types[n]
	if !ok || tv.Value != nil {
		return
	}
	if b, ok := tv.Type.Underlying().(*types.Basic); ok && b.Info()&(types.IsFloat|types.IsComplex) != 0 {
		x.report(n.OpPos, "float-fusion", "floating-point product not rounded by an explicit conversion: the compiler may fuse it with an addition into a multiply-add (GOAMD64=v3, arm64), which changes results; write %s(a*b)", types.TypeString(tv.Type, nil))
	}
}

func (x *file) checkRange(n *ast.RangeStmt) {
	if x.info == nil {
		return // needs types; an untyped file is reported as such (rule build-tag)
	}
	t := x.info.TypeOf(n.X)
	if isMapType(t) {
		x.report(n.For, "range-map", "range over map (%s) iterates in random order; sort the keys or index a slice by node ID", t)
	} else if isChanType(t) {
		x.report(n.For, "chan-recv", "range over channel: a run is single-threaded")
	}
}

// member resolves id to a package-level function or variable of some package: with types
// through info.Uses (which also sees dot-imports), without through the file's import
// names (only the Sel of pkg.Name). obj is nil in the untyped mode.
func (x *file) member(id *ast.Ident) (path, name string, obj types.Object) {
	if x.info == nil {
		return x.untypedMember(id)
	}
	obj = x.info.Uses[id]
	if obj == nil || obj.Pkg() == nil || obj.Parent() != obj.Pkg().Scope() {
		return "", "", nil
	}
	switch obj.(type) {
	case *types.Func, *types.Var:
		return obj.Pkg().Path(), obj.Name(), obj
	}
	return "", "", nil
}

// untypedMember finds id as the Sel of a selector pkg.Name whose pkg is an import name.
func (x *file) untypedMember(id *ast.Ident) (path, name string, obj types.Object) {
	found := x.sels[id]
	if found == nil {
		return "", "", nil
	}
	if pkg, ok := found.X.(*ast.Ident); ok {
		if p, ok := x.imports[pkg.Name]; ok {
			return p, id.Name, nil
		}
	}
	return "", "", nil
}

// checkMember applies the rules on package members (time.Now, rand.IntN, ...) to a use of
// path.name; obj is its object, nil in the untyped mode.
func (x *file) checkMember(id *ast.Ident, path, name string, obj types.Object, sorted bool) {
	_, isFunc := obj.(*types.Func)
	isFunc = isFunc || obj == nil
	switch {
	case path == "time" && bannedTimeFuncs[name] != "":
		x.report(id.Pos(), "time."+name, "time.%s %s", name, bannedTimeFuncs[name])
	case !isFunc:
	case path == "math/rand/v2" && !randConstructors[name]:
		x.report(id.Pos(), "rand-global", "rand.%s uses the process-wide random source; draw from a *rand.Rand seeded from the run", name)
	case path == "maps" && mapIterFuncs[name] && !sorted:
		x.report(id.Pos(), "map-iter", "maps.%s iterates in random order; wrap it in slices.Sorted or sort otherwise", name)
	case path == "context" && contextTimers[name]:
		x.report(id.Pos(), "context-timer", "context.%s arms a wall-clock timer; schedule an event instead", name)
	case path == "path/filepath" && filepathFS[name]:
		x.report(id.Pos(), "filepath-fs", "filepath.%s reads the file system or working directory; the simulation touches no files", name)
	case path == "io/fs" && (obj == nil && fsFuncs[name] || obj != nil && takesFS(obj)):
		x.report(id.Pos(), "fs-access", "fs.%s reads a file system; the simulation touches no files", name)
	case path == "runtime/debug":
		x.report(id.Pos(), "runtime", "debug.%s reads or changes the runtime's state, which differs between processes", name)
	case obj != nil && x.thirdParty(path) && takesDuration(obj):
		x.report(id.Pos(), "wall-budget", "%s.%s takes a time.Duration, which outside the standard library is a wall-clock budget or timeout: its result can depend on the machine's speed", obj.Pkg().Name(), name)
	}
}

// thirdParty reports whether path is neither the standard library (no dot in its first
// element) nor a package of the module.
func (x *file) thirdParty(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return strings.Contains(first, ".") && !x.c.inModule(path)
}

// takesDuration reports whether obj is a function with a time.Duration parameter.
func takesDuration(obj types.Object) bool {
	sig, ok := obj.Type().(*types.Signature)
	if !ok {
		return false
	}
	for i := 0; i < sig.Params().Len(); i++ {
		if n, ok := types.Unalias(sig.Params().At(i).Type()).(*types.Named); ok {
			if o := n.Obj(); o.Pkg() != nil && o.Pkg().Path() == "time" && o.Name() == "Duration" {
				return true
			}
		}
	}
	return false
}

// takesFS reports whether obj is a function with a parameter of type io/fs.FS.
func takesFS(obj types.Object) bool {
	sig, ok := obj.Type().(*types.Signature)
	if !ok {
		return false
	}
	for i := 0; i < sig.Params().Len(); i++ {
		if n, ok := types.Unalias(sig.Params().At(i).Type()).(*types.Named); ok {
			if o := n.Obj(); o.Pkg() != nil && o.Pkg().Path() == "io/fs" && o.Name() == "FS" {
				return true
			}
		}
	}
	return false
}

// checkMethod applies the rules on methods (reflect.Value.MapRange, time.Time.Local) to a
// selector: a call, a method value or a method expression.
func (x *file) checkMethod(s *ast.SelectorExpr) {
	var recvPkg, recvType string
	if x.info == nil {
		// Untyped: any method of these names, if the file imports the package.
		for _, p := range x.imports {
			switch {
			case p == "reflect" && reflectMethods[s.Sel.Name] != "":
				recvPkg, recvType = "reflect", "Value"
			case p == "time" && s.Sel.Name == "Local":
				if _, isPkg := x.imports[identName(s.X)]; !isPkg { // time.Local itself is a member
					recvPkg, recvType = "time", "Time"
				}
			}
		}
	} else {
		sel := x.info.Selections[s]
		if sel == nil || sel.Kind() == types.FieldVal {
			return
		}
		fn, ok := sel.Obj().(*types.Func)
		if !ok {
			return
		}
		recvPkg, recvType = recvOf(fn)
	}
	name := s.Sel.Name
	switch {
	case recvPkg == "reflect" && recvType == "Value" && reflectMethods[name] == "reflect-map":
		x.report(s.Sel.Pos(), "reflect-map", "reflect.Value.%s iterates a map in random order (Seq and Seq2 are flagged too: a Value's kind is known only at run time); sort the keys", name)
	case recvPkg == "reflect" && recvType == "Value" && reflectMethods[name] == "reflect-pointer":
		x.report(s.Sel.Pos(), "reflect-pointer", "reflect.Value.%s gives a memory address, which differs between runs", name)
	case recvPkg == "time" && recvType == "Time" && name == "Local":
		x.report(s.Sel.Pos(), "time.Local", "time.Time.Local converts to the machine's time zone; use UTC")
	}
}

func identName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// recvOf returns the package path and type name of method fn's receiver.
func recvOf(fn *types.Func) (pkg, typ string) {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return "", ""
	}
	t := types.Unalias(sig.Recv().Type())
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return "", ""
	}
	return n.Obj().Pkg().Path(), n.Obj().Name()
}

// pointerVerb matches a %p verb with any flags, width, precision and argument index.
var pointerVerb = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+|\*)?(\.(\d+|\*)?)?(\[\d+\])?p`)

// formatArg gives the index of the format argument of fmt's printf-like functions.
var formatArg = map[string]int{"Printf": 0, "Sprintf": 0, "Errorf": 0, "Fprintf": 1, "Appendf": 1}

// checkFormat flags a %p verb in a constant format string of fmt's printf-like functions:
// it prints a memory address.
func (x *file) checkFormat(call *ast.CallExpr) {
	id := calleeIdent(call)
	if id == nil {
		return
	}
	path, name, _ := x.member(id)
	i, ok := formatArg[name]
	if path != "fmt" || !ok || i >= len(call.Args) {
		return
	}
	format, ok := x.constString(call.Args[i])
	if ok && pointerVerb.MatchString(strings.ReplaceAll(format, "%%", "")) {
		x.report(call.Args[i].Pos(), "fmt-pointer", "%%p prints a memory address, which differs between runs")
	}
}

func (x *file) constString(e ast.Expr) (string, bool) {
	if x.info != nil {
		if tv, ok := x.info.Types[e]; ok && tv.Value != nil {
			s, err := strconv.Unquote(tv.Value.ExactString())
			return s, err == nil
		}
		return "", false
	}
	if lit, ok := ast.Unparen(e).(*ast.BasicLit); ok && lit.Kind == token.STRING {
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	return "", false
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// importNames maps each import's local name to its path (dot and blank imports omitted).
func importNames(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		elems := strings.Split(path, "/")
		name := elems[len(elems)-1]
		if majorVersion.MatchString(name) && len(elems) > 1 { // math/rand/v2 is rand
			name = elems[len(elems)-2]
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name != "_" && name != "." {
			out[name] = path
		}
	}
	return out
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
