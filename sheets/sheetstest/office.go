package sheetstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Soffice returns the path of LibreOffice's soffice. It fails the test
// (never skips: CI installs it) when LibreOffice is missing, naming the
// Debian package.
func Soffice(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("soffice")
	if err != nil {
		tb.Fatal("soffice not found: install the Debian package libreoffice-calc-nogui (scripts/deps.sh all does)")
	}
	return p
}

// Convert converts data, a file with extension ext ("xlsx", "csv"), with
// LibreOffice headless to format to ("pdf", "xls", "xlsx", "csv"…, a
// filter may follow after a colon), and returns the result. infilter,
// when set, is LibreOffice's --infilter (e.g. CSV import options).
func Convert(tb testing.TB, data []byte, ext, to, infilter string) []byte {
	tb.Helper()
	bin := Soffice(tb)
	dir := tb.TempDir()
	in := filepath.Join(dir, "in."+ext)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	args := []string{"-env:UserInstallation=file://" + filepath.Join(dir, "profile"), "--headless", "--norestore"}
	if infilter != "" {
		args = append(args, "--infilter="+infilter)
	}
	args = append(args, "--convert-to", to, "--outdir", filepath.Join(dir, "out"), in)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("soffice %v: %v\n%s", args, err, out)
	}
	outExt, _, _ := strings.Cut(to, ":")
	res, err := os.ReadFile(filepath.Join(dir, "out", "in."+outExt))
	if err != nil {
		tb.Fatalf("soffice made no %s file: %v\n%s", outExt, err, out)
	}
	return res
}

// XLS converts a workbook to Excel 97-2003 .xls with LibreOffice.
func XLS(tb testing.TB, xlsx []byte) []byte {
	tb.Helper()
	return Convert(tb, xlsx, "xlsx", "xls", "")
}

var pagesLine = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)

// PDFPages counts the pages of a PDF with pdfinfo. It fails the test when
// pdfinfo is missing, naming the Debian package poppler-utils.
func PDFPages(tb testing.TB, pdf []byte) int {
	tb.Helper()
	bin, err := exec.LookPath("pdfinfo")
	if err != nil {
		tb.Fatal("pdfinfo not found: install the Debian package poppler-utils (scripts/deps.sh all does)")
	}
	p := filepath.Join(tb.TempDir(), "in.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(bin, p).CombinedOutput()
	if err != nil {
		tb.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	m := pagesLine.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("pdfinfo gave no page count:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// PDFText extracts the text of a PDF with pdftotext (poppler-utils).
func PDFText(tb testing.TB, pdf []byte) string {
	tb.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		tb.Fatal("pdftotext not found: install the Debian package poppler-utils (scripts/deps.sh all does)")
	}
	p := filepath.Join(tb.TempDir(), "in.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", p, "-").Output()
	if err != nil {
		tb.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
