package enrollment

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// shanghai is the zone months are counted in.
var shanghai = time.FixedZone("CST", 8*3600)

func monthOf(t time.Time) string { return t.In(shanghai).Format("2006-01") }

// traineeTTL bounds how stale a cached trainee may be when other app
// nodes write (MongoDB); this node's own writes update the cache at once.
const traineeTTL = 2 * time.Minute

type cachedTrainee struct {
	t  Trainee
	at time.Time
}

// traineeCache keeps trainees read on the check-in path (by id and by user).
type traineeCache struct {
	mu     sync.RWMutex
	byID   map[string]cachedTrainee
	byUser map[string]string
}

func newTraineeCache() *traineeCache {
	return &traineeCache{byID: map[string]cachedTrainee{}, byUser: map[string]string{}}
}

func (c *traineeCache) put(t Trainee) {
	c.mu.Lock()
	if len(c.byID) > 200000 {
		c.byID, c.byUser = map[string]cachedTrainee{}, map[string]string{}
	}
	c.byID[t.ID] = cachedTrainee{t: t, at: time.Now()}
	if t.UserID != "" {
		c.byUser[t.UserID] = t.ID
	}
	c.mu.Unlock()
}

func (c *traineeCache) get(id string) (Trainee, bool) {
	c.mu.RLock()
	e, ok := c.byID[id]
	c.mu.RUnlock()
	if !ok || time.Since(e.at) > traineeTTL {
		return Trainee{}, false
	}
	return e.t, true
}

func (c *traineeCache) user(uid string) (Trainee, bool) {
	c.mu.RLock()
	id, ok := c.byUser[uid]
	c.mu.RUnlock()
	if !ok {
		return Trainee{}, false
	}
	return c.get(id)
}

func fixTrainee(t *Trainee) {
	if t.Groups == nil {
		t.Groups = []string{}
	}
	t.CreatedAt = t.CreatedAt.UTC()
}

// Trainee returns one trainee; server.NotFound when absent.
func (s *Service) Trainee(ctx context.Context, id string) (*Trainee, error) {
	if t, ok := s.cache.get(id); ok {
		return &t, nil
	}
	var t Trainee
	if err := s.trainees.FindOne(ctx, bson.M{"_id": id}, &t); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("学员不存在")
		}
		return nil, err
	}
	fixTrainee(&t)
	s.cache.put(t)
	return &t, nil
}

// TraineeByUser returns the trainee whose account is userID; server.NotFound when none.
func (s *Service) TraineeByUser(ctx context.Context, userID string) (*Trainee, error) {
	if t, ok := s.cache.user(userID); ok {
		return &t, nil
	}
	var t Trainee
	if err := s.trainees.FindOne(ctx, bson.M{"user_id": userID}, &t); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("当前账号没有学员档案，请联系培训讲师登记")
		}
		return nil, err
	}
	fixTrainee(&t)
	s.cache.put(t)
	return &t, nil
}

// Trainees returns the trainees among ids, by id; unknown ids are left out.
func (s *Service) Trainees(ctx context.Context, ids []string) (map[string]Trainee, error) {
	out := map[string]Trainee{}
	var miss []string
	for _, id := range ids {
		if t, ok := s.cache.get(id); ok {
			out[id] = t
		} else {
			miss = append(miss, id)
		}
	}
	if len(miss) > traineeBatch {
		// Every $in query scans the whole collection on the embedded engine:
		// for a long list, one scan that keeps the wanted ones is cheaper.
		return out, s.scanTrainees(ctx, miss, out)
	}
	for len(miss) > 0 {
		n := min(len(miss), traineeBatch)
		var list []Trainee
		if err := s.trainees.Find(ctx, bson.M{"_id": bson.M{"$in": miss[:n]}}, &list); err != nil {
			return nil, err
		}
		for _, t := range list {
			fixTrainee(&t)
			s.cache.put(t)
			out[t.ID] = t
		}
		miss = miss[n:]
	}
	return out, nil
}

// traineeBatch is the longest id list Trainees sends as one $in query.
const traineeBatch = 1000

// scanTrainees reads the whole collection once and adds the wanted trainees to out.
func (s *Service) scanTrainees(ctx context.Context, ids []string, out map[string]Trainee) error {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	cur, err := s.trainees.Cursor(ctx, bson.M{})
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var t Trainee
		if err := cur.Decode(&t); err != nil {
			return err
		}
		if want[t.ID] {
			fixTrainee(&t)
			s.cache.put(t)
			out[t.ID] = t
		}
	}
	return cur.Err()
}

// ListFilter narrows the trainee list.
type ListFilter struct {
	TownshipID string
	RegionID   string
	Group      string
	Query      string // name or phone prefix
	Limit      int64
	Skip       int64
}

// List returns trainees (masked), newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Trainee, error) {
	q := bson.M{}
	if f.TownshipID != "" {
		q["township_id"] = f.TownshipID
	}
	if f.RegionID != "" {
		q["region_id"] = f.RegionID
	}
	if f.Group != "" {
		q["groups"] = f.Group
	}
	if f.Query != "" {
		re := bson.Regex{Pattern: "^" + regexQuote(f.Query)}
		q["$or"] = bson.A{bson.M{"name": re}, bson.M{"phone": re}}
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	out := []Trainee{}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(f.Limit).SetSkip(f.Skip).
		SetProjection(bson.M{"id_hash": 0, "id_sealed": 0})
	if err := s.trainees.Find(ctx, q, &out, opts); err != nil {
		return nil, err
	}
	for i := range out {
		fixTrainee(&out[i])
	}
	return out, nil
}

