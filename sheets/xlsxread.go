package sheets

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// damaged is the refusal of a workbook that cannot be opened.
const damaged = "文件已损坏或不是完整的 Excel 工作簿，无法读取；请在 Excel 或 WPS 中打开后重新保存为 .xlsx 再上传"

// xlsx reads every sheet of a workbook. Values come from excelize (as
// Excel shows them, number formats applied); whether a cell is a number
// cell comes from a second, light pass over the same sheet XML, which
// excelize's row iterator does not tell.
func (b *builder) xlsx(data []byte) (*Table, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, refuse("%s", damaged)
	}
	if e := zipRefusal(zr); e != nil {
		return nil, e
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
	}
	if total > uint64(b.opt.MaxUnzipped) {
		return nil, refuse("文件解压后超过 %s（正常的花名册远小于此），可能已损坏或不是正常的表格文件，无法读取；请在 Excel 或 WPS 中打开后删去图片和无关的工作表，重新保存为 .xlsx 再上传", sizeText(b.opt.MaxUnzipped))
	}
	// Inflate every part once, checking sizes and CRCs: a part that runs
	// past the size its header declares (a lying zip bomb) or is damaged
	// stops here, before excelize (which keeps truncated parts) sees it.
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			return nil, refuse("%s", damaged)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return nil, refuse("%s", damaged)
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    b.opt.MaxUnzipped,
		UnzipXMLSizeLimit: min(b.opt.MaxUnzipped, 16<<20),
	})
	if err != nil {
		return nil, refuse("%s", damaged)
	}
	defer f.Close()
	paths := sheetPaths(zr)
	for _, name := range f.GetSheetList() {
		if err := b.xlsxSheet(f, zr, name, paths[name]); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

func (b *builder) xlsxSheet(f *excelize.File, zr *zip.Reader, name, part string) error {
	rows, err := f.Rows(name)
	if err != nil {
		b.t.Sheets = append(b.t.Sheets, SheetReport{Name: name, Problem: "这个工作表无法读取，已跳过"})
		return nil
	}
	defer rows.Close()
	types, err := openTypes(zr, part)
	if err != nil {
		return refuse("%s", damaged)
	}
	defer types.close()
	n := 0
	src := sheetSource{name: name, next: func() (rawRow, bool, error) {
		if !rows.Next() {
			if rows.Error() != nil {
				return rawRow{}, false, refuse("工作表“%s”有误，无法读取；%s", name, saveAsXLSX)
			}
			return rawRow{}, false, nil
		}
		n++
		vals, err := rows.Columns()
		if err != nil {
			return rawRow{}, false, refuse("工作表“%s”第 %d 行有误，无法读取；请在 Excel 或 WPS 中打开后重新保存为 .xlsx 再上传", name, n)
		}
		num, err := types.row(n)
		if err != nil {
			return rawRow{}, false, refuse("%s", damaged)
		}
		r := rawRow{num: n, cells: make([]rawCell, len(vals))}
		for i, v := range vals {
			r.cells[i] = rawCell{text: v, numeric: num[i+1]}
		}
		return r, true, nil
	}}
	return b.sheet(src)
}

// sheetPaths maps sheet names to their parts in the zip, through the
// package and workbook relationships.
func sheetPaths(zr *zip.Reader) map[string]string {
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"))] = f
	}
	book := "xl/workbook.xml"
	for _, r := range relationships(files["_rels/.rels"]) {
		if strings.HasSuffix(r.typ, "/officeDocument") {
			book = resolve("", r.target)
		}
	}
	dir, file := path.Split(book)
	rels := map[string]string{}
	for _, r := range relationships(files[strings.ToLower(dir+"_rels/"+file+".rels")]) {
		rels[r.id] = resolve(dir, r.target)
	}
	out := map[string]string{}
	eachElement(files[strings.ToLower(book)], "sheet", func(attrs []xml.Attr) {
		var name, id string
		for _, a := range attrs {
			switch {
			case a.Name.Local == "name":
				name = a.Value
			case a.Name.Local == "id" && a.Name.Space != "":
				id = a.Value
			}
		}
		out[name] = rels[id]
	})
	return out
}

type relationship struct{ id, target, typ string }

func relationships(f *zip.File) []relationship {
	var out []relationship
	eachElement(f, "Relationship", func(attrs []xml.Attr) {
		var r relationship
		for _, a := range attrs {
			switch a.Name.Local {
			case "Id":
				r.id = a.Value
			case "Target":
				r.target = a.Value
			case "Type":
				r.typ = a.Value
			}
		}
		out = append(out, r)
	})
	return out
}

func resolve(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.ToLower(strings.TrimPrefix(target, "/"))
	}
	return strings.ToLower(path.Clean(dir + target))
}

// eachElement calls fn with the attributes of every element named local in
// the (small) XML part f.
func eachElement(f *zip.File, local string, fn func([]xml.Attr)) {
	if f == nil {
		return
	}
	rc, err := f.Open()
	if err != nil {
		return
	}
	defer rc.Close()
	d := xml.NewDecoder(io.LimitReader(rc, 16<<20))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local {
			fn(se.Attr)
		}
	}
}

// cellTypes walks a sheet's XML alongside excelize and tells, row by
// row, which columns hold number cells.
type cellTypes struct {
	rc      io.ReadCloser
	d       *xml.Decoder
	lastRow int
	pending map[int]bool // numeric columns (1-based) of row pendNum
	pendNum int
	done    bool
}

func openTypes(zr *zip.Reader, part string) (*cellTypes, error) {
	t := &cellTypes{}
	var zf *zip.File
	for _, f := range zr.File {
		if strings.EqualFold(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"), part) {
			zf = f
		}
	}
	if zf == nil {
		t.done = true // excelize found a sheet we cannot: no cell is known to be a number
		return t, nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	t.rc, t.d = rc, xml.NewDecoder(rc)
	return t, nil
}

func (t *cellTypes) close() {
	if t.rc != nil {
		t.rc.Close()
	}
}

// row returns the numeric columns of row n (rows come in order).
func (t *cellTypes) row(n int) (map[int]bool, error) {
	for !t.done && t.pendNum < n {
		if err := t.readRow(); err != nil {
			return nil, err
		}
	}
	if t.pendNum == n {
		return t.pending, nil
	}
	return nil, nil
}

// readRow reads the next <row> element into pending.
func (t *cellTypes) readRow() error {
	for {
		tok, err := t.d.RawToken()
		if err == io.EOF {
			t.done = true
			return nil
		}
		if err != nil {
			return err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "row" {
			continue
		}
		num := t.lastRow + 1
		for _, a := range se.Attr {
			if a.Name.Local == "r" {
				if v, err := strconv.Atoi(a.Value); err == nil && v > 0 {
					num = v
				}
			}
		}
		t.lastRow, t.pendNum, t.pending = num, num, map[int]bool{}
		return t.readCells()
	}
}

// readCells reads the cells of the current row up to </row>.
func (t *cellTypes) readCells() error {
	col, typ, hasV, inCell := 0, "", false, false
	for {
		tok, err := t.d.RawToken()
		if err != nil {
			return err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "c":
				col++
				typ, hasV, inCell = "", false, true
				for _, a := range e.Attr {
					switch a.Name.Local {
					case "r":
						if c, _, err := excelize.CellNameToCoordinates(a.Value); err == nil {
							col = c
						}
					case "t":
						typ = a.Value
					}
				}
			case "v":
				hasV = inCell
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "c":
				if hasV && (typ == "" || typ == "n") {
					t.pending[col] = true
				}
				inCell = false
			case "row":
				return nil
			}
		}
	}
}
