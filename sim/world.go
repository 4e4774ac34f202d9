package sim

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"raftsim/linearizability"
	"raftsim/netsim"
	"raftsim/node"
	"raftsim/sim/check"
	"raftsim/sim/host"
)

// Server is what the simulator needs of a Raft implementation (host.Server): the raftsim
// node satisfies it; another implementation is driven through an adapter that does.
type Server = host.Server

// World is one simulated cluster and everything around it. It is not safe for concurrent
// use: a run belongs to one goroutine.
type World struct {
	cfg   Config
	now   time.Duration
	queue eventQueue
	hosts []*machine // hosts[i] is node i+1: the Nodes initial voters, then the Spares
	net   *netsim.Network
	check *check.Checker

	// slab holds in-flight packets (Raft messages, client requests and replies); free
	// lists its reusable slots. Events refer to slots, so the heap moves 40-byte events
	// instead of whole packets.
	slab []packet
	free []uint32

	clients []*client // clients[i] is client i+1, at network address len(hosts)+i+1
	keys    []string  // the clients' keys, "k0".."k{Keys-1}"
	history []linearizability.Op
	stamp   int64 // the last history timestamp handed out
	ended   bool  // finishClients ran

	// admin is the operator's membership-change client (see Admin), at the network address
	// after the clients.
	admin adminClient
	// transferFrom and transferTo are the leadership transfer being watched for the
	// timeline (the last one started), until a leader takes office.
	transferFrom, transferTo node.ID

	// sched is the schedule a schedule-mode world follows (RunSchedule), nil otherwise.
	sched *scheduled
	// timed records the run as a timed schedule, or replays one (Config.Record,
	// Config.Replay; timed.go); nil otherwise.
	timed *timedRun

	beforeSend func(w *World, id node.ID, out *node.Output)
	hookOut    node.Output // the output handed to beforeSend

	actions []action
	load    workload
	faults  *rand.Rand // the fault schedule's stream, for scenarios' random faults
	random  *rand.Rand // the scenario's own stream

	hash    traceHash
	counts  Counts
	failure *Failure
	stopped bool
	budget  workBudget // the Work Bound check's window (see budget.go)
	// interrupted: Config.Interrupt stopped the run (see Result.Interrupted).
	interrupted bool

	timeline        []Happening
	timelineDropped int

	// termCommits holds, per term with committed entries, their index range, ascending;
	// commitSeen is the committed index it covers (see observeCommits).
	termCommits []termRange
	commitSeen  node.Index

	leases leaseWatch // Lease Safety's view of the clocks (clock.go)
	// oracles are the checks that need the world's knowledge (stability.go, liveness.go).
	oracles oracles
}

// action is a scheduled scenario step.
type action struct {
	label string
	fn    func(w *World)
}

// New builds a world from cfg. It returns an error for an invalid configuration.
func New(cfg Config) (*World, error) { return newWorld(cfg, nil) }

// newWorld builds a world, in schedule mode if sched is not nil (see schedrun.go).
func newWorld(cfg Config, sched *scheduled) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NewServer == nil {
		cfg.NewServer = newRaftsimNode
	}
	servers := cfg.Nodes + cfg.Spares
	// Endpoints: the servers, then the clients, then the admin client. (The count does not
	// touch netsim's random stream, so the admin endpoint changes no run that ignores it.)
	net, err := netsim.New(cfg.Net, servers+cfg.Clients.Count+1, deriveSeed(cfg.Seed, streamNetwork, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	w := &World{
		sched:  sched,
		cfg:    cfg,
		net:    net,
		check:  check.New(servers),
		hash:   fnvOffset,
		faults: rand.New(rand.NewPCG(deriveSeed(cfg.Seed, streamFaults, 0, 0), 1)),
		random: rand.New(rand.NewPCG(deriveSeed(cfg.Seed, streamScenario, 0, 0), 1)),
	}
	w.load.init(cfg.Load, deriveSeed(cfg.Seed, streamWorkload, 0, 0), cfg.Nodes, servers)
	w.hosts = make([]*machine, servers)
	for i := range w.hosts {
		w.hosts[i] = &machine{id: node.ID(i + 1), unit: host.New(node.ID(i + 1)), clock: newClock(&cfg.Clocks, node.ID(i+1), deriveSeed(cfg.Seed, streamClock, uint64(i+1), 0))}
		if i >= cfg.Nodes {
			w.check.Spare(node.ID(i + 1))
		}
		w.check.Bootstrap(node.ID(i+1), node.Configuration{Voters: cfg.nodeConfig(node.ID(i+1), 0).Peers})
	}
	w.initOracles()
	if cfg.Record != nil || cfg.Replay != nil {
		if w.timed, err = newTimedRun(w, cfg.Record, cfg.Replay); err != nil {
			return nil, err
		}
	}
	if err := w.bootAll(); err != nil {
		return nil, err
	}
	if cfg.Load.IntervalMax > 0 {
		w.queue.push(event{at: cfg.Load.Start, kind: evPropose})
	}
	w.initClients()
	w.initAdmin()
	return w, nil
}

// bootAll boots every host. A server that panics at its first step does not panic out of
// New: the panic becomes the run's failure, and Run returns it at once.
func (w *World) bootAll() (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.recordPanic(r)
		}
	}()
	for _, h := range w.hosts {
		if err := w.boot(h); err != nil {
			return err
		}
	}
	return nil
}

