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
//	raftsim run -scenario NAME -seed N -schedule-out FILE
//	                                          run one seed and write it as a timed schedule
//	raftsim replay -schedule FILE [-trace FILE] [-v]
//	                                          run a schedule file (an exported or shrunk run, a
//	                                          counterexample) in the simulator
//	raftsim shrink -scenario NAME -seed N | -schedule FILE [-out FILE | -regression NAME -why TEXT]
//	                                          shrink a failing run to a minimal schedule
//	raftsim explore -depth N [-crashes N -drops N -dups N -ops N ...]
//	                                          model-check the node within bounds
//	raftsim help [COMMAND]                    this text, or a command's flags
//
// Exit status: 0 every check held, 1 a check or a scenario assertion failed, 2 bad usage
// or input, 3 no verdict: the linearizability check was inconclusive (it ran out of
// time), or a seed of a sweep was aborted by its wall-clock limit (-seed-timeout).
//
// Every flag is checked before any seed runs: a usage error (a bad value, a missing or
// unwritable -html or -trace path, flags that conflict, or that conflict with a seed's
// configuration) is one line on stderr that says what was wrong and what is valid, and
// exit status 2. Help goes to stdout with exit status 0, however it is asked for.
//
// Imports: scenarios, sim, sim/explore, sim/schedule, node, linearizability and the standard library. This is the one
// place that does I/O and runs seeds in parallel.
package main

import (
	"fmt"
	"io"
	"os"
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
	c := &cli{stdout: stdout, stderr: stderr, start: startJob, maxSweep: maxSweep}
	return c.main(args)
}

// cli is one invocation of the command line.
type cli struct {
	stdout, stderr io.Writer
	// start runs a job whose every flag has been checked and returns the exit status
	// (startJob; the fuzz tests replace it to exercise parsing and validation alone).
	start func(c *cli, j *job) int
	// maxSweep is the most seeds -seeds may ask for.
	maxSweep int
}

// main dispatches args to a command.
func (c *cli) main(args []string) int {
	if len(args) == 0 {
		return c.start(c, &job{kind: jobTour})
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		return c.help(args[1:])
	}
	cmd := lookupCommand(args[0])
	if cmd == nil {
		return c.usageError("raftsim", fmt.Sprintf("unknown command %q; commands are %s (see 'raftsim help')", args[0], commandNames()))
	}
	return cmd.run(c, args[1:])
}

// help prints the overview, or one command's usage and flags, to stdout.
func (c *cli) help(args []string) int {
	switch {
	case len(args) == 0 || len(args) == 1 && args[0] == "help":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	case len(args) > 1:
		return c.usageError("raftsim help", fmt.Sprintf("want one command name, got %d arguments; commands are %s", len(args), commandNames()))
	}
	cmd := lookupCommand(args[0])
	if cmd == nil {
		return c.usageError("raftsim help", fmt.Sprintf("unknown command %q; commands are %s", args[0], commandNames()))
	}
	cmd.printHelp(c.stdout)
	return exitOK
}

// usageError prints msg as one line on stderr, after who (the command) and returns
// exitUsage. Control characters from the user's input are escaped, so that the message
// stays one line.
func (c *cli) usageError(who, msg string) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", who, oneLine(msg))
	return exitUsage
}

// oneLine escapes the control characters of s (newlines, say, from an argument).
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == 0x85
}

const usage = `raftsim: deterministic simulation testing for Raft

Commands:
  raftsim                                      run the default scenario and tell its story
  raftsim list                                 list the scenarios
  raftsim run -scenario NAME -seed N           run one seed
  raftsim run -scenario NAME -seeds N          run seeds 1..N in parallel
  raftsim run -scenario NAME -seed N -schedule-out FILE
                                               run one seed, write it as a timed schedule
  raftsim replay -scenario NAME -seed N -trace FILE
                                               run one seed, write its full event trace
  raftsim replay -schedule FILE [-trace FILE] [-v]
                                               run a schedule file (exported, shrunk, a counterexample)
  raftsim shrink -scenario NAME -seed N | -schedule FILE
                                               shrink a failing run to a minimal schedule
  raftsim explore -depth N [-crashes N] [-drops N] [-dups N] [-ops N] [-symmetry]
                                               model-check the node: every state within bounds
  raftsim help COMMAND                         a command's flags

Node options (run and replay): -reads readindex|lease|local, -checkquorum=true|false,
-prevote=true|false.
A non-linearizable history is written as an HTML visualization (-html DIR, default .).

Exit status: 0 all checks held (explore: the bounded space was exhausted), 1 a check
failed, 2 bad usage or input, 3 no verdict: the linearizability check was inconclusive
(ran out of time), a seed of a sweep was aborted by its wall-clock limit (-seed-timeout),
or explore's budget (-for, -max-states) ran out before the space was exhausted.
Run 'raftsim help COMMAND' (or 'raftsim COMMAND -h') for a command's flags.
`
