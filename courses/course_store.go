package courses

import (
	"context"
	"fmt"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/server"
	"nongxun/store"
)

// checkCategory adds a field error when the category is unknown.
func (s *Service) checkCategory(ctx context.Context, c *Course, f server.Fields) error {
	if c.Category == "" {
		return nil
	}
	ok, err := s.categoryExists(ctx, c.Category)
	if err != nil {
		return err
	}
	f.Add(!ok, "category", "未知类别："+c.Category)
	return nil
}

// CreateCourse validates and stores a new course made by p.
func (s *Service) CreateCourse(ctx context.Context, p *server.Principal, in CourseInput) (*Course, error) {
	c := &Course{ID: store.NewID(), TargetGroups: []string{}, CreatedBy: p.UserID, CreatedAt: s.now().UTC(),
		Makers: []string{p.UserID}, Trainers: []string{}}
	f := in.apply(c, true)
	c.Validate(f)
	if err := s.checkCategory(ctx, c, f); err != nil {
		return nil, err
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if err := s.courses.InsertOne(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCourse edits a course: admin any, a trainer the courses they made.
// Only the fields given are written ($set), so an edit never undoes a
// change of the course's trainers made meanwhile.
func (s *Service) UpdateCourse(ctx context.Context, p *server.Principal, id string, in CourseInput) (*Course, error) {
	c, err := s.Course(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.mayEditCourse(p, c) {
		return nil, server.Forbidden("只有课程的创建者或管理员可以修改课程")
	}
	was := c.Published
	f := in.apply(c, false)
	c.Validate(f)
	if err := s.checkCategory(ctx, c, f); err != nil {
		return nil, err
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	c.UpdatedAt = s.now().UTC()
	set := bson.M{"title": c.Title, "description": c.Description, "category": c.Category, "target_groups": c.TargetGroups,
		"hours": c.Hours, "pass_ratio": c.PassRatio, "published": c.Published, "updated_at": c.UpdatedAt}
	ok, err := s.courses.UpdateIf(ctx, id, store.Cond{}, bson.M{"$set": set})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.NotFound("课程不存在")
	}
	if was != c.Published {
		action := "course.unpublish"
		if c.Published {
			action = "course.publish"
		}
		s.d.Audit.Note(ctx, p, action, "course:"+id, map[string]any{"title": c.Title})
	}
	return c, nil
}

// maxTrainers bounds the trainers assigned to one course.
const maxTrainers = 100

// SetTrainers sets the trainers assigned to a course (its makers or the
// admin may); each must be an active trainer account.
func (s *Service) SetTrainers(ctx context.Context, p *server.Principal, id string, ids []string) (*Course, error) {
	c, err := s.Course(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.mayEditCourse(p, c) {
		return nil, server.Forbidden("只有课程的创建者或管理员可以指派讲师")
	}
	ids = dedup(ids)
	if len(ids) > maxTrainers {
		return nil, server.Invalid("指派的讲师过多", "trainer_ids", fmt.Sprintf("不超过 %d 人", maxTrainers))
	}
	f := server.Fields{}
	for _, tid := range ids {
		if !store.ValidID(tid) {
			f.Add(true, "trainer_ids", "讲师编号格式错误")
			break
		}
		if err := s.checkTrainer(ctx, f, tid); err != nil {
			return nil, err
		}
		if f["trainer_id"] != "" {
			f.Add(true, "trainer_ids", f["trainer_id"])
			delete(f, "trainer_id")
			break
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if _, err := s.courses.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"trainers": ids, "updated_at": s.now().UTC()}}); err != nil {
		return nil, err
	}
	s.d.Audit.Note(ctx, p, "course.trainers", "course:"+id, map[string]any{"before": c.Trainers, "after": ids})
	c.Trainers = ids
	return c, nil
}

func (s *Service) mayEditCourse(p *server.Principal, c *Course) bool {
	return p.Is(server.RoleAdmin) || p.Is(server.RoleTrainer) && c.IsMaker(p.UserID)
}

// seesAll reports whether p sees draft courses too (staff and auditor).
func seesAll(p *server.Principal) bool { return p.Is(server.Readers...) }

// CourseFilter narrows a course listing.
type CourseFilter struct {
	Category string
	// Published: "" any, "true" or "false".
	Published string
	// Mine keeps a trainer's own courses: made by them or assigned to them.
	Mine bool
}

// Courses lists the courses p may see, newest first.
func (s *Service) Courses(ctx context.Context, p *server.Principal, f CourseFilter) ([]Course, error) {
	q := bson.M{}
	if !seesAll(p) {
		q["published"] = true
	} else if f.Published != "" {
		q["published"] = f.Published == "true"
	}
	if f.Category != "" {
		q["category"] = f.Category
	}
	out := []Course{}
	if err := s.courses.Find(ctx, q, &out); err != nil {
		return nil, err
	}
	if f.Mine {
		kept := out[:0]
		for _, c := range out {
			if c.Teaches(p.UserID) {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	for i := range out {
		fixCourse(&out[i])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// visibleCourse returns the course when p may see it; a draft is "not found" to trainees.
func (s *Service) visibleCourse(ctx context.Context, p *server.Principal, id string) (*Course, error) {
	c, err := s.Course(ctx, id)
	if err != nil {
		return nil, err
	}
	if !c.Published && !seesAll(p) {
		return nil, server.NotFound("课程不存在")
	}
	return c, nil
}
