package incubation

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// Task is a scheduled follow-up of one trainee, due some days after
// their first finished course. _id is trainee/days, so scheduling twice
// (a certificate and the course's last session, or a re-delivered hook)
// makes one task.
type Task struct {
	ID          string     `bson:"_id" json:"id"`
	TraineeID   string     `bson:"trainee_id" json:"trainee_id"`
	TraineeName string     `bson:"trainee_name" json:"trainee_name"`
	Phone       string     `bson:"phone,omitempty" json:"phone,omitempty"`
	VillageID   string     `bson:"village_id,omitempty" json:"village_id,omitempty"`
	TownshipID  string     `bson:"township_id" json:"township_id"`
	CourseID    string     `bson:"course_id,omitempty" json:"course_id,omitempty"`
	Source      string     `bson:"source" json:"source"` // certificate | course_finished
	Days        int        `bson:"days" json:"days"`
	DueOn       string     `bson:"due_on" json:"due_on"` // YYYY-MM-DD, Asia/Shanghai
	AssigneeID  string     `bson:"assignee_id" json:"assignee_id"`
	Status      string     `bson:"status" json:"status"` // open | done
	Attempts    int        `bson:"attempts" json:"attempts"`
	DoneAt      *time.Time `bson:"done_at,omitempty" json:"done_at,omitempty"`
	FollowupID  string     `bson:"followup_id,omitempty" json:"followup_id,omitempty"`
	DueLists    []string   `bson:"due_lists,omitempty" json:"-"` // the two index documents it is listed in (due.go)
	CreatedAt   time.Time  `bson:"created_at" json:"created_at"`
	Overdue     bool       `bson:"-" json:"overdue"`
}

// Task states.
const (
	TaskOpen = "open"
	TaskDone = "done"
)

