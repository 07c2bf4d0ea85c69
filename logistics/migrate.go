package logistics

import (
	"context"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/store"
)

// The layout before this package: on the embedded engine the parcels were
// spread over 64 bucket collections parcels_00…63 and parcels_archive_00…63
// (one parcels and one parcels_archive on MongoDB), and the day counters
// "pd:<day>" lived in station_counters. migrate moves such data into the
// fixed collections once, at start-up, and drops the buckets; it is a no-op
// on data of this layout.
var legacyBucket = regexp.MustCompile(`^parcels(_archive)?_\d\d$`)

const migratedMark = "migrated:pd"

func (s *Service) migrate(ctx context.Context) error {
	names, err := s.st.Database().ListCollectionNames(ctx, bson.M{})
	if err != nil {
		return err
	}
	for _, name := range names {
		m := legacyBucket.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		to := s.hot
		if m[1] != "" {
			to = s.archive
		}
		n, err := copyAll(ctx, s.st.C(name), to)
		if err != nil {
			return fmt.Errorf("moving parcels out of %s: %w", name, err)
		}
		if err := s.st.C(name).Raw().Drop(ctx); err != nil {
			return fmt.Errorf("dropping %s: %w", name, err)
		}
		s.d.Log.Info("logistics: moved parcels of the old layout", "from", name, "to", to.Name(), "parcels", n)
	}
	return s.migrateCounters(ctx)
}

// copyAll streams every document of from into to in batches of 1,000;
// documents already there (a move interrupted earlier) are kept as they are.
func copyAll(ctx context.Context, from, to *store.Collection) (int, error) {
	cur, err := from.Cursor(ctx, bson.M{})
	if err != nil {
		return 0, err
	}
	defer cur.Close(ctx)
	n := 0
	var batch []any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := insertedExcept(to.InsertMany(ctx, batch))
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for cur.Next(ctx) {
		var doc bson.Raw
		if err := cur.Decode(&doc); err != nil {
			return n, err
		}
		batch = append(batch, append(bson.Raw(nil), doc...))
		if len(batch) == archiveBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := cur.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// migrateCounters copies the day counters of the old layout out of
// station_counters (where they are deleted after the copy), once.
func (s *Service) migrateCounters(ctx context.Context) error {
	if err := s.counters.Get(ctx, migratedMark, &bson.M{}); !store.IsNotFound(err) {
		return err
	}
	old := s.st.C("station_counters")
	var docs []bson.M
	if err := old.Find(ctx, bson.M{"_id": bson.M{"$regex": "^pd:"}}, &docs); err != nil {
		return err
	}
	for _, d := range docs {
		if _, err := s.counters.InsertIfAbsent(ctx, d); err != nil {
			return err
		}
	}
	if len(docs) > 0 {
		if _, err := old.DeleteMany(ctx, bson.M{"_id": bson.M{"$regex": "^pd:"}}); err != nil {
			return err
		}
		s.d.Log.Info("logistics: moved the parcel day counters of the old layout", "days", len(docs))
	}
	_, err := s.counters.InsertIfAbsent(ctx, bson.M{"_id": migratedMark})
	return err
}