// recordPanic turns a recovered panic into the run's failure, unless an earlier failure
// (often the cause) is already recorded: the first failure is the one reported.
func (w *World) recordPanic(r any) {
	w.fail(&Failure{Check: "panic", Time: w.now, Detail: fmt.Sprintf("%v\n%s", r, debug.Stack())}) // determinism: the stack only describes a run that already failed with a panic; it is never hashed or branched on
}

func newRaftsimNode(cfg node.Config, d node.DurableState) (Server, error) {
	return node.New(cfg, d)
}

// At schedules fn to run at virtual time t (or now, if t has passed). label names the
// action in the trace. Actions at equal times run in the order they were scheduled.
func (w *World) At(t time.Duration, label string, fn func(w *World)) {
	if t < w.now {
		t = w.now
	}
	w.actions = append(w.actions, action{label: label, fn: fn})
	w.queue.push(event{at: t, kind: evAction, arg: uint64(len(w.actions) - 1)})
}

// interruptEvery is how many events pass between two polls of Config.Interrupt: often
// enough to stop within milliseconds of wall time, rarely enough to cost nothing.
const interruptEvery = 1 << 12

// Run processes events until the deadline or the first failed check and returns the
// result. A panic inside a server or the simulator is recovered and reported as a failed
// run, so that a multi-seed sweep goes on to the next seed. Config.Interrupt, if set, is
// polled every interruptEvery events; when it answers true the run stops there, with
// Result.Interrupted set and no end-of-run check.
func (w *World) Run() (res Result) {
	defer func() {
		if r := recover(); r != nil {
			w.recordPanic(r)
			res = w.result()
		}
	}()
	for n := 1; !w.stopped; n++ {
		next := w.cfg.Duration + 1
		if w.queue.len() > 0 {
			next = w.queue.peek().at
		}
		if w.timed != nil && w.fireOrphan(next) {
			continue
		}
		if next > w.cfg.Duration {
			break
		}
		w.process(w.queue.pop())
		w.budgetEvent()
		w.afterEvent()
		if n%interruptEvery == 0 && w.cfg.Interrupt != nil && !w.stopped && w.cfg.Interrupt() {
			w.interrupted, w.stopped = true, true
			w.tracef(0, "interrupted from outside the run (Config.Interrupt)")
		}
	}
	if w.failure == nil && !w.interrupted {
		if !w.stopped {
			w.now = w.cfg.Duration
			w.afterEvent()
		}
		w.finalCheck()
	}
	return w.result()
}

// BeforeSend installs a hook that runs after every step's durable write and checks, and
// before the step's messages and replies leave (nil removes it). If the hook crashes the
// node (w.Crash(id)), the step sends nothing and nothing further of it happens: that is
// how a scenario crashes a leader after its own append, or after a commit but before the
// reply. The hook may read out but must not keep it past the call.
func (w *World) BeforeSend(fn func(w *World, id node.ID, out *node.Output)) { w.beforeSend = fn }

func (w *World) result() Result {
	if !w.ended {
		w.ended = true
		w.finishClients()
	}
	w.counts.Commits = uint64(w.CommittedLen())
	for _, h := range w.hosts {
		if h.up {
			w.counts.Rejected += h.unit.Rejected()
		}
	}
	return Result{
		Terms:           w.termSummaries(),
		Scenario:        w.cfg.Scenario,
		Seed:            w.cfg.Seed,
		TraceHash:       uint64(w.hash),
		VirtualTime:     w.now,
		Counts:          w.counts,
		Failure:         w.failure,
		Interrupted:     w.interrupted,
		Timeline:        w.timeline,
		TimelineDropped: w.timelineDropped,
		History:         w.history,
		Annotations:     w.annotations(),
		FinalConfig:     w.Configuration(),
		LeaseViolation:  w.leases.first,
	}
}

// termSummaries pairs each term's leader with the committed entries of that term
// (observeCommits keeps their ranges as commits are seen, since the checker's ledger
// forgets compacted entries). Both lists ascend by term, so one merge pass suffices.
func (w *World) termSummaries() []TermSummary {
	leaders := w.check.Leaders()
	out := make([]TermSummary, 0, min(len(leaders), termsMax))
	k := 0
	for _, l := range leaders[:min(len(leaders), termsMax)] {
		t := TermSummary{Term: l.Term, Leader: l.ID, Since: l.Time}
		for k < len(w.termCommits) && w.termCommits[k].Term < l.Term {
			k++
		}
		if k < len(w.termCommits) && w.termCommits[k].Term == l.Term {
			t.First, t.Last = w.termCommits[k].First, w.termCommits[k].Last
		}
		out = append(out, t)
	}
	return out
}

