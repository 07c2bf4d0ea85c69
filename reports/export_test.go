package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"nongxun/sheets/sheetstest"
)

// exportFixture is the reports with a roster, a ledger and sessions whose
// text starts like formulas.
func exportFixture(t *testing.T) *fixture {
	return newFixture(t, time.Time{}, func(d *Deps, f *fixture) {
		d.Roster = func(_ context.Context, tid string) ([]TraineeRow, error) {
			return []TraineeRow{
				{Name: "张*", Gender: "female", IDMasked: "5303**********123X", Phone: "13912345678", TownshipID: f.t0, Village: "00123", CreatedAt: time.Date(2019, 5, 2, 6, 30, 0, 0, time.UTC)},
				{Name: "@SUM(A1)", IDMasked: "5303**********0011", TownshipID: f.t1, Village: "-红岩村"},
			}, nil
		}
		d.Ledger = func(context.Context) ([]LedgerRow, error) {
			return []LedgerRow{
				{At: time.Date(2019, 5, 2, 6, 30, 0, 0, time.UTC), Kind: "payment", Category: "upward", Use: "cold_chain", Purpose: "=1+1 冷链", AmountFen: 300_000_000, Tranche: 1, Payee: "+承办企业"},
				{At: time.Date(2019, 5, 3, 6, 30, 0, 0, time.UTC), Kind: "payment", Category: "training", Purpose: "培训", AmountFen: 12345, Payee: "1/5"},
			}, nil
		}
		d.Sessions = func(context.Context) ([]SessionRow, error) {
			return []SessionRow{{Course: "-网店运营", StartsAt: time.Date(2019, 5, 3, 1, 0, 0, 0, time.UTC), Present: 40, SheetPhotos: 1}}, nil
		}
	})
}

func isText(t excelize.CellType) bool {
	return t == excelize.CellTypeSharedString || t == excelize.CellTypeInlineString
}

// cellOf reads one cell's type and raw value and fails on a formula.
func cellOf(t *testing.T, x *excelize.File, sh, ref string) (excelize.CellType, string) {
	t.Helper()
	typ, _ := x.GetCellType(sh, ref)
	v, _ := x.GetCellValue(sh, ref, excelize.Options{RawCellValue: true})
	if fm, _ := x.GetCellFormula(sh, ref); fm != "" {
		t.Errorf("%s!%s: formula %q", sh, ref, fm)
	}
	return typ, v
}

