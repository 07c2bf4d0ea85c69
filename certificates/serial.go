package certificates

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// insertChunk is how many certificates one ordered insert carries.
const insertChunk = 1000

func serialCtr(year int) string { return "serial/" + strconv.Itoa(year) }

// insertNumbered gives each certificate the next serial number of year and
// inserts it, all in one write-lane step, so two issuances cannot take the
// same number. The counter only ever moves by what was actually inserted,
// and inserts are ordered, so a failed insert leaves no gap: the numbers
// after the last stored one are handed out again next time. A certificate
// already issued (its natural _id exists, e.g. by another app node) is
// dropped; a serial found taken (a counter left behind by a crash or by
// another node) makes the counter catch up with the stored serials.
// It returns the certificates stored.
func (s *Service) insertNumbered(ctx context.Context, year int, docs []Certificate) ([]Certificate, error) {
	var out []Certificate
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		n, err := s.lastSeq(ctx, year)
		if err != nil {
			return err
		}
		pending, err := s.notYetIssued(ctx, docs)
		if err != nil {
			return err
		}
		retries := 0
		for len(pending) > 0 {
			k := min(len(pending), insertChunk)
			chunk := pending[:k]
			models := make([]mongo.WriteModel, k)
			for i := range chunk {
				chunk[i].Year = year
				chunk[i].Seq = n + int64(i) + 1
				chunk[i].Serial = FormatSerial(s.d.Config.CertPrefix, year, chunk[i].Seq)
				models[i] = mongo.NewInsertOneModel().SetDocument(chunk[i])
			}
			_, err := s.certs.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
			done := k
			if err != nil {
				done = firstFailed(err)
				if done < 0 || done > k {
					// Not a per-document failure: learn from the stored serials how far it got.
					m, rerr := s.maxSeq(ctx, year)
					if rerr != nil {
						return errors.Join(err, rerr)
					}
					done = int(max(0, min(int64(k), m-n)))
				}
			}
			out = append(out, chunk[:done]...)
			n += int64(done)
			if done > 0 {
				if serr := s.setSeq(ctx, year, n); serr != nil {
					return serr
				}
			}
			if err == nil || done == k {
				pending = pending[done:]
				continue
			}
			if !store.IsDup(err) {
				return err
			}
			failed := &chunk[done]
			taken, cerr := s.whyDup(ctx, failed)
			if cerr != nil {
				return cerr
			}
			if taken != "id" {
				if retries++; retries > 20 {
					return err
				}
			}
			switch taken {
			case "id":
				pending = pending[done+1:] // issued meanwhile by another node: nothing new to do
			case "serial":
				m, merr := s.maxSeq(ctx, year)
				if merr != nil {
					return merr
				}
				if m > n {
					n = m
					if serr := s.setSeq(ctx, year, n); serr != nil {
						return serr
					}
				}
				pending = pending[done:]
			default: // the random code collided: draw another
				failed.Code = server.RandomToken(10)
				pending = pending[done:]
			}
		}
		return nil
	})
	return out, err
}

// notYetIssued drops the certificates already stored (read inside the
// lane, so on the embedded engine no other insert can race it).
func (s *Service) notYetIssued(ctx context.Context, docs []Certificate) ([]Certificate, error) {
	have := map[string]bool{}
	seen := map[string]bool{}
	for _, d := range docs {
		if seen[d.CourseID] {
			continue
		}
		seen[d.CourseID] = true
		var rows []struct {
			ID string `bson:"_id"`
		}
		if err := s.certs.Find(ctx, bson.M{"course_id": d.CourseID}, &rows, options.Find().SetProjection(bson.M{"_id": 1})); err != nil {
			return nil, err
		}
		for _, r := range rows {
			have[r.ID] = true
		}
	}
	out := make([]Certificate, 0, len(docs))
	for _, d := range docs {
		if !have[d.ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

// firstFailed is the index of the first document an ordered bulk insert
// refused, or -1 when the error is not about one document.
func firstFailed(err error) int {
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
		i := bwe.WriteErrors[0].Index
		for _, we := range bwe.WriteErrors[1:] {
			i = min(i, we.Index)
		}
		return i
	}
	return -1
}

// whyDup says which unique key a refused certificate hit: "id", "serial" or "code".
func (s *Service) whyDup(ctx context.Context, c *Certificate) (string, error) {
	for _, k := range []struct{ field, name, val string }{{"_id", "id", c.ID}, {"serial", "serial", c.Serial}} {
		var x bson.M
		err := s.certs.FindOne(ctx, bson.M{k.field: k.val}, &x, options.FindOne().SetProjection(bson.M{"_id": 1}))
		if err == nil {
			return k.name, nil
		}
		if !store.IsNotFound(err) {
			return "", err
		}
	}
	return "code", nil
}

// lastSeq reads the year's counter: the last serial number handed out.
func (s *Service) lastSeq(ctx context.Context, year int) (int64, error) {
	doc, err := s.counters.Counter(ctx, serialCtr(year))
	if err != nil {
		return 0, err
	}
	return store.Int64(doc["seq"]), nil
}

// setSeq moves the year's counter forward to n (never back).
func (s *Service) setSeq(ctx context.Context, year int, n int64) error {
	_, err := s.counters.UpdateOne(ctx, bson.M{"_id": serialCtr(year)}, bson.M{"$max": bson.M{"seq": n}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("serial counter: %w", err)
	}
	return nil
}

// maxSeq is the highest serial number stored for year (0 when none).
func (s *Service) maxSeq(ctx context.Context, year int) (int64, error) {
	var c struct {
		Seq int64 `bson:"seq"`
	}
	err := s.certs.FindOne(ctx, bson.M{"year": year}, &c,
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.M{"seq": 1}))
	if store.IsNotFound(err) {
		return 0, nil
	}
	return c.Seq, err
}
