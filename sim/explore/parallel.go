package explore

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// This file is the search driver's worker pool, the only code of the package outside the
// determinism rules (as the simulator's parallel seed runner is): it runs fn(worker, i)
// for every i in [0, n) on up to workers goroutines and waits for all. Each call works on
// its own index, writes only to its own result slot and to its worker's scratch space,
// and the caller merges the results in index order afterwards, so what a search computes
// does not depend on the number of workers or on scheduling.

// workerCount is the number of goroutines a search with Options.Workers == w uses.
func workerCount(w int) int {
	if w > 0 {
		return w
	}
	return runtime.GOMAXPROCS(0)
}

func parallel(n, workers int, fn func(worker, i int)) {
	if workers <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}
