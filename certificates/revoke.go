package certificates

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// maxPDF bounds a rendered certificate in the blob store.
const maxPDF = 32 << 20

// PDF returns the certificate's PDF, drawing and caching it on first
// request. The cache is keyed by the status it was drawn for, so a revoked
// certificate never serves its old page.
func (s *Service) PDF(ctx context.Context, c *Certificate) (store.Blob, string, error) {
	ref := c.PDF
	if !s.docs.on {
		var e pdfEntry
		err := s.pdfs.FindOne(ctx, bson.M{"_id": pdfKey(c.ID, c.Status)}, &e)
		if err != nil && !store.IsNotFound(err) {
			return nil, "", err
		}
		if err == nil {
			ref = &pdfRef{Status: e.Status, Blob: e.Blob, Size: e.Size}
		}
	}
	if ref != nil && ref.Status == c.Status {
		b, err := s.st.Blobs.Open(ctx, ref.Blob)
		if err == nil {
			return b, ref.Blob, nil
		}
		if !errors.Is(err, store.ErrNoBlob) {
			return nil, "", err
		}
	}
	if s.font == nil {
		return nil, "", fmt.Errorf("certificate font: %w", s.fontErr)
	}
	raw, _, err := render(s.font, c, s.renderOptions(c))
	if err != nil {
		return nil, "", fmt.Errorf("render certificate %s: %w", c.ID, err)
	}
	info, err := s.st.Blobs.Put(ctx, bytes.NewReader(raw), maxPDF)
	if err != nil {
		return nil, "", err
	}
	ref = &pdfRef{Status: c.Status, Blob: info.ID, Size: info.Size}
	e := pdfEntry{ID: pdfKey(c.ID, c.Status), CertID: c.ID, Status: c.Status, Blob: info.ID, Size: info.Size, At: s.now().UTC()}
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		// An insert is much cheaper than an update on the embedded engine;
		// an entry already there (drawn meanwhile, or its blob lost) is replaced.
		err := s.pdfs.InsertOne(ctx, e)
		if store.IsDup(err) {
			_, err = s.pdfs.ReplaceOne(ctx, bson.M{"_id": e.ID}, e)
		}
		if err != nil {
			return err
		}
		s.docs.attach(c.ID, ref)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	c.PDF = ref
	b, err := s.st.Blobs.Open(ctx, info.ID)
	return b, info.ID, err
}

func (s *Service) renderOptions(c *Certificate) renderOptions {
	return renderOptions{Issuer: s.d.Config.Issuer, VerifyURL: s.VerifyURL(c.Code), Seal: s.seal}
}

// VerifyURL is the public page a certificate's QR code points to.
func (s *Service) VerifyURL(code string) string { return s.d.Config.PublicURL + "/verify/" + code }

// Revoke marks a certificate revoked with a reason, drops its cached PDF
// and records who, when and why in the audit log. It is never deleted.
// Revoking a revoked certificate is a conflict.
func (s *Service) Revoke(ctx context.Context, p *server.Principal, id, reason string) (*Certificate, error) {
	reason, ok := cleanReason(reason)
	if !ok {
		return nil, server.Invalid("请填写撤销原因（200 字以内）", "reason", "必填，200 字以内")
	}
	var out *Certificate
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		c, err := s.cert(ctx, id)
		if err != nil {
			return err
		}
		if c.Status == StatusRevoked {
			return server.Conflict("该证书已于此前撤销")
		}
		now := s.now().UTC()
		res, err := s.certs.UpdateOne(ctx, bson.M{"_id": id, "status": StatusValid}, bson.M{
			"$set": bson.M{"status": StatusRevoked, "revoked_reason": reason, "revoked_at": now, "revoked_by": p.UserID},
		})
		if err != nil {
			return err
		}
		if res.MatchedCount == 0 {
			return server.Conflict("该证书已于此前撤销")
		}
		if err := s.d.Audit.Record(ctx, p, "certificates.revoke", id, map[string]any{"serial": c.Serial, "reason": reason}); err != nil {
			// No revocation without its audit entry: put the certificate back.
			_, uerr := s.certs.UpdateOne(ctx, bson.M{"_id": id}, bson.M{
				"$set":   bson.M{"status": StatusValid},
				"$unset": bson.M{"revoked_reason": "", "revoked_at": "", "revoked_by": ""},
			})
			return errors.Join(err, uerr)
		}
		c.Status, c.RevokedReason, c.RevokedAt, c.RevokedBy, c.PDF = StatusRevoked, reason, &now, p.UserID, nil
		s.docs.put(*c, true)
		out = c
		// Drop the valid page from the cache; keyed by status, it could not be served anyway.
		if _, err := s.pdfs.DeleteOne(ctx, bson.M{"_id": pdfKey(id, StatusValid)}); err != nil {
			s.d.Log.Error("drop cached certificate PDF", "certificate_id", id, "err", err.Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.bump(ctx, map[string]int64{out.TownshipID: -1}, ""); err != nil {
		s.d.Log.Error("certificate counters", "certificate_id", id, "err", err.Error())
	}
	if s.OnRevoked != nil {
		others, err := s.certs.Count(ctx, bson.M{"trainee_id": out.TraineeID, "status": StatusValid})
		if err != nil {
			s.d.Log.Error("counting the trainee's other certificates", "certificate_id", id, "err", err.Error())
		} else {
			s.OnRevoked(ctx, *out, others)
		}
	}
	return out, nil
}
