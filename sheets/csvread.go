package sheets

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

var utf8BOM = []byte("\xef\xbb\xbf")

// csv reads comma-, tab- or semicolon-separated text as one sheet.
func (b *builder) csv(data []byte) (*Table, error) {
	text, enc, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	b.t.Encoding = enc
	// Excel reads a first line "sep=;" as the separator and shows no row
	// for it; cutting it keeps line numbers equal to Excel's rows.
	if first, rest, _ := strings.Cut(text, "\n"); len(first) >= 5 && strings.HasPrefix(strings.ToLower(first), "sep=") {
		if d := []rune(strings.TrimRight(first[4:], "\r")); len(d) == 1 {
			b.t.Delimiter = d[0]
			text = rest
		}
	}
	if b.t.Delimiter == 0 {
		b.t.Delimiter = delimiter(text)
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = b.t.Delimiter
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	extra := 0 // line breaks inside quoted cells so far: Excel shows such a record as one row
	src := sheetSource{next: func() (rawRow, bool, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return rawRow{}, false, refuse("CSV 文件第 %d 行格式有误（引号不成对），无法读取；请在 Excel 或 WPS 中打开后另存为 .xlsx 再上传", pe.StartLine-extra)
			}
			return rawRow{}, false, nil // io.EOF
		}
		line, _ := cr.FieldPos(0)
		row := rawRow{num: line - extra, cells: make([]rawCell, len(rec))}
		for i, v := range rec {
			row.cells[i] = rawCell{text: v}
			extra += strings.Count(v, "\n")
		}
		return row, true, nil
	}}
	if err := b.sheet(src); err != nil {
		return nil, err
	}
	return b.finish()
}

// decodeText turns CSV bytes into UTF-8: UTF-8 with or without BOM,
// UTF-16 with BOM (Excel's "Unicode 文本"), or else GB18030 (Excel's
// default CSV on Chinese Windows). A file mixing UTF-8 and GBK lines, or
// holding bytes neither encoding allows, is refused.
func decodeText(data []byte) (text, enc string, err error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}), bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		out, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil || !utf8.Valid(out) {
			return "", "", refuse("文件的文字编码有误，无法读取；请在 Excel 或 WPS 中另存为 .xlsx 后再上传")
		}
		return string(out), "UTF-16", nil
	}
	bom := bytes.HasPrefix(data, utf8BOM)
	data = bytes.TrimPrefix(data, utf8BOM)
	if bytes.IndexByte(data, 0) >= 0 || binaryish(data) {
		return "", "", notSheet("")
	}
	if utf8.Valid(data) {
		return string(data), "UTF-8", nil
	}
	u, g := mixedLines(data)
	if bom {
		return "", "", refuse("文件开头标明是 UTF-8 编码，但第 %d 行的文字不是 UTF-8（可能是 GBK），无法可靠读取；请在 Excel 或 WPS 中打开后重新“另存为” .xlsx 再上传", g)
	}
	if u > 0 && g > 0 {
		return "", "", refuse("文件中混有 UTF-8 和 GBK 两种编码的文字（例如第 %d 行是 UTF-8，第 %d 行是 GBK），无法可靠读取；请在 Excel 或 WPS 中打开后重新“另存为” .xlsx 再上传", u, g)
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return "", "", refuse("文件的文字编码无法识别（既不是 UTF-8，也不是 GBK/GB18030），无法读取；请在 Excel 或 WPS 中另存为 .xlsx 后再上传")
	}
	return string(out), "GB18030", nil
}

// mixedLines finds the first line that is UTF-8 with Chinese in it and the
// first line that is not UTF-8 (1-based, 0 when there is none).
func mixedLines(data []byte) (utf8Line, otherLine int) {
	for n, line := range bytes.Split(data, []byte("\n")) {
		ascii := true
		for _, c := range line {
			if c >= 0x80 {
				ascii = false
				break
			}
		}
		switch {
		case ascii:
		case !utf8.Valid(line):
			if otherLine == 0 {
				otherLine = n + 1
			}
		case hasHan(line):
			if utf8Line == 0 {
				utf8Line = n + 1
			}
		}
		if utf8Line > 0 && otherLine > 0 {
			break
		}
	}
	return utf8Line, otherLine
}

func hasHan(line []byte) bool {
	for _, r := range string(line) {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// binaryish reports control characters no text table holds.
func binaryish(data []byte) bool {
	n := 0
	head := data[:min(len(data), 1<<16)]
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1a {
			n++
		}
	}
	return n > len(head)/100+2
}

// delimiter picks the separator of the first lines: the one of comma, tab
// and semicolon found most often outside quotes (comma on a tie).
func delimiter(text string) rune {
	counts := map[rune]int{}
	lines, quoted := 0, false
	for _, r := range text {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '\n':
			lines++
		case r == ',' || r == '\t' || r == ';':
			counts[r]++
		}
		if lines >= 30 {
			break
		}
	}
	best := ','
	for _, d := range []rune{'\t', ';'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}
