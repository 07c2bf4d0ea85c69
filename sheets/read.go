package sheets

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
)

// Options bound and describe one Read. The zero value reads with the
// defaults given for each field.
type Options struct {
	// Name is the uploaded file's name. The content decides the kind of
	// file; the name only sharpens messages (a .xlsx that is no workbook).
	Name string
	// MaxBytes refuses larger files (default 50 MiB).
	MaxBytes int64
	// MaxRows refuses files with more data rows, all sheets together
	// (default 20,000).
	MaxRows int
	// MaxUnzipped refuses workbooks whose parts inflate to more than this
	// (default 128 MiB): a zip bomb dressed as XLSX never gets unpacked.
	MaxUnzipped int64
	// EmptyRunLimit stops reading a sheet after this many empty rows in a
	// row (default 1,000): templates formatted down to row 100,000 end there.
	EmptyRunLimit int
	// HeaderRows is how many rows at the top of a sheet are searched for
	// the header (default 20).
	HeaderRows int
	// KeepRaw keeps every cell of the header and data rows as the file
	// holds them (SheetReport.Header, Row.Raw), columns the schema does not
	// know included: for writing rows back in the upload's own layout.
	KeepRaw bool
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 50 << 20
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 20000
	}
	if o.MaxUnzipped <= 0 {
		o.MaxUnzipped = 128 << 20
	}
	if o.EmptyRunLimit <= 0 {
		o.EmptyRunLimit = 1000
	}
	if o.HeaderRows <= 0 {
		o.HeaderRows = 20
	}
	return o
}

// Table is what Read found in a file.
type Table struct {
	Kind Kind `json:"kind"`
	// Encoding is the text encoding of a CSV file: "UTF-8", "GB18030" or "UTF-16".
	Encoding string `json:"encoding,omitempty"`
	// Delimiter is a CSV file's separator: ',', '\t' or ';'.
	Delimiter rune `json:"-"`
	// Sheets reports every sheet, read or skipped, in the file's order
	// (a CSV file is one sheet with an empty name).
	Sheets []SheetReport `json:"sheets"`
	// Rows are the data rows of every sheet that has a header, in order.
	Rows []Row `json:"-"`
}

// Notes lists the sheet reports' notes and problems as one Chinese list
// for an import report ("工作表“说明”：未找到花名册表头…"), sheet names
// in front when the file has several sheets.
func (t *Table) Notes() []string {
	var out []string
	for _, s := range t.Sheets {
		pre := ""
		if len(t.Sheets) > 1 {
			pre = fmt.Sprintf("工作表“%s”：", s.Name)
		}
		if s.Problem != "" {
			out = append(out, pre+s.Problem)
		}
		for _, n := range s.Notes {
			out = append(out, pre+n)
		}
	}
	return out
}

// Column is one column of a header row that the schema knows.
type Column struct {
	Field  string `json:"field"`  // the schema key
	Header string `json:"header"` // the header as the file writes it
	Index  int    `json:"index"`  // 1-based column number
	Letter string `json:"letter"` // the column's letter as Excel shows it ("C")
}

// SheetReport tells what Read made of one sheet.
type SheetReport struct {
	Name string `json:"name"`
	// HeaderRow is the header's row number (0 when none was found).
	HeaderRow int      `json:"header_row"`
	Columns   []Column `json:"columns,omitempty"`
	// Ignored are header texts of columns the schema does not know.
	Ignored []string `json:"ignored,omitempty"`
	// Rows counts the data rows read.
	Rows int `json:"rows"`
	// Skipped counts rows below the header with nothing in the schema's
	// columns: empty, only a 序号, or only formatting.
	Skipped int `json:"skipped"`
	// RepeatedHeaders counts header rows repeated inside the data (a
	// template that repeats the header on every page); they are skipped.
	RepeatedHeaders int `json:"repeated_headers"`
	// Notes are Chinese remarks for the clerk, most important first (an
	// ID column stored as numbers comes first).
	Notes []string `json:"notes,omitempty"`
	// Problem says why the sheet was skipped ("" when it was read).
	Problem string `json:"problem,omitempty"`
	// Header is the header row's every cell as the file holds it (only
	// with Options.KeepRaw).
	Header []string `json:"-"`
}

