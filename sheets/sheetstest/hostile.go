package sheetstest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

// ZipBomb makes a small XLSX (a few MB at most) whose first sheet's XML
// inflates to inflated bytes. With honest, the zip declares the true size
// (a reader can refuse it up front); otherwise it declares 1 MiB and the
// data runs past it (a reader must stop when the zip check trips).
func ZipBomb(tb testing.TB, inflated int64, honest bool) []byte {
	tb.Helper()
	base := RosterXLSX(tb, Trainees(2), XLSXOptions{})
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		tb.Fatal(err)
	}
	// One chunk of sheet-like XML compressed on its own: flushed, not
	// closed, so copies of it chain into one valid deflate stream.
	chunk := []byte(strings.Repeat(`<row><c t="inlineStr"><is><t>炸弹</t></is></c></row>`, 1<<20/64))
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(chunk)
	fw.Flush()
	var tail bytes.Buffer
	fw2, _ := flate.NewWriter(&tail, flate.BestCompression)
	fw2.Close() // an empty final block ends the stream
	copies := inflated / int64(len(chunk))
	crc := uint32(0)
	for i := int64(0); i < copies; i++ {
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			size := uint64(copies) * uint64(len(chunk))
			if !honest {
				size = 1 << 20
			}
			w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: crc,
				CompressedSize64: uint64(copies)*uint64(comp.Len()) + uint64(tail.Len()), UncompressedSize64: size})
			if err != nil {
				tb.Fatal(err)
			}
			for i := int64(0); i < copies; i++ {
				w.Write(comp.Bytes())
			}
			w.Write(tail.Bytes())
			continue
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			tb.Fatal(err)
		}
		rc, _ := f.Open()
		io.Copy(w, rc)
		rc.Close()
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// FakePDF is a (tiny, valid-looking) PDF, to be uploaded renamed .xlsx.
func FakePDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
}

// PNG is the first bytes of a PNG image.
func PNG() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
}

// RandomBytes is n bytes of deterministic noise.
func RandomBytes(n int) []byte {
	out := make([]byte, n)
	x := uint32(2463534242)
	for i := range out {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		out[i] = byte(x)
	}
	return out
}

// BigCSV is a valid roster CSV of at least n bytes (repeated trainees).
func BigCSV(tb testing.TB, n int) []byte {
	tb.Helper()
	one := RosterCSV(tb, Trainees(1000), CSVOptions{})
	_, body, _ := bytes.Cut(one, []byte("\n"))
	out := bytes.NewBuffer(make([]byte, 0, n+len(one)))
	out.Write(one)
	for out.Len() < n {
		out.Write(body)
	}
	return out.Bytes()
}
