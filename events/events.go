// Package events names the facts features announce to each other through
// the store's outbox (docs/design.md, "Events") and the payload of each.
// A publisher fills the payload; a subscriber, wired in main, decodes it
// with Event.Decode. Handlers are idempotent: delivery is at least once.
package events

import "time"

// Topics. The key of each message is given beside it: publishing the same
// key again while the first waits is one event.
const (
	// CertificateIssued: a certificate was issued. Key: certificate id.
	CertificateIssued = "certificate.issued"
	// CertificateRevoked: a certificate was revoked. Key: certificate id.
	CertificateRevoked = "certificate.revoked"
	// CourseFinished: the last session of a course was held and the trainee
	// was present at it or before. Key: courseID + "/" + traineeID.
	CourseFinished = "course.finished"
	// TraineesMerged: two records of one person became one; every record
	// naming Dropped must now name Kept. Key: the dropped trainee id.
	TraineesMerged = "trainee.merged"
)

// Certificate is the payload of CertificateIssued and CertificateRevoked.
type Certificate struct {
	ID        string    `bson:"id"`
	Serial    string    `bson:"serial"`
	TraineeID string    `bson:"trainee_id"`
	CourseID  string    `bson:"course_id"`
	IssuedAt  time.Time `bson:"issued_at"`
	// OthersValid (revocations only) is how many valid certificates the
	// trainee still holds.
	OthersValid int64 `bson:"others_valid,omitempty"`
}

// Finished is the payload of CourseFinished.
type Finished struct {
	CourseID  string    `bson:"course_id"`
	TraineeID string    `bson:"trainee_id"`
	At        time.Time `bson:"at"`
}

// Merged is the payload of TraineesMerged.
type Merged struct {
	Kept    string `bson:"kept"`
	Dropped string `bson:"dropped"`
	By      string `bson:"by"`
}
