package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"raftsim/node"
	"raftsim/node/kv"
	"raftsim/sim"
)

// This file holds the log compaction scenarios (SEED-QUESTIONS L1-L6, Raft §7).

// snapshots turns log compaction on: a snapshot every threshold applied entries, written
// in delay, sent in chunks of chunk bytes (0: the node's default).
func snapshots(c *sim.Config, threshold, chunk int, delay time.Duration) {
	c.Node.SnapshotThreshold = threshold
	c.Node.SnapshotChunkSize = chunk
	c.Node.SnapshotDelay = delay
}

// retainedBound is how many entries a server may hold after its snapshot with a given
// threshold: threshold applied entries trigger a snapshot; while it is written (the node
// keeps serving) and while the node's commit index catches up, more arrive: at the
// standard load, fewer than one full AppendEntries batch (64 entries).
func retainedBound(threshold int) int { return threshold + 64 }

// logsShort checks that every node's log, in memory and on disk, holds at most bound
// entries after its snapshot.
func logsShort(w *sim.World, bound int) (string, bool) {
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		v, d := w.View(id), w.Disk(id)
		if len(v.Log) > bound || len(d.Log) > bound {
			return fmt.Sprintf("node %d holds %d entries after its snapshot at %d in memory and %d on disk, want at most %d",
				id, len(v.Log), v.SnapshotIndex, len(d.Log), bound), false
		}
	}
	return "", true
}

// sameState reports whether every two live nodes that applied the same index hold equal
// state machines (data and sessions, by their incremental hash).
func sameState(w *sim.World) error {
	for a := node.ID(1); int(a) <= w.Nodes(); a++ {
		for b := a + 1; int(b) <= w.Nodes(); b++ {
			va, vb := w.View(a), w.View(b)
			if !w.Up(a) || !w.Up(b) || va.AppliedIndex != vb.AppliedIndex || va.Store == nil || vb.Store == nil {
				continue
			}
			if va.Store.Hash() != vb.Store.Hash() {
				return fmt.Errorf("nodes %d and %d applied up to %d but their states differ (hash %#x vs %#x)",
					a, b, va.AppliedIndex, va.Store.Hash(), vb.Store.Hash())
			}
		}
	}
	return nil
}

// checkSnapshotContents checks question L1's answer on node id's latest snapshot: it is
// the state at an index (with that index's committed term), the configuration there, and
// the state machine with its client session table.
func checkSnapshotContents(w *sim.World, id node.ID) error {
	s := w.View(id).Snapshot
	if s == nil {
		return fmt.Errorf("node %d holds no snapshot", id)
	}
	if e, ok := w.CommittedEntry(s.Index); ok && e.Term != s.Term {
		return fmt.Errorf("node %d's snapshot at index %d has term %d, but the entry committed there has term %d", id, s.Index, s.Term, e.Term)
	}
	if len(s.Config.Voters) != w.Nodes() {
		return fmt.Errorf("node %d's snapshot at index %d holds the configuration %v, want all %d servers", id, s.Index, s.Config, w.Nodes())
	}
	st, err := kv.Restore(s.Data)
	if err != nil {
		return fmt.Errorf("node %d's snapshot at index %d does not decode: %v", id, s.Index, err)
	}
	if len(st.Keys()) == 0 || len(st.Clients()) == 0 {
		return fmt.Errorf("node %d's snapshot at index %d holds %d keys and %d client sessions, want both", id, s.Index, len(st.Keys()), len(st.Clients()))
	}
	return nil
}

