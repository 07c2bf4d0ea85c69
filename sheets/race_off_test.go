//go:build !race

package sheets_test

const raceEnabled = false
