// Package sim is raftsim's world: a seeded, single-threaded discrete-event simulator that
// drives Raft servers (package node) over a simulated network (package netsim), injects
// faults, and checks Raft's safety properties (package sim/check) after every event.
//
// Determinism is the product. A run is a pure function of its Config (which holds the root
// seed) and of the scenario's scheduled actions: one goroutine, a virtual clock, an event
// queue ordered by (virtual time, insertion sequence), and one random stream per subsystem
// (network, each node's election timer in each of its lives, the workload, the fault
// schedule) derived from the root seed, so that adding draws in one subsystem does not
// reshuffle the others. Every processed event extends a 64-bit trace hash; two runs with the
// same scenario and seed have the same hash on every machine.
//
// Hosts. Each simulated machine is a host: a Server (the Raft implementation, reached through
// the small Server interface so that other implementations can be driven through an
// adapter), a simulated disk and a local clock. The host honours the step contract: it makes
// an output's durable part durable before any of the output's messages leave, and a
// restarted server is rebuilt from its disk alone. Disk writes are synchronous for now, so a
// crash loses nothing that a step reported as durable.
//
// Choices made here (DESIGN.md leaves them open):
//   - A partition is checked both when a message is sent and when it would be delivered, so
//     a partition also cuts messages already in flight.
//   - A message that arrives at a crashed host is dropped. Messages still in flight when a
//     host restarts reach its new life, as on a real network they reach whoever listens at
//     the address.
//   - Wake-ups: a host keeps at most one live wake event per node; a wake that is no longer
//     wanted is discarded when popped, without counting as an event or touching the hash.
//
// Imports: node, netsim, sim/check and the standard library.
package sim
