package good

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"time"
)

// Allowed package-level variables: immutable by construction and never written, blank,
// and error sentinels.
var (
	limit       = 3
	names       = [...]string{"a", "b"}
	origin      = struct{ x, y int }{1, 2}
	double      = func(n int) int { return 2 * n }
	_           = limit
	errNotFound = errors.New("good: not found")
	errWrapped  = fmt.Errorf("good: wrapped: %w", errNotFound)
)

func allowed(ctx context.Context, v reflect.Value, t time.Time) string {
	n := limit + len(names) + origin.x + double(1)
	_ = v.MapIndex(reflect.ValueOf("k"))
	_, _ = v.Len(), v.Kind()
	_ = filepath.Join("a", filepath.Base("b/c"))
	_, _ = filepath.Rel("a", "a/b")
	_, _ = filepath.Match("*.go", "x.go")
	_ = fs.ValidPath("x")
	c, cancel := context.WithCancel(context.WithValue(ctx, "k", 1))
	cancel()
	_ = c
	_ = t.In(time.UTC).UTC()
	_ = debug.Stack() // determinism: fixture shows an escaped runtime/debug use
	local := limit
	local++
	return fmt.Sprintf("%v %d %%p %s", errWrapped, n+local, t.Format(time.RFC3339))
}

// roundedProducts: explicit conversions round every product before anything adds to it;
// constant products and integer products cannot fuse.
func roundedProducts(a, b, c float64, n, m int) float64 {
	const scale = 2.5 * 4
	_ = n*m + 1
	_ = float64(a*b) + c
	_ = c + float64((a)*(b))
	return float64(a*scale) / b
}
