package certificates

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/courses"
	"nongxun/server"
	"nongxun/store"
)

// Rule is a course's certificate rule beyond attendance.
type Rule struct {
	CourseID           string    `bson:"_id" json:"course_id"`
	RequiresAssessment bool      `bson:"requires_assessment" json:"requires_assessment"`
	UpdatedBy          string    `bson:"updated_by,omitempty" json:"updated_by,omitempty"`
	UpdatedAt          time.Time `bson:"updated_at,omitempty" json:"updated_at,omitempty"`
}

// Assessment is the result an admin recorded for one trainee in one course.
type Assessment struct {
	ID         string    `bson:"_id" json:"-"` // courseID/traineeID
	CourseID   string    `bson:"course_id" json:"course_id"`
	TraineeID  string    `bson:"trainee_id" json:"trainee_id"`
	Passed     bool      `bson:"passed" json:"passed"`
	Note       string    `bson:"note,omitempty" json:"note,omitempty"`
	RecordedBy string    `bson:"recorded_by" json:"recorded_by"`
	RecordedAt time.Time `bson:"recorded_at" json:"recorded_at"`
}

// Standing is one trainee's position towards a course's certificate.
type Standing struct {
	TraineeID     string `json:"trainee_id"`
	Name          string `json:"name"`
	TownshipID    string `json:"township_id,omitempty"`
	Attended      int    `json:"attended"`
	Held          int    `json:"held"`
	Needed        int    `json:"needed"`
	Assessment    string `json:"assessment,omitempty"` // passed, failed, or "" when none recorded
	Eligible      bool   `json:"eligible"`
	Reason        string `json:"reason,omitempty"`
	CertificateID string `json:"certificate_id,omitempty"`
	Serial        string `json:"serial,omitempty"`
}

// courseFacts is what eligibility is judged on, read once per request.
type courseFacts struct {
	course   *courses.Course
	held     map[string]bool // sessions that have started and are not cancelled
	from, to string
	needed   int
	rule     Rule
	passed   map[string]bool // trainee → assessment result, when recorded
	present  map[string][]string
}

// facts reads the course, its sessions, its rule, assessments and attendance.
func (s *Service) facts(ctx context.Context, course *courses.Course, sessions []courses.Session) (*courseFacts, error) {
	f := &courseFacts{course: course, held: map[string]bool{}, passed: map[string]bool{}}
	now := s.now()
	var first, last time.Time
	for _, x := range sessions {
		if x.Cancelled || x.StartsAt.After(now) {
			continue
		}
		f.held[x.ID] = true
		if first.IsZero() || x.StartsAt.Before(first) {
			first = x.StartsAt
		}
		if x.StartsAt.After(last) {
			last = x.StartsAt
		}
	}
	if len(f.held) > 0 {
		f.from, f.to = day(first), day(last)
	}
	f.needed = int(math.Ceil(course.PassRatio*float64(len(f.held)) - 1e-9))
	var err error
	if f.rule, err = s.Rule(ctx, course.ID); err != nil {
		return nil, err
	}
	var as []Assessment
	if err := s.assessments.Find(ctx, bson.M{"course_id": course.ID}, &as); err != nil {
		return nil, err
	}
	for _, a := range as {
		f.passed[a.TraineeID] = a.Passed
	}
	if f.present, err = s.d.Roster.Present(ctx, course.ID); err != nil {
		return nil, err
	}
	return f, nil
}

// judge decides one trainee's eligibility.
func (f *courseFacts) judge(traineeID string) Standing {
	st := Standing{TraineeID: traineeID, Held: len(f.held), Needed: f.needed}
	seen := map[string]bool{}
	for _, sid := range f.present[traineeID] {
		if f.held[sid] && !seen[sid] {
			seen[sid] = true
			st.Attended++
		}
	}
	if p, ok := f.passed[traineeID]; ok {
		st.Assessment = map[bool]string{true: "passed", false: "failed"}[p]
	}
	var why []string
	switch {
	case st.Held == 0:
		why = append(why, "课程尚无已开课的班次")
	case st.Attended < f.needed:
		why = append(why, fmt.Sprintf("出勤 %d/%d，未达 %s", st.Attended, st.Held, percent(f.course.PassRatio)))
	}
	if f.rule.RequiresAssessment {
		switch st.Assessment {
		case "":
			why = append(why, "未录入考核结果")
		case "failed":
			why = append(why, "考核未通过")
		}
	}
	st.Eligible = len(why) == 0
	st.Reason = strings.Join(why, "；")
	return st
}

// Rule returns the course's certificate rule (the zero rule when none was set).
func (s *Service) Rule(ctx context.Context, courseID string) (Rule, error) {
	r := Rule{CourseID: courseID}
	err := s.rules.Get(ctx, courseID, &r)
	if err != nil && !store.IsNotFound(err) {
		return r, err
	}
	return r, nil
}

