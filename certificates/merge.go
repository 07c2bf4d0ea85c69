package certificates

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/events"
	"nongxun/store"
)

// mergeReason is the revocation reason of a duplicate found by a merge.
const mergeReason = "重复登记合并"

// move is one certificate re-keyed by a merge, written before anything is
// changed, so a crash half-way is finished by the retried event: the
// documents to remove and the final documents to put.
type move struct {
	ID      string        `bson:"_id"` // dropped trainee id + "/" + course id
	Dropped string        `bson:"dropped"`
	Kept    string        `bson:"kept"`
	Remove  []string      `bson:"remove"`
	Put     []Certificate `bson:"put"`
	Revoked string        `bson:"revoked,omitempty"` // the certificate the merge revoked
	Counted bool          `bson:"counted"`
	At      time.Time     `bson:"at"`
}

// OnTraineesMerged handles events.TraineesMerged: the certificates of the
// dropped trainee move to the kept one. A certificate's _id is natural
// (course and trainee), so moving re-keys it. When the kept trainee already
// holds the course's certificate, the valid one (of two valid, the earlier
// serial) stays valid under the kept trainee's key and the other is revoked
// with the reason "重复登记合并". Idempotent: a retried event finds the
// moves already made, and finishes one a crash interrupted.
func (s *Service) OnTraineesMerged(ctx context.Context, e store.Event) error {
	var m events.Merged
	if err := e.Decode(&m); err != nil {
		return fmt.Errorf("trainee merge payload: %w", err)
	}
	if m.Kept == "" || m.Dropped == "" || m.Kept == m.Dropped {
		return nil
	}
	var pending []move
	if err := s.moves.Find(ctx, bson.M{"dropped": m.Dropped}, &pending); err != nil {
		return err
	}
	for i := range pending {
		if err := s.applyMove(ctx, &pending[i]); err != nil {
			return err
		}
	}
	mine, err := s.traineeCerts(ctx, m.Dropped)
	if err != nil {
		return err
	}
	for _, c := range mine {
		mv, err := s.planMove(ctx, &c, m.Kept)
		if err != nil {
			return err
		}
		if _, err := s.moves.InsertIfAbsent(ctx, mv); err != nil {
			return err
		}
		if err := s.moves.Get(ctx, mv.ID, mv); err != nil { // the one stored wins
			return err
		}
		if err := s.applyMove(ctx, mv); err != nil {
			return err
		}
	}
	if len(mine) > 0 {
		s.d.Audit.Note(ctx, nil, "certificates.merge", m.Kept, map[string]any{"dropped": m.Dropped, "certificates": len(mine), "by": m.By})
	}
	return nil
}

// planMove decides where certificate c of the dropped trainee goes.
func (s *Service) planMove(ctx context.Context, c *Certificate, kept string) (*move, error) {
	now := s.now().UTC()
	mv := &move{ID: c.TraineeID + "/" + c.CourseID, Dropped: c.TraineeID, Kept: kept, At: now}
	target := certID(c.CourseID, kept)
	moved := *c
	moved.ID, moved.TraineeID, moved.MergedFrom = target, kept, c.TraineeID
	var k Certificate
	err := s.certs.Get(ctx, target, &k)
	if store.IsNotFound(err) {
		mv.Remove, mv.Put = []string{c.ID}, []Certificate{moved}
		return mv, nil
	}
	if err != nil {
		return nil, err
	}
	revoke := func(x Certificate, id string) Certificate {
		x.ID, x.TraineeID, x.MergedFrom = id, kept, c.TraineeID
		if x.Status == StatusValid {
			x.Status, x.RevokedReason, x.RevokedAt, x.RevokedBy = StatusRevoked, mergeReason, &now, "system"
			mv.Revoked = id
		}
		return x
	}
	if keepsKept(&k, c) {
		// The kept trainee's certificate stays; the dropped one's is revoked where it is.
		mv.Remove, mv.Put = []string{c.ID}, []Certificate{revoke(*c, c.ID)}
		return mv, nil
	}
	// The dropped trainee's certificate takes the kept key; the other is revoked under the dropped key.
	mv.Remove, mv.Put = []string{c.ID, target}, []Certificate{moved, revoke(k, c.ID)}
	return mv, nil
}

// keepsKept reports whether k (the kept trainee's) rather than c stays valid:
// a valid one over a revoked one, else the earlier serial.
func keepsKept(k, c *Certificate) bool {
	if (k.Status == StatusValid) != (c.Status == StatusValid) {
		return k.Status == StatusValid
	}
	if k.Year != c.Year {
		return k.Year < c.Year
	}
	return k.Seq <= c.Seq
}

// applyMove makes a move's documents what it says; every step may run again.
func (s *Service) applyMove(ctx context.Context, mv *move) error {
	for _, id := range mv.Remove {
		if _, err := s.certs.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(mv.Put))
	for _, c := range mv.Put {
		if err := s.certs.InsertOne(ctx, c); err != nil && !store.IsDup(err) {
			return err
		}
		if _, err := s.codes.ReplaceOne(ctx, bson.M{"_id": c.Code}, codeDoc{Code: c.Code, Cert: c.ID}, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
		ids = append(ids, c.ID)
	}
	if len(mv.Put) > 0 {
		if _, err := s.addCoursePage(ctx, mv.Put[0].CourseID, mv.Put); err != nil {
			return err
		}
		if err := s.addToTrainees(ctx, mv.Put); err != nil {
			return err
		}
	}
	// Renderings of the re-keyed ids show the old certificate: drop them
	// (a small read of the rendering cache, on a rare background event).
	if _, err := s.pdfs.DeleteMany(ctx, bson.M{"cert_id": bson.M{"$in": append(ids, mv.Remove...)}}); err != nil {
		return err
	}
	if mv.Revoked != "" && !mv.Counted {
		var revoked *Certificate
		for i := range mv.Put {
			if mv.Put[i].ID == mv.Revoked {
				revoked = &mv.Put[i]
			}
		}
		ok, err := s.moves.UpdateIf(ctx, mv.ID, store.Cond{"counted": false}, bson.M{"$set": bson.M{"counted": true}})
		if err != nil {
			return err
		}
		if ok && revoked != nil {
			if err := s.bump(ctx, map[string]int64{revoked.TownshipID: -1}, ""); err != nil {
				return err
			}
		}
		if revoked != nil {
			others, err := s.validCount(ctx, mv.Kept, revoked.ID)
			if err != nil {
				return err
			}
			if err := s.st.Events().Publish(ctx, events.CertificateRevoked, store.Message{Key: revoked.ID, Payload: payload(revoked, others)}); err != nil {
				return err
			}
		}
	}
	_, err := s.moves.DeleteOne(ctx, bson.M{"_id": mv.ID})
	return err
}