// Followup is one contact with a trainee after training.
type Followup struct {
	ID          string    `bson:"_id" json:"id"`
	TraineeID   string    `bson:"trainee_id" json:"trainee_id"`
	TraineeName string    `bson:"trainee_name" json:"trainee_name"`
	TownshipID  string    `bson:"township_id" json:"township_id"`
	Groups      []string  `bson:"groups,omitempty" json:"-"`
	TaskID      string    `bson:"task_id,omitempty" json:"task_id,omitempty"`
	ContactedAt time.Time `bson:"contacted_at" json:"contacted_at"`
	Method      string    `bson:"method" json:"method"`
	ShopOpened  bool      `bson:"shop_opened" json:"shop_opened"`
	Obstacles   []string  `bson:"obstacles,omitempty" json:"obstacles"`
	HelpWanted  []string  `bson:"help_wanted,omitempty" json:"help_wanted"`
	Note        string    `bson:"note,omitempty" json:"note"`
	Reached     bool      `bson:"reached" json:"reached"`
	ByID        string    `bson:"by_id" json:"by_id"`
	ByName      string    `bson:"by_name,omitempty" json:"by_name,omitempty"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
}

// Follow-up methods.
var Methods = map[string]string{"phone": "电话", "visit": "走访", "wechat": "微信"}

// NewFollowup is the POST /api/v1/followups body. Done (default true)
// closes the task the record answers; false keeps it open (e.g. not reached).
type NewFollowup struct {
	TraineeID   string   `json:"trainee_id"`
	ContactedAt string   `json:"contacted_at"`
	Method      string   `json:"method"`
	ShopOpened  bool     `json:"shop_opened"`
	Obstacles   []string `json:"obstacles"`
	HelpWanted  []string `json:"help_wanted"`
	Note        string   `json:"note"`
	TaskID      string   `json:"task_id"`
	Done        *bool    `json:"done"`
}

// Validate checks the fields and returns the contact time.
func (n *NewFollowup) Validate(now time.Time) (time.Time, error) {
	f := server.Fields{}
	n.TraineeID = strings.TrimSpace(n.TraineeID)
	f.Add(!store.ValidID(n.TraineeID), "trainee_id", "请选择学员")
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(n.ContactedAt))
	f.Add(n.ContactedAt == "", "contacted_at", "请填写联系时间")
	f.Add(n.ContactedAt != "" && err != nil, "contacted_at", "时间格式错误")
	f.Add(err == nil && at.After(now.Add(10*time.Minute)), "contacted_at", "联系时间不能晚于现在")
	f.Add(err == nil && at.Before(now.AddDate(-3, 0, 0)), "contacted_at", "联系时间过早")
	_, ok := Methods[n.Method]
	f.Add(!ok, "method", "联系方式应为 电话、走访 或 微信")
	f.Add(utf8.RuneCountInString(n.Note) > 2000, "note", "备注不能超过 2000 字")
	f.Add(!shortList(&n.Obstacles), "obstacles", "最多 10 项，每项不超过 50 字")
	f.Add(!shortList(&n.HelpWanted), "help_wanted", "最多 10 项，每项不超过 50 字")
	f.Add(n.TaskID != "" && !validTaskID(n.TaskID), "task_id", "任务编号格式错误")
	if err := f.Err(); err != nil {
		return time.Time{}, err
	}
	return at.UTC(), nil
}

// shortList trims a list of short labels in place; false when too long.
func shortList(l *[]string) bool {
	out := (*l)[:0]
	for _, x := range *l {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		if utf8.RuneCountInString(x) > 50 {
			return false
		}
		out = append(out, x)
	}
	*l = out
	return len(out) <= 10
}

func validTaskID(id string) bool {
	tr, days, ok := strings.Cut(id, "/")
	if !ok || !store.ValidID(tr) {
		return false
	}
	var n int
	_, err := fmt.Sscanf(days, "%d", &n)
	return err == nil && n > 0 && fmt.Sprint(n) == days
}

// Schedule creates the follow-up tasks of a trainee, due the configured
// days after at; tasks already there are left as they are (a task that
// exists but is missing from its lists, after a failed attempt, is listed
// again). It returns how many were created. The tasks and their index
// entries are written as one unit: on a failure nothing is left half done,
// and the caller (an event handler) is retried.
func (s *Service) Schedule(ctx context.Context, traineeID, courseID, source string, at time.Time) (int, error) {
	if s.d.Trainees == nil {
		return 0, fmt.Errorf("incubation: no trainee source")
	}
	t, err := s.d.Trainees.Trainee(ctx, traineeID)
	if err != nil {
		return 0, err
	}
	return s.scheduleFor(ctx, t, courseID, source, at)
}

func (s *Service) scheduleFor(ctx context.Context, t *Trainee, courseID, source string, at time.Time) (int, error) {
	return s.scheduleMany(ctx, []schedule{{t: t, courseID: courseID, source: source, at: at}})
}

// schedule is one trainee's follow-ups to schedule.
type schedule struct {
	t        *Trainee
	courseID string
	source   string
	at       time.Time
}

// scheduleMany creates the follow-up tasks of several trainees (one each:
// the callers pass each trainee once) in one unit: one insertMany of the
// tasks, one bulk write of the due lists' parts and one of their heads,
// whatever the number of trainees. Tasks already there are left as they
// are and listed again when open (idempotent: a retried batch, or a
// trainee scheduled by a certificate and by their course's end). It
// returns how many tasks it created.
func (s *Service) scheduleMany(ctx context.Context, reqs []schedule) (int, error) {
	if len(reqs) == 0 {
		return 0, nil
	}
	now := s.now().Truncate(time.Millisecond) // as BSON keeps it, so the undo's condition matches
	assignees := map[string]string{}
	per := len(s.cfg.FollowupDays)
	list := make([]Task, 0, per*len(reqs))
	for _, r := range reqs {
		a, ok := assignees[r.courseID]
		if !ok {
			a = s.assignee(ctx, r.courseID)
			assignees[r.courseID] = a
		}
		t := r.t
		for _, days := range s.cfg.FollowupDays {
			list = append(list, Task{ID: taskID(t.ID, days), TraineeID: t.ID, TraineeName: t.Name, Phone: t.Phone,
				VillageID: t.RegionID, TownshipID: t.TownshipID, CourseID: r.courseID, Source: r.source, Days: days,
				DueOn: clock.Day(r.at.AddDate(0, 0, days)), AssigneeID: a, Status: TaskOpen, CreatedAt: now})
		}
	}
	if err := s.placeMany(ctx, list, per); err != nil {
		return 0, err
	}
	docs := make([]any, len(list))
	for i := range list {
		docs[i] = list[i]
	}
	created := 0
	err := s.st.Unit(ctx, "followup.schedule", func(u *store.Unit) error {
		n, err := s.tasks.InsertMany(ctx, docs)
		dups, derr := store.DupIndexes(err)
		if derr != nil {
			// an insert that failed otherwise may have written some: take back those written now
			u.OnFail(fmt.Sprintf("%d tasks", len(list)), func(ctx context.Context) error { return s.dropNewTasks(ctx, list, now) })
			return derr
		}
		created = n
		var fresh, dup []Task
		for i, task := range list {
			if dups[i] {
				dup = append(dup, task)
			} else {
				fresh = append(fresh, task)
			}
		}
		if len(fresh) > 0 {
			u.OnFail(fmt.Sprintf("%d tasks", len(fresh)), func(ctx context.Context) error { return s.dropNewTasks(ctx, fresh, now) })
		}
		// already there: listed again when open (idempotent), in case a
		// failed attempt left them out of their lists
		cur := make([]Task, len(dup))
		fns := make([]func() error, len(dup))
		for i := range dup {
			fns[i] = func() error { return s.tasks.Get(ctx, dup[i].ID, &cur[i]) }
		}
		if err := par(fns); err != nil {
			return err
		}
		var again []Task
		for _, c := range cur {
			if c.Status == TaskOpen {
				again = append(again, c)
			}
		}
		return s.indexMany(ctx, u, fresh, again)
	})
	return created, err
}

// dropNewTasks deletes the tasks of list this scheduling made (created at
// now), the undo of a failed scheduling: each by _id, eight at a time.
func (s *Service) dropNewTasks(ctx context.Context, list []Task, now time.Time) error {
	fns := make([]func() error, len(list))
	for i := range list {
		fns[i] = func() error {
			_, err := s.tasks.DeleteIf(ctx, list[i].ID, store.Cond{"created_at": now, "status": TaskOpen})
			return err
		}
	}
	return par(fns)
}

func taskID(traineeID string, days int) string { return fmt.Sprintf("%s/%d", traineeID, days) }

// assignee is the trainer of the course's last session when tasks go to
// trainers and one is known, else "" (the township's officers).
func (s *Service) assignee(ctx context.Context, courseID string) string {
	if s.d.Assignees == nil || s.cfg.AssignTo != "trainer" || courseID == "" {
		return ""
	}
	return s.d.Assignees.CourseTrainer(ctx, courseID)
}

// RecordFollowup records a contact, closes the task it answers and counts
// the trainee as followed up, as one unit of work.
func (s *Service) RecordFollowup(ctx context.Context, p *server.Principal, n NewFollowup) (*Followup, error) {
	at, err := n.Validate(s.now())
	if err != nil {
		return nil, err
	}
	t, err := s.trainee(ctx, n.TraineeID)
	if err != nil {
		return nil, err
	}
	if !p.SeesTownship(t.TownshipID) {
		return nil, server.Forbidden("该学员不在您负责的乡镇")
	}
	mine := s.traineeTasks(ctx, t.ID)
	if p.Role == server.RoleTrainer {
		// A trainer follows up the trainees whose tasks were given to them.
		ok := false
		for _, x := range mine {
			ok = ok || x.AssigneeID == p.UserID
		}
		if !ok {
			return nil, server.Forbidden("该学员的回访未分配给您")
		}
	}
	task, err := s.taskFor(ctx, t.ID, n.TaskID, mine)
	if err != nil {
		return nil, err
	}
	done := n.Done == nil || *n.Done
	fu := &Followup{ID: store.NewID(), TraineeID: t.ID, TraineeName: t.Name, TownshipID: t.TownshipID, Groups: t.Groups,
		ContactedAt: at, Method: n.Method, ShopOpened: n.ShopOpened, Obstacles: n.Obstacles, HelpWanted: n.HelpWanted,
		Note: strings.TrimSpace(n.Note), Reached: done, ByID: p.UserID, ByName: p.Name, CreatedAt: s.now()}
	if task != nil {
		fu.TaskID = task.ID
	}
	err = s.st.Unit(ctx, "followup.record", func(u *store.Unit) error {
		if err := u.Do(ctx, "follow-up "+fu.ID, func(ctx context.Context) error { return s.followups.InsertOne(ctx, fu) },
			func(ctx context.Context) error {
				_, err := s.followups.DeleteOne(ctx, bson.M{"_id": fu.ID})
				return err
			}); err != nil {
			return err
		}
		if task != nil {
			if err := s.answerTask(ctx, u, task, fu.ID, done); err != nil {
				return err
			}
		}
		month := monthDoc(clock.Month(at), t.TownshipID)
		if err := s.incUndo(ctx, u, s.counters, month, map[string]int64{"followups": 1}); err != nil {
			return err
		}
		_, err := s.count(ctx, u, StepFollowedUp, whoOf(t))
		return err
	})
	if err != nil {
		return nil, err
	}
	return fu, nil
}

// answerTask records an attempt on an open task and, when done, closes it
// and takes it off the due lists. The update is conditional on the task
// being open with the attempts read, so two answers never both close it.
func (s *Service) answerTask(ctx context.Context, u *store.Unit, task *Task, followupID string, done bool) error {
	upd := bson.M{"$inc": bson.M{"attempts": 1}}
	back := bson.M{"$inc": bson.M{"attempts": -1}}
	if done {
		upd["$set"] = bson.M{"status": TaskDone, "done_at": s.now(), "followup_id": followupID}
		back["$set"] = bson.M{"status": TaskOpen}
		back["$unset"] = bson.M{"done_at": "", "followup_id": ""}
	}
	after := *task
	after.Attempts++
	ok, err := s.tasks.UpdateIf(ctx, task.ID, store.Cond{"status": TaskOpen, "attempts": task.Attempts}, upd)
	if err != nil {
		return err
	}
	if !ok {
		return server.Conflict("该跟踪任务刚被他人处理，请刷新后重试")
	}
	after.Status = TaskDone
	if !done {
		after.Status = TaskOpen
	}
	u.OnFail("task "+task.ID, func(ctx context.Context) error {
		ok, err := s.tasks.UpdateIf(ctx, task.ID, store.Cond{"status": after.Status, "attempts": after.Attempts}, back)
		return must(ok, err, "task "+task.ID)
	})
	if done {
		return s.unindexTask(ctx, u, task)
	}
	if err := s.indexTasks(ctx, u, []Task{after}, false); err != nil {
		return err
	}
	// the refreshed entries show the attempt: a later failure puts back
	// what they showed before
	u.OnFail("due entries of "+task.ID, func(ctx context.Context) error {
		return s.indexMany(ctx, nil, nil, []Task{*task})
	})
	return nil
}

// taskFor finds the task a follow-up answers: the one named, or else the
// trainee's earliest open task already due (or due soon); nil when none.
func (s *Service) taskFor(ctx context.Context, traineeID, taskID string, mine []Task) (*Task, error) {
	if taskID != "" {
		var t Task
		if err := s.tasks.Get(ctx, taskID, &t); err != nil {
			if store.IsNotFound(err) {
				return nil, server.Invalid("跟踪任务不存在", "task_id", "不存在")
			}
			return nil, err
		}
		if t.TraineeID != traineeID {
			return nil, server.Invalid("该任务不属于此学员", "task_id", "不属于此学员")
		}
		if t.Status != TaskOpen {
			return nil, server.Conflict("该跟踪任务已完成")
		}
		return &t, nil
	}
	limit := clock.Day(s.now().AddDate(0, 0, s.cfg.DueSoonDays))
	var best *Task
	for _, t := range mine {
		if t.Status == TaskOpen && t.DueOn <= limit && (best == nil || t.DueOn < best.DueOn) {
			c := t
			best = &c
		}
	}
	return best, nil
}

// traineeTasks reads a trainee's tasks by their natural ids.
func (s *Service) traineeTasks(ctx context.Context, traineeID string) []Task {
	out := make([]Task, len(s.cfg.FollowupDays))
	found := make([]bool, len(out))
	fns := make([]func() error, len(out))
	for i, days := range s.cfg.FollowupDays {
		fns[i] = func() error {
			found[i] = s.tasks.Get(ctx, taskID(traineeID, days), &out[i]) == nil
			return nil
		}
	}
	_ = par(fns)
	list := out[:0]
	for i := range out {
		if found[i] {
			list = append(list, out[i])
		}
	}
	return list
}

// trainee looks a trainee up; an unknown one is an invalid trainee_id.
func (s *Service) trainee(ctx context.Context, id string) (*Trainee, error) {
	if s.d.Trainees == nil {
		return nil, server.Invalid("学员不存在", "trainee_id", "不存在")
	}
	t, err := s.d.Trainees.Trainee(ctx, id)
	if err != nil {
		if e := server.ToError(err); e.Code == server.CodeNotFound || store.IsNotFound(err) {
			return nil, server.Invalid("学员不存在", "trainee_id", "不存在")
		}
		return nil, err
	}
	return t, nil
}

// TaskQuery selects follow-up tasks.
type TaskQuery struct {
	AssigneeID string // "" = anyone
	PoolOf     string // with AssigneeID: also the unassigned tasks of this township (an officer's own list)
	TownshipID string // "" = every township
	TraineeID  string
	Status     string // open (default), done, all
	Due        string // soon (default: overdue and due within DueSoonDays), overdue, all
	Limit      int64
}

// Tasks lists follow-up tasks by due date. Open tasks come from the due
// lists (due.go): an assignee's (for an officer also their township's
// pool), a township's, or every township's; a trainee's tasks are read by
// their natural ids; only done/all lists of many trainees query the tasks.
func (s *Service) Tasks(ctx context.Context, q TaskQuery) ([]Task, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 500
	}
	today := clock.Day(s.now())
	soon := clock.Day(s.now().AddDate(0, 0, s.cfg.DueSoonDays))
	var list []Task
	switch {
	case q.TraineeID != "":
		list = s.traineeTasks(ctx, q.TraineeID)
	case q.Status == "" || q.Status == TaskOpen:
		var keys []string
		switch {
		case q.AssigneeID != "":
			keys = []string{duePerUser + q.AssigneeID}
			if q.PoolOf != "" {
				keys = append(keys, duePerUser+poolPrefix+tk(q.PoolOf))
			}
		case q.TownshipID != "":
			keys = []string{twpKey(q.TownshipID)}
		default:
			keys = []string{twpKey("")}
			if s.d.Regions != nil {
				for _, t := range s.d.Regions.Townships(ctx) {
					keys = append(keys, twpKey(t.ID))
				}
			}
		}
		l, err := s.openTasks(ctx, keys)
		if err != nil {
			return nil, err
		}
		list = l
	default:
		f := bson.M{}
		if q.AssigneeID != "" {
			f["assignee_id"] = q.AssigneeID
		}
		if q.TownshipID != "" {
			f["township_id"] = q.TownshipID
		}
		if err := s.tasks.Find(ctx, f, &list); err != nil {
			return nil, err
		}
	}
	out := []Task{}
	for _, t := range list {
		mine := q.AssigneeID == "" || t.AssigneeID == q.AssigneeID || (q.PoolOf != "" && t.AssigneeID == "" && t.TownshipID == q.PoolOf)
		switch {
		case q.Status != "all" && q.Status != "" && t.Status != q.Status,
			(q.Status == "" || q.Status == TaskOpen) && t.Status != TaskOpen,
			!mine,
			q.TownshipID != "" && t.TownshipID != q.TownshipID,
			(q.Due == "" || q.Due == "soon") && t.DueOn > soon,
			q.Due == "overdue" && t.DueOn >= today:
			continue
		}
		t.Overdue = t.Status == TaskOpen && t.DueOn < today
		out = append(out, t)
	}
	sortTasks(out)
	if int64(len(out)) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Followups lists the follow-up records of a trainee, newest first.
func (s *Service) Followups(ctx context.Context, traineeID string) ([]Followup, error) {
	out := []Followup{}
	err := s.followups.Find(ctx, bson.M{"trainee_id": traineeID}, &out, options.Find().SetSort(bson.D{{Key: "contacted_at", Value: -1}}))
	return out, err
}
