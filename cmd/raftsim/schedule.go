package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"raftsim/scenarios"
	"raftsim/sim/schedule"
)

// maxScheduleBytes bounds a schedule file read by replay -schedule (the format's own
// limits allow about 4 GB; nothing a person replays comes near this).
const maxScheduleBytes = 256 << 20

// checkScheduleReplay checks replay -schedule's flags and reads and parses the file:
// a schedule that does not parse is a usage error, reported before anything runs.
func checkScheduleReplay(a *cmdArgs) (*job, error) {
	if a.scenario.set || a.seed.set || a.reads.set || a.preVote.set || a.checkQuorum.set {
		return nil, errors.New("-schedule states its own cluster and options: it takes no -scenario, -seed, -reads, -prevote or -checkquorum")
	}
	path := a.schedule.value
	s, err := readSchedule(path)
	if err != nil {
		return nil, err
	}
	j := &job{kind: jobSchedule, schedule: s, scheduleFile: path, verbose: a.verbose.value, trace: a.trace.value}
	if a.trace.set {
		if err := checkTraceFile(a.trace.value); err != nil {
			return nil, err
		}
	}
	j.flags.htmlDir = a.html.value
	if a.html.set {
		if err := checkDir("-html", a.html.value); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// readSchedule reads and parses the schedule file at path (-schedule's).
func readSchedule(path string) (*schedule.Schedule, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("-schedule %q: %v", path, pathErr(err))
	case fi.IsDir():
		return nil, fmt.Errorf("-schedule %q is a directory; give a schedule file", path)
	case fi.Size() > maxScheduleBytes:
		return nil, fmt.Errorf("-schedule %q is %d bytes, more than the %d a schedule may have", path, fi.Size(), maxScheduleBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-schedule %q: %v", path, pathErr(err))
	}
	s, err := schedule.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return s, nil
}

// replayScheduleJob runs a schedule through the simulator and reports it like a run,
// then whether it met its expectation.
func replayScheduleJob(c *cli, j *job) int {
	var opts scenarios.Options
	var bw *bufio.Writer
	var fh *os.File
	if j.trace != "" {
		out := c.stdout
		if j.trace != "-" {
			var err error
			if fh, err = os.Create(j.trace); err != nil {
				return c.usageError("raftsim replay", err.Error())
			}
			out = fh
		}
		bw = bufio.NewWriterSize(out, 1<<16)
		opts.Trace = func(line string) {
			bw.WriteString(line)
			bw.WriteByte('\n')
		}
	}
	replay := fmt.Sprintf("go run ./cmd/raftsim replay -schedule %s -trace %s.trace", j.scheduleFile, j.scheduleFile)
	o := scenarios.RunSchedule(j.schedule, opts, replay)
	if bw != nil {
		err := bw.Flush()
		if fh != nil {
			if cerr := fh.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return c.usageError("raftsim replay", "writing the trace: "+err.Error())
		}
		if j.trace != "-" {
			fmt.Fprintf(c.stdout, "wrote %d events to %s\n", o.Counts.Events, j.trace)
		}
	}
	if o.Err != nil {
		return c.usageError("raftsim replay", fmt.Sprintf("%s: %v", j.scheduleFile, o.Err))
	}
	if j.verbose {
		writeStory(c.stdout, &o)
	}
	visualize(c.stderr, &o, j.flags.htmlDir)
	code := report(c.stdout, &o)
	met, what := scenarios.ExpectationMet(j.schedule, &o)
	if met {
		fmt.Fprintf(c.stdout, "schedule %s: as expected: %s\n", j.scheduleFile, what)
	} else {
		fmt.Fprintf(c.stdout, "schedule %s: NOT as expected: %s\n", j.scheduleFile, what)
	}
	return code
}
