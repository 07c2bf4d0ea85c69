package incubation

import (
	"context"

	"nongxun/certificates"
)

// The hook methods below keep the old function-field wiring working until
// certificates and enrollment publish their events (main then subscribes
// OnCertificateIssued, OnCertificateRevoked and OnCourseFinished instead,
// and this file goes). They run the same idempotent handlers and log what
// a handler would have returned for a retry.

// CertificateIssued is OnCertificateIssued for certificates' OnIssued hook.
//
// Deprecated: subscribe OnCertificateIssued to events.CertificateIssued.
func (s *Service) CertificateIssued(ctx context.Context, c certificates.Certificate) {
	if err := s.certified(ctx, c.TraineeID, c.CourseID, c.IssuedAt); err != nil {
		s.d.Log.Error("certificate hook failed", "certificate_id", c.ID, "trainee_id", c.TraineeID, "err", err.Error())
	}
}

// CertificateRevoked is OnCertificateRevoked for certificates' OnRevoked hook.
//
// Deprecated: subscribe OnCertificateRevoked to events.CertificateRevoked.
func (s *Service) CertificateRevoked(ctx context.Context, c certificates.Certificate, othersValid int64) {
	if err := s.revoked(ctx, c.TraineeID, othersValid); err != nil {
		s.d.Log.Error("revocation hook failed", "certificate_id", c.ID, "trainee_id", c.TraineeID, "err", err.Error())
	}
}

// CourseFinished is OnCourseFinished for enrollment's OnCourseFinished hook.
//
// Deprecated: subscribe OnCourseFinished to events.CourseFinished.
func (s *Service) CourseFinished(ctx context.Context, courseID, traineeID string) {
	if _, err := s.Schedule(ctx, traineeID, courseID, "course_finished", s.now()); err != nil {
		s.d.Log.Error("course-finished hook failed", "trainee_id", traineeID, "course_id", courseID, "err", err.Error())
	}
}
