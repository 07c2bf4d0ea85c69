package store

import (
	"context"
	"sort"
	"strings"

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

// SyncCounters compares the counter documents whose _id keep accepts with
// want (id → dotted field → value, as the records say they should be) and
// reports the ids that differ; with fix it rewrites those documents. A kept
// document absent from want should be all zeros. Call it inside the write
// lane, after computing want from the records, to rebuild counters that a
// crash left behind.
func (c *Collection) SyncCounters(ctx context.Context, keep func(id string) bool, want map[string]map[string]int64, fix bool) ([]string, error) {
	var stored []bson.M
	if err := c.Find(ctx, bson.M{}, &stored); err != nil {
		return nil, err
	}
	have := map[string]map[string]int64{}
	for _, d := range stored {
		id, _ := d["_id"].(string)
		if !keep(id) {
			continue
		}
		m := map[string]int64{}
		flattenCounts("", d, m)
		have[id] = m
	}
	var drifted []string
	check := func(id string) error {
		if sameCounts(want[id], have[id]) {
			return nil
		}
		drifted = append(drifted, id)
		if !fix {
			return nil
		}
		doc := bson.M{}
		for k, v := range want[id] {
			if v != 0 {
				setCountPath(doc, k, v)
			}
		}
		doc["_id"] = id
		_, err := c.ReplaceOne(ctx, bson.M{"_id": id}, doc, options.Replace().SetUpsert(true))
		return err
	}
	for id := range want {
		if err := check(id); err != nil {
			return drifted, err
		}
	}
	for id := range have {
		if _, ok := want[id]; !ok {
			if err := check(id); err != nil {
				return drifted, err
			}
		}
	}
	sort.Strings(drifted)
	return drifted, nil
}

// flattenCounts turns a nested counter document into dotted field → value,
// leaving out _id and zeros.
func flattenCounts(prefix string, v any, out map[string]int64) {
	switch m := v.(type) {
	case bson.M:
		for k, x := range m {
			if prefix == "" && k == "_id" {
				continue
			}
			flattenCounts(joinPath(prefix, k), x, out)
		}
	case bson.D:
		for _, e := range m {
			if prefix == "" && e.Key == "_id" {
				continue
			}
			flattenCounts(joinPath(prefix, e.Key), e.Value, out)
		}
	default:
		if n := Int64(v); n != 0 {
			out[prefix] = n
		}
	}
}

func joinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// setCountPath sets a dotted field in a nested document.
func setCountPath(doc bson.M, path string, v int64) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := doc[p].(bson.M)
		if !ok {
			next = bson.M{}
			doc[p] = next
		}
		doc = next
	}
	doc[parts[len(parts)-1]] = v
}

// sameCounts compares two field → value maps, zeros counting as absent.
func sameCounts(a, b map[string]int64) bool {
	n := 0
	for k, v := range a {
		if v == 0 {
			continue
		}
		n++
		if b[k] != v {
			return false
		}
	}
	return n == len(b)
}