func snapshotBasic() Scenario {
	const threshold = 50
	const end = 8 * time.Second
	return Scenario{
		Name: "snapshot-basic",
		Summary: "a snapshot every 50 entries, taking 20 ms to write, under client load: every server snapshots several times, " +
			"on its own and at its own indexes; logs stay short; clients are served during the writes; the history is linearizable",
		Questions: "L1, L4, L6",
		Configure: func(c *sim.Config) {
			c.Duration = end
			c.Clients.Stop = end - 500*time.Millisecond
			snapshots(c, threshold, 0, 20*time.Millisecond)
		},
		Script: func(w *sim.World) Assertion {
			taken := make([][]node.Index, w.Nodes()+1)
			served := 0 // OK replies sent by a node while its own snapshot was being written
			w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
				if out.SaveSnapshot != nil {
					taken[id] = append(taken[id], out.SaveSnapshot.Index)
					return
				}
				if !w.SavingSnapshot(id) {
					return
				}
				for _, r := range out.Replies {
					if r.Status == node.ReplyOK {
						served++
					}
				}
			})
			bound := retainedBound(threshold)
			holdDuring(w, 0, end, "logs stay short",
				func(w *sim.World) bool { _, ok := logsShort(w, bound); return ok },
				func(w *sim.World) string { s, _ := logsShort(w, bound); return s })
			return func(w *sim.World, o *Outcome) error {
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					if len(taken[id]) < 3 {
						return fmt.Errorf("node %d took %d snapshots (at %v), want several", id, len(taken[id]), taken[id])
					}
					if err := checkSnapshotContents(w, id); err != nil {
						return err
					}
				}
				// L4: each server decides alone, so they snapshot at their own indexes.
				same := true
				for id := 2; id <= w.Nodes(); id++ {
					same = same && slices.Equal(taken[id], taken[1])
				}
				if same {
					return fmt.Errorf("every server took its snapshots at the same indexes %v: they should decide alone", taken[1])
				}
				if m := o.Counts.MaxRetainedLog; m > uint64(bound) {
					return fmt.Errorf("a server held %d entries after its snapshot, want at most %d", m, bound)
				}
				// L6: the node keeps serving while its snapshot is written.
				if served == 0 {
					return fmt.Errorf("no client operation was answered by a server while it wrote a snapshot (%d snapshots saved)", o.Counts.SnapshotsSaved)
				}
				if err := sameState(w); err != nil {
					return err
				}
				return requireSettled(w, o, "the cluster did not converge")
			}
		},
	}
}

func snapshotInstallSlowFollower() Scenario {
	return Scenario{
		Name: "snapshot-install-slow-follower",
		Summary: "a follower is cut off until every other server has compacted past its log; after healing it catches up " +
			"through InstallSnapshot in 256-byte chunks over a lossy, duplicating, reordering network, then by ordinary replication",
		Questions: "L2",
		Configure: func(c *sim.Config) {
			c.Duration = 12 * time.Second
			// The load stops 2 s before the end: a write retried after the stop commits
			// late, the leader may then compact past a follower one entry behind, and a
			// snapshot in 256-byte chunks over this network can take most of a second
			// (seed 492 took more than the 500 ms convergence allows).
			c.Clients.Stop = 10 * time.Second
			c.Net.LossProbability = 0.05
			c.Net.DuplicateProbability = 0.05
			c.Net.ReorderProbability = 0.1
			// Appends only (no puts), so that the values, and the snapshot, grow to several
			// kilobytes: many chunks.
			c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 2, 0, 3
			snapshots(c, installThreshold, installChunk, 10*time.Millisecond)
		},
		Script: func(w *sim.World) Assertion { return (&installRun{}).script(w) },
	}
}

// snapshot-install-slow-follower's compaction: a snapshot every installThreshold entries,
// sent in chunks of installChunk bytes.
const installThreshold, installChunk = 40, 256

// installRun is what the snapshot-install-slow-follower script learns while it runs.
type installRun struct {
	slow       node.ID
	lastAtCut  node.Index
	installs   []snapshotInstall // the snapshots the slow follower installed
	replicated int               // entries the slow follower wrote from AppendEntries after its first install
}

// snapshotInstall is a snapshot a server installed: its index and size.
type snapshotInstall struct {
	index node.Index
	bytes int
}

func (s *installRun) script(w *sim.World) Assertion {
	w.BeforeSend(func(w *sim.World, id node.ID, out *node.Output) {
		if id != s.slow {
			return
		}
		if out.InstallSnapshot != nil {
			s.installs = append(s.installs, snapshotInstall{out.InstallSnapshot.Index, len(out.InstallSnapshot.Data)})
		} else if len(s.installs) > 0 {
			s.replicated += len(out.Entries)
		}
	})
	w.At(2*time.Second, "cut off a follower", func(w *sim.World) {
		l, ok := requireLeader(w)
		if !ok {
			return
		}
		s.slow = node.ID(int(l)%w.Nodes() + 1)
		s.lastAtCut = lastView(w, s.slow).LastIndex()
		w.Isolate(s.slow)
	})
	// At least two seconds cut off, so that the snapshot grows to several kilobytes.
	expectWithin(w, 4*time.Second, 8*time.Second, "the others compact past the cut-off follower", s.compactedPast,
		func(w *sim.World) string {
			return fmt.Sprintf("node %d's log ends at %d; not every other server has a snapshot beyond it", s.slow, lastView(w, s.slow).LastIndex())
		},
		func(w *sim.World) {
			w.Note("every other server has compacted past node %d's last index %d: healing", s.slow, lastView(w, s.slow).LastIndex())
			w.Heal()
		})
	return s.assert
}

