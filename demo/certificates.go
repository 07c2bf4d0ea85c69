package demo

import (
	"context"
	"time"
)

// certified is a trainee's first certificate: when their course ended.
type certified struct {
	Person  int
	Course  *course
	Ended   time.Time
	CertIDs []string
}

// loadCertificates has each finished course's trainer issue its
// certificates (to every eligible trainee: enough sessions attended),
// then the office revokes a few issued in error.
func (l *loader) loadCertificates(ctx context.Context) (err error) {
	type issued struct {
		Issued []struct {
			ID        string `json:"id"`
			Serial    string `json:"serial"`
			TraineeID string `json:"trainee_id"`
		} `json:"issued"`
		Skipped []struct {
			TraineeID string `json:"trainee_id"`
		} `json:"skipped"`
	}
	byTrainee := map[string]int{}
	for i, p := range l.people {
		byTrainee[p.ID] = i
	}
	l.certs = map[int]*certified{}
	var all []string
	n, skipped := 0, 0
	var finished []*course
	for _, c := range l.courses {
		if !c.Draft && c.Finished(l.now) {
			finished = append(finished, c)
		}
	}
	for k, c := range finished {
		var out issued
		if err := l.trainers[c.Trainer].must("颁发证书 "+c.Title, "POST", "/courses/"+c.ID+"/certificates", map[string]any{}, &out); err != nil {
			return err
		}
		end := c.Sessions[len(c.Sessions)-1].End
		for _, x := range out.Issued {
			i, ok := byTrainee[x.TraineeID]
			if !ok {
				continue
			}
			if l.certs[i] == nil {
				l.certs[i] = &certified{Person: i, Course: c, Ended: end}
			}
			l.certs[i].CertIDs = append(l.certs[i].CertIDs, x.ID)
			all = append(all, x.ID)
		}
		n += len(out.Issued)
		skipped += len(out.Skipped)
		l.progress("证书", k+1, len(finished))
	}
	// A few revoked: a name misspelt on the roster, a record entered twice.
	reasons := []string{"学员姓名登记有误，更正后重新颁发", "同一学员重复登记，撤销重复证书", "出勤记录核查有误"}
	r := l.rand("revocations")
	nr := l.scale(3, 1)
	if nr > len(all) {
		nr = len(all)
	}
	for k, x := range r.Perm(len(all))[:nr] {
		id := all[x]
		if err := l.admin.must("撤销证书", "POST", "/certificates/"+id+"/revoke", map[string]any{"reason": reasons[k%len(reasons)]}, nil); err != nil {
			return err
		}
		for pi, c := range l.certs {
			for j, x := range c.CertIDs {
				if x == id {
					c.CertIDs = append(c.CertIDs[:j], c.CertIDs[j+1:]...)
					if len(c.CertIDs) == 0 {
						delete(l.certs, pi)
					}
					break
				}
			}
		}
	}
	l.say("        %d 门课程结业，颁发证书 %d 张（%d 人出勤不足未发），撤销 %d 张", len(finished), n, skipped, nr)
	l.count("证书", n)
	return nil
}
