package sheets

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

// builder turns the raw rows of a file's sheets into a Table.
type builder struct {
	s      *Schema
	m      *matcher
	opt    Options
	t      *Table
	labels map[string]string
	// best remembers the header-like row that came closest, for the
	// refusal when no sheet has a header.
	best struct {
		sheet   string
		row     int
		mapped  int
		missing string
	}
}

func newBuilder(s *Schema, opt Options) *builder {
	b := &builder{s: s, m: s.matcher(), opt: opt, t: &Table{}, labels: map[string]string{}}
	for _, f := range s.Fields {
		b.labels[f.Key] = f.Label
	}
	return b
}

// headerOf maps a row's cells to fields: field → 0-based column (first
// column wins), with the duplicate and unknown headers.
func (b *builder) headerOf(r rawRow) (have map[string]int, dups, unknown []string) {
	have = map[string]int{}
	for i, c := range r.cells {
		h := strings.TrimSpace(c.text)
		if h == "" {
			continue
		}
		f := b.m.match(h)
		switch _, taken := have[f]; {
		case f == "":
			unknown = append(unknown, headerDisplay(h))
		case taken:
			dups = append(dups, fmt.Sprintf("%s 列“%s”", colLetter(i+1), headerDisplay(h)))
		default:
			have[f] = i
		}
	}
	return have, dups, unknown
}

// sheet reads one sheet: finds the header among the first rows, then
// collects the data rows below it.
func (b *builder) sheet(src sheetSource) error {
	rep := SheetReport{Name: src.name}
	var head []rawRow
	for len(head) < b.opt.HeaderRows {
		r, ok, err := src.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		head = append(head, r)
	}
	hi := -1
	var have map[string]int
	var dups, unknown []string
	for i, r := range head {
		h, d, u := b.headerOf(r)
		if len(h) == 0 {
			continue
		}
		miss := b.s.missing(h)
		if miss == "" {
			hi, have, dups, unknown = i, h, d, u
			break
		}
		if len(h) > b.best.mapped {
			b.best.sheet, b.best.row, b.best.mapped, b.best.missing = src.name, r.num, len(h), miss
		}
	}
	if hi < 0 {
		rep.Problem = fmt.Sprintf("未找到%s表头（需要 %s），已跳过", b.s.Name, b.s.Needs())
		b.t.Sheets = append(b.t.Sheets, rep)
		return nil
	}
	rep.HeaderRow = head[hi].num
	if b.opt.KeepRaw {
		rep.Header = rawTexts(head[hi].cells)
	}
	for _, f := range b.s.Fields {
		if i, ok := have[f.Key]; ok {
			rep.Columns = append(rep.Columns, Column{Field: f.Key, Header: headerDisplay(head[hi].cells[i].text), Index: i + 1, Letter: colLetter(i + 1)})
		}
	}
	slices.SortFunc(rep.Columns, func(a, b Column) int { return a.Index - b.Index })
	rep.Ignored = unknown
	if len(dups) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s 与前面的列重复，未读取", strings.Join(dups, "、")))
	}

	d := dataReader{b: b, rep: &rep, cols: rep.Columns, lost: map[string]int{}}
	stopped := false
	for _, r := range head[hi+1:] {
		if !d.add(r) {
			stopped = true
			break
		}
	}
	for !stopped {
		r, ok, err := src.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if !d.add(r) {
			break
		}
		if len(b.t.Rows) > b.opt.MaxRows {
			return refuse("数据超过 %d 行，请分成几个文件上传", b.opt.MaxRows)
		}
	}
	if len(b.t.Rows) > b.opt.MaxRows {
		return refuse("数据超过 %d 行，请分成几个文件上传", b.opt.MaxRows)
	}
	var top []string
	for _, c := range rep.Columns {
		if n := d.lost[c.Field]; n > 0 {
			top = append(top, fmt.Sprintf("“%s”列（%s 列）有 %d 个单元格存成了数字：Excel 只保留 15 位有效数字，这些%s的后几位已经丢失，这些行不会导入。请把该列设为“文本”格式后重新填写",
				c.Header, c.Letter, n, b.labels[c.Field]))
		}
	}
	rep.Notes = append(top, rep.Notes...)
	b.t.Sheets = append(b.t.Sheets, rep)
	return nil
}

