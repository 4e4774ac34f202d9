package main

// Fuzz targets for every parser of outside input in the command line. Their seed corpora
// are in testdata/fuzz/; `go test` runs those as regular tests. To fuzz one:
//
//	go test ./cmd/raftsim -run '^$' -fuzz '^FuzzRunArgs$' -fuzztime 60s -parallel 1

import (
	"bytes"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"raftsim/scenarios"
)

// decimalRE is what ParseSeed and -seeds accept the digits of.
var decimalRE = regexp.MustCompile(`^[0-9]+$`)

// requireOneLine fails if an error message is not one line.
func requireOneLine(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("%s: error is not one line: %q", what, err)
	}
}

// FuzzParseSeed: a seed is accepted exactly when it is decimal digits with a value in
// 1..2^64-1 (checked against math/big), and an error says which rule broke.
func FuzzParseSeed(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := scenarios.ParseSeed(s)
		requireOneLine(t, s, err)
		v, isNum := new(big.Int).SetString(s, 10)
		valid := decimalRE.MatchString(s) && isNum && v.Sign() > 0 && v.IsUint64()
		switch {
		case valid && (err != nil || n != v.Uint64()):
			t.Fatalf("ParseSeed(%q) = %d, %v; want %v", s, n, err, v)
		case !valid && err == nil:
			t.Fatalf("ParseSeed(%q) = %d, want an error", s, n)
		case !valid && decimalRE.MatchString(s) && v.Sign() > 0 && !strings.Contains(err.Error(), "out of range"):
			t.Fatalf("ParseSeed(%q): %v; want it to say out of range", s, err)
		}
	})
}

// FuzzSeedFlags: -seed and -seeds select one seed, or seeds 1..N with N at most the
// limit, or nothing when neither is given; never both.
func FuzzSeedFlags(f *testing.F) {
	const limit = 50
	f.Fuzz(func(t *testing.T, seed, seeds string, seedSet, seedsSet bool) {
		fl := scenarios.SeedFlags{Seed: seed, Seeds: seeds, SeedSet: seedSet, SeedsSet: seedsSet}
		got, err := fl.Select(limit)
		requireOneLine(t, "Select", err)
		switch {
		case seedSet && seedsSet:
			if err == nil {
				t.Fatalf("%+v: both flags accepted", fl)
			}
		case !seedSet && !seedsSet:
			if err != nil || got != nil {
				t.Fatalf("%+v: %v, %v; want nil, nil", fl, got, err)
			}
		case seedSet:
			n, perr := scenarios.ParseSeed(seed)
			if (perr == nil) != (err == nil) || err == nil && (len(got) != 1 || got[0] != n) {
				t.Fatalf("%+v: %v, %v; ParseSeed says %d, %v", fl, got, err, n, perr)
			}
		case err == nil:
			n, perr := strconv.Atoi(seeds)
			if perr != nil || n < 1 || n > limit || len(got) != n || got[0] != 1 || got[n-1] != uint64(n) {
				t.Fatalf("%+v: accepted as %d seeds", fl, len(got))
			}
		}
	})
}

// FuzzOptionalBool: -prevote and -checkquorum accept what strconv.ParseBool accepts, and
// remember the value and that it was given.
func FuzzOptionalBool(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		var b optionalBool
		err := b.Set(s)
		requireOneLine(t, s, err)
		want, perr := strconv.ParseBool(s)
		switch {
		case (perr == nil) != (err == nil):
			t.Fatalf("Set(%q) = %v; ParseBool says %v", s, err, perr)
		case err != nil && (b.set || b.String() != ""):
			t.Fatalf("Set(%q) failed but left the flag set: %+v", s, b)
		case err == nil && (!b.set || b.value != want || b.String() != strconv.FormatBool(want)):
			t.Fatalf("Set(%q) gave %+v, String %q; want %v", s, b, b.String(), want)
		}
	})
}

