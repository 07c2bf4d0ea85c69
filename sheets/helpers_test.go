package sheets_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// read reads data with the roster schema and fails on an error.
func read(t *testing.T, data []byte, name string) *sheets.Table {
	t.Helper()
	tab, err := sheets.Read(bytes.NewReader(data), sheets.Roster, sheets.Options{Name: name})
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return tab
}

// refusal reads data and returns the Chinese refusal, failing when the
// file was read or the error is no *FileError.
func refusal(t *testing.T, data []byte, name string, opt sheets.Options) string {
	t.Helper()
	opt.Name = name
	tab, err := sheets.Read(bytes.NewReader(data), sheets.Roster, opt)
	if err == nil {
		t.Fatalf("Read(%s) took the file: %+v", name, tab.Sheets)
	}
	var fe *sheets.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("Read(%s): %v is no *FileError", name, err)
	}
	for _, r := range fe.Msg {
		if r >= 0x4e00 && r <= 0x9fff {
			return fe.Msg
		}
	}
	t.Fatalf("Read(%s): refusal %q has no Chinese", name, fe.Msg)
	return ""
}

// wantRows checks that the table holds people in order, at the given
// first row, one row apart, with the IDs and phones intact.
func wantRows(t *testing.T, tab *sheets.Table, people []sheetstest.Trainee, firstRow int) {
	t.Helper()
	if len(tab.Rows) != len(people) {
		t.Fatalf("%d rows, want %d (sheets %+v)", len(tab.Rows), len(people), tab.Sheets)
	}
	for i, r := range tab.Rows {
		p := people[i]
		if r.Number != firstRow+i {
			t.Errorf("row %d: Number %d, want %d", i, r.Number, firstRow+i)
		}
		id, err := sheets.IDNumberCell(r.Cell("id_number"))
		if err != nil || id != p.IDNumber {
			t.Errorf("row %d: id %q %v, want %q", r.Number, id, err, p.IDNumber)
		}
		if !sheetstest.ValidID(id) {
			t.Errorf("row %d: id %q fails GB 11643", r.Number, id)
		}
		ph, err := sheets.PhoneCell(r.Cell("phone"))
		if err != nil || ph != p.Phone {
			t.Errorf("row %d: phone %q %v, want %q", r.Number, ph, err, p.Phone)
		}
		if r.Text("name") != p.Name || r.Text("village") != p.Village || r.Text("township") != p.Township {
			t.Errorf("row %d: %q %q %q, want %+v", r.Number, r.Text("name"), r.Text("village"), r.Text("township"), p)
		}
	}
}

func contains(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%q\ndoes not contain %q", got, want)
	}
}
