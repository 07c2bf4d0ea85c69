package certificates

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"regexp"
	"strconv"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// fpdf parses the whole font for every document: some 29,000 glyphs, most
// of a render's time. So once per process a subset is made, with fpdf's own
// subsetter, of the characters nearly every certificate uses: GB 2312 (the
// 6,763 common hanzi), ASCII, Chinese punctuation and the page's own text.
// A certificate whose text stays within it is drawn with the subset; one
// with a rarer character (䶮, 堃, 喆, 玥 …) with the full font.

// commonFont is the subset and the runes it holds.
type commonFont struct {
	raw []byte
	has map[rune]bool
}

// pageText is every fixed string the page draws.
const pageText = "结业证书电子商务进农村综合示范项目 · 电子商务培训　　该学员于至参加“”培训，完成学时，出勤次，成绩合格，准予结业，特发此证。" +
	"证书编号：颁发日期：验证码：扫码验证真伪已撤销【已撤销】本证书于撤销，原因：…年月日"

func commonRunes(pf *pdfFont) []rune {
	seen := map[rune]bool{}
	var out []rune
	var b sfnt.Buffer
	add := func(r rune) {
		if r <= 0xFFFF && !seen[r] && pf.glyph(&b, r) != 0 {
			seen[r] = true
			out = append(out, r)
		}
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	for hi := 0xA1; hi <= 0xF7; hi++ { // GB 2312: symbols, then hanzi levels 1 and 2
		for lo := 0xA1; lo <= 0xFE; lo++ {
			if s, err := dec.Bytes([]byte{byte(hi), byte(lo)}); err == nil {
				for _, r := range string(s) {
					if r != 0xFFFD {
						add(r)
					}
				}
			}
		}
	}
	for r := rune(0x20); r < 0x7F; r++ {
		add(r)
	}
	for _, r := range pageText + "（）《》‘’「」『』—、；：！？" {
		add(r)
	}
	return out
}

var fontStreamRe = regexp.MustCompile(`/Length (\d+)\s*/Filter /FlateDecode\s*/Length1 \d+`)

// buildCommon makes the subset: it draws every common rune with the full
// font and takes the embedded font program back out of the PDF.
func buildCommon(pf *pdfFont) (*commonFont, error) {
	rs := commonRunes(pf)
	p := fpdf.New("L", "mm", "A4", "")
	p.AddUTF8FontFromBytes("wk", "", pf.raw)
	p.AddPage()
	p.SetFont("wk", "", 10)
	for i := 0; i < len(rs); i += 200 {
		p.Text(10, 10, string(rs[i:min(i+200, len(rs))]))
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, err
	}
	doc := out.Bytes()
	m := fontStreamRe.FindSubmatchIndex(doc)
	if m == nil {
		return nil, errors.New("subset: no embedded font in the PDF")
	}
	n, _ := strconv.Atoi(string(doc[m[2]:m[3]]))
	i := bytes.Index(doc[m[1]:], []byte("stream\n"))
	if i < 0 || m[1]+i+7+n > len(doc) {
		return nil, errors.New("subset: malformed font stream")
	}
	start := m[1] + i + len("stream\n")
	zr, err := zlib.NewReader(bytes.NewReader(doc[start : start+n]))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if _, err := sfnt.Parse(raw); err != nil {
		return nil, err
	}
	has := make(map[rune]bool, len(rs))
	for _, r := range rs {
		has[r] = true
	}
	return &commonFont{raw: raw, has: has}, nil
}
