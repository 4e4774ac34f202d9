package check

import (
	"time"

	"raftsim/node"
)

// LeaseSafety is the name of the Lease Safety check (Raft thesis §6.4.1).
const LeaseSafety = "Lease Safety"

// Lease checks Lease Safety (thesis §6.4.1) for a step of node id, at virtual time now,
// that accepted a read under its lease of term (node.Output.LeaseRead; the caller skips
// steps that report 0).
//
// A lease read skips the round of heartbeats that ReadIndex uses to confirm leadership:
// the leader answers from its own state, trusting that no other server can have been
// elected since a majority last acknowledged it. So the read is safe exactly when, at
// the moment the leader accepts it, no leader of a higher term has taken office: such a
// leader may already have committed writes this one has not seen. The check holds the
// leader to that, in virtual (real) time, whatever its clock says: it fails when node id
// is not the recorded leader of term, or when a leader of a term above term has been
// seen in office (Checker.Leaders) by now. It needs no client history and no write
// completing in a narrow window: a broken lease bound shows at the first read it lets
// through, whether or not that read happens to return stale data.
//
// It reads only the leader records, which Step keeps, so it adds no record of its own
// (nothing for Clone or AppendRecords). It is a separate call rather than part of Step
// because it is about real time: under the abstract time of a schedule or a model
// checker, where a clock moves only when its timer fires, no lease is meaningful, and a
// run whose clocks leave the bound the leases were computed for may want to record its
// violations rather than stop at the first (package sim decides).
func (c *Checker) Lease(now time.Duration, id node.ID, term node.Term) *Violation {
	k, found := c.findLeader(term)
	if !found || c.leaders[k].ID != id {
		return violation(LeaseSafety, now, term, 0, ids(id),
			"node %d accepted a read under a lease of term %d, but it was not seen leading term %d", id, term, term)
	}
	if k == len(c.leaders)-1 {
		return nil // no leader of a higher term yet: the usual case, one compare
	}
	newer := c.leaders[k+1] // the first leader the lease should have kept out
	return violation(LeaseSafety, now, term, 0, ids(id, newer.ID),
		"node %d accepted a read under its lease of term %d, but node %d took office in term %d at %v: "+
			"a lease must expire before anyone else can be elected, and this one outlived it (the read may miss writes of term %d)",
		id, term, newer.ID, newer.Term, newer.Time, newer.Term)
}
