// Package explore is raftsim's model checker: it explores, exhaustively and within
// bounds, the state space of a small cluster of the same servers the simulator runs,
// stepped through the same host unit (package sim/host) with the same checks (package
// sim/check) after every transition, and hands any counterexample to the simulator as a
// schedule file (package sim/schedule) that sim.RunSchedule replays with the trace, the
// story and the HTML visualization.
//
// State. A state is every host (server and disk, with the server's abstract clock and
// whether its timer is armed), the packets in flight as a multiset (Raft messages, client
// requests and replies), the clients (each issues its share of Options.Ops operations
// one at a time: puts of unique values and gets, alternating, on one key), their history,
// the checker's records, and the budgets the path has used.
//
// Transitions, in a fixed order: per packet in flight deliver, drop, duplicate; per
// server fire its armed timer, crash, restart, end its oldest snapshot write; per client
// invoke its next operation at any server, or retry its outstanding one at any server;
// per leader a leadership transfer to another voter. Time is abstract: any armed timer may
// fire next, which covers every interleaving of timeouts; firing moves the server's local
// clock to the time it asked to be woken at (never backwards), and every other input
// reaches it at its current local time. A packet is delivered to a running server only
// (to a crashed one it waits, or is dropped by a drop). An OK reply completes the client's
// operation; any other reply leaves it outstanding until a retry. Bounds (Options.Bounds)
// cap each path's depth, crashes, restarts, drops, duplicates, client operations, retries
// and transfers, and the highest term (a successor beyond it is not taken, as a TLC
// constraint).
//
// Checks: after every transition the host checks (Durable State, Snapshot Recovery), every
// per-event check of sim/check, and the server's own invariants (a panic is a failure);
// at the end of every path (a state with no transition left, at the depth bound or not)
// the checker's from-scratch cross-check and the linearizability of the path's history
// (porcupine, remembered per history); and, with Options.Liveness = k, a bounded liveness
// check from explored states: with faults off (the crashed servers restarted, no drops,
// duplicates or term bound), a fair schedule of a healthy network and healthy timing
// (oldest packet first; else a retry at the leader; else the leader's heartbeat, or with
// no leader the timeout of the server with the most up-to-date log) elects a leader and
// completes every outstanding operation within k transitions.
//
// Modes, all driven by one transition function: breadth-first (Mode BFS: the first
// violation found has a shortest path), depth-first (DFS: an explicit stack of at most
// Depth+1 live states; a state reached again at a smaller depth is expanded again, so
// it reaches exactly the states breadth-first search does), and seeded random walks
// (Walk: deep and cheap, never exhaustive, so a walk search that finds nothing is
// Inconclusive).
//
// Fingerprints. A state's fingerprint is 128 bits: a wyhash-style hash of a canonical
// encoding of the machines (node.Node.AppendState, which leaves out absolute clock
// readings and the election timer's random stream, since timers are abstract; the disk
// of a crashed server), the sorted fingerprints of the packets in flight (packet numbers
// left out), the clients and their history (the order of calls and returns, not times),
// the budgets and the checker's records (check.Checker.AppendRecords: history that later
// verdicts depend on). The visited set is an open-addressing table of fingerprints, 20
// bytes per slot at most three quarters full. Breadth-first search stores each level as
// (parent, action) records, 12 bytes each, never as live states: a worker rebuilds the
// states it expands by replaying their paths from the root, keeping the path it rebuilt
// last, so memory is bounded by the visited set. Assuming the hash behaves as a random
// function on distinct encodings, two of n distinct states collide with probability about
// n²/2^129: 4e-25 for the 16.8 million states of the 3-node depth-12 search, under 1e-20
// for a billion.
//
// Reductions, each on an option and each tested against the full search: Symmetry counts
// states equal up to a renaming of the servers once (the fingerprint is the least over
// every permutation of the server IDs, renaming IDs everywhere in the state: node state,
// messages, configurations, disks, checker records); Independence explores one order of
// two deliveries to different servers that were both in flight (the other order reaches
// the same state, since they touch different hosts and packet numbers are not part of a
// fingerprint), by sleep sets that breadth-first search intersects over every arrival at
// a state at its depth, so no state is lost (only transitions are saved).
//
// Parallelism. Breadth-first search and walks use Options.Workers goroutines. The driver
// (parallel.go, the one file outside the determinism rules) expands fixed chunks of a
// level in parallel, each into its own result slot, then merges the chunks in order: the
// distinct states, the transitions counted, the verdict and the counterexample (the first
// in breadth-first order) are the same for any number of workers. Each worker has its own
// copy of the root, so no state is shared between goroutines.
//
// Limits. The explorer's abstraction of time is sound for behaviour that depends on the
// order of events, not on durations: the node encodes the durations it branches on (a
// follower's recent contact with its leader, CheckQuorum's acknowledgements, a transfer's
// age) as ages capped where they stop mattering, and lease reads, which depend on bounded
// clock drift, are refused (Options.Validate). A leader's broadcast round counter is part of
// its state, so every heartbeat makes a new state: the depth bound keeps that finite.
//
// Imports: node, node/kv, sim, sim/check, sim/host, sim/schedule, linearizability and the
// standard library.
package explore
