package sheets_test

import (
	"testing"

	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

// FuzzRead feeds the reader arbitrary files: it must answer every one
// with a table or an error, never a panic (recovery is off here, so a
// panic deep in a parser shows), within small limits.
func FuzzRead(f *testing.F) {
	t := &testing.T{}
	people := sheetstest.Trainees(3)
	f.Add(sheetstest.RosterXLSX(t, people, sheetstest.XLSXOptions{Title: "花名册", IDs: sheetstest.IDNumber}))
	f.Add(sheetstest.RosterCSV(t, people, sheetstest.CSVOptions{Encoding: sheetstest.GB18030}))
	f.Add(sheetstest.RosterCSV(t, people, sheetstest.CSVOptions{Encoding: sheetstest.UTF8BOM, Delimiter: '\t'}))
	f.Add(sheetstest.MixedEncodingCSV(t, sheetstest.Trainees(4)))
	f.Add(sheetstest.FakePDF())
	f.Add([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0})
	f.Add([]byte("sep=;\n姓名;身份证号;手机号;村\n\"张\"三;'5303;１３８;x\n"))
	f.Add([]byte{0xff, 0xfe, '1', 0, ',', 0})
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	was := sheets.SetRecoverPanics(false)
	defer sheets.SetRecoverPanics(was)
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := sheets.Options{MaxBytes: 1 << 20, MaxUnzipped: 16 << 20, MaxRows: 1000}
		for _, s := range []*sheets.Schema{sheets.Roster, sheets.Attendance} {
			tab, err := sheets.ReadBytes(data, s, opt)
			if err != nil {
				continue
			}
			for _, r := range tab.Rows {
				for k := range r.Cells {
					c := r.Cell(k)
					sheets.IDNumberCell(c)
					sheets.PhoneCell(c)
					sheets.CodeCell(c)
					sheets.MarkCell(c)
				}
			}
		}
	})
}
