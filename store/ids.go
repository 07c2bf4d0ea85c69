package store

import (
	"errors"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ErrNotFound is returned by the store helpers when nothing matched.
var ErrNotFound = errors.New("not found")

// NewID makes a new document id: 24 lowercase hex characters.
func NewID() string { return bson.NewObjectID().Hex() }

// ValidID reports whether s has the form NewID makes, so a malformed id
// can be refused before it reaches the database.
func ValidID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsDup reports whether err is a duplicate-key error (E11000).
func IsDup(err error) bool { return err != nil && mongo.IsDuplicateKeyError(err) }

// IsNotFound reports whether err says no document matched.
func IsNotFound(err error) bool {
	return errors.Is(err, mongo.ErrNoDocuments) || errors.Is(err, ErrNotFound)
}

// DupIndexes returns the indexes of the documents an unordered insertMany
// refused as duplicates; any other failure is returned as an error.
func DupIndexes(err error) (map[int]bool, error) {
	out := map[int]bool{}
	if err == nil {
		return out, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return nil, err
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != 11000 && we.Code != 11001 && we.Code != 12582 {
			return nil, err
		}
		out[we.Index] = true
	}
	return out, nil
}
