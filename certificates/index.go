package certificates

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/store"
)

// The certificates collection grows with the county, and on the embedded
// engine any filter but {_id} decodes every stored certificate
// (docs/design.md, "Scans"). So every read on a request path is an _id
// lookup, helped by three small kinds of index document written in the
// same unit of work as the certificates:
//
//   - certificate_codes: _id = verification code → certificate id (the
//     public verification);
//   - certificate_course_index: a head per course (_id = course id,
//     counting pages) and pages (_id = course id + "/" + n) listing the
//     course's certificates, one page per issuance chunk, as packed
//     strings "certID|traineeID|serial|townshipID" (a string costs the
//     engine little to decode). Entries are never changed: what may have
//     changed (status, a merge) is read from the certificate itself;
//   - certificate_trainee_index: _id = trainee id → the ids of their
//     certificates.

type codeDoc struct {
	Code string `bson:"_id"`
	Cert string `bson:"cert"`
}

type courseHead struct {
	ID    string `bson:"_id"`
	Pages int64  `bson:"pages"`
}

type coursePage struct {
	ID      string   `bson:"_id"`
	Course  string   `bson:"course"`
	Entries []string `bson:"entries"`
}

type traineeIndex struct {
	ID    string   `bson:"_id"`
	Certs []string `bson:"certs"`
}

// entry is one line of a course's index.
type entry struct {
	CertID, TraineeID, Serial, TownshipID string
}

func packEntry(c *Certificate) string {
	return c.ID + "|" + c.TraineeID + "|" + c.Serial + "|" + c.TownshipID
}

func unpackEntry(s string) (entry, bool) {
	p := strings.Split(s, "|")
	if len(p) != 4 {
		return entry{}, false
	}
	return entry{p[0], p[1], p[2], p[3]}, true
}

func pageID(courseID string, n int64) string { return fmt.Sprintf("%s/%d", courseID, n) }

// courseEntries lists the certificates indexed for a course, by certificate
// id (a later entry for an id wins).
func (s *Service) courseEntries(ctx context.Context, courseID string) (map[string]entry, error) {
	out := map[string]entry{}
	var h courseHead
	if err := s.courseIdx.Get(ctx, courseID, &h); err != nil {
		if store.IsNotFound(err) {
			return out, nil
		}
		return nil, err
	}
	for n := int64(0); n < h.Pages; n++ {
		var p coursePage
		if err := s.courseIdx.Get(ctx, pageID(courseID, n), &p); err != nil {
			if store.IsNotFound(err) {
				continue // a page whose unit was undone
			}
			return nil, err
		}
		for _, raw := range p.Entries {
			if e, ok := unpackEntry(raw); ok {
				out[e.CertID] = e
			}
		}
	}
	return out, nil
}

// addCoursePage indexes certificates of one course on a new page and
// returns the page's id (to undo).
func (s *Service) addCoursePage(ctx context.Context, courseID string, cs []Certificate) (string, error) {
	var h courseHead
	if err := s.courseIdx.FindOneAndUpdate(ctx, bson.M{"_id": courseID}, bson.M{"$inc": bson.M{"pages": int64(1)}}, &h,
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)); err != nil {
		return "", err
	}
	p := coursePage{ID: pageID(courseID, h.Pages-1), Course: courseID, Entries: make([]string, len(cs))}
	for i := range cs {
		p.Entries[i] = packEntry(&cs[i])
	}
	return p.ID, s.courseIdx.InsertOne(ctx, p)
}

// addToTrainees records certificate ids in their trainees' indexes: one
// insert for trainees seen for the first time, an update for the others.
func (s *Service) addToTrainees(ctx context.Context, cs []Certificate) error {
	docs := make([]any, len(cs))
	for i, c := range cs {
		docs[i] = traineeIndex{ID: c.TraineeID, Certs: []string{c.ID}}
	}
	_, err := s.traineeIdx.InsertMany(ctx, docs)
	dups, derr := store.DupIndexes(err)
	if derr != nil {
		return derr
	}
	for i := range dups {
		if _, err := s.traineeIdx.UpdateOne(ctx, bson.M{"_id": cs[i].TraineeID}, bson.M{"$addToSet": bson.M{"certs": cs[i].ID}}); err != nil {
			return err
		}
	}
	return nil
}

