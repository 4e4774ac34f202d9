// Command raftsim runs raftsim's scenarios: deterministic simulations of a Raft cluster
// under faults, with Raft's safety properties checked after every event.
//
// Usage:
//
//	raftsim                                   run a default scenario and tell its story
//	raftsim list                              list the scenarios
//	raftsim run -scenario NAME -seed N        run one seed (or -seeds N for seeds 1..N)
//	raftsim replay -scenario NAME -seed N -trace FILE
//	                                          run one seed and write its full event trace
//
// Exit status: 0 every check held, 1 a check or a scenario assertion failed, 2 bad usage
// or input, 3 the linearizability check was inconclusive (it ran out of time).
//
// Imports: scenarios, sim, linearizability and the standard library. This is the one place that does I/O
// and runs seeds in parallel.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Exit statuses.
const (
	exitOK           = 0
	exitFailed       = 1
	exitUsage        = 2
	exitInconclusive = 3
)

// defaultScenario is what a newcomer sees first.
const defaultScenario = "leader-crash"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return cmdTour(stdout, stderr)
	}
	switch args[0] {
	case "list":
		return cmdList(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "replay":
		return cmdReplay(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "raftsim: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

const usage = `raftsim: deterministic simulation testing for Raft

Commands:
  raftsim                                      run the default scenario and tell its story
  raftsim list                                 list the scenarios
  raftsim run -scenario NAME -seed N           run one seed
  raftsim run -scenario NAME -seeds N          run seeds 1..N in parallel
  raftsim replay -scenario NAME -seed N -trace FILE
                                               run one seed, write its full event trace

Node options (run and replay): -reads readindex|lease|local, -checkquorum=true|false,
-prevote=true|false.
A non-linearizable history is written as an HTML visualization (-html DIR, default .).

Exit status: 0 all checks held, 1 a check failed, 2 bad usage or input,
3 the linearizability check was inconclusive (ran out of time).
Run 'raftsim COMMAND -h' for a command's flags.
`

// parseSeed parses a seed flag value: a positive decimal integer.
func parseSeed(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("malformed seed %q: a seed is a positive decimal integer such as 1 or 42", s)
	}
	return n, nil
}

// newFlagSet makes a flag set that reports errors to stderr and does not exit.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and rejects stray positional arguments. It returns the exit
// status to use if parsing failed (-h is not a failure).
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}
