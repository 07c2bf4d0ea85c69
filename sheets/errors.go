package sheets

import "fmt"

// FileError refuses a whole file. Msg is Chinese and meant for the clerk
// who uploaded it (callers typically turn it into a 400 answer).
type FileError struct {
	Msg string
}

func (e *FileError) Error() string { return e.Msg }

func refuse(format string, args ...any) *FileError {
	return &FileError{Msg: fmt.Sprintf(format, args...)}
}

// CellError says what is wrong with one cell, in the clerk's terms:
// Error() reads "第 5 行 身份证号：…" (with the sheet name in front when
// the file has several data sheets).
type CellError struct {
	Sheet   string // set only when the file has more than one data sheet
	Row     int    // the row number as Excel shows it
	Column  string // the column as the file's header names it
	Problem string // what is wrong and how to fix it
}

func (e *CellError) Error() string {
	where := fmt.Sprintf("第 %d 行", e.Row)
	if e.Sheet != "" {
		where = fmt.Sprintf("工作表“%s”第 %d 行", e.Sheet, e.Row)
	}
	return where + " " + e.Reason()
}

// Reason is the message without the row, for reports that show the row
// number in a column of their own ("身份证号：…").
func (e *CellError) Reason() string {
	if e.Column == "" {
		return e.Problem
	}
	return e.Column + "：" + e.Problem
}
