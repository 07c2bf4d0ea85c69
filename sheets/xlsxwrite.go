package sheets

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Sheet describes one sheet of an export workbook.
type Sheet struct {
	// Name is the sheet's tab (cut to Excel's 31 characters, characters
	// Excel forbids replaced, made unique in the workbook).
	Name string
	// Title is the title row above the header: county, what and period,
	// e.g. "会泽县 电商培训证书登记册（2024 年）". It wraps, never cut.
	Title   string
	Columns []Col
}

// SheetRows is a whole sheet for WriteXLSX.
type SheetRows struct {
	Sheet
	Rows   [][]any
	Totals []any // a bold totals row when not nil
}

// WriteXLSX writes the sheets as one workbook in the house style (see Book).
func WriteXLSX(w io.Writer, sheets ...SheetRows) error {
	b, err := NewBook()
	if err != nil {
		return err
	}
	defer b.Close()
	for _, s := range sheets {
		sw, err := b.Sheet(s.Sheet)
		if err != nil {
			return err
		}
		for _, r := range s.Rows {
			if err := sw.Row(r...); err != nil {
				return err
			}
		}
		if s.Totals != nil {
			if err := sw.Totals(s.Totals...); err != nil {
				return err
			}
		}
	}
	_, err = b.WriteTo(w)
	return err
}

// Book writes an XLSX workbook in the one house style of every export:
// a title row, a frozen header row, numbers as numbers, money in yuan
// (#,##0.00) from fen, dates as real dates, text (ID numbers, phones) as
// text, column widths from the content, A4 landscape fitted to one page
// wide, the header row repeated on every printed page, and page numbers
// in the footer ("第 1 页，共 3 页"). Rows are streamed (excelize's
// StreamWriter), so 50,000 rows do not balloon memory.
//
// Write sheets one after the other: Book.Sheet ends the previous one.
type Book struct {
	f      *excelize.File
	styles map[styleKey]int
	names  map[string]bool
	cur    *SheetWriter
	err    error
}

// NewBook starts an empty workbook.
func NewBook() (*Book, error) {
	return &Book{f: excelize.NewFile(), styles: map[styleKey]int{}, names: map[string]bool{}}, nil
}

// sampleRows is how many rows a sheet holds back to measure column widths.
const sampleRows = 200

// maxWidth is the widest a measured column gets; longer text wraps.
const maxWidth = 50.0

// SheetWriter writes the rows of one sheet.
type SheetWriter struct {
	b      *Book
	s      Sheet
	name   string
	sw     *excelize.StreamWriter
	buf    [][]any // rows held back until the widths are known
	row    int     // the next row number to write
	styles []int   // per column: plain, bold
	bold   []int
	ended  bool
}

// Sheet starts a new sheet (ending the one before).
func (b *Book) Sheet(s Sheet) (*SheetWriter, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.cur != nil {
		if err := b.cur.flush(); err != nil {
			b.err = err
			return nil, err
		}
	}
	if len(s.Columns) == 0 {
		return nil, errors.New("sheets: a sheet needs columns")
	}
	name := b.uniqueName(s.Name)
	if len(b.names) == 1 {
		if err := b.f.SetSheetName("Sheet1", name); err != nil {
			return nil, err
		}
	} else if _, err := b.f.NewSheet(name); err != nil {
		return nil, err
	}
	b.cur = &SheetWriter{b: b, s: s, name: name}
	return b.cur, nil
}

// uniqueName makes a valid, unused sheet name.
func (b *Book) uniqueName(n string) string {
	n = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '-'
		}
		return r
	}, strings.TrimSpace(n))
	n = strings.Trim(n, "'")
	if n == "" {
		n = "Sheet"
	}
	cut := func(s string, max int) string {
		r := []rune(s)
		if len(r) > max {
			return string(r[:max])
		}
		return s
	}
	name := cut(n, 31)
	for i := 2; b.names[strings.ToLower(name)]; i++ {
		suf := fmt.Sprintf("(%d)", i)
		name = cut(n, 31-len(suf)) + suf
	}
	b.names[strings.ToLower(name)] = true
	return name
}

