package courses

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
)

// sniffLen is how much of a file's start the type check reads.
const sniffLen = 512

// Content types of the files materials may be.
const (
	typePDF  = "application/pdf"
	typeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	typeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	typePPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	typeDOC  = "application/msword"
	typeXLS  = "application/vnd.ms-excel"
	typePPT  = "application/vnd.ms-powerpoint"
	typeJPEG = "image/jpeg"
	typePNG  = "image/png"
	typeGIF  = "image/gif"
	typeWEBP = "image/webp"
	typeMP3  = "audio/mpeg"
	typeMP4  = "video/mp4"
	typeM4A  = "audio/mp4"
)

var (
	ooxmlByExt = map[string]string{".docx": typeDOCX, ".xlsx": typeXLSX, ".pptx": typePPTX}
	oleByExt   = map[string]string{".doc": typeDOC, ".xls": typeXLS, ".ppt": typePPT}
	// ooxmlMarks are names one of which an Office Open XML file's first
	// ZIP entries carry.
	ooxmlMarks = [][]byte{[]byte("[Content_Types].xml"), []byte("_rels/"), []byte("docProps/"), []byte("word/"), []byte("xl/"), []byte("ppt/")}
)

// sniff names the content type of a file from its first bytes; the name
// only tells apart formats that share a container (the Office documents).
// ok is false for any type materials may not be.
func sniff(head []byte, name string) (contentType string, ok bool) {
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return typePDF, true
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		t, known := ooxmlByExt[ext]
		if !known {
			return "", false
		}
		for _, m := range ooxmlMarks {
			if bytes.Contains(head, m) {
				return t, true
			}
		}
		return "", false
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		t, known := oleByExt[ext]
		return t, known
	case bytes.HasPrefix(head, []byte("\xFF\xD8\xFF")):
		return typeJPEG, true
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1A\n")):
		return typePNG, true
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return typeGIF, true
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return typeWEBP, true
	case bytes.HasPrefix(head, []byte("ID3")) && len(head) >= 10:
		return typeMP3, true
	case mp3Frame(head):
		return typeMP3, true
	case len(head) >= 12 && bytes.Equal(head[4:8], []byte("ftyp")):
		if bytes.HasPrefix(head[8:], []byte("M4A ")) {
			return typeM4A, true
		}
		return typeMP4, true
	}
	// A last opinion from the standard sniffer, for what the checks above
	// spell differently; only the types allowed above pass.
	switch t := http.DetectContentType(head); t {
	case typePDF, typeJPEG, typePNG, typeGIF, typeWEBP, typeMP3, typeMP4:
		return t, true
	}
	return "", false
}

// mp3Frame reports whether head starts with an MPEG audio frame header
// (sync bits, a version, a layer, a bitrate and a sample rate that exist).
func mp3Frame(head []byte) bool {
	if len(head) < 4 || head[0] != 0xFF || head[1]&0xE0 != 0xE0 {
		return false
	}
	version := (head[1] >> 3) & 3 // 0: MPEG 2.5, 1: reserved, 2: MPEG 2, 3: MPEG 1
	layer := (head[1] >> 1) & 3   // 0: reserved
	bitrate := head[2] >> 4       // 0: free, 15: bad
	rate := (head[2] >> 2) & 3    // 3: reserved
	return version != 1 && layer != 0 && bitrate != 0 && bitrate != 15 && rate != 3
}

// inline reports whether a browser should show the type rather than save it.
func inline(contentType string) bool {
	return contentType == typePDF || strings.HasPrefix(contentType, "image/") ||
		strings.HasPrefix(contentType, "audio/") || strings.HasPrefix(contentType, "video/")
}
