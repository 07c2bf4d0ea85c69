package incubation

import (
	"testing"

	"nongxun/certificates"
)

// TestCertificateRevoked: revoking a trainee's last valid certificate
// takes them off "certified" (county and township alike, and a recount
// agrees); revoking one while another stays valid changes nothing.
func TestCertificateRevoked(t *testing.T) {
	e := newEnv(t)
	a := e.trainee(0, 0, "poverty")
	b := e.trainee(1, 0)
	for _, tr := range []*Trainee{a, b} {
		e.trainees.train(tr.ID)
		e.issued(certificates.Certificate{ID: "c-" + tr.ID, TraineeID: tr.ID, CourseID: "course1", IssuedAt: e.clock.now()})
	}
	wantFunnel(t, "two certified", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 2})

	e.revoked(certificates.Certificate{ID: "c-" + b.ID, TraineeID: b.ID}, 1)
	wantFunnel(t, "another certificate still valid", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 2})

	e.revoked(certificates.Certificate{ID: "c-" + a.ID, TraineeID: a.ID}, 0)
	e.revoked(certificates.Certificate{ID: "c-" + a.ID, TraineeID: a.ID}, 0) // delivered twice
	wantFunnel(t, "last one revoked", e.conversion(e.Admin, "").Funnel, Funnel{Trained: 2, Certified: 1})
	if f := e.conversion(e.officer, "").Funnel; f.Certified != 0 {
		t.Fatalf("township of the revoked trainee still counts %d certified", f.Certified)
	}
	e.recountOK()
}
