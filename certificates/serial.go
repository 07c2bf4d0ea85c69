package certificates

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
)

// insertChunk is how many certificates one ordered insert (and one unit of
// work, and one Publish) carries.
const insertChunk = 1000

func serialCtr(year int) string { return "serial/" + strconv.Itoa(year) }

// highWaterKey names the year's serial mark in the meta database, which a
// restore never touches (docs/design.md, "Restore").
func highWaterKey(year int) string { return "certificate-serial/" + strconv.Itoa(year) }

// insertNumbered gives each certificate the next serial number of year and
// stores it, chunk by chunk. Serials are never handed out twice, on either
// engine, with any number of app nodes, and across a restore:
//   - a batch starts above both the year's counter and the high-water mark
//     kept outside the restored data, and the mark is raised to the last
//     serial of a chunk BEFORE the chunk is written, so a restore to an
//     earlier moment never brings back a number already printed;
//   - the unique index on serial settles two nodes numbering at once: the
//     loser catches up with the highest stored serial and goes on from
//     there; inserts are ordered, so within the data the numbers stay
//     gap-free (only a chunk whose write failed outright leaves its
//     numbers unused, logged, rather than repeat them).
//
// Each chunk is one unit of work: the certificates, their codes, the course
// and trainee index entries, the counters and the CertificateIssued events
// (one Publish per chunk). It returns the certificates stored.
func (s *Service) insertNumbered(ctx context.Context, year int, docs []Certificate) ([]Certificate, error) {
	n, err := s.lastSeq(ctx, year)
	if err != nil {
		return nil, err
	}
	hw, err := s.st.HighWater(ctx, highWaterKey(year))
	if err != nil {
		return nil, err
	}
	n = max(n, hw)
	var out []Certificate
	pending := docs
	retries := 0
	for len(pending) > 0 {
		k := min(len(pending), insertChunk)
		chunk := pending[:k]
		for i := range chunk {
			chunk[i].Year = year
			chunk[i].Seq = n + int64(i) + 1
			chunk[i].Serial = FormatSerial(s.d.Config.CertPrefix, year, chunk[i].Seq)
		}
		if err := s.st.RaiseHighWater(ctx, highWaterKey(year), n+int64(k)); err != nil {
			return out, fmt.Errorf("serial high-water mark: %w", err)
		}
		done, ierr := s.storeChunk(ctx, year, chunk)
		out = append(out, chunk[:done]...)
		n += int64(done)
		if ierr == nil {
			pending = pending[k:]
			continue
		}
		if !store.IsDup(ierr) {
			s.d.Log.Error("certificates: a write failed; its serial numbers stay unused, never repeated",
				"from", FormatSerial(s.d.Config.CertPrefix, year, n+1), "to", FormatSerial(s.d.Config.CertPrefix, year, n+int64(k-done)), "err", ierr.Error())
			return out, ierr
		}
		failed := &chunk[done]
		taken, cerr := s.whyDup(ctx, failed)
		if cerr != nil {
			return out, cerr
		}
		if taken != "id" {
			if retries++; retries > 20 {
				return out, ierr
			}
		}
		switch taken {
		case "id":
			pending = pending[done+1:] // issued meanwhile by another node: nothing new to do
		case "serial":
			m, merr := s.maxSeq(ctx, year)
			if merr != nil {
				return out, merr
			}
			n = max(n, m)
			pending = pending[done:]
		default: // the random code collided: draw another
			failed.Code = server.RandomToken(10)
			pending = pending[done:]
		}
	}
	return out, nil
}

// storeChunk inserts a chunk in order and, as one unit of work with the
// certificates that went in, their codes, index entries, counters and
// events. It returns how many were stored and, when fewer than all, the
// error that stopped the insert (a duplicate key: the caller sorts it out).
func (s *Service) storeChunk(ctx context.Context, year int, chunk []Certificate) (int, error) {
	done := 0
	var insertErr error
	err := s.st.Unit(ctx, "certificates.issue", func(u *store.Unit) error {
		models := make([]mongo.WriteModel, len(chunk))
		for i := range chunk {
			models[i] = mongo.NewInsertOneModel().SetDocument(chunk[i])
		}
		_, err := s.certs.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
		done = len(chunk)
		if err != nil {
			done = firstFailed(err)
			if done < 0 || done > len(chunk) {
				return err // not about one document: nothing is known to be stored
			}
			insertErr = err
		}
		stored := chunk[:done]
		if done == 0 {
			return nil
		}
		u.OnFail("certificates", func(ctx context.Context) error { return s.deleteCerts(ctx, stored) })
		if err := u.Do(ctx, "codes", func(ctx context.Context) error { return s.insertCodes(ctx, stored) },
			func(ctx context.Context) error { return s.deleteCodes(ctx, stored) }); err != nil {
			return err
		}
		var page string
		if err := u.Do(ctx, "course index", func(ctx context.Context) (err error) {
			page, err = s.addCoursePage(ctx, stored[0].CourseID, stored)
			return err
		}, func(ctx context.Context) error { _, err := s.courseIdx.DeleteOne(ctx, bson.M{"_id": page}); return err }); err != nil {
			return err
		}
		if err := u.Do(ctx, "trainee index", func(ctx context.Context) error { return s.addToTrainees(ctx, stored) },
			func(ctx context.Context) error { return s.dropFromTrainees(ctx, stored) }); err != nil {
			return err
		}
		by := map[string]int64{}
		for _, c := range stored {
			by[c.TownshipID]++
		}
		month := clock.Month(stored[0].IssuedAt)
		if err := u.Do(ctx, "counters", func(ctx context.Context) error { return s.bump(ctx, by, month) },
			func(ctx context.Context) error { return s.bump(ctx, negate(by), month) }); err != nil {
			return err
		}
		msgs := make([]store.Message, len(stored))
		for i := range stored {
			msgs[i] = store.Message{Key: stored[i].ID, Payload: payload(&stored[i], 0)}
		}
		if err := s.st.Events().Publish(ctx, events.CertificateIssued, msgs...); err != nil {
			return err
		}
		// The counter follows what was stored; the mark and the stored
		// serials guard the numbers even if this write is lost.
		if err := s.setSeq(ctx, year, stored[len(stored)-1].Seq); err != nil {
			s.d.Log.Error("certificates: serial counter", "err", err.Error())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return done, insertErr
}

func negate(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = -v
	}
	return out
}

// payload is a certificate as its events carry it.
func payload(c *Certificate, othersValid int64) events.Certificate {
	return events.Certificate{ID: c.ID, Serial: c.Serial, TraineeID: c.TraineeID, CourseID: c.CourseID, IssuedAt: c.IssuedAt, OthersValid: othersValid}
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
	var x bson.M
	err := s.certs.Get(ctx, c.ID, &x)
	if err == nil {
		return "id", nil
	}
	if !store.IsNotFound(err) {
		return "", err
	}
	// A scan, but only when two nodes raced for the same numbers.
	err = s.certs.FindOne(ctx, bson.M{"serial": c.Serial}, &x, options.FindOne().SetProjection(bson.M{"_id": 1}))
	if err == nil {
		return "serial", nil
	}
	if !store.IsNotFound(err) {
		return "", err
	}
	return "code", nil
}

// lastSeq reads the year's counter: the last serial number stored.
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

// maxSeq is the highest serial number stored for year (0 when none). It
// scans on the embedded engine: only after two nodes raced.
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