// dropFromTrainees undoes addToTrainees.
func (s *Service) dropFromTrainees(ctx context.Context, cs []Certificate) error {
	for _, c := range cs {
		if _, err := s.traineeIdx.UpdateOne(ctx, bson.M{"_id": c.TraineeID}, bson.M{"$pull": bson.M{"certs": c.ID}}); err != nil {
			return err
		}
	}
	return nil
}

// traineeCerts reads a trainee's certificates through their index.
func (s *Service) traineeCerts(ctx context.Context, traineeID string) ([]Certificate, error) {
	var ix traineeIndex
	if err := s.traineeIdx.Get(ctx, traineeID, &ix); err != nil {
		if store.IsNotFound(err) {
			return []Certificate{}, nil
		}
		return nil, err
	}
	return s.certsByID(ctx, ix.Certs, func(c *Certificate) bool { return c.TraineeID == traineeID })
}

// certsByID reads certificates by _id, skipping those gone or not kept.
func (s *Service) certsByID(ctx context.Context, ids []string, keep func(*Certificate) bool) ([]Certificate, error) {
	out := make([]Certificate, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var c Certificate
		if err := s.certs.Get(ctx, id, &c); err != nil {
			if store.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		if keep == nil || keep(&c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// insertCodes records the verification codes of certificates.
func (s *Service) insertCodes(ctx context.Context, cs []Certificate) error {
	docs := make([]any, len(cs))
	for i, c := range cs {
		docs[i] = codeDoc{Code: c.Code, Cert: c.ID}
	}
	_, err := s.codes.InsertMany(ctx, docs)
	return err
}

func (s *Service) deleteCodes(ctx context.Context, cs []Certificate) error {
	for _, c := range cs {
		if _, err := s.codes.DeleteOne(ctx, bson.M{"_id": c.Code}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) deleteCerts(ctx context.Context, cs []Certificate) error {
	for _, c := range cs {
		if _, err := s.certs.DeleteOne(ctx, bson.M{"_id": c.ID}); err != nil {
			return err
		}
	}
	return nil
}

// reindex writes the index documents of every stored certificate that
// lacks them (certificates stored before the indexes existed, or left by a
// failed undo). It is idempotent and safe while others write: it only adds
// what is missing. It reads every certificate: start-up and repairs only.
func (s *Service) reindex(ctx context.Context) (int, error) {
	cur, err := s.certs.Cursor(ctx, bson.M{})
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	byCourse := map[string][]Certificate{}
	byTrainee := map[string][]string{}
	var all []Certificate
	for cur.Next(ctx) {
		var c Certificate
		if err := cur.Decode(&c); err != nil {
			return 0, err
		}
		all = append(all, c)
		byCourse[c.CourseID] = append(byCourse[c.CourseID], c)
		byTrainee[c.TraineeID] = append(byTrainee[c.TraineeID], c.ID)
	}
	if err := cur.Err(); err != nil {
		return 0, err
	}
	fixed := 0
	for _, c := range all {
		var d codeDoc
		err := s.codes.Get(ctx, c.Code, &d)
		if err == nil && d.Cert == c.ID {
			continue
		}
		if err != nil && !store.IsNotFound(err) {
			return fixed, err
		}
		if _, err := s.codes.ReplaceOne(ctx, bson.M{"_id": c.Code}, codeDoc{Code: c.Code, Cert: c.ID}, options.Replace().SetUpsert(true)); err != nil {
			return fixed, err
		}
		fixed++
	}
	for course, cs := range byCourse {
		have, err := s.courseEntries(ctx, course)
		if err != nil {
			return fixed, err
		}
		var missing []Certificate
		for _, c := range cs {
			if e, ok := have[c.ID]; !ok || e.TraineeID != c.TraineeID {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			if _, err := s.addCoursePage(ctx, course, missing); err != nil {
				return fixed, err
			}
			fixed += len(missing)
		}
	}
	for tid, ids := range byTrainee {
		var ix traineeIndex
		err := s.traineeIdx.Get(ctx, tid, &ix)
		if err != nil && !store.IsNotFound(err) {
			return fixed, err
		}
		for _, id := range ids {
			if !contains(ix.Certs, id) {
				if _, err := s.traineeIdx.UpdateOne(ctx, bson.M{"_id": tid}, bson.M{"$addToSet": bson.M{"certs": id}}, options.UpdateOne().SetUpsert(true)); err != nil {
					return fixed, err
				}
				fixed++
			}
		}
	}
	return fixed, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