// dataReader collects the data rows below a header.
type dataReader struct {
	b        *builder
	rep      *SheetReport
	cols     []Column
	emptyRun int
	lost     map[string]int // Text field → cells that went through Excel's number type
}

// add takes one row below the header; false stops the sheet (too many
// empty rows in a row).
func (d *dataReader) add(r rawRow) bool {
	row := Row{Sheet: d.rep.Name, Number: r.num, Cells: make(map[string]Cell, len(d.cols)), labels: d.b.labels}
	empty, headerLike, filled := true, true, 0
	for _, c := range d.cols {
		var rc rawCell
		if c.Index-1 < len(r.cells) {
			rc = r.cells[c.Index-1]
		}
		cell := Cell{Text: normText(rc.text), Raw: rc.text, Numeric: rc.numeric && rc.text != "", Field: c.Field, Column: c.Header, Row: r.num, Sheet: d.rep.Name}
		row.Cells[c.Field] = cell
		if cell.Text != "" {
			empty = false
			filled++
			if d.b.m.match(cell.Text) != c.Field {
				headerLike = false
			}
		}
	}
	if empty {
		d.rep.Skipped++
		d.emptyRun++
		if d.emptyRun >= d.b.opt.EmptyRunLimit {
			d.rep.Notes = append(d.rep.Notes, fmt.Sprintf("第 %d 行起连续 %d 行都是空行，已停止读取本表后面的内容", r.num-d.emptyRun+1, d.emptyRun))
			return false
		}
		return true
	}
	d.emptyRun = 0
	if headerLike && filled >= min(2, len(d.cols)) {
		d.rep.RepeatedHeaders++
		return true
	}
	for _, c := range d.cols {
		if f := d.b.s.field(c.Field); f != nil && f.Text && lostDigits(row.Cells[c.Field]) {
			d.lost[c.Field]++
		}
	}
	if d.b.opt.KeepRaw {
		row.Raw = rawTexts(r.cells)
	}
	d.rep.Rows++
	d.b.t.Rows = append(d.b.t.Rows, row)
	return true
}

// finish refuses a file where no sheet had a header, and marks rows of
// files with several data sheets so that messages name the sheet.
func (b *builder) finish() (*Table, error) {
	found, withRows := 0, 0
	for _, s := range b.t.Sheets {
		if s.HeaderRow > 0 {
			found++
		}
		if s.Rows > 0 {
			withRows++
		}
	}
	if found == 0 {
		msg := fmt.Sprintf("未找到%s表头（需要 %s）", b.s.Name, b.s.Needs())
		if len(b.t.Sheets) > 1 {
			msg = fmt.Sprintf("%d 个工作表中都%s", len(b.t.Sheets), msg)
		}
		if b.best.mapped > 0 {
			where := fmt.Sprintf("第 %d 行", b.best.row)
			if len(b.t.Sheets) > 1 {
				where = fmt.Sprintf("工作表“%s”第 %d 行", b.best.sheet, b.best.row)
			}
			msg += fmt.Sprintf("；%s像表头，但缺少 %s", where, b.best.missing)
		}
		return nil, refuse("%s", msg)
	}
	if withRows > 1 {
		for i := range b.t.Rows {
			b.t.Rows[i].showSheet = true
		}
	}
	return b.t, nil
}

// rawTexts is a raw row's cells as text.
func rawTexts(cells []rawCell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c.text
	}
	return out
}

// colLetter is a 1-based column number as Excel names it (3 → "C").
func colLetter(n int) string {
	s, err := excelize.ColumnNumberToName(n)
	if err != nil {
		return fmt.Sprint(n)
	}
	return s
}