// SetRule sets whether the course requires a passed assessment.
func (s *Service) SetRule(ctx context.Context, p *server.Principal, courseID string, requires bool) (*Rule, error) {
	if _, err := s.d.Courses.Course(ctx, courseID); err != nil {
		return nil, err
	}
	r := Rule{CourseID: courseID, RequiresAssessment: requires, UpdatedBy: p.UserID, UpdatedAt: s.now().UTC()}
	if _, err := s.rules.ReplaceOne(ctx, bson.M{"_id": courseID}, r, options.Replace().SetUpsert(true)); err != nil {
		return nil, err
	}
	s.d.Audit.Note(ctx, p, "certificates.rule", courseID, map[string]any{"requires_assessment": requires})
	return &r, nil
}

// AssessmentInput is one result to record.
type AssessmentInput struct {
	TraineeID string `json:"trainee_id"`
	Passed    *bool  `json:"passed"`
	Note      string `json:"note"`
}

// RecordAssessments records pass/fail results for enrolled trainees of a
// course; a later result for the same trainee replaces the earlier one.
// Every entry is checked before anything is written.
func (s *Service) RecordAssessments(ctx context.Context, p *server.Principal, courseID string, in []AssessmentInput) (int, error) {
	if _, err := s.d.Courses.Course(ctx, courseID); err != nil {
		return 0, err
	}
	if len(in) == 0 || len(in) > 5000 {
		return 0, server.Invalid("请提供 1 到 5000 条考核结果", "results", "数量不对")
	}
	enrolled, err := s.enrolledSet(ctx, courseID)
	if err != nil {
		return 0, err
	}
	now := s.now().UTC()
	docs := make([]Assessment, 0, len(in))
	for i, a := range in {
		field := fmt.Sprintf("results[%d]", i)
		a.Note = strings.TrimSpace(a.Note)
		switch {
		case !store.ValidID(a.TraineeID):
			return 0, server.Invalid("学员编号格式错误", field, "trainee_id 应为 24 位十六进制编号")
		case a.Passed == nil:
			return 0, server.Invalid("请填写是否通过", field, "缺少 passed")
		case len([]rune(a.Note)) > 200:
			return 0, server.Invalid("备注过长", field, "备注 200 字以内")
		case !enrolled[a.TraineeID]:
			return 0, server.Invalid("学员未报名该课程", field, "未报名")
		}
		docs = append(docs, Assessment{ID: courseID + "/" + a.TraineeID, CourseID: courseID, TraineeID: a.TraineeID,
			Passed: *a.Passed, Note: a.Note, RecordedBy: p.UserID, RecordedAt: now})
	}
	for _, d := range docs {
		if _, err := s.assessments.ReplaceOne(ctx, bson.M{"_id": d.ID}, d, options.Replace().SetUpsert(true)); err != nil {
			return 0, err
		}
	}
	s.d.Audit.Note(ctx, p, "certificates.assessment", courseID, map[string]any{"count": len(docs)})
	return len(docs), nil
}

// Assessments lists a course's recorded results.
func (s *Service) Assessments(ctx context.Context, courseID string) ([]Assessment, error) {
	out := []Assessment{}
	err := s.assessments.Find(ctx, bson.M{"course_id": courseID}, &out)
	return out, err
}

func (s *Service) enrolledSet(ctx context.Context, courseID string) (map[string]bool, error) {
	ids, err := s.d.Roster.Enrolled(ctx, courseID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m, nil
}

// Standings judges every enrolled trainee of a course (officers: of their
// township), with the certificate already issued, if any.
func (s *Service) Standings(ctx context.Context, p *server.Principal, courseID string) ([]Standing, error) {
	course, err := s.d.Courses.Course(ctx, courseID)
	if err != nil {
		return nil, err
	}
	sessions, err := s.d.Courses.Sessions(ctx, courseID)
	if err != nil {
		return nil, err
	}
	f, err := s.facts(ctx, course, sessions)
	if err != nil {
		return nil, err
	}
	ids, err := s.d.Roster.Enrolled(ctx, courseID)
	if err != nil {
		return nil, err
	}
	people, err := s.d.Roster.People(ctx, ids)
	if err != nil {
		return nil, err
	}
	issued, err := s.issuedFor(ctx, courseID)
	if err != nil {
		return nil, err
	}
	out := make([]Standing, 0, len(ids))
	for _, id := range ids {
		per := people[id]
		if !p.SeesTownship(per.TownshipID) {
			continue
		}
		st := f.judge(id)
		st.Name, st.TownshipID = per.Name, per.TownshipID
		if c, ok := issued[id]; ok {
			st.CertificateID, st.Serial = c.ID, c.Serial
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// issuedFor maps trainee → the course's certificate (id and serial only),
// read from the course's index documents.
func (s *Service) issuedFor(ctx context.Context, courseID string) (map[string]Certificate, error) {
	es, err := s.courseEntries(ctx, courseID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Certificate, len(es))
	for _, e := range es {
		if e.CertID == certID(courseID, e.TraineeID) { // a certificate merged in keeps its own key
			m[e.TraineeID] = Certificate{ID: e.CertID, Serial: e.Serial, TraineeID: e.TraineeID, CourseID: courseID, TownshipID: e.TownshipID}
		}
	}
	return m, nil
}
