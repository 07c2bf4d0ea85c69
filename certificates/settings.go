package certificates

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// Settings are the certificate page's parts the admin sets at first run:
// the issuing body printed on every certificate and the seal drawn over it
// (a PNG kept as a blob). Until set, the issuer is ISSUER from the
// configuration and the seal DATA_DIR/seal.png, if there is one.
type Settings struct {
	ID        string    `bson:"_id" json:"-"`
	Issuer    string    `bson:"issuer,omitempty" json:"issuer"`
	SealBlob  string    `bson:"seal_blob,omitempty" json:"-"`
	UpdatedBy string    `bson:"updated_by,omitempty" json:"updated_by,omitempty"`
	UpdatedAt time.Time `bson:"updated_at,omitempty" json:"updated_at,omitempty"`
}

const settingsID = "settings"

// maxSeal bounds an uploaded seal image.
const maxSeal = 2 << 20

// settingsOf reads the settings (zero settings when never set).
func (s *Service) settingsOf(ctx context.Context) (Settings, error) {
	var st Settings
	err := s.settings.Get(ctx, settingsID, &st)
	if err != nil && !store.IsNotFound(err) {
		return st, err
	}
	return st, nil
}

// renderOptions is what a certificate page shows beyond the certificate.
type renderOptions struct {
	Issuer    string
	VerifyURL string
	PublicURL string
	SealBlob  string // the uploaded seal, loaded by loadSeal
	Seal      []byte
	sealFile  bool
}

// digest names everything the page shows beyond the certificate, so a
// cached rendering is redrawn when one of them changes.
func (o renderOptions) digest() string {
	seal := o.SealBlob
	if seal == "" && o.sealFile {
		h := sha256.Sum256(o.Seal)
		seal = "file:" + hex.EncodeToString(h[:8])
	}
	h := sha256.Sum256([]byte(o.PublicURL + "\x00" + o.Issuer + "\x00" + seal))
	return hex.EncodeToString(h[:8])
}

func (s *Service) renderOptions(ctx context.Context, c *Certificate) (renderOptions, error) {
	st, err := s.settingsOf(ctx)
	if err != nil {
		return renderOptions{}, err
	}
	o := renderOptions{Issuer: s.issuer(st), VerifyURL: s.VerifyURL(c.Code), PublicURL: s.d.Config.PublicURL, SealBlob: st.SealBlob}
	if o.SealBlob == "" && len(s.seal) > 0 {
		o.Seal, o.sealFile = s.seal, true
	}
	return o, nil
}

func (s *Service) issuer(st Settings) string {
	if st.Issuer != "" {
		return st.Issuer
	}
	return s.d.Config.Issuer
}

// loadSeal reads the uploaded seal's bytes before drawing.
func (o *renderOptions) loadSeal(ctx context.Context, s *Service) error {
	if o.SealBlob == "" {
		return nil
	}
	b, err := s.st.Blobs.Open(ctx, o.SealBlob)
	if errors.Is(err, store.ErrNoBlob) {
		return nil // drawn without it
	}
	if err != nil {
		return err
	}
	defer b.Close()
	o.Seal, err = io.ReadAll(io.LimitReader(b, maxSeal))
	return err
}

// SettingsView is the body of GET /certificates/settings.
type SettingsView struct {
	Issuer            string `json:"issuer"`
	IssuerSet         bool   `json:"issuer_set"`
	Seal              bool   `json:"seal"`
	PublicURL         string `json:"public_url"`
	PublicURLLoopback bool   `json:"public_url_loopback"`
}

func (s *Service) settingsView(ctx context.Context) (*SettingsView, error) {
	st, err := s.settingsOf(ctx)
	if err != nil {
		return nil, err
	}
	return &SettingsView{Issuer: s.issuer(st), IssuerSet: st.Issuer != "", Seal: st.SealBlob != "" || len(s.seal) > 0,
		PublicURL: s.d.Config.PublicURL, PublicURLLoopback: loopback(s.d.Config.PublicURL)}, nil
}

