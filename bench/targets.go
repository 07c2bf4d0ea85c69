package main

import "fmt"

// target is one figure an issue names, where its benchmark reports it, and
// which raw engine limit it depends on.
type target struct {
	Figure   string
	Bench    string // benchmark name
	Metric   string // unit the benchmark reports it in
	Max, Min float64
	// DependsOn is the raw limit the figure is compared with: "insert",
	// "read", or "" for none.
	DependsOn string
	// PerOp converts the measured value to operations per second for the
	// ratio (for latency metrics in ms: 1000/v).
	Latency bool
}

func (t target) targetText() string {
	switch {
	case t.Max > 0:
		return fmt.Sprintf("≤ %g %s", t.Max, t.Metric)
	case t.Min > 0:
		return fmt.Sprintf("≥ %g %s", t.Min, t.Metric)
	}
	return ""
}

// ratio says how close the app runs to the raw limit it depends on:
// app operations per second ÷ raw operations per second.
func (t target) ratio(v float64, r raw) string {
	var rawOps float64
	var name string
	switch t.DependsOn {
	case "insert":
		rawOps, name = r.InsertsPerSec, "single inserts/s"
	case "read":
		rawOps, name = r.IDReadsPerSec, "_id reads/s"
	case "batch":
		rawOps, name = r.BatchInsertsPerSec, "batched inserts/s"
	default:
		return ""
	}
	ops := v
	if t.Latency {
		if v == 0 {
			return ""
		}
		ops = 1000 / v
	}
	return fmt.Sprintf("%.2f of %s", ops/rawOps, name)
}

// targets are the figures of issues 3–8, in issue order.
var targets = []target{}
