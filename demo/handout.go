package demo

import (
	"bytes"
	"fmt"
	"unicode/utf16"
)

// handout makes a one-page A4 PDF: a title and lines of Chinese text in
// the reader's built-in Song face (STSong-Light, Adobe-GB1, not embedded,
// as every PDF reader carries it), so a course has a real handout to open
// without the loader shipping a font.
func handout(title string, lines []string) []byte {
	var content bytes.Buffer
	text := func(size, x, y int, s string) {
		var hex bytes.Buffer
		for _, u := range utf16.Encode([]rune(s)) {
			fmt.Fprintf(&hex, "%04X", u)
		}
		fmt.Fprintf(&content, "BT /F1 %d Tf %d %d Td <%s> Tj ET\n", size, x, y, hex.String())
	}
	text(20, 60, 770, title)
	y := 730
	for _, l := range lines {
		text(12, 60, y, l)
		y -= 22
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R >>",
		"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