// compactedPast reports whether every other server's snapshot is beyond the slow
// follower's log.
func (s *installRun) compactedPast(w *sim.World) bool {
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if id != s.slow && w.View(id).SnapshotIndex <= lastView(w, s.slow).LastIndex() {
			return false
		}
	}
	return true
}

func (s *installRun) assert(w *sim.World, o *Outcome) error {
	if len(s.installs) == 0 {
		return fmt.Errorf("node %d (cut off at index %d) never installed a snapshot", s.slow, s.lastAtCut)
	}
	first := s.installs[0]
	if first.index <= s.lastAtCut {
		return fmt.Errorf("node %d installed a snapshot at %d, not beyond its log's end %d at the cut", s.slow, first.index, s.lastAtCut)
	}
	if first.bytes <= 2*installChunk || o.Counts.SnapshotChunksSent < 3 {
		return fmt.Errorf("the snapshot node %d installed has %d bytes (%d chunks sent in all): want several chunks of %d", s.slow, first.bytes, o.Counts.SnapshotChunksSent, installChunk)
	}
	// Then ordinary replication: AppendEntries brought entries after the snapshot.
	if s.replicated == 0 {
		return fmt.Errorf("node %d wrote no entries from AppendEntries after installing the snapshot at %d:\n%s", s.slow, first.index, w.Describe())
	}
	if err := sameState(w); err != nil {
		return err
	}
	return requireSettled(w, o, "the cluster did not converge after healing")
}

func restartAfterSnapshot() Scenario {
	const threshold = 40
	return Scenario{
		Name: "restart-after-snapshot",
		Summary: "after compaction every server crashes and restarts, all at once and then in turn: each boots from its snapshot " +
			"plus the log after it, replays nothing before it, and the state is intact",
		Questions: "L3",
		Configure: func(c *sim.Config) {
			c.Duration = 10 * time.Second
			c.Clients.Stop = 9500 * time.Millisecond
			c.Clients.GiveUpAfter = 5 * time.Second // operations span the restarts
			snapshots(c, threshold, 0, 10*time.Millisecond)
		},
		Script: func(w *sim.World) Assertion {
			restarts := 0
			// restart boots id and checks that it starts from its disk's snapshot.
			restart := func(w *sim.World, id node.ID) {
				d := w.Disk(id)
				w.Restart(id)
				v := w.View(id)
				switch {
				case d.Snapshot.Index == 0:
					w.Failf("restart from a snapshot", "node %d restarted with no snapshot on its disk\n%s", id, w.Describe())
				case v.SnapshotIndex != d.Snapshot.Index || v.AppliedIndex != d.Snapshot.Index:
					w.Failf("restart from a snapshot", "node %d restarted from a disk with a snapshot at %d and %d entries after it, but has snapshot %d and applied index %d",
						id, d.Snapshot.Index, len(d.Log), v.SnapshotIndex, v.AppliedIndex)
				case v.LastIndex() != d.Snapshot.Index+node.Index(len(d.Log)):
					w.Failf("restart from a snapshot", "node %d's log ends at %d after restart, its disk's at %d", id, v.LastIndex(), d.Snapshot.Index+node.Index(len(d.Log)))
				default:
					restarts++
				}
			}
			w.At(3*time.Second, "crash every server", func(w *sim.World) {
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					w.Crash(id)
				}
			})
			w.At(3500*time.Millisecond, "restart every server", func(w *sim.World) {
				for id := node.ID(1); int(id) <= w.Nodes(); id++ {
					restart(w, id)
				}
			})
			for k := 0; k < 5; k++ {
				id := node.ID(k + 1)
				at := 5*time.Second + time.Duration(k)*800*time.Millisecond
				w.At(at, "crash one server", func(w *sim.World) { w.Crash(id) })
				w.At(at+300*time.Millisecond, "restart it", func(w *sim.World) { restart(w, id) })
			}
			return func(w *sim.World, o *Outcome) error {
				if restarts != 2*w.Nodes() {
					return fmt.Errorf("%d restarts from a snapshot, want %d", restarts, 2*w.Nodes())
				}
				if err := sameState(w); err != nil {
					return err
				}
				return requireSettled(w, o, "the cluster did not converge after the restarts")
			}
		},
	}
}

