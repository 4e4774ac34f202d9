package detrules

import (
	"go/ast"
	"go/token"
	"go/types"
)

// checkGlobals applies rule global-var: package-level state that can change is shared by
// every run in a process (and by runs in parallel), so a run's outcome could depend on the
// runs before it. See the package doc for what is allowed.
func (x *file) checkGlobals() {
	for _, d := range x.f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if name.Name == "_" || x.isSentinel(vs, i) {
					continue
				}
				if x.info == nil {
					x.report(name.Pos(), "global-var", "package-level variable %s (file not type-checked, so every one counts): make it a constant or a function, or move it into the run's state", name.Name)
					continue
				}
				obj := x.info.Defs[name]
				if obj != nil && !immutable(obj.Type()) {
					x.report(name.Pos(), "global-var", "package-level variable %s of type %s has contents that can be changed, shared by all runs in the process: make it a constant, a function returning a fresh value, or part of the run's state", name.Name, obj.Type())
				}
			}
		}
	}
	if x.info != nil {
		x.checkGlobalWrites()
	}
}

// isSentinel reports whether vs's i'th name is an error sentinel: var ErrX = errors.New(...)
// or fmt.Errorf(...), of type error.
func (x *file) isSentinel(vs *ast.ValueSpec, i int) bool {
	if len(vs.Values) != len(vs.Names) {
		return false
	}
	call, ok := ast.Unparen(vs.Values[i]).(*ast.CallExpr)
	if !ok {
		return false
	}
	id := calleeIdent(call)
	if id == nil {
		return false
	}
	path, name, _ := x.member(id)
	if !(path == "errors" && name == "New" || path == "fmt" && name == "Errorf") {
		return false
	}
	if x.info == nil {
		return vs.Type == nil || identName(vs.Type) == "error"
	}
	obj := x.info.Defs[vs.Names[i]]
	return obj != nil && types.Identical(obj.Type(), types.Universe.Lookup("error").Type())
}

// immutable reports whether a variable of type t can change only by assignment to it (or
// to a part of it): numbers, strings, booleans, functions, and arrays and structs of those.
// Pointers, slices, maps, channels and interfaces can reach shared contents.
func immutable(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Kind() != types.UnsafePointer
	case *types.Signature:
		return true
	case *types.Array:
		return immutable(u.Elem())
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if !immutable(u.Field(i).Type()) {
				return false
			}
		}
		return true
	}
	return false
}

// checkGlobalWrites flags every write to a package-level variable, of this package or any
// other: assignment (also of a field or element), ++/--, range assignment, taking its
// address, and calling a pointer method on it.
func (x *file) checkGlobalWrites() {
	write := func(e ast.Expr, how string) {
		if v := x.rootGlobal(e); v != nil {
			x.report(e.Pos(), "global-var", "%s package-level variable %s.%s: package-level state is shared by all runs in the process; keep it in the run's state", how, v.Pkg().Name(), v.Name())
		}
	}
	ast.Inspect(x.f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					write(l, "assigns")
				}
			}
		case *ast.IncDecStmt:
			write(n.X, "assigns")
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if e != nil {
						write(e, "assigns")
					}
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				write(n.X, "takes the address of")
			}
		case *ast.SelectorExpr:
			if x.autoAddressed(n) {
				write(n.X, "calls a pointer method on")
			}
		}
		return true
	})
}

// autoAddressed reports whether s is a method value or call x.M with a pointer receiver
// on an addressable x, which passes &x.
func (x *file) autoAddressed(s *ast.SelectorExpr) bool {
	sel := x.info.Selections[s]
	if sel == nil || sel.Kind() != types.MethodVal {
		return false
	}
	sig, ok := sel.Obj().Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return false
	}
	if _, ptrRecv := sig.Recv().Type().(*types.Pointer); !ptrRecv {
		return false
	}
	_, isPtr := x.info.TypeOf(s.X).Underlying().(*types.Pointer)
	return !isPtr
}

// rootGlobal returns the package-level variable that e is a part of (through fields,
// indexes and dereferences), or nil.
func (x *file) rootGlobal(e ast.Expr) *types.Var {
	for {
		switch n := ast.Unparen(e).(type) {
		case *ast.SelectorExpr:
			if _, isField := x.info.Selections[n]; isField {
				e = n.X
				continue
			}
			return pkgVar(x.info.Uses[n.Sel]) // pkg.V
		case *ast.IndexExpr:
			e = n.X
		case *ast.StarExpr:
			e = n.X
		case *ast.Ident:
			return pkgVar(x.info.Uses[n])
		default:
			return nil
		}
	}
}

func pkgVar(obj types.Object) *types.Var {
	v, ok := obj.(*types.Var)
	if !ok || v.Pkg() == nil || v.Parent() != v.Pkg().Scope() {
		return nil
	}
	return v
}
