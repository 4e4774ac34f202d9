package scenarios

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestQuestionsDocMatchesScenarios: docs/questions.md, the list of questions a clone can
// read, names for every question exactly the scenarios that claim to answer it
// (Scenario.Questions), and every code a scenario claims has its row there.
func TestQuestionsDocMatchesScenarios(t *testing.T) {
	data, err := os.ReadFile("../docs/questions.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := parseQuestionRows(string(data))
	if len(rows) == 0 {
		t.Fatal("docs/questions.md has no question rows")
	}
	claims := map[string][]string{} // code -> scenarios whose Questions name it
	for _, sc := range All() {
		if sc.Questions == "all" {
			continue
		}
		for _, code := range strings.Split(sc.Questions, ", ") {
			claims[code] = append(claims[code], sc.Name)
		}
	}
	for code, names := range claims {
		listed, ok := rows[code]
		if !ok {
			t.Errorf("scenarios %v answer %s, which docs/questions.md does not have", names, code)
			continue
		}
		slices.Sort(names)
		slices.Sort(listed)
		if !slices.Equal(names, listed) {
			t.Errorf("%s: docs/questions.md lists %v, the scenarios that claim it are %v", code, listed, names)
		}
	}
	for code := range rows {
		if _, ok := claims[code]; !ok {
			t.Errorf("docs/questions.md has %s, which no scenario claims to answer", code)
		}
	}
}

// parseQuestionRows reads the table rows "| CODE | question | answer | `a`, `b` |".
func parseQuestionRows(doc string) map[string][]string {
	row := regexp.MustCompile("^\\| ([A-Z][0-9]+) \\|.*\\| ([^|]*) \\|$")
	name := regexp.MustCompile("`([a-z0-9-]+)`")
	rows := map[string][]string{}
	for _, line := range strings.Split(doc, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var names []string
		for _, n := range name.FindAllStringSubmatch(m[2], -1) {
			names = append(names, n[1])
		}
		rows[m[1]] = names
	}
	return rows
}
