package bad

import "math"

type rate float64

func fused(a, b, c float64, r rate, z complex128) float64 {
	x := a*b + c                // want "float-fusion"
	y := a * b                  // want "float-fusion"
	y += (a * b)                // want "float-fusion"
	_ = math.Floor(a * b)       // want "float-fusion"
	_ = r*r + 1                 // want "float-fusion"
	_ = z * z                   // want "float-fusion"
	_ = float64(a*b) + a*c      // want "float-fusion"
	_ = float32(a) * float32(b) // want "float-fusion"
	return x + y
}
