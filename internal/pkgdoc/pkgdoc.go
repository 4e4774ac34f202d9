// Package pkgdoc checks that every package of the module says in its doc comment what it
// imports, and that this is true.
//
// Every package's doc comment holds one sentence, at the start of a line, of the form
//
//	Imports: sim, node/kv, github.com/anishathalye/porcupine and the standard library.
//
// listing, separated by commas and "and", the packages of the module it imports (by path
// relative to the module, e.g. "sim/check"), the packages of other modules (by full path),
// and "the standard library" (optionally followed by "only") when it imports any standard
// package. The list must equal the imports of the package's non-test files, all build tags
// included: nothing missing, nothing extra. "Imports: none." is the form for a package that
// imports nothing. A package whose doc says nothing about its imports is a finding too.
//
// Imports: the standard library only (go/parser; it reads files, so it is a test-time tool).
package pkgdoc

import (
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Finding is one package whose documented imports are missing or untrue.
type Finding struct {
	Dir     string // the package's directory, relative to the module root
	Problem string
}

func (f Finding) String() string { return f.Dir + ": " + f.Problem }

// CheckModule checks every package below root, the directory holding the module's go.mod
// (modulePath is its module path). Directories named testdata, hidden ones, and nested
// modules (a directory with its own go.mod) are skipped. It returns an error when the tree
// cannot be read or parsed.
func CheckModule(root, modulePath string) ([]Finding, error) {
	var findings []Finding
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root {
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		doc, imports, ok, err := readPackage(path)
		if err != nil || !ok {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if problem := Compare(doc, imports, modulePath); problem != "" {
			findings = append(findings, Finding{Dir: filepath.ToSlash(rel), Problem: problem})
		}
		return nil
	})
	return findings, err
}

// readPackage parses the non-test Go files of dir (every build tag) and returns the package
// doc comments' text and the import paths; ok is false when dir holds no such file.
func readPackage(dir string) (doc string, imports []string, ok bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, false, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return "", nil, false, err
		}
		ok = true
		if f.Doc != nil {
			doc += f.Doc.Text() + "\n"
		}
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return "", nil, false, fmt.Errorf("%s: import %s: %w", name, spec.Path.Value, err)
			}
			if !slices.Contains(imports, p) {
				imports = append(imports, p)
			}
		}
	}
	return doc, imports, ok, nil
}

// Compare checks a package's doc text against its import paths and returns what is wrong
// ("" when the doc is true).
func Compare(doc string, imports []string, modulePath string) string {
	documented, std, err := parseImports(doc, modulePath)
	if err != nil {
		return err.Error()
	}
	var actual []string
	usesStd := false
	for _, p := range imports {
		if isStandard(p, modulePath) {
			usesStd = true
		} else {
			actual = append(actual, p)
		}
	}
	var problems []string
	for _, p := range actual {
		if !slices.Contains(documented, p) {
			problems = append(problems, "imports "+p+" but its doc does not say so")
		}
	}
	for _, p := range documented {
		if !slices.Contains(actual, p) {
			problems = append(problems, "its doc says it imports "+p+" but it does not")
		}
	}
	if usesStd && !std {
		problems = append(problems, "imports the standard library but its doc does not say so")
	}
	if std && !usesStd {
		problems = append(problems, "its doc says it imports the standard library but it does not")
	}
	return strings.Join(problems, "; ")
}

// parseImports reads the "Imports:" sentence of doc: the non-standard paths it lists (module
// packages made absolute) and whether it names the standard library.
func parseImports(doc, modulePath string) (paths []string, std bool, err error) {
	i := strings.Index("\n"+doc, "\nImports:") // at the start of a line, not in an indented example
	if i < 0 {
		return nil, false, errors.New(`its doc comment has no "Imports: ..." sentence`)
	}
	rest := strings.Join(strings.Fields(doc[i+len("Imports:"):]), " ") + " "
	end := strings.Index(rest, ". ")
	if end < 0 {
		return nil, false, errors.New(`its "Imports:" sentence does not end with a period`)
	}
	list := rest[:end]
	if strings.TrimSpace(list) == "none" {
		return nil, false, nil
	}
	for { // remarks in parentheses are not part of the list
		open, close := strings.IndexByte(list, '('), strings.IndexByte(list, ')')
		if open < 0 || close < open {
			break
		}
		list = list[:open] + list[close+1:]
	}
	for _, item := range strings.Split(strings.ReplaceAll(list, " and ", ","), ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case item == "the standard library" || item == "the standard library only":
			std = true
		case strings.ContainsAny(item, " "):
			return nil, false, fmt.Errorf("its \"Imports:\" sentence lists %q, which is not an import path", item)
		case strings.Contains(strings.SplitN(item, "/", 2)[0], "."):
			paths = append(paths, item)
		default:
			paths = append(paths, modulePath+"/"+item)
		}
	}
	return paths, std, nil
}

// isStandard reports whether p is a standard library package: its first element has no
// dot, and it is not in the module.
func isStandard(p, modulePath string) bool {
	if p == modulePath || strings.HasPrefix(p, modulePath+"/") {
		return false
	}
	return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
}