// Row adds a data row; values follow the columns' kinds (see ValueKind).
func (w *SheetWriter) Row(vals ...any) error {
	if w.ended {
		return errors.New("sheets: row after the totals row")
	}
	if w.b.err != nil {
		return w.b.err
	}
	if w.sw == nil {
		w.buf = append(w.buf, vals)
		if len(w.buf) < sampleRows {
			return nil
		}
		return w.start()
	}
	return w.put(vals, false)
}

// Totals adds the bold totals row and ends the sheet's rows.
func (w *SheetWriter) Totals(vals ...any) error {
	if w.sw == nil {
		if err := w.start(); err != nil {
			return err
		}
	}
	w.ended = true
	return w.put(vals, true)
}

// start measures the held-back rows, sets up the sheet and writes the
// title, the header and those rows.
func (w *SheetWriter) start() error {
	f, name, cols := w.b.f, w.name, w.s.Columns
	widths := make([]float64, len(cols))
	wrap := make([]bool, len(cols))
	for i, c := range cols {
		widths[i] = c.Width
		if c.Width > 0 {
			continue
		}
		m := displayWidth(c.Label)
		for _, r := range w.buf {
			if i < len(r) {
				m = max(m, valueWidth(c.Kind, norm(c.Kind, r[i])))
			}
		}
		widths[i] = min(max(m+2, 6), maxWidth)
		wrap[i] = m+2 > maxWidth
	}
	total := 0.0
	for _, x := range widths {
		total += x
	}
	w.styles, w.bold = make([]int, len(cols)), make([]int, len(cols))
	for i, c := range cols {
		var err error
		if w.styles[i], err = w.b.style(styleKey{kind: c.Kind, wrap: wrap[i]}); err != nil {
			return err
		}
		if w.bold[i], err = w.b.style(styleKey{kind: c.Kind, bold: true}); err != nil {
			return err
		}
	}
	if err := w.pageSetup(); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	w.sw = sw
	for i, x := range widths {
		if err := sw.SetColWidth(i+1, i+1, x); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A3", ActiveCell: "A3", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	title, err := w.b.style(styleKey{title: true})
	if err != nil {
		return err
	}
	lines := math.Ceil(displayWidth(w.s.Title) * 1.3 / max(total, 1))
	if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: title, Value: w.s.Title}}, excelize.RowOpts{Height: 22 * max(lines, 1)}); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(cols))
	if len(cols) > 1 {
		if err := sw.MergeCell("A1", last+"1"); err != nil {
			return err
		}
	}
	head, err := w.b.style(styleKey{head: true})
	if err != nil {
		return err
	}
	cells := make([]any, len(cols))
	hl := 1.0
	for i, c := range cols {
		cells[i] = excelize.Cell{StyleID: head, Value: c.Label}
		hl = max(hl, math.Ceil((displayWidth(c.Label)+1)/widths[i]))
	}
	if err := sw.SetRow("A2", cells, excelize.RowOpts{Height: 18 * hl}); err != nil {
		return err
	}
	w.row = 3
	buf := w.buf
	w.buf = nil
	for _, r := range buf {
		if err := w.put(r, false); err != nil {
			return err
		}
	}
	return nil
}

