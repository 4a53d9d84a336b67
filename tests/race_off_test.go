//go:build !race

package tests

// raceSlowdown scales the time bounds of the limits tests (quickly) under
// the race detector.
const raceSlowdown = 1
