package sheets

import (
	"fmt"
	"strings"
)

// Cell is one value of a data row, normalised, with where it came from.
type Cell struct {
	// Text is the value normalised: invisible characters (U+200B, U+FEFF,
	// soft hyphen…) removed, NBSP and the ideographic space U+3000 turned
	// into spaces, full-width digits and letters made half-width, a leading
	// apostrophe dropped, surrounding spaces trimmed.
	Text string
	// Raw is the value as the file holds it (for XLSX, as Excel shows it).
	Raw string
	// Numeric is true when the cell is a number cell (XLSX t="n" or no
	// type); CSV cells never are. An ID number in such a cell has lost its
	// last digits: see IDNumberCell.
	Numeric bool
	// Field is the schema key of the column ("" for a column the schema
	// does not know).
	Field string
	// Column is the header of the column as the file writes it (spaces,
	// line breaks and * removed), e.g. "身份证号码" or "所在村（社区）";
	// for a column absent from the file, the field's label.
	Column string
	// Row is the row number as Excel shows it.
	Row int
	// Sheet is the name of the sheet the cell is on.
	Sheet string

	showSheet bool
}

// Empty reports whether the cell holds nothing (after normalisation).
func (c Cell) Empty() bool { return c.Text == "" }

// Errorf makes a CellError for this cell: the row, the column as the
// header names it, and the problem formatted from format and args.
func (c Cell) Errorf(format string, args ...any) *CellError {
	e := &CellError{Row: c.Row, Column: c.Column, Problem: fmt.Sprintf(format, args...)}
	if c.showSheet {
		e.Sheet = c.Sheet
	}
	return e
}

// Row is one data row of a table.
type Row struct {
	Sheet  string // the sheet's name ("" for CSV)
	Number int    // the row number as Excel shows it (title and header rows count)
	// Cells holds the row's cells by field key; a field whose column the
	// file lacks has no entry (Cell still answers for it).
	Cells map[string]Cell
	// Raw is every cell of the row as the file holds it, in the file's
	// column order (only with Options.KeepRaw).
	Raw []string

	showSheet bool
	labels    map[string]string
}

// Cell returns the cell of field key. For a field the file has no column
// for, it returns an empty Cell that still knows its row and the field's
// label, so that its Errorf reads well.
func (r Row) Cell(key string) Cell {
	c, ok := r.Cells[key]
	if !ok {
		c = Cell{Field: key, Column: r.labels[key], Row: r.Number, Sheet: r.Sheet}
	}
	c.showSheet = r.showSheet
	return c
}

// Text is Cell(key).Text.
func (r Row) Text(key string) string { return r.Cells[key].Text }

// Has reports whether the file has a column for field key.
func (r Row) Has(key string) bool {
	_, ok := r.Cells[key]
	return ok
}

// Errorf makes a CellError about the whole row (no column).
func (r Row) Errorf(format string, args ...any) *CellError {
	e := &CellError{Row: r.Number, Problem: fmt.Sprintf(format, args...)}
	if r.showSheet {
		e.Sheet = r.Sheet
	}
	return e
}

// invisible reports characters that show as nothing but break matching.
func invisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u200e', '\u200f', '\u180e':
		return true
	}
	return r >= '\u202a' && r <= '\u202e' || r < 0x20 && r != '\t' && r != '\n' && r != '\r'
}

// foldRune makes full-width digits and Latin letters half-width and turns
// the odd spaces into ASCII spaces; other characters (Chinese, full-width
// brackets and commas in place names) are kept.
func foldRune(r rune) rune {
	switch {
	case r >= '０' && r <= '９', r >= 'Ａ' && r <= 'Ｚ', r >= 'ａ' && r <= 'ｚ':
		return r - 0xfee0
	case r == '\u3000', r == '\u00a0', r >= '\u2000' && r <= '\u200a', r == '\u202f', r == '\u205f':
		return ' '
	}
	return r
}

// normText is the normalisation every cell gets (see Cell.Text).
func normText(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if invisible(r) {
			continue
		}
		b.WriteRune(foldRune(r))
	}
	t := strings.TrimSpace(b.String())
	if strings.HasPrefix(t, "'") && len(t) > 1 {
		t = strings.TrimSpace(t[1:])
	}
	return t
}