// observeCommits records, per term, the first and last committed index whose entry has
// that term, for the entries committed since the last call. The terms of committed
// entries never decrease along the index. It costs a compare per step when nothing new
// is committed.
func (w *World) observeCommits() {
	top := w.check.CommittedLen()
	for i := w.commitSeen + 1; i <= top; i++ {
		e, ok := w.check.CommittedEntry(i)
		if !ok {
			continue
		}
		if e.Kind == node.EntryConfig {
			w.noteConfigCommitted(e)
		}
		if n := len(w.termCommits); n > 0 && w.termCommits[n-1].Term == e.Term {
			w.termCommits[n-1].Last = i
		} else if n < termsMax {
			w.termCommits = append(w.termCommits, termRange{Term: e.Term, First: i, Last: i})
		}
	}
	w.commitSeen = top
}

// termRange is the committed index range of one term's entries.
type termRange struct {
	Term        node.Term
	First, Last node.Index
}

// finalCheck runs the slow, from-scratch cross-check of the incremental checks.
func (w *World) finalCheck() {
	views := make([]node.View, len(w.hosts))
	for i, h := range w.hosts {
		views[i] = h.lastView
	}
	if v := w.check.Final(w.now, views); v != nil {
		w.failWith(v)
	}
}

// process handles one event popped from the queue.
func (w *World) process(e event) {
	w.now = e.at
	if w.deferForPause(e) {
		return
	}
	switch e.kind {
	case evDeliver:
		w.deliver(e)
	case evWake:
		w.wake(e)
	case evAction:
		w.runAction(e)
	case evPropose:
		w.load.fire(w)
	case evClient:
		w.clientTimer(e)
	case evSnapshot:
		w.snapshotWritten(e)
	case evAdmin:
		w.adminTimer(e)
	default:
		panic(fmt.Sprintf("sim: invariant broken: unknown event kind %d", e.kind))
	}
}

// countEvent extends the trace hash with the essentials of an event and counts it.
func (w *World) countEvent(kind eventKind, id node.ID, a, b uint64) {
	w.counts.Events++
	w.hash.word(uint64(w.now))
	w.hash.word(uint64(kind)<<32 | uint64(uint32(id)))
	w.hash.word(a)
	w.hash.word(b)
}

func (w *World) runAction(e event) {
	a := w.actions[e.arg]
	w.countEvent(evAction, 0, e.arg, 0)
	w.hash.str(a.label)
	w.tracef(0, "action %s", a.label)
	a.fn(w)
}

// Stop ends the run after the current event; the result's virtual time is the time of
// that event.
func (w *World) Stop() { w.stopped = true }

// fail records a failure and stops the run. Only the first failure is kept.
func (w *World) fail(f *Failure) {
	if w.failure == nil {
		w.failure = f
		w.tracef(0, "FAILED %v", f)
	}
	w.stopped = true
}

func (w *World) failWith(v *check.Violation) {
	w.fail(&Failure{Check: v.Check, Rule: v.Rule, Time: v.Time, Nodes: v.Nodes, Term: v.Term, Detail: v.Detail})
}

// Failf fails the run with a scenario's own check. It is for scenario probes that assert
// something during the run.
func (w *World) Failf(checkName, format string, args ...any) {
	w.fail(&Failure{Check: checkName, Time: w.now, Detail: fmt.Sprintf(format, args...)})
}

// note adds a happening to the timeline, within its bound, and returns it (nil when the
// timeline is full).
func (w *World) note(kind HappeningKind, id node.ID, term node.Term, text string) *Happening {
	if len(w.timeline) >= timelineMax {
		w.timelineDropped++
		return nil
	}
	w.timeline = append(w.timeline, Happening{Time: w.now, Kind: kind, Node: id, Term: term, Text: text, Stamp: w.stamp})
	return &w.timeline[len(w.timeline)-1]
}

// Note adds a scenario's own line to the run's timeline.
func (w *World) Note(format string, args ...any) {
	w.note(HappenNote, node.None, 0, fmt.Sprintf(format, args...))
}

// tracef emits a trace line when tracing is on.
func (w *World) tracef(id node.ID, format string, args ...any) {
	if w.cfg.Trace == nil {
		return
	}
	who := ""
	if id != node.None {
		who = "n" + strconv.Itoa(int(id))
	}
	w.traceAs(who, format, args...)
}

// traceAs emits a trace line for the endpoint named who ("n3", "c2", or "" for the world).
func (w *World) traceAs(who, format string, args ...any) {
	if w.cfg.Trace == nil {
		return
	}
	w.cfg.Trace(fmt.Sprintf("%12s %-3s %s", fmtTime(w.now), who, fmt.Sprintf(format, args...)))
}

// fmtTime prints a virtual time with microsecond precision and a fixed width, so that
// traces line up and diff well.
func fmtTime(t time.Duration) string {
	return fmt.Sprintf("%d.%06ds", t/time.Second, (t%time.Second)/time.Microsecond)
}
