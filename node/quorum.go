package node

import "cmp"

// maxInlineVoters is the configuration size up to which quorumIndex sorts on the stack.
const maxInlineVoters = 16

// quorumIndex returns the largest index held by a majority of match: the largest N such
// that more than half of the values are >= N (0 for an empty match). It does not modify
// match and does not allocate for configurations of up to maxInlineVoters.
//
// With the values sorted ascending, the (len-1)/2-th is that N: it and every value above
// it, len - (len-1)/2 = floor(len/2)+1 values, are >= it, and no larger N has as many.
func quorumIndex(match []Index) Index { return quorumValue(match) }

// quorumValue is quorumIndex for any ordered values: the largest value that a majority of
// xs reach. Leases use it on contact times, ReadIndex on acknowledged broadcast rounds.
func quorumValue[T cmp.Ordered](match []T) T {
	var zero T
	if len(match) == 0 {
		return zero
	}
	var buf [maxInlineVoters]T
	var s []T
	if len(match) <= len(buf) {
		s = buf[:len(match)]
	} else {
		s = make([]T, len(match))
	}
	copy(s, match)
	// Insertion sort: configurations are small, and it keeps buf on the stack.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[(len(s)-1)/2]
}

// majority is the number of votes that wins an election among voters servers (§5.2).
func majority(voters int) int { return voters/2 + 1 }
