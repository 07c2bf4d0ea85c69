package sheets

import (
	"archive/zip"
	"bytes"
	"strings"
	"unicode/utf16"
)

// Kind is the kind of file a table was read from.
type Kind string

// The kinds Read knows.
const (
	KindXLSX Kind = "xlsx"
	KindCSV  Kind = "csv" // comma-, tab- or semicolon-separated text
)

// xlsRefusal is the answer to a legacy Excel 97-2003 file.
const xlsRefusal = "暂不能读取 .xls 文件，请在 Excel 或 WPS 中“另存为” .xlsx 后再上传"

// saveAsXLSX ends the refusals of files that are spreadsheets of another kind.
const saveAsXLSX = "请在 Excel 或 WPS 中“另存为” .xlsx（Excel 工作簿）后再上传"

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}
)

// otherKinds names files people upload by mistake, by their first bytes.
// Short magics (binary) count only when the start of the file also holds
// a NUL byte, which no text table does.
var otherKinds = []struct {
	magic  string
	name   string
	binary bool
}{
	{"%PDF", "PDF 文件", false},
	{"\x89PNG", "PNG 图片", false},
	{"\xff\xd8\xff", "JPG 图片", false},
	{"GIF8", "GIF 图片", false},
	{"BM", "BMP 图片", true},
	{"RIFF", "音频或图片", true},
	{"Rar!", "RAR 压缩包", false},
	{"7z\xbc\xaf", "7z 压缩包", false},
	{"\x1f\x8b", "gzip 压缩包", false},
	{"{\\rtf", "RTF 文档", false},
	{"<?xml", "XML 文件（可能是 Excel 2003 XML 表格）", false},
	{"<html", "网页文件", false},
	{"<!DOCTYPE", "网页文件", false},
	{"MZ", "程序文件", true},
}

// notSheet is the refusal of a file that is no table at all.
func notSheet(what string) *FileError {
	if what != "" {
		what = "（看起来是" + what + "）"
	}
	return refuse("这不是表格文件%s；请上传 Excel 或 WPS 保存的 .xlsx 文件，或 .csv 文件", what)
}

// sniff tells the kind of data by its content. It refuses files Read
// cannot take with a message saying what the file seems to be.
func sniff(data []byte) (Kind, error) {
	switch {
	case bytes.HasPrefix(data, zipMagic), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return KindXLSX, nil
	case bytes.HasPrefix(data, oleMagic):
		return "", oleRefusal(data)
	}
	head := data[:min(len(data), 512)]
	for _, k := range otherKinds {
		if k.binary && bytes.IndexByte(head, 0) < 0 {
			continue
		}
		if hasMagic(data, k.magic) {
			return "", notSheet(k.name)
		}
	}
	return KindCSV, nil
}

// oleRefusal says what an OLE2 compound file is: a password-protected
// workbook, a Word document, or (most often) an Excel 97-2003 .xls.
func oleRefusal(data []byte) *FileError {
	has := func(name string) bool {
		u := utf16.Encode([]rune(name))
		b := make([]byte, 0, 2*len(u))
		for _, c := range u {
			b = append(b, byte(c), byte(c>>8))
		}
		return bytes.Contains(data, b)
	}
	switch {
	case has("EncryptedPackage"):
		return refuse("文件设置了打开密码，无法读取；请在 Excel 或 WPS 中取消密码（文件→信息→保护工作簿）后再上传")
	case has("WordDocument"):
		return notSheet("Word 文档")
	case has("PowerPoint Document"):
		return notSheet("PowerPoint 文档")
	}
	return refuse("%s", xlsRefusal)
}

// zipRefusal says what a zip archive that is no XLSX workbook is ("" when
// it looks like one).
func zipRefusal(zr *zip.Reader) *FileError {
	has := func(name string) bool {
		for _, f := range zr.File {
			if strings.EqualFold(f.Name, name) {
				return true
			}
		}
		return false
	}
	switch {
	case has("xl/workbook.bin"):
		return refuse("这是 Excel 二进制工作簿（.xlsb），无法读取；%s", saveAsXLSX)
	case has("content.xml") && has("mimetype"):
		return refuse("这是 WPS 或 LibreOffice 的 .ods/.et 表格，无法读取；%s", saveAsXLSX)
	case has("word/document.xml"):
		return notSheet("Word 文档")
	case has("ppt/presentation.xml"):
		return notSheet("PowerPoint 文档")
	case !has("[Content_Types].xml"):
		return notSheet("压缩包")
	}
	return nil
}

// hasMagic compares the start of data with magic: bytes exactly, but
// ASCII letters of a text magic ("<html") in either case.
func hasMagic(data []byte, magic string) bool {
	if len(data) < len(magic) {
		return false
	}
	for i := 0; i < len(magic); i++ {
		a, b := data[i], magic[i]
		if a != b && (a|0x20 != b|0x20 || a|0x20 < 'a' || a|0x20 > 'z') {
			return false
		}
	}
	return true
}