// rawCell and rawRow are what a file kind's reader hands the table builder.
type rawCell struct {
	text    string
	numeric bool
}

type rawRow struct {
	num   int // as Excel shows it
	cells []rawCell
}

// sheetSource yields the rows of one sheet in order.
type sheetSource struct {
	name string
	next func() (rawRow, bool, error)
}

// Read reads a table upload: XLSX (every sheet), or CSV / tab-separated
// text in UTF-8 (with or without BOM), GB18030/GBK or UTF-16. The kind is
// told from the content. In every sheet the header row is searched among
// the first rows with schema s (title and 填报单位 rows above it are
// skipped); sheets without one are reported and skipped.
//
// A file Read cannot take (not a table, empty, too big, .xls, damaged, a
// zip bomb, mixed encodings, no header anywhere, too many rows) gives a
// *FileError whose Msg is Chinese. Other errors come from r.
func Read(r io.Reader, s *Schema, opt Options) (t *Table, err error) {
	opt = opt.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, opt.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > opt.MaxBytes {
		return nil, refuse("文件超过 %s，无法读取；请删去无关的工作表和图片，或分成几个文件上传", sizeText(opt.MaxBytes))
	}
	return ReadBytes(data, s, opt)
}

// recoverPanics turns a panic deep in a file's parsing into a refusal;
// the fuzz test switches it off to see the panics.
var recoverPanics = true

// ReadBytes is Read of a file already in memory.
func ReadBytes(data []byte, s *Schema, opt Options) (t *Table, err error) {
	opt = opt.withDefaults()
	defer func() {
		if !recoverPanics {
			return
		}
		if p := recover(); p != nil {
			t, err = nil, refuse("文件内容有误，无法读取；请在 Excel 或 WPS 中打开后重新保存为 .xlsx 再上传")
		}
	}()
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, refuse("文件是空的，没有内容；请检查是否选错了文件")
	}
	if int64(len(data)) > opt.MaxBytes {
		return nil, refuse("文件超过 %s，无法读取；请删去无关的工作表和图片，或分成几个文件上传", sizeText(opt.MaxBytes))
	}
	kind, err := sniff(data)
	if err != nil {
		return nil, err
	}
	b := newBuilder(s, opt)
	b.t.Kind = kind
	if kind == KindXLSX {
		return b.xlsx(data)
	}
	ext := strings.ToLower(path.Ext(opt.Name))
	if ext == ".xlsx" || ext == ".xlsm" || ext == ".xls" || ext == ".et" {
		if bytes.IndexByte(data[:min(len(data), 4096)], 0) >= 0 {
			return nil, refuse("文件扩展名是 %s，但内容不是 Excel 工作簿，可能已损坏；请在 Excel 或 WPS 中打开后重新保存再上传", ext)
		}
	}
	return b.csv(data)
}

// ReadRecords builds a table from rows already split into cells (a JSON
// upload): records[0] is row 1 as Excel would show it, and the header is
// searched for as in a file. Every cell is text.
func ReadRecords(records [][]string, s *Schema, opt Options) (*Table, error) {
	b := newBuilder(s, opt.withDefaults())
	b.t.Kind = KindCSV
	i := 0
	src := sheetSource{next: func() (rawRow, bool, error) {
		if i >= len(records) {
			return rawRow{}, false, nil
		}
		row := rawRow{num: i + 1, cells: make([]rawCell, len(records[i]))}
		for j, v := range records[i] {
			row.cells[j] = rawCell{text: v}
		}
		i++
		return row, true, nil
	}}
	if err := b.sheet(src); err != nil {
		return nil, err
	}
	return b.finish()
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", max(n>>10, 1))
}
