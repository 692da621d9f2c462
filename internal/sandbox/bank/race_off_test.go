//go:build !race

package bank

// raceEnabled reports whether the race detector is on; it slows generation
// several times, so the scale test shrinks under it.
const raceEnabled = false
