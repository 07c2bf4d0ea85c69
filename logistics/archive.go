package logistics

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/store"
)

// finishedDay lists the waybills that had a finishing scan (delivered or
// picked up) on one day: the archive's index, so that finding what to
// archive reads a few documents by _id instead of scanning the parcels
// (docs/design.md, "Scans"). V counts the additions: a cleanup that read
// version v removes the list only if nothing was added since.
type finishedDay struct {
	Day      string   `bson:"_id"`
	Waybills []string `bson:"waybills"`
	V        int64    `bson:"v"`
}

// listFinished adds waybill to the list of day (an atomic $addToSet by _id;
// a list names each waybill once, however often a retry adds it).
func (s *Service) listFinished(ctx context.Context, day, waybill string) error {
	_, err := s.finished.UpdateOne(ctx, bson.M{"_id": day}, bson.M{"$addToSet": bson.M{"waybills": waybill}, "$inc": bson.M{"v": 1}},
		options.UpdateOne().SetUpsert(true))
	return err
}

// archiveBatch is how many parcels one step of the archive moves.
const archiveBatch = 1000

// ArchiveParcels moves finished parcels (delivered or picked up) whose
// last scan is older than before out of the hot collection into the
// archive, where they stay readable by waybill. Each parcel moves by a
// copy into the archive with its own _id (a duplicate means it is already
// there) and then a delete conditional on the state and scan count the
// copy holds, so two archivers on two nodes never archive a parcel twice
// or lose one, and a scan landing meanwhile keeps its parcel hot. It
// returns how many parcels this call moved.
func (s *Service) ArchiveParcels(ctx context.Context, before time.Time) (int, error) {
	last := clock.Day(before)
	var days []finishedDay
	// parcels_finished holds one small document per day with finishing
	// scans not yet archived: a short read.
	if err := s.finished.Find(ctx, bson.M{"_id": bson.M{"$lte": last}}, &days, options.Find().SetProjection(bson.M{"_id": 1})); err != nil {
		return 0, err
	}
	total := 0
	for _, d := range days {
		n, err := s.archiveDay(ctx, d.Day, before)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// archiveDay archives the parcels listed for one day and shortens the list
// to those not archived yet (their last finishing scan is that day but not
// before the cut-off, or a racing write kept them hot).
func (s *Service) archiveDay(ctx context.Context, day string, before time.Time) (int, error) {
	var d finishedDay
	if err := s.finished.Get(ctx, day, &d); err != nil {
		if store.IsNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	moved := 0
	var keep []string
	for start := 0; start < len(d.Waybills); start += archiveBatch {
		end := min(start+archiveBatch, len(d.Waybills))
		n, k, err := s.archiveWaybills(ctx, day, d.Waybills[start:end], before)
		moved += n
		keep = append(keep, k...)
		if err != nil {
			return moved, err
		}
	}
	// Only if no scan listed a parcel since the read (v unchanged).
	var err error
	if len(keep) == 0 {
		_, err = s.finished.DeleteIf(ctx, day, store.Cond{"v": d.V})
	} else if len(keep) < len(d.Waybills) {
		_, err = s.finished.UpdateIf(ctx, day, store.Cond{"v": d.V}, bson.M{"$set": bson.M{"waybills": keep}})
	}
	return moved, err
}

// archiveWaybills moves the eligible parcels among waybills: one batched
// insert into the archive, then a conditional delete of each from the hot
// collection. It returns how many it moved and which stay listed.
func (s *Service) archiveWaybills(ctx context.Context, day string, waybills []string, before time.Time) (int, []string, error) {
	var keep []string
	var move []Parcel
	for _, w := range waybills {
		var pc Parcel
		err := s.hot.Get(ctx, w, &pc)
		if store.IsNotFound(err) {
			continue // archived already
		}
		if err != nil {
			return 0, keep, err
		}
		switch {
		case !finished(pc.State):
			// a finishing scan was undone: nothing to archive
		case !pc.LastAt.Before(before):
			if clock.Day(pc.LastAt) == day {
				keep = append(keep, w) // not old enough yet
			} // else a later finishing scan listed it under its own day
		default:
			move = append(move, pc)
		}
	}
	if len(move) == 0 {
		return 0, keep, nil
	}
	docs := make([]any, len(move))
	for i := range move {
		docs[i] = move[i]
	}
	dups, err := insertedExcept(s.archive.InsertMany(ctx, docs))
	if err != nil {
		return 0, keep, err
	}
	moved := 0
	for i := range move {
		pc := &move[i]
		ok, stay, err := s.moveOne(ctx, pc, !dups[i])
		if err != nil {
			return moved, keep, err
		}
		if ok {
			moved++
		} else if stay {
			keep = append(keep, pc.Waybill)
		}
	}
	return moved, keep, nil
}

// moveOne finishes the move of one parcel whose copy was just inserted
// (copied) or was already in the archive (a duplicate). It reports whether
// this call deleted the hot parcel, and whether the parcel stays listed.
func (s *Service) moveOne(ctx context.Context, pc *Parcel, copied bool) (bool, bool, error) {
	if !copied {
		// Already in the archive: by an earlier, interrupted run, or by
		// another node now. Finish the move only if that copy is this very
		// state of the parcel; a copy of an older state (its archiver saw a
		// scan land and is about to remove it, or stopped before it could)
		// is replaced, conditionally, so that two archivers agree.
		var old Parcel
		if err := s.archive.Get(ctx, pc.Waybill, &old); err != nil && !store.IsNotFound(err) {
			return false, false, err
		}
		if old.NScans != pc.NScans || old.State != pc.State {
			if old.NScans > pc.NScans {
				return false, true, nil
			}
			if _, err := s.archive.DeleteIf(ctx, pc.Waybill, store.Cond{"nscans": old.NScans}); err != nil {
				return false, false, err
			}
			inserted, err := s.archive.InsertIfAbsent(ctx, pc)
			if err != nil || !inserted {
				return false, true, err // another archiver's copy: the next run settles it
			}
			copied = true
		}
	}
	ok, err := s.hot.DeleteIf(ctx, pc.Waybill, store.Cond{"state": pc.State, "nscans": pc.NScans})
	if ok {
		s.scanning.Forget(pc.Waybill)
	}
	if err != nil || ok {
		return ok, false, err
	}
	var now Parcel
	if err := s.hot.Get(ctx, pc.Waybill, &now); store.IsNotFound(err) {
		return false, false, nil // another archiver finished the move with this copy
	} else if err != nil {
		return false, false, err
	}
	if copied {
		// A scan changed the parcel after the copy: the copy goes (unless
		// another archiver has replaced it), the parcel stays hot.
		if _, err := s.archive.DeleteIf(ctx, pc.Waybill, store.Cond{"nscans": pc.NScans}); err != nil {
			return false, false, err
		}
	}
	return false, true, nil
}

// insertedExcept reads an unordered insertMany's outcome: which documents
// were duplicates (by index); any other error is returned.
func insertedExcept(_ int, err error) (map[int]bool, error) {
	dups := map[int]bool{}
	if err == nil {
		return dups, nil
	}
	var bw mongo.BulkWriteException
	if !errors.As(err, &bw) {
		return nil, err
	}
	if bw.WriteConcernError != nil {
		return nil, err
	}
	for _, we := range bw.WriteErrors {
		if we.Code != 11000 {
			return nil, err
		}
		dups[we.Index] = true
	}
	return dups, nil
}
