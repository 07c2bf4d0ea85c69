package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Cond is what a document must hold for a conditional update: field (or
// dotted path) → a value it must equal, or an operator document using
// $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists; plus top-level $and
// and $or of such conditions. A nil value matches a missing or null field,
// as in MongoDB. Nothing else is accepted, so both engines answer alike.
type Cond = bson.M

func byID(id any) bson.M { return bson.M{"_id": id} }

// UpdateIf applies update to the document id only when it matches cond,
// and reports whether it did (false: no such document, or cond failed).
// On MongoDB it is one updateOne with {_id, …cond}: atomic across app
// nodes. On the embedded engine, inside the write lane, it reads the
// document by _id (indexed), checks cond in Go and updates by _id — the
// same answer at index cost (docs/design.md, "Conditional updates").
func (c *Collection) UpdateIf(ctx context.Context, id any, cond Cond, update any) (bool, error) {
	return c.updateIf(ctx, id, cond, update, nil)
}

// UpdateIfGet is UpdateIf that also decodes the document as it is after the
// update into out (when it matched).
func (c *Collection) UpdateIfGet(ctx context.Context, id any, cond Cond, update, out any) (bool, error) {
	return c.updateIf(ctx, id, cond, update, out)
}

func (c *Collection) updateIf(ctx context.Context, id any, cond Cond, update, out any) (bool, error) {
	if err := checkCond(cond); err != nil {
		return false, err
	}
	if c.s.lane == nil {
		filter := bson.M{}
		for k, v := range cond {
			filter[k] = v
		}
		filter["_id"] = id
		if out != nil {
			err := c.FindOneAndUpdate(ctx, filter, update, out, options.FindOneAndUpdate().SetReturnDocument(options.After))
			if err == mongo.ErrNoDocuments {
				return false, nil
			}
			return err == nil, err
		}
		res, err := c.UpdateOne(ctx, filter, update)
		if err != nil {
			return false, err
		}
		return res.MatchedCount == 1, nil
	}
	matched := false
	err := c.s.inLane(ctx, func(ctx context.Context) error {
		var doc bson.M
		if err := c.FindOne(ctx, byID(id), &doc); err == mongo.ErrNoDocuments {
			return nil
		} else if err != nil {
			return err
		}
		ok, err := matches(doc, cond)
		if err != nil || !ok {
			return err
		}
		if _, err := c.UpdateOne(ctx, byID(id), update); err != nil {
			return err
		}
		matched = true
		if out != nil {
			return c.FindOne(ctx, byID(id), out)
		}
		return nil
	})
	return matched, err
}

// DeleteIf deletes the document id only when it matches cond, and reports
// whether it did; atomic the same way as UpdateIf.
func (c *Collection) DeleteIf(ctx context.Context, id any, cond Cond) (bool, error) {
	if err := checkCond(cond); err != nil {
		return false, err
	}
	if c.s.lane == nil {
		filter := bson.M{"_id": id}
		for k, v := range cond {
			filter[k] = v
		}
		n, err := c.DeleteOne(ctx, filter)
		return n == 1, err
	}
	deleted := false
	err := c.s.inLane(ctx, func(ctx context.Context) error {
		var doc bson.M
		if err := c.FindOne(ctx, byID(id), &doc); err == mongo.ErrNoDocuments {
			return nil
		} else if err != nil {
			return err
		}
		if ok, err := matches(doc, cond); err != nil || !ok {
			return err
		}
		n, err := c.DeleteOne(ctx, byID(id))
		deleted = n == 1
		return err
	})
	return deleted, err
}

// InsertIfAbsent inserts doc unless a document with its _id exists, and
// reports whether it inserted (the unique _id settles races on both engines).
func (c *Collection) InsertIfAbsent(ctx context.Context, doc any) (bool, error) {
	err := c.InsertOne(ctx, doc)
	if IsDup(err) {
		return false, nil
	}
	return err == nil, err
}

var condOps = map[string]bool{"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true, "$in": true, "$nin": true, "$exists": true}

// checkCond refuses conditions outside the supported set, on both engines.
func checkCond(cond Cond) error {
	for k, v := range cond {
		switch k {
		case "_id":
			return fmt.Errorf("store: a condition may not name _id (it is the document's key)")
		case "$and", "$or":
			list, ok := v.([]Cond)
			if !ok {
				if a, ok2 := v.(bson.A); ok2 {
					for _, x := range a {
						m, ok3 := x.(bson.M)
						if !ok3 {
							return fmt.Errorf("store: %s wants a list of conditions", k)
						}
						list = append(list, m)
					}
				} else {
					return fmt.Errorf("store: %s wants a list of conditions", k)
				}
			}
			for _, c := range list {
				if err := checkCond(c); err != nil {
					return err
				}
			}
			continue
		}
		if strings.HasPrefix(k, "$") {
			return fmt.Errorf("store: unsupported condition %s", k)
		}
		if ops, ok := v.(bson.M); ok {
			for op := range ops {
				if !condOps[op] {
					return fmt.Errorf("store: unsupported condition operator %s", op)
				}
			}
		}
	}
	return nil
}

// matches evaluates cond against a decoded document as MongoDB would.
func matches(doc bson.M, cond Cond) (bool, error) {
	for k, want := range cond {
		switch k {
		case "$and", "$or":
			list := condList(want)
			any := false
			for _, c := range list {
				ok, err := matches(doc, c)
				if err != nil {
					return false, err
				}
				if k == "$and" && !ok {
					return false, nil
				}
				any = any || ok
			}
			if k == "$or" && !any {
				return false, nil
			}
			continue
		}
		have, present := lookup(doc, k)
		ok, err := fieldMatches(have, present, want)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func condList(v any) []Cond {
	if l, ok := v.([]Cond); ok {
		return l
	}
	var out []Cond
	if a, ok := v.(bson.A); ok {
		for _, x := range a {
			if m, ok := x.(bson.M); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// lookup follows a dotted path through nested documents.
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, p := range strings.Split(path, ".") {
		switch m := cur.(type) {
		case bson.M:
			v, ok := m[p]
			if !ok {
				return nil, false
			}
			cur = v
		case bson.D:
			found := false
			for _, e := range m {
				if e.Key == p {
					cur, found = e.Value, true
					break
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return cur, true
}

func fieldMatches(have any, present bool, want any) (bool, error) {
	ops, isOps := want.(bson.M)
	if !isOps {
		return equalsField(have, present, want), nil
	}
	for op, arg := range ops {
		var ok bool
		switch op {
		case "$eq":
			ok = equalsField(have, present, arg)
		case "$ne":
			ok = !equalsField(have, present, arg)
		case "$gt", "$gte", "$lt", "$lte":
			c, comparable := compare(have, arg)
			if !present || !comparable {
				ok = false
				break
			}
			switch op {
			case "$gt":
				ok = c > 0
			case "$gte":
				ok = c >= 0
			case "$lt":
				ok = c < 0
			case "$lte":
				ok = c <= 0
			}
		case "$in", "$nin":
			list, err := valueList(arg)
			if err != nil {
				return false, err
			}
			in := false
			for _, x := range list {
				if equalsField(have, present, x) {
					in = true
					break
				}
			}
			ok = in == (op == "$in")
		case "$exists":
			b, _ := arg.(bool)
			ok = present == b
		default:
			return false, fmt.Errorf("store: unsupported condition operator %s", op)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func valueList(v any) ([]any, error) {
	switch l := v.(type) {
	case bson.A:
		return l, nil
	case []any:
		return l, nil
	case []string:
		out := make([]any, len(l))
		for i, x := range l {
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("store: $in and $nin want a list")
}

// equalsField is MongoDB's equality match: nil matches missing or null; an
// array field matches when any element equals the value.
func equalsField(have any, present bool, want any) bool {
	if want == nil {
		return !present || have == nil
	}
	if !present {
		return false
	}
	if a, ok := have.(bson.A); ok {
		for _, x := range a {
			if c, ok := compare(x, want); ok && c == 0 {
				return true
			}
		}
		return false
	}
	c, ok := compare(have, want)
	return ok && c == 0
}

// compare orders two scalar values of the same kind (numbers of any width
// together), reporting false when MongoDB would not compare them.
func compare(a, b any) (int, bool) {
	if x, ok := asInt(a); ok {
		if y, ok := asInt(b); ok {
			return cmp3(x < y, x > y), true
		}
	}
	if x, ok := asFloat(a); ok {
		if y, ok := asFloat(b); ok {
			return cmp3(x < y, x > y), true
		}
		return 0, false
	}
	if x, ok := asTime(a); ok {
		if y, ok := asTime(b); ok {
			return cmp3(x < y, x > y), true
		}
		return 0, false
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return cmp3(x < y, x > y), ok
	case bool:
		y, ok := b.(bool)
		return cmp3(!x && y, x && !y), ok
	case bson.ObjectID:
		y, ok := b.(bson.ObjectID)
		return strings.Compare(x.Hex(), y.Hex()), ok
	}
	return 0, false
}

func cmp3(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func asTime(v any) (int64, bool) {
	switch t := v.(type) {
	case time.Time:
		return t.UnixMilli(), true
	case bson.DateTime:
		return int64(t), true
	}
	return 0, false
}