func regexQuote(s string) string {
	const special = `\.+*?()|[]{}^$`
	out := make([]rune, 0, len(s))
	for _, r := range s {
		for _, c := range special {
			if r == c {
				out = append(out, '\\')
				break
			}
		}
		out = append(out, r)
	}
	return string(out)
}

// RevealID decrypts a trainee's ID number (admin view only; audited by the caller).
func (s *Service) RevealID(ctx context.Context, id string) (string, error) {
	var d traineeDoc
	if err := s.trainees.FindOne(ctx, bson.M{"_id": id}, &d); err != nil {
		if store.IsNotFound(err) {
			return "", server.NotFound("学员不存在")
		}
		return "", err
	}
	return s.crypt.open(d.IDSealed)
}

// Registered is what registering a trainee hands back.
type Registered struct {
	Trainee
	// InitialPassword is set when an account was made with a generated password (shown once).
	InitialPassword string `json:"initial_password,omitempty"`
}

// errIDTaken is the conflict for an ID number already registered.
var errIDTaken = server.Conflict("该身份证号已登记为学员")

// AddTrainee registers a trainee. withAccount makes the trainee's login account
// (phone + password, generated when n.Password is empty). source is
// staff, import or self; by is the registering user's id.
func (s *Service) AddTrainee(ctx context.Context, n NewTrainee, withAccount bool, source, by string) (*Registered, error) {
	id, err := n.Validate(s.now(), func(r string) bool { return s.d.Regions.IsVillage(ctx, r) })
	if err != nil {
		return nil, err
	}
	hash := s.crypt.hash(id.Number)
	if taken, err := s.idTaken(ctx, hash); err != nil {
		return nil, err
	} else if taken {
		return nil, errIDTaken
	}
	now := s.now().UTC()
	doc := traineeDoc{Trainee: Trainee{ID: store.NewID(), Name: n.Name, Gender: id.Gender, BirthDate: id.BirthDate,
		Phone: n.Phone, RegionID: n.RegionID, TownshipID: s.d.Regions.TownshipOf(ctx, n.RegionID), Groups: n.Groups,
		IDMasked: MaskID(id.Number), CreatedAt: now}, IDHash: hash, IDSealed: s.crypt.seal(id.Number), CreatedBy: by, Source: source}
	out := &Registered{}
	var u *users.User
	if withAccount {
		pw := n.Password
		if pw == "" {
			pw = server.RandomToken(6)
			out.InitialPassword = pw
		}
		// Hashing the password happens here, outside the write lane.
		u, err = s.d.Users.Create(ctx, users.NewUser{Phone: n.Phone, Password: pw, Role: server.RoleTrainee, Name: n.Name})
		if err != nil {
			return nil, err
		}
		doc.UserID = u.ID
	}
	err = s.st.Lane(ctx, func(ctx context.Context) error {
		if taken, err := s.idTaken(ctx, hash); err != nil {
			return err
		} else if taken {
			return errIDTaken
		}
		if err := s.trainees.InsertOne(ctx, doc); err != nil {
			return err
		}
		return s.countRegistered(ctx, &doc.Trainee, 1)
	})
	if store.IsDup(err) {
		err = errIDTaken
	}
	if err != nil {
		if u != nil { // undo the account made for a registration that failed
			if derr := s.d.Users.SetDisabled(context.WithoutCancel(ctx), u.ID, true); derr != nil {
				s.d.Log.Error("disable orphan trainee account", "user_id", u.ID, "err", derr.Error())
			}
		}
		return nil, err
	}
	fixTrainee(&doc.Trainee)
	s.cache.put(doc.Trainee)
	out.Trainee = doc.Trainee
	return out, nil
}

func (s *Service) idTaken(ctx context.Context, hash string) (bool, error) {
	var d struct {
		ID string `bson:"_id"`
	}
	err := s.trainees.FindOne(ctx, bson.M{"id_hash": hash}, &d, options.FindOne().SetProjection(bson.M{"_id": 1}))
	if store.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// byIDNumber finds the trainee registered with an ID number.
func (s *Service) byIDNumber(ctx context.Context, number string) (*traineeDoc, error) {
	var d traineeDoc
	err := s.trainees.FindOne(ctx, bson.M{"id_hash": s.crypt.hash(number)}, &d)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateAccount makes the login account of a trainee who has none (an
// imported one): with password, or a generated one that is returned.
func (s *Service) CreateAccount(ctx context.Context, traineeID, password string) (string, error) {
	t, err := s.Trainee(ctx, traineeID)
	if err != nil {
		return "", err
	}
	if t.UserID != "" {
		return "", server.Conflict("该学员已有登录账号")
	}
	gen := ""
	if password == "" {
		password = server.RandomToken(6)
		gen = password
	}
	u, err := s.d.Users.Create(ctx, users.NewUser{Phone: t.Phone, Password: password, Role: server.RoleTrainee, Name: t.Name})
	if err != nil {
		return "", err
	}
	res, err := s.trainees.UpdateOne(ctx, bson.M{"_id": t.ID, "user_id": bson.M{"$in": bson.A{nil, ""}}}, bson.M{"$set": bson.M{"user_id": u.ID}})
	if err == nil && res.MatchedCount == 0 {
		err = server.Conflict("该学员已有登录账号")
	}
	if err != nil {
		_ = s.d.Users.SetDisabled(context.WithoutCancel(ctx), u.ID, true)
		return "", err
	}
	t.UserID = u.ID
	s.cache.put(*t)
	return gen, nil
}

// countRegistered moves the registration counters (new trainees per month).
func (s *Service) countRegistered(ctx context.Context, t *Trainee, d int64) error {
	return s.incCounters(ctx, registeredDeltas(t, d))
}

// key makes a counter field name from an id that may be empty.
func key(id string) string {
	if id == "" {
		return "none"
	}
	return id
}

var errNoTrainee = errors.New("no trainee")
