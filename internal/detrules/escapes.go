package detrules

import (
	"go/ast"
	"regexp"
	"strings"
	"unicode"
)

var escapeComment = regexp.MustCompile(`^//\s*determinism:(.*)$`)

// minReasonWords is the fewest words an escape's reason must have.
const minReasonWords = 3

// fillerWords make up reasons that say nothing ("this is fine", "trust me, it is safe"): a
// reason made only of these is a placeholder.
var fillerWords = map[string]bool{
	"ok": true, "okay": true, "safe": true, "fine": true, "todo": true, "fixme": true, "xxx": true,
	"tbd": true, "this": true, "that": true, "is": true, "it": true, "its": true, "it's": true,
	"should": true, "be": true, "all": true, "good": true, "trust": true, "me": true, "here": true,
	"deterministic": true, "determinism": true, "i": true, "think": true, "probably": true,
	"totally": true, "very": true, "works": true, "whatever": true, "ignore": true, "nolint": true,
	"lint": true, "skip": true, "so": true, "we": true, "know": true, "the": true, "really": true,
	"obviously": true, "no": true, "problem": true, "issue": true, "allowed": true,
}

// placeholderStarts are first words that mark a reason as not yet written.
var placeholderStarts = map[string]bool{"todo": true, "fixme": true, "xxx": true, "tbd": true}

// reasonProblem returns why reason is not an acceptable escape reason, or "" if it is.
func reasonProblem(reason string) string {
	var words []string
	for _, w := range strings.Fields(reason) {
		w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }))
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
			words = append(words, w)
		}
	}
	switch {
	case len(words) == 0:
		return "gives no reason"
	case placeholderStarts[words[0]]:
		return "gives a placeholder (" + words[0] + "), not a reason"
	case len(words) < minReasonWords:
		return "gives a reason of fewer than 3 words"
	}
	for _, w := range words {
		if !fillerWords[w] {
			return ""
		}
	}
	return "gives a placeholder, not a reason (say why the line is safe)"
}

// escapes are a file's escape comments by line: ok lines are escaped, bad lines carry an
// escape that does not count, with why.
type escapes struct {
	ok  map[int]bool
	bad map[int]string
}

func (c *Checker) escapes(f *ast.File) escapes {
	e := escapes{ok: map[int]bool{}, bad: map[int]string{}}
	for _, cg := range f.Comments {
		for _, cm := range cg.List {
			m := escapeComment.FindStringSubmatch(cm.Text)
			if m == nil {
				continue
			}
			line := c.fset.Position(cm.Slash).Line
			if why := reasonProblem(m[1]); why != "" {
				e.bad[line] = why
			} else {
				e.ok[line] = true
			}
		}
	}
	return e
}