// findEntry returns the log entry holding the command (client, seq) in v's log (the
// entries after v's snapshot), and the command.
func findEntry(v node.View, client kv.ClientID, seq uint64) (node.Entry, kv.Command, bool) {
	for k := len(v.Log) - 1; k >= 0; k-- {
		if v.Log[k].Kind != node.EntryCommand {
			continue
		}
		if c, err := kv.Decode(v.Log[k].Data); err == nil && c.Client == client && c.Seq == seq {
			return v.Log[k], c, true
		}
	}
	return node.Entry{}, kv.Command{}, false
}

func snapshotDedup() Scenario {
	const end = 10 * time.Second
	return Scenario{
		Name: "snapshot-dedup",
		Summary: "the leader applies a client's append and crashes before replying; the command is compacted into every snapshot, " +
			"every server restarts from its snapshot, and the client's late retry reaches the new leader: it takes effect once, with the first result",
		Questions: "L1, C2",
		Configure: func(c *sim.Config) {
			c.Duration = end
			c.Clients.Stop = end - time.Second
			c.Clients.GiveUpAfter = 8 * time.Second
			c.Clients.GetWeight, c.Clients.PutWeight, c.Clients.AppendWeight = 1, 0, 3
			snapshots(c, 10, 0, 5*time.Millisecond)
		},
		Script: func(w *sim.World) Assertion {
			s := &dedupRun{restarted: map[node.ID]bool{}}
			w.At(time.Second, "arm", func(*sim.World) { s.armed = true })
			w.BeforeSend(s.onStep)
			return s.assert
		},
	}
}

// dedupRun is what the snapshot-dedup script learns while it runs. Its steps follow one
// another: crash the leader that applied an append before replying (onStep), restart
// every other server once the command is compacted everywhere (restartAll), reconnect the
// client once a new leader is elected (reconnect).
type dedupRun struct {
	armed      bool
	victim     node.ID    // the leader that crashed before replying
	lost       node.Reply // the reply it did not send
	cmd        kv.Command
	at         node.Index // where the command is in the log
	answeredBy []node.ID  // servers that answered the retry OK
	restarted  map[node.ID]bool
}

// onStep crashes the first leader (after 1 s) that is about to reply to an append, and
// then records who answers the command's retry.
func (s *dedupRun) onStep(w *sim.World, id node.ID, out *node.Output) {
	if s.victim != node.None {
		for _, r := range out.Replies {
			if r.Status == node.ReplyOK && r.Client == s.cmd.Client && r.Seq == s.cmd.Seq {
				s.answeredBy = append(s.answeredBy, id)
			}
		}
		return
	}
	if !s.armed || w.View(id).Role != node.Leader {
		return
	}
	r, ok := repliedToWrite(w, id, out)
	if !ok {
		return
	}
	e, c, _ := findEntry(w.View(id), r.Client, r.Seq)
	if c.Op != kv.OpAppend {
		return
	}
	s.victim, s.lost, s.cmd, s.at = id, r, c, e.Index
	w.Note("leader %d applied %v at index %d = %q and crashes before replying; client %d is cut off", id, c, s.at, r.Value, c.Client)
	w.Crash(id)
	w.Isolate(w.ClientAddr(int(c.Client)))
	expectWithin(w, w.Now(), w.Now()+4*time.Second, "the command is compacted everywhere", s.compacted,
		func(w *sim.World) string {
			return fmt.Sprintf("not every live server has a snapshot covering index %d", s.at)
		}, s.restartAll)
}

// compacted reports whether every server but the victim has a snapshot covering the
// command.
func (s *dedupRun) compacted(w *sim.World) bool {
	for x := node.ID(1); int(x) <= w.Nodes(); x++ {
		if x != s.victim && w.View(x).SnapshotIndex < s.at {
			return false
		}
	}
	return true
}

