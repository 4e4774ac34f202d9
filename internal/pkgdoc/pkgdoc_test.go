package pkgdoc

import (
	"strings"
	"testing"
)

// TestModuleImportsDocumented: every package of raftsim documents its imports truly.
func TestModuleImportsDocumented(t *testing.T) {
	findings, err := CheckModule("../..", "raftsim")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Error(f)
	}
}

// TestCompareFindsUntrueDocs feeds Compare docs that lie in each way it knows.
func TestCompareFindsUntrueDocs(t *testing.T) {
	tests := []struct {
		name, doc string
		imports   []string
		want      string // a part of the problem; "" for a true doc
	}{
		{"true", "Imports: sim, node/kv and the standard library.", []string{"fmt", "raftsim/sim", "raftsim/node/kv"}, ""},
		{"true, only", "Imports: the standard library only.", []string{"fmt"}, ""},
		{"true, third party", "Imports: github.com/anishathalye/porcupine and the standard library only.", []string{"github.com/anishathalye/porcupine", "os"}, ""},
		{"true, remark", "Imports: node (for its types) and the standard library. More text.", []string{"raftsim/node", "fmt"}, ""},
		{"true, none", "Imports: none.", nil, ""},
		{"missing module package", "Imports: the standard library only.", []string{"fmt", "raftsim/node/kv"}, "imports raftsim/node/kv but its doc does not say so"},
		{"extra package", "Imports: scenarios, netsim and the standard library.", []string{"raftsim/scenarios", "fmt"}, "says it imports raftsim/netsim but it does not"},
		{"missing std", "Imports: sim.", []string{"raftsim/sim", "fmt"}, "imports the standard library but its doc does not say so"},
		{"extra std", "Imports: sim and the standard library.", []string{"raftsim/sim"}, "says it imports the standard library but it does not"},
		{"no sentence", "Package x does things.", []string{"fmt"}, `no "Imports: ..." sentence`},
		{"no period", "Imports: fmt", []string{"fmt"}, "does not end with a period"},
		{"prose", "Imports: whatever it needs.", []string{"fmt"}, "not an import path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare("Package x is a test.\n\n"+tt.doc+"\n", tt.imports, "raftsim")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("Compare = %q, want %q", got, tt.want)
			}
		})
	}
}
