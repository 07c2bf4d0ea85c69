package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Inc adds delta to the int64 fields of the counter document id, creating
// it when missing. Field names may be dotted paths ("by_month.2019-05").
// Counters are how figures are read without counting on a request path.
func (c *Collection) Inc(ctx context.Context, id string, delta map[string]int64) error {
	if len(delta) == 0 {
		return nil
	}
	inc := bson.M{}
	for k, v := range delta {
		inc[k] = v
	}
	_, err := c.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$inc": inc}, options.UpdateOne().SetUpsert(true))
	return err
}

// Counter reads the counter document id as a nested map; an absent counter
// reads as empty.
func (c *Collection) Counter(ctx context.Context, id string) (bson.M, error) {
	var doc bson.M
	err := c.FindOne(ctx, bson.M{"_id": id}, &doc)
	if err == mongo.ErrNoDocuments {
		return bson.M{}, nil
	}
	return doc, err
}

// Int64 reads a numeric field of a decoded document as int64 (the engines
// may hand back int32, int64 or float64).
func Int64(v any) int64 {
	switch n := v.(type) {
	case int32:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

// Int64Map turns a nested counter map into map[string]int64.
func Int64Map(v any) map[string]int64 {
	out := map[string]int64{}
	if m, ok := v.(bson.M); ok {
		for k, x := range m {
			out[k] = Int64(x)
		}
	}
	if d, ok := v.(bson.D); ok {
		for _, e := range d {
			out[e.Key] = Int64(e.Value)
		}
	}
	return out
}
