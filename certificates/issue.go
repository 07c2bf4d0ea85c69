package certificates

import (
	"context"
	"fmt"
	"strings"

	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Issued is one certificate a request issued.
type Issued struct {
	ID        string `json:"id"`
	Serial    string `json:"serial"`
	TraineeID string `json:"trainee_id"`
	// MissingGlyphs lists characters of the name or course the PDF font
	// lacks; the certificate is issued, and they print as empty boxes.
	MissingGlyphs string `json:"missing_glyphs,omitempty"`
}

// Skipped is one trainee a request did not issue to, and why.
type Skipped struct {
	TraineeID string `json:"trainee_id"`
	Reason    string `json:"reason"`
}

// IssueResult is the body of POST /courses/:id/certificates.
type IssueResult struct {
	Issued  []Issued  `json:"issued"`
	Skipped []Skipped `json:"skipped"`
}

// maxIssue bounds one request's explicit trainee list.
const maxIssue = 20000

// Issue issues the course's certificate to the listed trainees, or, when
// traineeIDs is empty, to every eligible enrolled trainee. Trainees who
// already hold it, or are not eligible, are skipped with the reason.
// An unknown or unenrolled trainee in the list refuses the whole request.
func (s *Service) Issue(ctx context.Context, p *server.Principal, courseID string, traineeIDs []string) (*IssueResult, error) {
	courseID = strings.Clone(courseID) // may alias fiber's request buffer
	course, err := s.d.Courses.Course(ctx, courseID)
	if err != nil {
		return nil, err
	}
	if !p.Is(server.RoleAdmin) && !(p.Is(server.RoleTrainer) && course.Teaches(p.UserID)) {
		return nil, server.Forbidden("只有课程的创建者、指派的讲师或管理员可以为该课程颁发证书")
	}
	sessions, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return nil, err
	}
	ids, err := s.candidates(ctx, courseID, traineeIDs)
	if err != nil {
		return nil, err
	}
	people, err := s.d.Roster.People(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := people[id]; !ok && len(traineeIDs) > 0 {
			return nil, server.NotFound("学员不存在：" + id)
		}
	}
	f, err := s.facts(ctx, course, sessions)
	if err != nil {
		return nil, err
	}
	issued, err := s.issuedFor(ctx, courseID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	res := &IssueResult{Issued: []Issued{}, Skipped: []Skipped{}}
	var docs []Certificate
	for _, id := range ids {
		if c, ok := issued[id]; ok {
			res.Skipped = append(res.Skipped, Skipped{id, "已颁发证书（" + c.Serial + "）"})
			continue
		}
		per, ok := people[id]
		if !ok {
			res.Skipped = append(res.Skipped, Skipped{id, "学员档案不存在"})
			continue
		}
		st := f.judge(id)
		if !st.Eligible {
			res.Skipped = append(res.Skipped, Skipped{id, st.Reason})
			continue
		}
		docs = append(docs, Certificate{
			ID: certID(courseID, id), Code: server.RandomToken(10), TraineeID: id, CourseID: courseID,
			IssuedAt: now, Status: StatusValid, TownshipID: per.TownshipID,
			Name: per.Name, CourseTitle: course.Title, Hours: course.Hours, From: f.from, To: f.to,
			Attended: st.Attended, Held: st.Held, IssuedBy: p.UserID,
			MissingGlyphs: s.missingGlyphs(per.Name + course.Title),
		})
	}
	if len(docs) == 0 {
		return res, nil
	}
	stored, err := s.insertNumbered(ctx, now.In(clock.Shanghai).Year(), docs)
	if len(stored) > 0 {
		s.d.Audit.Note(ctx, p, "certificates.issue", courseID, map[string]any{
			"count": len(stored), "first": stored[0].Serial, "last": stored[len(stored)-1].Serial})
	}
	if err != nil {
		return nil, err
	}
	got := map[string]bool{}
	for _, c := range stored {
		got[c.TraineeID] = true
		res.Issued = append(res.Issued, Issued{ID: c.ID, Serial: c.Serial, TraineeID: c.TraineeID, MissingGlyphs: c.MissingGlyphs})
	}
	for _, c := range docs {
		if !got[c.TraineeID] {
			res.Skipped = append(res.Skipped, Skipped{c.TraineeID, "已颁发证书"})
		}
	}
	return res, nil
}

// candidates checks an explicit list (well-formed, unique, enrolled) or
// returns every enrolled trainee.
func (s *Service) candidates(ctx context.Context, courseID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return s.d.Roster.Enrolled(ctx, courseID)
	}
	if len(ids) > maxIssue {
		return nil, server.Invalid(fmt.Sprintf("一次最多为 %d 名学员颁证", maxIssue), "trainee_ids", "数量过多")
	}
	enrolled, err := s.enrolledSet(ctx, courseID)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !store.ValidID(id) {
			return nil, server.Invalid("学员编号格式错误："+id, "trainee_ids", "应为 24 位十六进制编号")
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if !enrolled[id] {
			people, err := s.d.Roster.People(ctx, []string{id})
			if err != nil {
				return nil, err
			}
			if _, ok := people[id]; !ok {
				return nil, server.NotFound("学员不存在：" + id)
			}
			return nil, server.Invalid("学员未报名该课程："+people[id].Name, "trainee_ids", "未报名该课程")
		}
		out = append(out, id)
	}
	return out, nil
}