// pageSetup prints A4 landscape, one page wide and as many tall as it
// takes, the header row on every page, page numbers in the footer.
func (w *SheetWriter) pageSetup() error {
	f, name := w.b.f, w.name
	yes, zero, one, a4, land := true, 0, 1, 9, "landscape"
	if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &yes}); err != nil {
		return err
	}
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Size: &a4, Orientation: &land, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	if err := f.SetPageMargins(name, &excelize.PageLayoutMarginsOptions{
		Left: ptr(0.4), Right: ptr(0.4), Top: ptr(0.6), Bottom: ptr(0.7), Header: ptr(0.3), Footer: ptr(0.3),
	}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(name, &excelize.HeaderFooterOptions{OddFooter: "&C第 &P 页，共 &N 页"}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$2:$2", strings.ReplaceAll(name, "'", "''")), Scope: name})
}

func ptr(f float64) *float64 { return &f }

// put writes one row.
func (w *SheetWriter) put(vals []any, bold bool) error {
	cols := w.s.Columns
	cells := make([]any, max(len(vals), len(cols)))
	for i := range cells {
		k, st := Text, 0
		if i < len(cols) {
			k, st = cols[i].Kind, w.styles[i]
			if bold {
				st = w.bold[i]
			}
		}
		var v any
		if i < len(vals) {
			v = norm(k, vals[i])
		}
		if t, ok := v.(time.Time); ok {
			v = excelSerial(t)
		}
		if _, ok := v.(string); ok && k != Text {
			// text in a number column, such as a totals label
			if id, err := w.b.style(styleKey{kind: Text, bold: bold}); err == nil {
				st = id
			}
		}
		cells[i] = excelize.Cell{StyleID: st, Value: v}
	}
	cell, _ := excelize.CoordinatesToCellName(1, w.row)
	w.row++
	return w.sw.SetRow(cell, cells)
}

// flush ends the sheet.
func (w *SheetWriter) flush() error {
	if w.sw == nil {
		if err := w.start(); err != nil {
			return err
		}
	}
	return w.sw.Flush()
}

// WriteTo ends the last sheet and writes the workbook.
func (b *Book) WriteTo(out io.Writer) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.cur != nil {
		if err := b.cur.flush(); err != nil {
			return 0, err
		}
		b.cur = nil
	}
	return b.f.WriteTo(out)
}

// Close releases the workbook's temporary files.
func (b *Book) Close() error { return b.f.Close() }

// excelSerial is a Shanghai wall-clock time as an Excel date serial.
func excelSerial(t time.Time) float64 {
	wall := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	days := wall.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
	// Spreadsheets keep 15 significant digits; rounding (not cutting) to
	// them keeps 14:30 from showing as 14:29.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(days, 'g', 15, 64), 64)
	return r
}

// valueWidth is how wide a normalised value shows.
func valueWidth(k ValueKind, v any) float64 {
	switch x := v.(type) {
	case float64:
		if k == Money {
			return float64(len(text(k, x))) + math.Floor(math.Log10(max(math.Abs(x), 1))/3) + 1
		}
	case time.Time:
		if k == DateTime {
			return 16
		}
		return 10
	}
	return displayWidth(text(k, v))
}

// styleKey names the few styles a workbook uses.
type styleKey struct {
	kind        ValueKind
	bold, wrap  bool
	title, head bool
}

var thin = []excelize.Border{
	{Type: "left", Color: "A6A6A6", Style: 1}, {Type: "right", Color: "A6A6A6", Style: 1},
	{Type: "top", Color: "A6A6A6", Style: 1}, {Type: "bottom", Color: "A6A6A6", Style: 1},
}

// style returns (making it once) the style of a key.
func (b *Book) style(k styleKey) (int, error) {
	if id, ok := b.styles[k]; ok {
		return id, nil
	}
	st := &excelize.Style{Border: thin, Font: &excelize.Font{Bold: k.bold}, Alignment: &excelize.Alignment{Vertical: "center", WrapText: k.wrap}}
	switch {
	case k.title:
		st = &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}
	case k.head:
		st.Font.Bold = true
		st.Fill = excelize.Fill{Type: "pattern", Color: []string{"E3ECE6"}, Pattern: 1}
		st.Alignment = &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	default:
		var custom string
		switch k.kind {
		case Text:
			st.NumFmt = 49 // "@": stays text when the clerk edits it
		case Money:
			custom = "#,##0.00"
		case Date:
			custom = "yyyy-mm-dd"
		case DateTime:
			custom = "yyyy-mm-dd hh:mm"
		case Percent:
			custom = "0.0%"
		}
		if custom != "" {
			st.CustomNumFmt = &custom
		}
	}
	id, err := b.f.NewStyle(st)
	if err != nil {
		return 0, err
	}
	b.styles[k] = id
	return id, nil
}
