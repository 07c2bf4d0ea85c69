package certificates

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"nongxun/server"
)

// TestSettingsSealAndLoopback: the admin sets the issuer and uploads the
// seal; the PDF is redrawn with them; a loopback PUBLIC_URL is flagged for
// the issuance page.
func TestSettingsSealAndLoopback(t *testing.T) {
	needBin(t, "pdftotext")
	f := newFixture(t)
	if f.svc.font == nil {
		t.Fatal("no certificate font (install Debian fonts-lxgw-wenkai: scripts/deps.sh)")
	}
	c, ss, trainer := f.course("网店开设", 1, 1)
	tr := f.plainTrainee("赵四", 0)
	f.enrol(c, ss, []int{0}, tr)
	id := f.issueAll(c.ID).Issued[0].ID
	pdfPath := "/api/v1/certificates/" + id + "/pdf"
	before := f.Do(f.Admin, "GET", pdfPath, nil).Want(t, 200)

	var v SettingsView
	f.Do(trainer, "GET", "/api/v1/certificates/settings", nil).Want(t, 200).Decode(t, &v)
	if v.PublicURLLoopback || v.IssuerSet || v.Issuer != f.Config.Issuer {
		t.Fatalf("settings %+v", v)
	}
	f.Do(trainer, "PUT", "/api/v1/certificates/settings", map[string]any{"issuer": "某某"}).Want(t, 403)
	f.Do(f.Admin, "PUT", "/api/v1/certificates/settings", map[string]any{"issuer": ""}).Want(t, 400)
	f.Do(f.Admin, "PUT", "/api/v1/certificates/settings", map[string]any{"issuer": "会泽县商务局"}).Want(t, 200).Decode(t, &v)
	if !v.IssuerSet || v.Issuer != "会泽县商务局" {
		t.Fatalf("issuer %+v", v)
	}
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < 64; i++ {
		img.Set(i, i, color.RGBA{200, 0, 0, 255})
	}
	var seal bytes.Buffer
	_ = png.Encode(&seal, img)
	f.Upload(f.Admin, "/api/v1/certificates/seal", "seal.jpg", []byte("GIF89a not a png at all"), nil).Want(t, 400)
	f.Upload(trainer, "/api/v1/certificates/seal", "seal.png", seal.Bytes(), nil).Want(t, 403)
	f.Upload(f.Admin, "/api/v1/certificates/seal", "seal.png", seal.Bytes(), nil).Want(t, 200).Decode(t, &v)
	if !v.Seal {
		t.Fatalf("seal %+v", v)
	}
	got := f.Do(f.Admin, "GET", "/api/v1/certificates/seal", nil).Want(t, 200)
	if !bytes.Equal(got.Body, seal.Bytes()) {
		t.Fatal("seal served differs")
	}
	after := f.Do(f.Admin, "GET", pdfPath, nil).Want(t, 200)
	if after.Header.Get("ETag") == before.Header.Get("ETag") {
		t.Fatal("the PDF was not redrawn with the new issuer and seal")
	}
	if text := pdftotext(t, after.Body); !bytes.Contains([]byte(text), []byte("会泽县商务局")) {
		t.Fatalf("issuer not printed: %s", text)
	}
	f.Do(f.Admin, "DELETE", "/api/v1/certificates/seal", nil).Want(t, 200)

	for url, want := range map[string]bool{"http://localhost:8080": true, "http://127.0.0.1": true, "http://[::1]:80": true, "": true,
		"https://nx.example.cn": false, "http://192.168.1.20:8080": false} {
		f.svc.d.Config.PublicURL = url
		f.Do(f.Admin, "GET", "/api/v1/certificates/settings", nil).Want(t, 200).Decode(t, &v)
		if v.PublicURLLoopback != want {
			t.Errorf("%q loopback %v, want %v", url, v.PublicURLLoopback, want)
		}
	}
	_ = server.RoleAdmin
}
