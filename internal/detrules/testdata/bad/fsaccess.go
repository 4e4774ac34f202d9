package bad

import (
	"io/fs"
	"path/filepath"
)

func files(fsys fs.FS) {
	_, _ = filepath.Glob("*.go")      // want "filepath-fs"
	_ = filepath.Walk(".", nil)       // want "filepath-fs"
	_ = filepath.WalkDir(".", nil)    // want "filepath-fs"
	_, _ = filepath.EvalSymlinks(".") // want "filepath-fs"
	_, _ = filepath.Abs("x")          // want "filepath-fs"
	glob := filepath.Glob             // want "filepath-fs"
	_, _ = fs.ReadFile(fsys, "x")     // want "fs-access"
	_, _ = fs.Glob(fsys, "*")         // want "fs-access"
	_ = fs.WalkDir(fsys, ".", nil)    // want "fs-access"
	_, _ = fs.Stat(fsys, "x")         // want "fs-access"
	_, _ = fs.Lstat(fsys, "x")        // want "fs-access"
	_, _ = fs.ReadDir(fsys, ".")      // want "fs-access"
	_, _ = fs.Sub(fsys, "d")          // want "fs-access"
	_, _ = fs.ReadLink(fsys, "l")     // want "fs-access"
	_, _ = fsys.Open("x")
	_ = glob
}
