package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkDir reports why flag's directory dir cannot receive new files.
func checkDir(flag, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s needs a directory (. for the current one)", flag)
	}
	if problem := dirProblem(dir); problem != "" {
		return fmt.Errorf("%s %q %s; give an existing, writable directory", flag, dir, problem)
	}
	return nil
}

// dirProblem says why dir cannot receive new files ("" if it can): it does not exist, is
// not a directory, or creating a file in it fails. The test is to create and remove one,
// which the permission bits, a read-only mount and the ACLs all agree on.
func dirProblem(dir string) string {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case err != nil:
		return fmt.Sprintf("cannot be used (%v)", pathErr(err))
	case !fi.IsDir():
		return "is a file, not a directory"
	}
	f, err := os.CreateTemp(dir, ".raftsim-write-test-*")
	if err != nil {
		return fmt.Sprintf("is not writable (%v)", pathErr(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Sprintf("keeps files created in it (cannot remove %s: %v)", name, pathErr(err))
	}
	return ""
}

// checkTraceFile reports why replay cannot write its trace to path: "-" is standard
// output; a path must not be a directory, an existing file must be writable, and a new
// file's directory must exist and be writable. It creates nothing (the run does).
func checkTraceFile(path string) error { return checkOutFile("-trace", path) }

// checkOutFile is checkTraceFile for the output file of flag.
func checkOutFile(flag, path string) error {
	switch path {
	case "-":
		return nil
	case "":
		return fmt.Errorf("%s needs a file name, or - for standard output", flag)
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s %q is a directory; give a file path, such as %q", flag, path, filepath.Join(path, "run."+strings.TrimPrefix(flag, "-")))
	case err == nil && !fi.Mode().IsRegular():
		return nil // a device or a pipe: opening one to test it could block or consume
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY, 0) // no O_TRUNC: nothing is written yet
		if err != nil {
			return fmt.Errorf("%s %q cannot be written (%v); give a writable file", flag, path, pathErr(err))
		}
		f.Close()
		return nil
	}
	dir := filepath.Dir(path)
	if problem := dirProblem(dir); problem != "" {
		return fmt.Errorf("%s %q: its directory %q %s; give a file in an existing, writable directory", flag, path, dir, problem)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %q cannot be used (%v)", flag, path, pathErr(err))
	}
	return nil
}

// pathErr is err without the path that the message around it already names.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