// restartAll restarts every server but the victim, each from its snapshot, and waits for
// a new leader.
func (s *dedupRun) restartAll(w *sim.World) {
	for x := node.ID(1); int(x) <= w.Nodes(); x++ {
		if x == s.victim {
			continue
		}
		w.Crash(x)
		w.Restart(x)
		if v := w.View(x); v.SnapshotIndex < s.at || v.AppliedIndex != v.SnapshotIndex {
			w.Failf("restored from a snapshot", "node %d restarted with snapshot %d and applied index %d, want a snapshot covering %d", x, v.SnapshotIndex, v.AppliedIndex, s.at)
		}
		s.restarted[x] = true
	}
	w.Note("every live server restarted from a snapshot covering index %d", s.at)
	expectWithin(w, w.Now(), w.Now()+failoverBound, "a new leader after the restarts", leaderExists,
		func(*sim.World) string { return "no leader" }, s.reconnect)
}

// reconnect lets the client retry, and brings the old leader back a second later.
func (s *dedupRun) reconnect(w *sim.World) {
	w.Note("node %d leads; client %d reconnects and retries", w.Leader(), s.cmd.Client)
	w.Heal()
	w.At(w.Now()+time.Second, "restart the old leader", func(w *sim.World) { w.Restart(s.victim) })
}

func (s *dedupRun) assert(w *sim.World, o *Outcome) error {
	if s.victim == node.None {
		return fmt.Errorf("no leader ever applied an append after 1 s")
	}
	if len(s.answeredBy) == 0 {
		return fmt.Errorf("no server answered the retry of %v", s.cmd)
	}
	if !s.restarted[s.answeredBy[0]] {
		return fmt.Errorf("node %d answered the retry of %v, want a server restored from a snapshot covering index %d", s.answeredBy[0], s.cmd, s.at)
	}
	if err := retryAnsweredOnce(o, s.cmd, s.lost); err != nil {
		return err
	}
	for id := node.ID(1); int(id) <= w.Nodes(); id++ {
		if got := strings.Count(w.View(id).Store.Get(s.cmd.Key), s.cmd.Value); got != 1 {
			return fmt.Errorf("node %d holds %q in %q %d times, want once", id, s.cmd.Value, s.cmd.Key, got)
		}
	}
	return requireSettled(w, o, "the cluster did not converge")
}

// Long-run timings: a crash every longRunFaultEvery, restarted a second later.
const (
	longRunDuration   = 60 * time.Second
	longRunThreshold  = 50
	longRunFaultEvery = 10 * time.Second
	longRunProbeEvery = 100 * time.Millisecond
)

func longRunBoundedMemory() Scenario {
	return Scenario{
		Name: "long-run-bounded-memory",
		Summary: "60 s of client load with a crash every 10 s and a snapshot every 50 entries: every server's log, in memory " +
			"and on disk, stays below a bound set by the threshold (memory figures: scenarios/memory_test.go)",
		Questions: "L5",
		Configure: func(c *sim.Config) {
			c.Duration = longRunDuration
			c.Clients.Stop = longRunDuration - 500*time.Millisecond
			snapshots(c, longRunThreshold, 0, 10*time.Millisecond)
		},
		Script: longRunScript,
	}
}

func longRunScript(w *sim.World) Assertion {
	end := w.Config().Duration
	bound := retainedBound(longRunThreshold)
	for at := longRunFaultEvery; at < end-time.Second; at += longRunFaultEvery {
		w.At(at, "crash a server", func(w *sim.World) {
			id := node.ID(w.FaultRandom().IntN(w.Nodes()) + 1)
			w.Crash(id)
			w.At(w.Now()+time.Second, "restart it", func(w *sim.World) { w.Restart(id) })
		})
	}
	var probe func(w *sim.World)
	probe = func(w *sim.World) {
		if s, ok := logsShort(w, bound); !ok {
			w.Failf("retained log bounded", "at %v: %s\n%s", w.Now(), s, w.Describe())
			return
		}
		if w.Now()+longRunProbeEvery <= end {
			w.At(w.Now()+longRunProbeEvery, "probe", probe)
		}
	}
	w.At(longRunProbeEvery, "probe", probe)
	return func(w *sim.World, o *Outcome) error {
		c := o.Counts
		if m := c.MaxRetainedLog; m > uint64(bound) {
			return fmt.Errorf("a server held %d entries after its snapshot, want at most %d", m, bound)
		}
		if c.Commits < 20*longRunThreshold || c.SnapshotsSaved < uint64(w.Nodes())*10 {
			return fmt.Errorf("%d entries committed and %d snapshots saved: not the long, compacting run intended", c.Commits, c.SnapshotsSaved)
		}
		if err := sameState(w); err != nil {
			return err
		}
		return requireSettled(w, o, "the cluster did not converge")
	}
}
