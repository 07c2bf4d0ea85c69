package sheets_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

const mib = 1 << 20

// peakHeap runs fn and returns the most heap its objects took meanwhile,
// sampled every millisecond (runtime/metrics reads without stopping the world).
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				read()
			}
		}
	}()
	fn()
	read()
	close(stop)
	<-done
	return peak
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident memory; peakRSS reads it (0 where /proc lacks it).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

var roster5000 = sync.OnceValue(func() []byte {
	return sheetstest.RosterXLSX(&testing.T{}, sheetstest.Trainees(5000), sheetstest.XLSXOptions{Title: "会泽县电商培训花名册", Unit: true})
})

// TestRead5000Budget reads a 5,000-row roster within 3 s and 200 MiB.
func TestRead5000Budget(t *testing.T) {
	data := roster5000()
	var tab *sheets.Table
	var err error
	start := time.Now()
	resetPeakRSS()
	heap := peakHeap(func() { tab, err = sheets.Read(bytes.NewReader(data), sheets.Roster, sheets.Options{}) })
	took := time.Since(start)
	if err != nil || len(tab.Rows) != 5000 {
		t.Fatalf("%v, %d rows", err, len(tab.Rows))
	}
	t.Logf("5,000 rows (%d KB xlsx): %v, peak heap %.1f MiB, peak RSS %.1f MiB", len(data)>>10, took, float64(heap)/mib, float64(peakRSS())/mib)
	if raceEnabled {
		return // the race detector slows and fattens everything
	}
	if took > 3*time.Second || heap > 200*mib {
		t.Errorf("over budget: %v, %.1f MiB", took, float64(heap)/mib)
	}
}

// BenchmarkRead5000 reads a 5,000-row roster XLSX.
func BenchmarkRead5000(b *testing.B) {
	data := roster5000()
	b.SetBytes(int64(len(data)))
	resetPeakRSS()
	var heap uint64
	for b.Loop() {
		heap = max(heap, peakHeap(func() {
			tab, err := sheets.Read(bytes.NewReader(data), sheets.Roster, sheets.Options{})
			if err != nil || len(tab.Rows) != 5000 {
				b.Fatalf("%v", err)
			}
		}))
	}
	b.ReportMetric(float64(heap)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(peakRSS())/mib, "peak-RSS-MiB")
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestWrite50000Streams writes 50,000 rows in bounded memory.
func TestWrite50000Streams(t *testing.T) {
	var out counter
	start := time.Now()
	heap := peakHeap(func() {
		b, err := sheets.NewBook()
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		sw, err := b.Sheet(sheets.Sheet{Name: "登记册", Title: "会泽县 证书登记册", Columns: exportCols})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50000; i++ {
			if err := sw.Row(exportRow(fmt.Sprintf("第 %d 行", i+1))...); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("50,000 rows × %d columns: %d KB xlsx in %v, peak heap %.1f MiB", len(exportCols), out.n>>10, time.Since(start), float64(heap)/mib)
	if !raceEnabled && heap > 200*mib {
		t.Errorf("peak heap %.1f MiB", float64(heap)/mib)
	}
	var _ io.Writer = &out
}
