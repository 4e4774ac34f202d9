package scenarios

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-hashes.txt from the current code")

const goldenFile = "../testdata/golden-hashes.txt"

// goldenSeeds are the seeds whose trace hashes are pinned in testdata for every scenario.
var goldenSeeds = []uint64{1, 2, 3}

// TestSameSeedSameTrace runs every scenario twice with one seed, under GOMAXPROCS 1 and
// 2, and once more concurrently with another run: the trace hash must not change.
func TestSameSeedSameTrace(t *testing.T) {
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			prev := runtime.GOMAXPROCS(1)
			a := Run(sc, 7, Options{})
			runtime.GOMAXPROCS(2)
			b := Run(sc, 7, Options{})
			runtime.GOMAXPROCS(prev)
			done := make(chan Outcome)
			go func() { done <- Run(sc, 7, Options{}) }()
			other := Run(sc, 8, Options{})
			c := <-done
			if a.TraceHash != b.TraceHash || a.TraceHash != c.TraceHash {
				t.Fatalf("seed 7 gave trace hashes %016x (GOMAXPROCS=1), %016x (GOMAXPROCS=2), %016x (concurrent)",
					a.TraceHash, b.TraceHash, c.TraceHash)
			}
			if a.Counts != b.Counts {
				t.Fatalf("seed 7 gave different counts: %+v vs %+v", a.Counts, b.Counts)
			}
			if other.TraceHash == a.TraceHash {
				t.Fatalf("seeds 7 and 8 gave the same trace hash %016x: the seed does not reach the run", a.TraceHash)
			}
		})
	}
}

// TestGoldenTraceHashes pins the trace hash of several (scenario, seed) pairs, so that
// any change of behaviour shows up in review as a changed testdata file. After an
// intended change, regenerate with: go test ./scenarios -run TestGoldenTraceHashes -update
func TestGoldenTraceHashes(t *testing.T) {
	var got []string
	for _, sc := range All() {
		for _, seed := range goldenSeeds {
			o := Run(sc, seed, Options{})
			got = append(got, fmt.Sprintf("%s %d %016x", sc.Name, seed, o.TraceHash))
		}
	}
	if *update {
		header := "# scenario seed trace-hash; regenerate: go test ./scenarios -run TestGoldenTraceHashes -update\n"
		if err := os.WriteFile(goldenFile, []byte(header+strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readGolden(t)
	for _, line := range got {
		f := strings.Fields(line)
		key := f[0] + " " + f[1]
		w, ok := want[key]
		if !ok {
			t.Errorf("%s: no golden hash; run with -update", key)
			continue
		}
		if w != f[2] {
			t.Errorf("%s: trace hash %s, golden %s (behaviour changed; if intended, run with -update and review)", key, f[2], w)
		}
	}
}

func readGolden(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./scenarios -run TestGoldenTraceHashes -update)", err)
	}
	defer f.Close()
	want := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("%s: malformed line %q", filepath.Base(goldenFile), line)
		}
		if _, err := strconv.ParseUint(fields[1], 10, 64); err != nil {
			t.Fatalf("%s: bad seed in %q", filepath.Base(goldenFile), line)
		}
		want[fields[0]+" "+fields[1]] = fields[2]
	}
	return want
}