func open(t *testing.T, body []byte) *excelize.File {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestExportCellTypes reopens every XLSX export of the package: counts
// and yuan are number cells, times real dates, text text (formula-like
// text stays text, never a formula), each sheet with its title row.
func TestExportCellTypes(t *testing.T) {
	f := exportFixture(t)
	// the monthly report
	x := open(t, f.env.Do(f.env.Admin, "GET", "/api/v1/reports/monthly?month=2019-05&format=xlsx", nil).Want(t, 200).Body)
	for _, ref := range []string{"B3", "C3", "D3"} {
		if typ, v := cellOf(t, x, "培训", ref); isText(typ) || v == "" {
			t.Errorf("培训!%s %v %q, want a number", ref, typ, v)
		}
	}
	if typ, v := cellOf(t, x, "培训", "A3"); !isText(typ) || v != f.env.Township(0).Name {
		t.Errorf("培训!A3 %v %q", typ, v)
	}
	rows, _ := x.GetRows("资金")
	tot := len(rows)
	if typ, v := cellOf(t, x, "资金", "B"+strconv.Itoa(tot)); isText(typ) || v != "5000" {
		t.Errorf("资金 total %v %q, want the number 5000 (yuan)", typ, v)
	}
	// the ledger export
	x = open(t, f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/ledger?format=xlsx", nil).Want(t, 200).Body)
	sh := x.GetSheetName(0)
	if title, _ := x.GetCellValue(sh, "A1"); !strings.Contains(title, "资金台账") {
		t.Errorf("ledger title %q", title)
	}
	if typ, v := cellOf(t, x, sh, "F3"); isText(typ) || v != "3000000" {
		t.Errorf("ledger amount %v %q", typ, v)
	}
	if typ, v := cellOf(t, x, sh, "A3"); isText(typ) || !strings.HasPrefix(v, "43587.604") {
		t.Errorf("ledger time %v %q, want 2019-05-02 14:30 as a date serial", typ, v)
	}
	if shown, _ := x.GetCellValue(sh, "A3"); shown != "2019-05-02 14:30" {
		t.Errorf("ledger time shows %q", shown)
	}
	for ref, want := range map[string]string{"E3": "=1+1 冷链", "G3": "+承办企业", "G4": "1/5"} {
		if typ, v := cellOf(t, x, sh, ref); !isText(typ) || v != want {
			t.Errorf("ledger %s %v %q, want text %q", ref, typ, v, want)
		}
	}
	if typ, v := cellOf(t, x, sh, "F5"); isText(typ) || v != "3000123.45" {
		t.Errorf("ledger total %v %q", typ, v)
	}
	// the roster export
	x = open(t, f.env.Do(f.env.Admin, "GET", "/api/v1/reports/exports/roster?format=xlsx", nil).Want(t, 200).Body)
	sh = x.GetSheetName(0)
	for ref, want := range map[string]string{"A4": "@SUM(A1)", "F3": "00123", "F4": "-红岩村", "C3": "5303**********123X"} {
		if typ, v := cellOf(t, x, sh, ref); !isText(typ) || v != want {
			t.Errorf("roster %s %v %q, want text %q", ref, typ, v, want)
		}
	}
	// the self-evaluation workbook
	x = open(t, f.env.Do(f.env.Admin, "GET", "/api/v1/reports/self-evaluation?format=xlsx", nil).Want(t, 200).Body)
	if typ, v := cellOf(t, x, "培训场次", "E3"); isText(typ) || v != "40" {
		t.Errorf("培训场次 present %v %q", typ, v)
	}
	if typ, v := cellOf(t, x, "培训场次", "A3"); !isText(typ) || v != "-网店运营" {
		t.Errorf("培训场次 course %v %q", typ, v)
	}
}

// TestExportCSVNeutralised reads the CSV exports back with encoding/csv:
// no cell starts a formula, digit strings and "1/5" carry Excel's text
// mark, amounts are plain yuan with two decimals.
func TestExportCSVNeutralised(t *testing.T) {
	f := exportFixture(t)
	for _, q := range []string{"/api/v1/reports/exports/ledger?format=csv", "/api/v1/reports/exports/roster?format=csv", "/api/v1/reports/monthly?month=2019-05&format=csv"} {
		r := f.env.Do(f.env.Admin, "GET", q, nil).Want(t, 200)
		if !bytes.HasPrefix(r.Body, []byte("\ufeff")) {
			t.Errorf("%s: no BOM", q)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
		if err != nil || len(recs) < 3 {
			t.Fatalf("%s: %v %q", q, err, recs)
		}
		for _, rec := range recs {
			for _, v := range rec {
				if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
					t.Errorf("%s: formula-leading cell %q", q, v)
				}
			}
		}
		switch {
		case strings.Contains(q, "ledger"):
			if recs[1][4] != "'=1+1 冷链" || recs[1][5] != "3000000.00" || recs[2][6] != "\t1/5" || recs[1][0] != "2019-05-02 14:30" || recs[3][5] != "3000123.45" {
				t.Errorf("ledger csv %q", recs)
			}
		case strings.Contains(q, "roster"):
			if recs[2][0] != "'@SUM(A1)" || recs[1][5] != "\t00123" || recs[2][5] != "'-红岩村" {
				t.Errorf("roster csv %q", recs)
			}
		}
	}
}

// TestExportsPrint prints the monthly report, the ledger and the
// self-evaluation with LibreOffice: every page one page wide (it holds
// the sheet's first and last column), page numbers in the footer.
func TestExportsPrint(t *testing.T) {
	if _, err := exec.LookPath("soffice"); err != nil {
		t.Skip("soffice missing (libreoffice-calc-nogui; scripts/deps.sh installs it)")
	}
	f := exportFixture(t)
	for _, tc := range []struct {
		q           string
		pages       int
		first, last string
	}{
		{"/api/v1/reports/monthly?month=2019-05&format=xlsx", 4, "乡镇（街道）", ""},
		{"/api/v1/reports/exports/ledger?format=xlsx", 1, "时间", "冲销分录"},
		{"/api/v1/reports/self-evaluation?format=xlsx", 5, "", ""},
	} {
		body := f.env.Do(f.env.Admin, "GET", tc.q, nil).Want(t, 200).Body
		pdf := sheetstest.Convert(t, body, "xlsx", "pdf", "")
		n := sheetstest.PDFPages(t, pdf)
		pages := strings.Split(strings.TrimRight(sheetstest.PDFText(t, pdf), "\f"), "\f")
		t.Logf("%s: %d pages", tc.q, n)
		if n != tc.pages {
			t.Errorf("%s: %d pages, want %d (one per sheet: each one page wide)", tc.q, n, tc.pages)
		}
		for i, p := range pages {
			for _, s := range []string{tc.first, tc.last, "第 " + strconv.Itoa(i+1) + " 页，共 " + strconv.Itoa(n) + " 页"} {
				if !strings.Contains(p, s) {
					t.Errorf("%s: page %d lacks %q", tc.q, i+1, s)
				}
			}
		}
	}
}
