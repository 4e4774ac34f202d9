package main

import (
	"fmt"
	"strings"

	"raftsim/scenarios"
)

// lookupScenario finds the -scenario flag's scenario. For an unknown name it suggests the
// scenario meant, if one is close (another case, or a small typo), or lists them all.
func lookupScenario(name textFlag) (scenarios.Scenario, error) {
	if name.value == "" {
		return scenarios.Scenario{}, fmt.Errorf("-scenario is required; valid scenarios: %s", strings.Join(scenarios.Names(), ", "))
	}
	sc, err := scenarios.Lookup(name.value)
	if err == nil {
		return sc, nil
	}
	if s := suggest(name.value, scenarios.Names()); s != "" {
		return sc, fmt.Errorf("unknown scenario %q; did you mean %q?", shortText(name.value), s)
	}
	return sc, fmt.Errorf("unknown scenario %q; valid scenarios: %s", shortText(name.value), strings.Join(scenarios.Names(), ", "))
}

// suggest returns the candidate that name most likely misspells: one equal to it but for
// case, else the closest within a small edit distance (two edits, and at most a third of
// the candidate), else "". Ties go to the first candidate.
func suggest(name string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(name, c) {
			return c
		}
	}
	lower := []rune(strings.ToLower(name))
	best, bestDist := "", 3
	for _, c := range candidates {
		cr := []rune(c)
		limit := min(bestDist-1, len(cr)/3)
		if d := editDistance(lower, cr, limit); d <= limit {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b (insertions,
// deletions, substitutions and swaps of neighbours), or limit+1 if it is above limit.
func editDistance(a, b []rune, limit int) int {
	if limit < 0 || abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	// rows[k] is the row of the table for a[:i-k]; three rows suffice for swaps.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit+1)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
