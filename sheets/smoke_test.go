package sheets_test

import (
	"fmt"
	"testing"

	"nongxun/sheets"
	"nongxun/sheets/sheetstest"
)

func TestSmoke(t *testing.T) {
	p := sheetstest.Trainees(5)
	for _, o := range []sheetstest.XLSXOptions{
		{Title: "会泽县电商培训花名册", Unit: true, IDs: sheetstest.IDNumber, SerialTo: 31},
		{IDs: sheetstest.IDNumberFmt0, PhonesAsNumbers: true},
		{IDs: sheetstest.IDFullWidth, Instructions: true, Sheets: 2},
	} {
		data := sheetstest.RosterXLSX(t, p, o)
		tab, err := sheets.Read(bytesReader(data), sheets.Roster, sheets.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%+v\n", tab.Sheets)
		for _, r := range tab.Rows {
			c := r.Cell("id_number")
			id, err := sheets.IDNumberCell(c)
			fmt.Println(r.Sheet, r.Number, c.Raw, c.Numeric, id, err, r.Text("phone"), r.Cell("phone").Numeric)
		}
	}
}