// FuzzOverrides: any -reads/-checkquorum/-prevote values against any scenario and seed
// never panic; accepted ones leave a configuration that the simulator accepts, and their
// Flags (the replay command's) parse back to the same overrides.
func FuzzOverrides(f *testing.F) {
	all := scenarios.All()
	run := lookupCommand("run")
	f.Fuzz(func(t *testing.T, reads string, checkQuorum, preVote uint8, which uint8, seed uint64) {
		a := &cmdArgs{reads: textFlag{value: reads, set: reads != ""}}
		for _, o := range []struct {
			b *optionalBool
			v uint8
		}{{&a.checkQuorum, checkQuorum}, {&a.preVote, preVote}} {
			o.b.set, o.b.value = o.v%3 != 0, o.v%3 == 1
		}
		ov, err := a.overrides()
		requireOneLine(t, "overrides", err)
		if err != nil {
			return
		}
		sc := all[int(which)%len(all)]
		if seed == 0 {
			seed = 1
		}
		if err := ov.Check(sc, seed); err != nil {
			requireOneLine(t, "Check", err)
			return
		}
		cfg := sc.Config(seed)
		if err := ov.Apply(&cfg); err != nil {
			t.Fatalf("Check accepted %+v for %s seed %d, Apply refuses: %v", ov, sc.Name, seed, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Check accepted %+v for %s seed %d, the simulator refuses: %v", ov, sc.Name, seed, err)
		}
		fs, back := run.flagSet()
		if err := fs.Parse(strings.Fields(ov.Flags())); err != nil || fs.NArg() != 0 {
			t.Fatalf("Flags() %q does not parse: %v %v", ov.Flags(), err, fs.Args())
		}
		again, err := back.overrides()
		if err != nil || again.Flags() != ov.Flags() {
			t.Fatalf("Flags() %q parses back as %q (%v)", ov.Flags(), again.Flags(), err)
		}
	})
}

// fuzzSweep is the most seeds FuzzRunArgs lets -seeds ask for: the checks run for every
// seed, and a small limit keeps each input cheap (the limit's own check is the same code).
const fuzzSweep = 20

// FuzzRunArgs: any argument vector (arguments separated by NUL bytes, which no real
// argument holds) is either refused as a usage error — exit 2, one line on stderr, nothing
// on stdout — or answered (help, list) or turned into a job whose every part has been
// checked. Jobs are not run: the fuzzer exercises parsing and validation only.
func FuzzRunArgs(f *testing.F) {
	f.Chdir(f.TempDir()) // relative -html and -trace paths land here
	f.Fuzz(func(t *testing.T, argv string) {
		var args []string
		if argv != "" {
			args = strings.Split(argv, "\x00")
		}
		var stdout, stderr bytes.Buffer
		started := false
		c := &cli{stdout: &stdout, stderr: &stderr, maxSweep: fuzzSweep, start: func(c *cli, j *job) int {
			started = true
			checkFuzzedJob(t, args, j)
			return exitOK
		}}
		code := c.main(args)
		switch {
		case code != exitOK && code != exitFailed && code != exitUsage && code != exitInconclusive:
			t.Fatalf("%q: exit %d", args, code)
		case code == exitUsage && (started || stdout.Len() != 0):
			t.Fatalf("%q: a usage error after output or a job:\n%s", args, stdout.String())
		case code == exitUsage && (strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), "raftsim") || !strings.HasSuffix(stderr.String(), "\n")):
			t.Fatalf("%q: usage error is not one line on stderr: %q", args, stderr.String())
		case code == exitOK && stderr.Len() != 0:
			t.Fatalf("%q: exit 0 with stderr %q", args, stderr.String())
		case code == exitOK && !started && stdout.Len() == 0:
			t.Fatalf("%q: exit 0 with no output and no job", args)
		}
	})
}

// checkFuzzedJob fails if j is not fully checked: a known scenario, 1..fuzzSweep seeds in
// range, a sane -parallel, overrides the scenario accepts for every seed, a trace path.
func checkFuzzedJob(t *testing.T, args []string, j *job) {
	t.Helper()
	if j.kind == jobTour {
		if len(args) != 0 {
			t.Fatalf("%q: the tour started with arguments", args)
		}
		return
	}
	if _, err := scenarios.Lookup(j.sc.Name); err != nil {
		t.Fatalf("%q: job for an unknown scenario: %v", args, err)
	}
	if len(j.seeds) < 1 || len(j.seeds) > fuzzSweep || j.seeds[0] == 0 {
		t.Fatalf("%q: job with seeds %v", args, j.seeds)
	}
	for _, seed := range j.seeds {
		if err := j.flags.overrides.Check(j.sc, seed); err != nil {
			t.Fatalf("%q: job with overrides that seed %d refuses: %v", args, seed, err)
		}
	}
	switch j.kind {
	case jobRun:
		if j.flags.parallel < 1 || j.flags.parallel > maxParallel {
			t.Fatalf("%q: job with -parallel %d", args, j.flags.parallel)
		}
	case jobReplay:
		if len(j.seeds) != 1 || j.trace == "" {
			t.Fatalf("%q: replay job with seeds %v, trace %q", args, j.seeds, j.trace)
		}
	default:
		t.Fatalf("%q: job of kind %q", args, j.kind)
	}
}
