package bad

import (
	"time"

	"github.com/anishathalye/porcupine"

	"raftsim/internal/detrules/testdata/wrap"
)

// disguised reads the clock through a wrapper package of the module; the finding is in
// the wrapper, which CheckGraph reaches through this import.
func disguised() time.Time { return wrap.Now() }

func budgeted(m porcupine.Model) {
	_, _ = porcupine.CheckOperationsVerbose(m, nil, time.Second) // want "wall-budget"
	_ = porcupine.CheckOperations(m, nil)
}
