package enrollment

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"nongxun/store"
)

// importBatch is how many roster rows one unit registers: a journal entry
// and two bulk inserts of this size stay small (docs/design.md, "Units of
// work"), and a 5,000-row roster takes ten units instead of 5,000.
const importBatch = 500

// registerBatch registers the valid lines of a roster in one unit, the way
// AddTrainee registers one (the ID number's key claimed first, then the
// record, the counters and the search entries), with bulk writes. A line
// whose ID number is registered already (its key exists) is kept: kept[i]
// tells which. A failure undoes the whole batch.
func (s *Service) registerBatch(ctx context.Context, lines []*rosterLine, by string) (kept []bool, err error) {
	kept = make([]bool, len(lines))
	if len(lines) == 0 {
		return kept, nil
	}
	now := s.now().UTC()
	docs := make([]traineeDoc, len(lines))
	keys := make([]any, len(lines))
	for i, ln := range lines {
		n := ln.n
		docs[i] = traineeDoc{Trainee: Trainee{ID: store.NewID(), Name: n.Name, Gender: ln.id.Gender, BirthDate: ln.id.BirthDate,
			Phone: n.Phone, RegionID: n.RegionID, TownshipID: s.d.Regions.TownshipOf(ctx, n.RegionID), Groups: n.Groups,
			IDMasked: MaskID(ln.id.Number), CreatedAt: now}, IDHash: ln.hash, IDSealed: s.crypt.seal(ln.id.Number), CreatedBy: by, Source: "import"}
		keys[i] = traineeKey{ID: idKey(ln.hash), TraineeID: docs[i].ID}
	}
	err = s.st.Unit(ctx, "enrollment.import", func(u *store.Unit) error {
		// Claim the keys: an unordered insert skips the ones taken (E11000).
		// The undo is registered whatever the insert answered (part of it
		// may be written) and deletes only keys naming our new records.
		_, err := s.keys.InsertMany(ctx, keys)
		u.OnFail("claim the ID numbers", func(ctx context.Context) error {
			var first error
			for i, ln := range lines {
				if kept[i] {
					continue
				}
				if _, err := s.keys.DeleteIf(ctx, idKey(ln.hash), store.Cond{"t": docs[i].ID}); err != nil && first == nil {
					first = err
				}
			}
			return first
		})
		if err != nil {
			var bwe mongo.BulkWriteException
			if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
				return err
			}
			for _, we := range bwe.WriteErrors {
				if !mongo.IsDuplicateKeyError(we) || we.Index < 0 || we.Index >= len(kept) {
					return err
				}
			}
			for _, we := range bwe.WriteErrors {
				kept[we.Index] = true
			}
		}
		var fresh []any
		var ids []any
		d := deltas{}
		ch := newChanges()
		for i := range docs {
			if kept[i] {
				continue
			}
			fresh = append(fresh, docs[i])
			ids = append(ids, docs[i].ID)
			d.merge(registeredDeltas(&docs[i].Trainee, 1))
			s.searchAdd(ch, &docs[i].Trainee)
		}
		if len(fresh) == 0 {
			return nil
		}
		// The records: an unordered insert may write part of them before
		// it fails, so the undo is registered first (their ids are new).
		u.OnFail("trainee records", func(ctx context.Context) error { return s.deleteIDs(ctx, s.trainees, ids) })
		if _, err := s.trainees.InsertMany(ctx, fresh); err != nil {
			return err
		}
		if err := s.count(ctx, u, "registration counters", d); err != nil {
			return err
		}
		return s.logChanges(ctx, u, ch)
	})
	if err != nil {
		return nil, err
	}
	return kept, nil
}

// deleteIDs deletes documents by _id, one indexed delete each (an undo:
// rare, and a {$in} filter would scan on the embedded engine).
func (s *Service) deleteIDs(ctx context.Context, c *store.Collection, ids []any) error {
	var first error
	for _, id := range ids {
		if _, err := c.DeleteOne(ctx, bson.M{"_id": id}); err != nil && first == nil {
			first = err
		}
	}
	return first
}
