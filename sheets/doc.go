// Package sheets reads and writes the spreadsheets county clerks exchange
// with nongxun: rosters, region lists and paper sign-in sheets coming in,
// registers, ledgers and reports going out.
//
// Reading: [Read] takes an upload (XLSX, CSV in UTF-8 or GB18030,
// tab-separated text; the kind is told from the content, not the name),
// finds the header row of every sheet with a caller's [Schema] (title and
// 填报单位 rows above it are skipped), and returns the data rows with their
// row numbers as Excel shows them. Cells keep whether they came from a
// number cell, so that [IDNumberCell] can refuse ID numbers Excel has
// already rounded. Every message is Chinese and names the row and the
// column as the clerk sees them.
//
// Writing: [CSVWriter] writes CSV that Excel on Chinese Windows opens
// correctly (UTF-8 with BOM, CRLF, formulas neutralised, digit strings kept
// as text); [Book] writes streamed XLSX workbooks with one house style
// (title row, frozen header, print setup for A4 landscape).
package sheets