func (s *Service) getSettings(c *fiber.Ctx) error {
	v, err := s.settingsView(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// putSettings sets the issuer text (admin).
func (s *Service) putSettings(c *fiber.Ctx) error {
	var in struct {
		Issuer *string `json:"issuer"`
	}
	if err := server.Bind(c, &in); err != nil {
		return err
	}
	if in.Issuer == nil {
		return server.Invalid("请填写颁发单位", "issuer", "必填")
	}
	issuer := strings.TrimSpace(*in.Issuer)
	if n := utf8.RuneCountInString(issuer); n == 0 || n > 40 {
		return server.Invalid("颁发单位应为 1 到 40 个字", "issuer", "1 到 40 个字")
	}
	ctx, p := c.UserContext(), server.Who(c)
	if _, err := s.settings.UpdateOne(ctx, bson.M{"_id": settingsID}, bson.M{"$set": bson.M{"issuer": issuer, "updated_by": p.UserID, "updated_at": s.now().UTC()}},
		options.UpdateOne().SetUpsert(true)); err != nil {
		return err
	}
	s.d.Audit.Note(ctx, p, "certificates.issuer", "certificate_settings", map[string]any{"issuer": issuer})
	return s.getSettings(c)
}

// putSeal stores an uploaded PNG as the seal (admin).
func (s *Service) putSeal(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), server.Who(c)
	var info *store.BlobInfo
	_, err := server.StreamUpload(c, "file", func(u server.Upload) error {
		br := bufio.NewReader(u.Body)
		head, _ := br.Peek(8)
		if !bytes.Equal(head, []byte("\x89PNG\r\n\x1a\n")) {
			return server.Invalid("印章图片应为 PNG 格式（建议透明底）", "file", "应为 PNG")
		}
		b, err := s.st.Blobs.Put(ctx, br, maxSeal)
		if err != nil {
			if errors.Is(err, store.ErrTooLarge) || errors.Is(err, store.ErrEmpty) {
				return server.BlobError(err, maxSeal)
			}
			return err
		}
		info = &b
		return nil
	})
	if err != nil && info == nil {
		return err
	}
	if info == nil {
		return server.Invalid("请选择印章图片", "file", "必填")
	}
	if _, err := s.settings.UpdateOne(ctx, bson.M{"_id": settingsID}, bson.M{"$set": bson.M{"seal_blob": info.ID, "updated_by": p.UserID, "updated_at": s.now().UTC()}},
		options.UpdateOne().SetUpsert(true)); err != nil {
		return err
	}
	s.d.Audit.Note(ctx, p, "certificates.seal", "certificate_settings", map[string]any{"blob": info.ID, "size": info.Size})
	return s.getSettings(c)
}

// deleteSeal removes the uploaded seal (admin): certificates are drawn without it.
func (s *Service) deleteSeal(c *fiber.Ctx) error {
	ctx, p := c.UserContext(), server.Who(c)
	if _, err := s.settings.UpdateOne(ctx, bson.M{"_id": settingsID}, bson.M{"$unset": bson.M{"seal_blob": ""}}); err != nil {
		return err
	}
	s.d.Audit.Note(ctx, p, "certificates.seal", "certificate_settings", map[string]any{"removed": true})
	return s.getSettings(c)
}

// getSeal serves the seal image (admin), for the settings page.
func (s *Service) getSeal(c *fiber.Ctx) error {
	st, err := s.settingsOf(c.UserContext())
	if err != nil {
		return err
	}
	if st.SealBlob == "" {
		if len(s.seal) > 0 {
			c.Set(fiber.HeaderContentType, "image/png")
			return c.Send(s.seal)
		}
		return server.NotFound("尚未上传印章")
	}
	b, err := s.st.Blobs.Open(c.UserContext(), st.SealBlob)
	if err != nil {
		return server.BlobError(err, maxSeal)
	}
	return server.SendBlob(c, b, st.SealBlob, "image/png", "seal.png", true)
}
