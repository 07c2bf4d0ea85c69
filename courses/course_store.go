package courses

import (
	"context"
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
	c := &Course{ID: store.NewID(), TargetGroups: []string{}, CreatedBy: p.UserID, CreatedAt: s.now().UTC()}
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
func (s *Service) UpdateCourse(ctx context.Context, p *server.Principal, id string, in CourseInput) (*Course, error) {
	var out *Course
	err := s.st.Lane(ctx, func(ctx context.Context) error {
		c, err := s.Course(ctx, id)
		if err != nil {
			return err
		}
		if !s.mayEditCourse(p, c) {
			return server.Forbidden("只有课程的创建者或管理员可以修改课程")
		}
		was := c.Published
		f := in.apply(c, false)
		c.Validate(f)
		if err := s.checkCategory(ctx, c, f); err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		c.UpdatedAt = s.now().UTC()
		if _, err := s.courses.ReplaceOne(ctx, bson.M{"_id": id}, c); err != nil {
			return err
		}
		if was != c.Published && s.d.Audit != nil {
			action := "course.unpublish"
			if c.Published {
				action = "course.publish"
			}
			_ = s.d.Audit.Record(ctx, p, action, "course:"+id, map[string]any{"title": c.Title})
		}
		out = c
		return nil
	})
	return out, err
}

func (s *Service) mayEditCourse(p *server.Principal, c *Course) bool {
	return p.Is(server.RoleAdmin) || p.Is(server.RoleTrainer) && c.CreatedBy == p.UserID
}

// seesAll reports whether p sees draft courses too (staff and auditor).
func seesAll(p *server.Principal) bool { return p.Is(server.Readers...) }

// CourseFilter narrows a course listing.
type CourseFilter struct {
	Category string
	// Published: "" any, "true" or "false".
	Published string
	// Mine keeps a trainer's own courses: made by them or with a session they hold.
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
		mine := map[string]bool{}
		ss, err := s.SessionsByTrainer(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		for _, x := range ss {
			mine[x.CourseID] = true
		}
		kept := out[:0]
		for _, c := range out {
			if c.CreatedBy == p.UserID || mine[c.ID] {
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
