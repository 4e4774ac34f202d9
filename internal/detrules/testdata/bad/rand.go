package bad

import (
	"math/rand/v2"
)

func draws() {
	_ = rand.IntN(3)                   // want "rand-global"
	rand.Shuffle(2, func(i, j int) {}) // want "rand-global"
	_ = rand.N[int64](5)               // want "rand-global"
	_ = rand.N(int64(5))               // want "rand-global"
	f := rand.Float64                  // want "rand-global"
	_ = f
	r := rand.New(rand.NewPCG(1, 2))
	_ = rand.New(rand.NewPCG(rand.Uint64(), 2)) // want "rand-global"
	_ = r.IntN(3)
}
