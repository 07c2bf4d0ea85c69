package sheetstest

import (
	"bytes"
	"encoding/csv"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Encoding is how a generated CSV is encoded.
type Encoding int

// The encodings clerks' CSV files come in.
const (
	UTF8    Encoding = iota // UTF-8 without BOM (LibreOffice, web tools)
	UTF8BOM                 // UTF-8 with BOM ("CSV UTF-8" in Excel)
	GB18030                 // Excel's default "CSV (逗号分隔)" on Chinese Windows
)

// CSVOptions shape a generated roster CSV.
type CSVOptions struct {
	Encoding Encoding
	// Delimiter is ',' (default), '\t' or ';'.
	Delimiter rune
	// English uses EnglishHeader instead of RosterHeader.
	English bool
	// Title adds a title line above the header, as Excel writes a merged
	// title: "会泽县电商培训花名册,,,,,,".
	Title string
	// IDs: IDText, IDSci (what Excel writes for a number column) or IDNumberFmt0 (rounded digits).
	IDs IDCells
}

// RosterCSV makes a roster CSV with CRLF line ends, as Excel writes it.
func RosterCSV(tb testing.TB, people []Trainee, o CSVOptions) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if o.Delimiter != 0 {
		w.Comma = o.Delimiter
	}
	header := RosterHeader
	if o.English {
		header = EnglishHeader
	}
	if o.Title != "" {
		w.Write(append([]string{o.Title}, make([]string, len(header))...))
	}
	w.Write(append([]string{"序号"}, header...))
	for i, p := range people {
		cells := append([]string{itoa(i + 1)}, p.Cells()...)
		switch x := p.IDNumber[17] == 'X'; {
		case x: // text in Excel, whatever the column's format
		case o.IDs == IDSci:
			cells[2] = Sci(p.IDNumber)
		case o.IDs == IDNumberFmt0:
			cells[2] = ftoa(Excel15(p.IDNumber))
		}
		w.Write(cells)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	return encode(tb, buf.Bytes(), o.Encoding)
}

func encode(tb testing.TB, utf8 []byte, e Encoding) []byte {
	tb.Helper()
	switch e {
	case UTF8BOM:
		return append([]byte("\xef\xbb\xbf"), utf8...)
	case GB18030:
		out, err := simplifiedchinese.GB18030.NewEncoder().Bytes(utf8)
		if err != nil {
			tb.Fatal(err)
		}
		return out
	}
	return utf8
}

// MixedEncodingCSV makes a CSV whose first half is UTF-8 and second half
// GB18030: two files pasted together in a text editor.
func MixedEncodingCSV(tb testing.TB, people []Trainee) []byte {
	tb.Helper()
	half := len(people) / 2
	a := RosterCSV(tb, people[:half], CSVOptions{})
	b := RosterCSV(tb, people[half:], CSVOptions{Encoding: GB18030})
	_, rest, _ := bytes.Cut(b, []byte("\n")) // drop the second header
	return append(a, rest...)
}
