package enrollment

import (
	"context"
	"errors"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// Trainee keys (trainee_keys): natural keys that find a trainee by _id.
// "u/<user id>" is the trainee of a login account (every check-in reads
// it); "id/<keyed hash>" claims an ID number (the insert of a second claim
// fails E11000 on both engines, which settles concurrent registrations).
type traineeKey struct {
	ID        string `bson:"_id"`
	TraineeID string `bson:"t"`
}

func userKey(userID string) string { return "u/" + userID }
func idKey(hash string) string     { return "id/" + hash }

func fixTrainee(t *Trainee) {
	if t.Groups == nil {
		t.Groups = []string{}
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if !t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.UpdatedAt.UTC()
	}
}

var errNoTrainee = server.NotFound("学员不存在")

// Trainee returns one trainee (merged records included); server.NotFound when absent.
func (s *Service) Trainee(ctx context.Context, id string) (*Trainee, error) {
	var t Trainee
	if err := s.trainees.Get(ctx, id, &t); err != nil {
		if store.IsNotFound(err) {
			return nil, errNoTrainee
		}
		return nil, err
	}
	fixTrainee(&t)
	return &t, nil
}

// traineeDocOf reads the stored form (with the hash and sealed ID number).
func (s *Service) traineeDocOf(ctx context.Context, id string) (*traineeDoc, error) {
	var d traineeDoc
	if err := s.trainees.Get(ctx, id, &d); err != nil {
		if store.IsNotFound(err) {
			return nil, errNoTrainee
		}
		return nil, err
	}
	fixTrainee(&d.Trainee)
	return &d, nil
}

var errNoRecord = server.NotFound("当前账号没有学员档案，请联系培训讲师登记")

// TraineeByUser returns the trainee whose account is userID (two _id
// reads, through the write-through cache); server.NotFound when none.
func (s *Service) TraineeByUser(ctx context.Context, userID string) (*Trainee, error) {
	t, err := s.byUser.Get(ctx, userID, func(ctx context.Context) (Trainee, error) {
		t, err := s.loadByUser(ctx, userID)
		if err != nil {
			return Trainee{}, err
		}
		return *t, nil
	})
	if err != nil {
		return nil, err
	}
	t.Groups = append([]string{}, t.Groups...) // the cached value is shared
	return &t, nil
}

// forgetUser drops the cached trainee of an account after its record changed.
func (s *Service) forgetUser(userIDs ...string) {
	for _, u := range userIDs {
		if u != "" {
			s.byUser.Forget(u)
		}
	}
}

func (s *Service) loadByUser(ctx context.Context, userID string) (*Trainee, error) {
	var k traineeKey
	err := s.keys.Get(ctx, userKey(userID), &k)
	if err == nil {
		t, err := s.Trainee(ctx, k.TraineeID)
		if err == errNoTrainee {
			return nil, errNoRecord
		}
		return t, err
	}
	if !store.IsNotFound(err) {
		return nil, err
	}
	// A record linked to its account by an older version or by hand has
	// no key yet: find it once by user_id and key it.
	var t Trainee
	if err := s.trainees.FindOne(ctx, bson.M{"user_id": userID, "status": bson.M{"$ne": StatusMerged}}, &t); err != nil {
		if store.IsNotFound(err) {
			return nil, errNoRecord
		}
		return nil, err
	}
	if _, err := s.keys.InsertIfAbsent(ctx, traineeKey{ID: userKey(userID), TraineeID: t.ID}); err != nil {
		return nil, err
	}
	fixTrainee(&t)
	return &t, nil
}

// traineeScanAbove is the length of an id list from which Trainees reads
// the whole collection once instead of each trainee by _id.
const traineeScanAbove = 2000

// Trainees returns the trainees among ids, by id; unknown ids are left out.
func (s *Service) Trainees(ctx context.Context, ids []string) (map[string]Trainee, error) {
	if len(ids) <= traineeScanAbove {
		out, err := getMany[Trainee](ctx, s.trainees, ids)
		for id, t := range out {
			fixTrainee(&t)
			out[id] = t
		}
		return out, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := map[string]Trainee{}
	cur, err := s.trainees.Cursor(ctx, bson.M{}, options.Find().SetProjection(bson.M{"id_hash": 0, "id_sealed": 0}))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var t Trainee
		if err := cur.Decode(&t); err != nil {
			return nil, err
		}
		if want[t.ID] {
			fixTrainee(&t)
			out[t.ID] = t
		}
	}
	return out, cur.Err()
}

// ListFilter narrows the trainee list.
type ListFilter struct {
	TownshipID string
	RegionID   string
	Group      string
	Limit      int64
	Skip       int64
}

// List returns trainees (masked), newest first, merged records left out,
// without a scan: the ids come from the roster lists (search.go: one
// village's, one township's, or every township's, each one _id read), are
// ordered newest first by id (ids begin with their creation time), and
// only the page's records are read, by _id. A group filter reads records
// a chunk at a time until the page is full.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Trainee, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var lists []string
	switch {
	case f.RegionID != "":
		lists = []string{villageList(f.RegionID)}
	case f.TownshipID != "":
		lists = []string{townshipList(f.TownshipID)}
	default:
		for _, t := range s.d.Regions.Townships(ctx) {
			lists = append(lists, townshipList(t.ID))
		}
		lists = append(lists, townshipList(""))
	}
	out := []Trainee{}
	if len(lists) == 0 {
		return out, nil
	}
	members, err := s.readLists(ctx, lists...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, m...)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(ids)))
	skip := f.Skip
	if f.Group == "" {
		// Every listed record is kept: skip by position.
		ids, skip = ids[min(int(skip), len(ids)):], 0
	}
	for len(ids) > 0 && int64(len(out)) < f.Limit {
		n := int(f.Limit - int64(len(out)))
		if f.Group != "" {
			n = max(n, 200)
		}
		chunk := ids[:min(n, len(ids))]
		ids = ids[len(chunk):]
		got, err := getMany[Trainee](ctx, s.trainees, chunk)
		if err != nil {
			return nil, err
		}
		for _, id := range chunk {
			t, ok := got[id]
			if !ok || t.Status == StatusMerged || (f.Group != "" && !t.HasGroup(f.Group)) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if int64(len(out)) < f.Limit {
				fixTrainee(&t)
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// RevealID decrypts a trainee's ID number (admin view only; audited by the caller).
func (s *Service) RevealID(ctx context.Context, id string) (string, error) {
	d, err := s.traineeDocOf(ctx, id)
	if err != nil {
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

// AddTrainee registers a trainee. withAccount makes the trainee's login
// account (phone + password, generated when n.Password is empty) when a
// phone is given. source is staff, import or self; by is the registering
// user's id. The record, its keys, the registration counters and the
// search entries are written as one unit of work.
func (s *Service) AddTrainee(ctx context.Context, n NewTrainee, withAccount bool, source, by string) (*Registered, error) {
	id, err := n.Validate(s.now(), func(r string) bool { return s.d.Regions.IsVillage(ctx, r) })
	if err != nil {
		return nil, err
	}
	hash := s.crypt.hash(id.Number)
	now := s.now().UTC()
	doc := traineeDoc{Trainee: Trainee{ID: store.NewID(), Name: n.Name, Gender: id.Gender, BirthDate: id.BirthDate,
		Phone: n.Phone, RegionID: n.RegionID, TownshipID: s.d.Regions.TownshipOf(ctx, n.RegionID), Groups: n.Groups,
		IDMasked: MaskID(id.Number), CreatedAt: now}, IDHash: hash, IDSealed: s.crypt.seal(id.Number), CreatedBy: by, Source: source}
	out := &Registered{}
	err = s.st.Unit(ctx, "enrollment.register", func(u *store.Unit) error {
		if err := u.Do(ctx, "claim the ID number", func(ctx context.Context) error {
			ok, err := s.keys.InsertIfAbsent(ctx, traineeKey{ID: idKey(hash), TraineeID: doc.ID})
			if err == nil && !ok {
				return errIDTaken
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.keys.DeleteOne(ctx, bson.M{"_id": idKey(hash)})
			return err
		}); err != nil {
			return err
		}
		if withAccount && n.Phone != "" {
			pw := n.Password
			if pw == "" {
				pw = server.RandomToken(6)
				out.InitialPassword = pw
			}
			var acct *users.User
			if err := u.Do(ctx, "login account", func(ctx context.Context) error {
				var err error
				acct, err = s.d.Users.Create(ctx, users.NewUser{Phone: n.Phone, Password: pw, Role: server.RoleTrainee, Name: n.Name})
				return err
			}, func(ctx context.Context) error { return s.d.Users.SetDisabled(ctx, acct.ID, true) }); err != nil {
				return err
			}
			doc.UserID = acct.ID
		}
		if err := u.Do(ctx, "trainee record", func(ctx context.Context) error { return s.trainees.InsertOne(ctx, doc) },
			func(ctx context.Context) error {
				_, err := s.trainees.DeleteOne(ctx, bson.M{"_id": doc.ID})
				return err
			}); err != nil {
			if store.IsDup(err) {
				return errIDTaken
			}
			return err
		}
		if doc.UserID != "" {
			if err := s.linkUser(ctx, u, doc.UserID, doc.ID); err != nil {
				return err
			}
		}
		if err := s.count(ctx, u, "registration counters", registeredDeltas(&doc.Trainee, 1)); err != nil {
			return err
		}
		ch := newChanges()
		s.searchAdd(ch, &doc.Trainee)
		return s.logChanges(ctx, u, ch)
	})
	if err != nil {
		return nil, err
	}
	fixTrainee(&doc.Trainee)
	s.forgetUser(doc.UserID)
	out.Trainee = doc.Trainee
	return out, nil
}

// linkUser writes the key of a trainee's login account inside u.
func (s *Service) linkUser(ctx context.Context, u *store.Unit, userID, traineeID string) error {
	return u.Do(ctx, "account key", func(ctx context.Context) error {
		_, err := s.keys.ReplaceOne(ctx, bson.M{"_id": userKey(userID)}, traineeKey{ID: userKey(userID), TraineeID: traineeID}, options.Replace().SetUpsert(true))
		return err
	}, func(ctx context.Context) error {
		_, err := s.keys.DeleteOne(ctx, bson.M{"_id": userKey(userID)})
		return err
	})
}

// byIDNumber finds the trainee registered with an ID number (nil when none).
func (s *Service) byIDNumber(ctx context.Context, number string) (*traineeDoc, error) {
	var k traineeKey
	if err := s.keys.Get(ctx, idKey(s.crypt.hash(number)), &k); err != nil {
		if store.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	d, err := s.traineeDocOf(ctx, k.TraineeID)
	if errors.Is(err, errNoTrainee) {
		return nil, nil
	}
	return d, err
}

// CreateAccount makes the login account of a trainee who has none (an
// imported one): with password, or a generated one that is returned.
func (s *Service) CreateAccount(ctx context.Context, traineeID, password string) (string, error) {
	t, err := s.Trainee(ctx, traineeID)
	if err != nil {
		return "", err
	}
	if t.Merged() {
		return "", server.Conflict("该学员档案已合并到另一份档案")
	}
	if t.UserID != "" {
		return "", server.Conflict("该学员已有登录账号")
	}
	if t.Phone == "" {
		return "", server.Invalid("该学员没有登记手机号，请先补上手机号", "phone", "没有手机号")
	}
	gen := ""
	if password == "" {
		password = server.RandomToken(6)
		gen = password
	}
	err = s.st.Unit(ctx, "enrollment.account", func(u *store.Unit) error {
		var acct *users.User
		if err := u.Do(ctx, "login account", func(ctx context.Context) error {
			var err error
			acct, err = s.d.Users.Create(ctx, users.NewUser{Phone: t.Phone, Password: password, Role: server.RoleTrainee, Name: t.Name})
			return err
		}, func(ctx context.Context) error { return s.d.Users.SetDisabled(ctx, acct.ID, true) }); err != nil {
			return err
		}
		if err := u.Do(ctx, "link the account", func(ctx context.Context) error {
			ok, err := s.trainees.UpdateIf(ctx, t.ID, store.Cond{"user_id": bson.M{"$in": bson.A{nil, ""}}}, bson.M{"$set": bson.M{"user_id": acct.ID}})
			if err == nil && !ok {
				return server.Conflict("该学员已有登录账号")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.trainees.UpdateIf(ctx, t.ID, store.Cond{"user_id": acct.ID}, bson.M{"$unset": bson.M{"user_id": ""}})
			return err
		}); err != nil {
			return err
		}
		if err := s.linkUser(ctx, u, acct.ID, t.ID); err != nil {
			return err
		}
		s.forgetUser(acct.ID)
		return nil
	})
	if err != nil {
		return "", err
	}
	return gen, nil
}
