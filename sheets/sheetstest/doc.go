// Package sheetstest makes, for tests, the spreadsheet files county
// clerks upload: rosters the way Excel, WPS and LibreOffice save them
// (ID numbers in number cells, title rows, spaced headers, GB18030 CSV…),
// and hostile files (zip bombs, a PDF renamed .xlsx, mixed encodings).
// It also runs LibreOffice headless to convert and print files, failing
// the test with the Debian package to install when it is missing.
//
// Every generator is deterministic: the same arguments give the same bytes
// (up to the zip timestamps excelize writes).
package sheetstest
