package certificates

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
)

// maxPDF bounds a rendered certificate in the blob store.
const maxPDF = 32 << 20

// PDF returns the certificate's PDF, drawing and caching it on first
// request. The cached rendering is found by _id: certificate, status and a
// digest of the page's settings (public URL, issuer, seal), so a revoked
// certificate never serves its old page and a change of address redraws it.
func (s *Service) PDF(ctx context.Context, c *Certificate) (store.Blob, string, error) {
	o, err := s.renderOptions(ctx, c)
	if err != nil {
		return nil, "", err
	}
	key := pdfKey(c.ID, c.Status, o.digest())
	var e pdfEntry
	err = s.pdfs.Get(ctx, key, &e)
	if err != nil && !store.IsNotFound(err) {
		return nil, "", err
	}
	if err == nil {
		b, err := s.st.Blobs.Open(ctx, e.Blob)
		if err == nil {
			return b, e.Blob, nil
		}
		if !errors.Is(err, store.ErrNoBlob) {
			return nil, "", err
		}
	}
	if s.font == nil {
		return nil, "", fmt.Errorf("certificate font: %w", s.fontErr)
	}
	if err := o.loadSeal(ctx, s); err != nil {
		return nil, "", err
	}
	raw, _, err := render(s.font, c, o)
	if err != nil {
		return nil, "", fmt.Errorf("render certificate %s: %w", c.ID, err)
	}
	info, err := s.st.Blobs.Put(ctx, bytes.NewReader(raw), maxPDF)
	if err != nil {
		return nil, "", err
	}
	e = pdfEntry{ID: key, CertID: c.ID, Status: c.Status, Blob: info.ID, Size: info.Size, At: s.now().UTC()}
	// Drawn meanwhile elsewhere, or its blob lost: the entry is replaced.
	if _, err := s.pdfs.ReplaceOne(ctx, bson.M{"_id": key}, e, options.Replace().SetUpsert(true)); err != nil {
		return nil, "", err
	}
	b, err := s.st.Blobs.Open(ctx, info.ID)
	return b, info.ID, err
}

// VerifyURL is the public page a certificate's QR code points to.
func (s *Service) VerifyURL(code string) string { return s.d.Config.PublicURL + "/verify/" + code }

// Revoke marks a certificate revoked with a reason and records who, when
// and why in the audit log; it is never deleted. The certificate, the
// counters and the CertificateRevoked event (with the number of valid
// certificates the trainee still holds) are one unit of work. Revoking a
// revoked certificate is a conflict.
func (s *Service) Revoke(ctx context.Context, p *server.Principal, id, reason string) (*Certificate, error) {
	reason, ok := cleanReason(reason)
	if !ok {
		return nil, server.Invalid("请填写撤销原因（200 字以内）", "reason", "必填，200 字以内")
	}
	c, err := s.revokeAs(ctx, p.UserID, id, reason)
	if err != nil {
		return nil, err
	}
	s.d.Audit.Note(ctx, p, "certificates.revoke", id, map[string]any{"serial": c.Serial, "reason": reason})
	return c, nil
}

// revokeAs does the revocation's writes (by is the user id, or "system").
func (s *Service) revokeAs(ctx context.Context, by, id, reason string) (*Certificate, error) {
	c, err := s.cert(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Status == StatusRevoked {
		return nil, server.Conflict("该证书已于此前撤销")
	}
	now := s.now().UTC()
	err = s.st.Unit(ctx, "certificates.revoke", func(u *store.Unit) error {
		if err := u.Do(ctx, "certificate", func(ctx context.Context) error {
			ok, err := s.certs.UpdateIf(ctx, id, store.Cond{"status": StatusValid}, bson.M{
				"$set": bson.M{"status": StatusRevoked, "revoked_reason": reason, "revoked_at": now, "revoked_by": by}})
			if err == nil && !ok {
				err = server.Conflict("该证书已于此前撤销")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.certs.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"status": StatusValid},
				"$unset": bson.M{"revoked_reason": "", "revoked_at": "", "revoked_by": ""}})
			return err
		}); err != nil {
			return err
		}
		if err := u.Do(ctx, "counters", func(ctx context.Context) error { return s.bump(ctx, map[string]int64{c.TownshipID: -1}, "") },
			func(ctx context.Context) error { return s.bump(ctx, map[string]int64{c.TownshipID: 1}, "") }); err != nil {
			return err
		}
		others, err := s.validCount(ctx, c.TraineeID, id)
		if err != nil {
			return err
		}
		return s.st.Events().Publish(ctx, events.CertificateRevoked, store.Message{Key: id, Payload: payload(c, others)})
	})
	if err != nil {
		return nil, err
	}
	c.Status, c.RevokedReason, c.RevokedAt, c.RevokedBy = StatusRevoked, reason, &now, by
	return c, nil
}

// validCount is how many valid certificates the trainee holds besides except.
func (s *Service) validCount(ctx context.Context, traineeID, except string) (int64, error) {
	cs, err := s.traineeCerts(ctx, traineeID)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cs {
		if c.ID != except && c.Status == StatusValid {
			n++
		}
	}
	return n, nil
}
