package detrules

import (
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/types"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// knownOS and knownArch are the GOOS and GOARCH values that go/build recognizes in file
// names and build constraints (go/build's lists, which it does not export).
var (
	knownOS = setOf("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd " +
		"openbsd plan9 solaris wasip1 windows zos")
	knownArch = setOf("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 " +
		"mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm")
)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// maxSearchTags bounds the build tags of one file that the search for a build context
// that includes it tries all combinations of (2^n contexts).
const maxSearchTags = 10

// excludedFiles lists bp's non-test Go files that the build context excluded.
func excludedFiles(bp *build.Package) []string {
	if bp == nil {
		return nil
	}
	var out []string
	for _, name := range bp.IgnoredGoFiles {
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			out = append(out, name)
		}
	}
	return out
}

// fileConstraint returns a description of what limits the builds file f (named name) is
// in: its //go:build expression and a GOOS/GOARCH file name suffix; "" if nothing does.
// It also returns the parsed expression (nil if none) and the suffix's tags.
func fileConstraint(f *ast.File, name string) (string, constraint.Expr, []string) {
	var expr constraint.Expr
	var parts []string
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, cm := range cg.List {
			if constraint.IsGoBuild(cm.Text) {
				if e, err := constraint.Parse(cm.Text); err == nil {
					expr = e
					parts = append(parts, "//go:build "+e.String())
				}
			}
		}
	}
	suffix := nameTags(name)
	if len(suffix) > 0 {
		parts = append(parts, "file name suffix _"+strings.Join(suffix, "_"))
	}
	return strings.Join(parts, " and "), expr, suffix
}

// nameTags returns the GOOS and GOARCH that the file name name requires, as go/build reads
// them (name_GOOS.go, name_GOARCH.go, name_GOOS_GOARCH.go).
func nameTags(name string) []string {
	elems := strings.Split(strings.TrimSuffix(filepath.Base(name), ".go"), "_")
	if n := len(elems); n >= 3 && knownOS[elems[n-2]] && knownArch[elems[n-1]] {
		return elems[n-2:]
	}
	if n := len(elems); n >= 2 && (knownOS[elems[n-1]] || knownArch[elems[n-1]]) {
		return elems[n-1:]
	}
	return nil
}

// checkBuildTag applies rule build-tag: a file built only in some configurations makes a
// run's behaviour depend on how the binary was built.
func (x *file) checkBuildTag() {
	name := x.c.fset.Position(x.f.Package).Filename
	desc, _, _ := fileConstraint(x.f, name)
	if desc == "" {
		return
	}
	note := ""
	if x.info == nil {
		note = "; no build configuration type-checks it, so only the rules that need no types were applied"
	}
	x.report(x.f.Package, "build-tag", "file is built only under %s: a run's behaviour would depend on how the binary was built%s", desc, note)
}

// checkExcluded checks a file that the current build excludes: type-checked with the
// package as a build context that includes it selects, or, if no such context is found or
// it does not type-check, with the rules that need no types.
func (c *Checker) checkExcluded(dir, name string) ([]Finding, *ast.File, error) {
	file := filepath.Join(dir, name)
	f, err := parser.ParseFile(c.fset, file, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, err
	}
	for _, ctx := range contextsFor(dir, name, f) {
		if info := c.typeCheckIn(ctx, dir, name, f); info != nil {
			return c.checkFile(f, info), f, nil
		}
	}
	return c.checkFile(f, nil), f, nil
}

// contextsFor returns build contexts, derived from build.Default, that include f (named
// name): one per assignment of its build tags that satisfies its constraint.
func contextsFor(dir, name string, f *ast.File) []*build.Context {
	_, expr, suffix := fileConstraint(f, name)
	var tags []string
	if expr != nil {
		expr.Eval(func(tag string) bool {
			if !slices.Contains(tags, tag) {
				tags = append(tags, tag)
			}
			return false
		})
	}
	if len(tags) > maxSearchTags {
		return nil
	}
	var out []*build.Context
	for mask := 0; mask < 1<<len(tags); mask++ {
		on := map[string]bool{}
		for _, t := range suffix {
			on[t] = true
		}
		for i, t := range tags {
			if mask&(1<<i) != 0 {
				on[t] = true
			}
		}
		if expr != nil && !expr.Eval(func(tag string) bool { return on[tag] }) {
			continue
		}
		ctx := contextWith(on, tags)
		if ctx == nil {
			continue
		}
		if ok, err := ctx.MatchFile(dir, name); err == nil && ok {
			out = append(out, ctx)
		}
	}
	return out
}

// contextWith returns build.Default with the tags in on set: GOOS and GOARCH from the
// known values among them, cgo, and the rest as build tags. It returns nil if on names two
// operating systems or two architectures.
func contextWith(on map[string]bool, mentioned []string) *build.Context {
	ctx := build.Default
	ctx.BuildTags = nil
	var goos, goarch string
	for _, t := range slices.Sorted(maps.Keys(on)) {
		switch {
		case knownOS[t]:
			if goos != "" {
				return nil
			}
			goos = t
		case knownArch[t]:
			if goarch != "" {
				return nil
			}
			goarch = t
		case t == "cgo":
			ctx.CgoEnabled = true
		case t == "unix" || strings.HasPrefix(t, "go1"):
			// Derived from GOOS and the release; MatchFile checks them.
		default:
			ctx.BuildTags = append(ctx.BuildTags, t)
		}
	}
	if goos != "" {
		ctx.GOOS = goos
	} else if slices.Contains(mentioned, ctx.GOOS) {
		ctx.GOOS = pickOther(knownOS, mentioned)
	}
	if goarch != "" {
		ctx.GOARCH = goarch
	} else if slices.Contains(mentioned, ctx.GOARCH) {
		ctx.GOARCH = pickOther(knownArch, mentioned)
	}
	return &ctx
}

// pickOther returns the first (sorted) value of known that mentioned does not name.
func pickOther(known map[string]bool, mentioned []string) string {
	for _, v := range slices.Sorted(maps.Keys(known)) {
		if !slices.Contains(mentioned, v) {
			return v
		}
	}
	return ""
}

// typeCheckIn type-checks the package in dir as ctx selects its files, with f standing for
// file name, and returns the type information, or nil if ctx does not select name or the
// package does not type-check.
func (c *Checker) typeCheckIn(ctx *build.Context, dir, name string, f *ast.File) *types.Info {
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil || !slices.Contains(bp.GoFiles, name) || len(bp.CgoFiles) > 0 {
		return nil
	}
	files := []*ast.File{f}
	for _, other := range bp.GoFiles {
		if other == name {
			continue
		}
		g, err := parser.ParseFile(c.fset, filepath.Join(dir, other), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		files = append(files, g)
	}
	info := newInfo()
	failed := false
	conf := types.Config{Importer: c, GoVersion: c.goVersion, Error: func(error) { failed = true }}
	path, err := c.importPath(dir)
	if err != nil {
		return nil
	}
	conf.Check(path, c.fset, files, info)
	if failed {
		return nil
	}
	return info
}
