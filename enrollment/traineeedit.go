package enrollment

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/events"
	"nongxun/server"
	"nongxun/store"
	"nongxun/users"
)

// Correcting trainee records. Who may (docs/api.md, "Correcting records"):
// admin any record; an officer the records of their township (and only
// into it); a trainer the records they registered and those of trainees
// recorded at one of their sessions. Only the admin corrects an ID number.
// Merging two records of one person: admin, or the officer when both are
// of their township.
//
// A correction moves what is counted by the trainee's current record —
// registrations (township, poverty) and distinct trainees (township,
// groups) — in the same unit of work as the record; person-times stay as
// their attendance records say.

// TraineePatch is a correction of a record; nil fields stay.
type TraineePatch struct {
	Name     *string   `json:"name"`
	Phone    *string   `json:"phone"`
	RegionID *string   `json:"region_id"`
	Groups   *[]string `json:"groups"`
}

// MaySee reports whether p may read and correct trainee t (see above).
func (s *Service) MayCorrect(ctx context.Context, p *server.Principal, t *traineeDoc) (bool, error) {
	switch p.Role {
	case server.RoleAdmin:
		return true, nil
	case server.RoleOfficer:
		return p.SeesTownship(t.TownshipID), nil
	case server.RoleTrainer:
		if t.CreatedBy == p.UserID {
			return true, nil
		}
		list, err := s.d.Courses.SessionsByTrainer(ctx, p.UserID)
		if err != nil {
			return false, err
		}
		ids := make([]string, len(list))
		for i, x := range list {
			ids[i] = attendanceID(x.ID, t.ID)
		}
		recs, err := getMany[Attendance](ctx, s.attendance, ids)
		return len(recs) > 0, err
	}
	return false, nil
}

// profileMoves are the counter moves of a record changing from old to new.
func (s *Service) profileMoves(ctx context.Context, old, new *Trainee) (deltas, error) {
	d := deltas{}
	if old.TownshipID != new.TownshipID || old.HasGroup(GroupPoverty) != new.HasGroup(GroupPoverty) {
		d.merge(registeredDeltas(old, -1))
		d.merge(registeredDeltas(new, 1))
	}
	if old.TownshipID != new.TownshipID || !sameSet(old.Groups, new.Groups) {
		var a bson.M
		err := s.attendees.Get(ctx, old.ID, &a)
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		if err == nil {
			d.merge(distinctDeltas(old, -1))
			d.merge(distinctDeltas(new, 1))
		}
	}
	return d, nil
}

// rewrite replaces a record's fields set by a conditional update on its
// version inside u, moving the counters and search entries from old to new.
func (s *Service) rewrite(ctx context.Context, u *store.Unit, old *traineeDoc, new *traineeDoc, set, undo bson.M) error {
	now := s.now().UTC()
	set["ver"], set["updated_at"] = old.Ver+1, now
	undo["ver"] = old.Ver + 2
	if err := u.Do(ctx, "trainee record", func(ctx context.Context) error {
		ok, err := s.trainees.UpdateIf(ctx, old.ID, verCond(old.Ver), bson.M{"$set": set})
		if err == nil && !ok {
			return server.Conflict("学员档案刚被他人修改，请刷新后重试")
		}
		return err
	}, func(ctx context.Context) error {
		_, err := s.trainees.UpdateIf(ctx, old.ID, store.Cond{"ver": old.Ver + 1}, bson.M{"$set": undo})
		return err
	}); err != nil {
		return err
	}
	d, err := s.profileMoves(ctx, &old.Trainee, &new.Trainee)
	if err != nil {
		return err
	}
	if err := s.count(ctx, u, "profile counters", d); err != nil {
		return err
	}
	ch := newChanges()
	s.searchDel(ch, &old.Trainee)
	s.searchAdd(ch, &new.Trainee)
	return s.logChanges(ctx, u, ch)
}

// UpdateTrainee corrects a record's name, phone, village or groups. The
// phone is the trainee's contact; a login account keeps the phone it was
// made with.
func (s *Service) UpdateTrainee(ctx context.Context, id string, in TraineePatch, p *server.Principal) (*Trainee, error) {
	old, err := s.traineeDocOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if old.Merged() {
		return nil, errMerged
	}
	nd := *old
	nt := &nd.Trainee
	nt.Groups = append([]string{}, old.Groups...)
	f := server.Fields{}
	if in.Name != nil {
		nt.Name = strings.TrimSpace(*in.Name)
		f.Add(nt.Name == "" || len([]rune(nt.Name)) > 30, "name", "请填写姓名（30 字以内）")
	}
	if in.Phone != nil {
		nt.Phone = strings.TrimSpace(*in.Phone)
		f.Add(nt.Phone != "" && !users.ValidPhone(nt.Phone), "phone", "应为 11 位手机号（没有手机可不填）")
	}
	if in.RegionID != nil {
		nt.RegionID = strings.TrimSpace(*in.RegionID)
		if !s.d.Regions.IsVillage(ctx, nt.RegionID) {
			f.Add(true, "region_id", "请选择所在行政村")
		} else {
			nt.TownshipID = s.d.Regions.TownshipOf(ctx, nt.RegionID)
			f.Add(!p.SeesTownship(nt.TownshipID), "region_id", "只能改到本乡镇的村")
		}
	}
	if in.Groups != nil {
		groups, bad := normGroups(*in.Groups)
		for _, x := range bad {
			f.Add(true, "groups", "未知的人群类别："+x)
		}
		if nt.Gender == GenderFemale && !contains(groups, GroupWoman) {
			groups = append(groups, GroupWoman)
		}
		nt.Groups = groups
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	set := bson.M{"name": nt.Name, "phone": nt.Phone, "region_id": nt.RegionID, "township_id": nt.TownshipID, "groups": nt.Groups}
	undo := bson.M{"name": old.Name, "phone": old.Phone, "region_id": old.RegionID, "township_id": old.TownshipID, "groups": old.Groups}
	err = s.st.Unit(ctx, "enrollment.correct", func(u *store.Unit) error { return s.rewrite(ctx, u, old, &nd, set, undo) })
	s.forgetUser(old.UserID)
	if err != nil {
		return nil, err
	}
	changed := map[string]any{}
	if old.Name != nt.Name {
		changed["name"] = map[string]string{"old": old.Name, "new": nt.Name}
	}
	if old.Phone != nt.Phone {
		changed["phone"] = map[string]string{"old": maskPhone(old.Phone), "new": maskPhone(nt.Phone)}
	}
	if old.RegionID != nt.RegionID {
		changed["region_id"] = map[string]string{"old": old.RegionID, "new": nt.RegionID}
	}
	if !sameSet(old.Groups, nt.Groups) {
		changed["groups"] = map[string]any{"old": old.Groups, "new": nt.Groups}
	}
	s.audit(ctx, p, "trainee.update", id, changed)
	return s.Trainee(ctx, id)
}

// maskPhone keeps a phone's first 3 and last 4 digits (for the audit log).
func maskPhone(p string) string {
	if len(p) < 8 {
		return p
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// CorrectIDNumber replaces a record's ID number (admin only). The new
// number is claimed like a registration's (taken → conflict); gender and
// birth date follow it. The audit entry keeps the old and new numbers
// masked and sealed (AES-GCM, as stored); neither is ever written to the
// process log.
func (s *Service) CorrectIDNumber(ctx context.Context, id, number string, p *server.Principal) (*Trainee, error) {
	if !p.Is(server.RoleAdmin) {
		return nil, server.Forbidden("只有管理员可以更正身份证号")
	}
	n, err := ParseIDNumber(number, s.now())
	if err != nil {
		return nil, server.Invalid("身份证号不正确", "id_number", err.Error())
	}
	old, err := s.traineeDocOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if old.Merged() {
		return nil, errMerged
	}
	hash := s.crypt.hash(n.Number)
	if hash == old.IDHash {
		return nil, server.Invalid("与原身份证号相同", "id_number", "与原身份证号相同")
	}
	nd := *old
	nt := &nd.Trainee
	nd.IDHash, nd.IDSealed = hash, s.crypt.seal(n.Number)
	nt.IDMasked, nt.Gender, nt.BirthDate = MaskID(n.Number), n.Gender, n.BirthDate
	nt.Groups = append([]string{}, old.Groups...)
	if n.Gender == GenderFemale && !contains(nt.Groups, GroupWoman) {
		nt.Groups = append(nt.Groups, GroupWoman)
	}
	set := bson.M{"id_hash": nd.IDHash, "id_sealed": nd.IDSealed, "id_masked": nt.IDMasked, "gender": nt.Gender, "birth_date": nt.BirthDate, "groups": nt.Groups}
	undo := bson.M{"id_hash": old.IDHash, "id_sealed": old.IDSealed, "id_masked": old.IDMasked, "gender": old.Gender, "birth_date": old.BirthDate, "groups": old.Groups}
	err = s.st.Unit(ctx, "enrollment.correct_id", func(u *store.Unit) error {
		if err := u.Do(ctx, "claim the new number", func(ctx context.Context) error {
			ok, err := s.keys.InsertIfAbsent(ctx, traineeKey{ID: idKey(hash), TraineeID: id})
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
		if err := s.rewrite(ctx, u, old, &nd, set, undo); err != nil {
			if store.IsDup(err) {
				return errIDTaken
			}
			return err
		}
		return u.Do(ctx, "release the old number", func(ctx context.Context) error {
			_, err := s.keys.DeleteOne(ctx, bson.M{"_id": idKey(old.IDHash)})
			return err
		}, func(ctx context.Context) error {
			_, err := s.keys.InsertIfAbsent(ctx, traineeKey{ID: idKey(old.IDHash), TraineeID: id})
			return err
		})
	})
	s.forgetUser(old.UserID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "trainee.correct_id", id, map[string]any{"old": old.IDMasked, "new": nt.IDMasked,
		"old_sealed": old.IDSealed, "new_sealed": nd.IDSealed})
	return s.Trainee(ctx, id)
}

// MergeResult reports a merge.
type MergeResult struct {
	Kept              string `json:"kept"`
	Dropped           string `json:"dropped"`
	MovedAttendance   int    `json:"moved_attendance"`
	MergedAttendance  int    `json:"merged_attendance"` // sessions both attended: counted once
	MovedEnrollments  int    `json:"moved_enrollments"`
	MergedEnrollments int    `json:"merged_enrollments"` // courses both were enrolled in
}

// Merge makes dropID's record part of keepID's: its attendance and
// enrolments move to the kept record (a session both attended counts
// once, the better status kept), its login account moves to the kept
// record when that has none (else it is disabled), and the dropped record
// is marked merged, not deleted. Counters stay exact: it is one unit of
// work, and events.TraineesMerged is published in it so certificates and
// incubation move their records too.
func (s *Service) Merge(ctx context.Context, keepID, dropID string, p *server.Principal) (*MergeResult, error) {
	if keepID == dropID {
		return nil, server.Invalid("请选择两份不同的档案", "drop", "与保留的档案相同")
	}
	keep, err := s.traineeDocOf(ctx, keepID)
	if err != nil {
		return nil, err
	}
	drop, err := s.traineeDocOf(ctx, dropID)
	if err != nil {
		return nil, err
	}
	if keep.Merged() || drop.Merged() {
		return nil, errMerged
	}
	if !p.Is(server.RoleAdmin) && !(p.Is(server.RoleOfficer) && p.SeesTownship(keep.TownshipID) && p.SeesTownship(drop.TownshipID)) {
		return nil, server.Forbidden("只有管理员或两份档案所在乡镇的联络员可以合并档案")
	}
	es, err := s.Enrollments(ctx, dropID)
	if err != nil {
		return nil, err
	}
	recs, err := s.TraineeAttendance(ctx, dropID)
	if err != nil {
		return nil, err
	}
	kids := make([]string, 0, len(recs)+len(es))
	for _, r := range recs {
		kids = append(kids, attendanceID(r.SessionID, keepID))
	}
	keptRecs, err := getMany[Attendance](ctx, s.attendance, kids)
	if err != nil {
		return nil, err
	}
	eids := make([]string, 0, len(es))
	for _, e := range es {
		eids = append(eids, enrolmentID(e.CourseID, keepID))
	}
	keptEnrols, err := getMany[Enrollment](ctx, s.enrollments, eids)
	if err != nil {
		return nil, err
	}
	var mark bson.M
	dropAttended := s.attendees.Get(ctx, dropID, &mark) == nil
	keepAttended := s.attendees.Get(ctx, keepID, &mark) == nil
	res := &MergeResult{Kept: keepID, Dropped: dropID}
	err = s.st.Unit(ctx, "enrollment.merge", func(u *store.Unit) error {
		now := s.now().UTC()
		// The dropped record: marked merged; its ID number released for
		// the real holder should it have been mistyped.
		if err := u.Do(ctx, "mark the record merged", func(ctx context.Context) error {
			ok, err := s.trainees.UpdateIf(ctx, dropID, verCond(drop.Ver), bson.M{"$set": bson.M{"status": StatusMerged, "merged_into": keepID,
				"id_hash": "merged/" + dropID, "ver": drop.Ver + 1, "updated_at": now}})
			if err == nil && !ok {
				return server.Conflict("学员档案刚被他人修改，请刷新后重试")
			}
			return err
		}, func(ctx context.Context) error {
			_, err := s.trainees.UpdateIf(ctx, dropID, store.Cond{"ver": drop.Ver + 1}, bson.M{"$set": bson.M{"id_hash": drop.IDHash, "ver": drop.Ver + 2},
				"$unset": bson.M{"status": "", "merged_into": ""}})
			return err
		}); err != nil {
			return err
		}
		if err := u.Do(ctx, "release the number", func(ctx context.Context) error {
			_, err := s.keys.DeleteOne(ctx, bson.M{"_id": idKey(drop.IDHash)})
			return err
		}, func(ctx context.Context) error {
			_, err := s.keys.InsertIfAbsent(ctx, traineeKey{ID: idKey(drop.IDHash), TraineeID: dropID})
			return err
		}); err != nil {
			return err
		}
		if err := s.mergeAccount(ctx, u, keep, drop); err != nil {
			return err
		}
		d := registeredDeltas(&drop.Trainee, -1)
		ch := newChanges()
		s.searchDel(ch, &drop.Trainee)
		for _, e := range es {
			if err := u.Do(ctx, "dropped enrolment", func(ctx context.Context) error {
				_, err := s.enrollments.DeleteOne(ctx, bson.M{"_id": e.ID})
				return err
			}, func(ctx context.Context) error { return s.enrollments.InsertOne(ctx, e) }); err != nil {
				return err
			}
			if !e.WalkIn {
				ch.del(courseList(e.CourseID), dropID)
			}
			if _, both := keptEnrols[enrolmentID(e.CourseID, keepID)]; both {
				res.MergedEnrollments++
				d.merge(enrolDeltas(e.CourseID, -1))
				continue
			}
			ke := e
			ke.ID, ke.TraineeID, ke.TownshipID = enrolmentID(e.CourseID, keepID), keepID, keep.TownshipID
			if err := u.Do(ctx, "moved enrolment", func(ctx context.Context) error { return s.enrollments.InsertOne(ctx, ke) },
				func(ctx context.Context) error {
					_, err := s.enrollments.DeleteOne(ctx, bson.M{"_id": ke.ID})
					return err
				}); err != nil {
				return err
			}
			if !e.WalkIn {
				ch.add(courseList(e.CourseID), keepID)
			}
			res.MovedEnrollments++
		}
		for _, r := range recs {
			if err := u.Do(ctx, "dropped attendance", func(ctx context.Context) error {
				_, err := s.attendance.DeleteOne(ctx, bson.M{"_id": r.ID})
				return err
			}, func(ctx context.Context) error { return s.attendance.InsertOne(ctx, r) }); err != nil {
				return err
			}
			sl := sessionList(r.SessionID)
			ch.del(sl, sessionMember(dropID, r.Status))
			if r.Day == "" {
				if err := s.ensureDay(ctx, &r); err != nil {
					return err
				}
			}
			kr, both := keptRecs[attendanceID(r.SessionID, keepID)]
			if !both {
				moved := r
				moved.ID, moved.TraineeID = attendanceID(r.SessionID, keepID), keepID
				if err := u.Do(ctx, "moved attendance", func(ctx context.Context) error { return s.attendance.InsertOne(ctx, &moved) },
					func(ctx context.Context) error {
						_, err := s.attendance.DeleteOne(ctx, bson.M{"_id": moved.ID})
						return err
					}); err != nil {
					return err
				}
				ch.add(sl, sessionMember(keepID, r.Status))
				res.MovedAttendance++
				continue
			}
			res.MergedAttendance++
			if counted(r.Status) {
				d.merge(personTimeDeltas(&r, -1, true))
			}
			if counted(r.Status) && !counted(kr.Status) {
				// The kept record was excused; the dropped one counted: keep that.
				if kr.Day == "" {
					if err := s.ensureDay(ctx, &kr); err != nil {
						return err
					}
				}
				if err := u.Do(ctx, "better status", func(ctx context.Context) error {
					ok, err := s.attendance.UpdateIf(ctx, kr.ID, store.Cond{"status": kr.Status}, bson.M{"$set": bson.M{"status": r.Status, "marked_by": p.UserID, "marked_at": now}})
					if err == nil && !ok {
						return errChanged
					}
					return err
				}, func(ctx context.Context) error {
					_, err := s.attendance.UpdateIf(ctx, kr.ID, store.Cond{"status": r.Status}, bson.M{"$set": bson.M{"status": kr.Status}})
					return err
				}); err != nil {
					return err
				}
				ch.del(sl, sessionMember(keepID, kr.Status))
				ch.add(sl, sessionMember(keepID, r.Status))
				d.merge(personTimeDeltas(&kr, 1, true))
			}
		}
		if dropAttended {
			if err := u.Do(ctx, "dropped attendee", func(ctx context.Context) error {
				_, err := s.attendees.DeleteOne(ctx, bson.M{"_id": dropID})
				return err
			}, func(ctx context.Context) error {
				_, err := s.attendees.InsertIfAbsent(ctx, bson.M{"_id": dropID, "at": now})
				return err
			}); err != nil {
				return err
			}
			d.merge(distinctDeltas(&drop.Trainee, -1))
			if !keepAttended {
				if err := u.Do(ctx, "kept attendee", func(ctx context.Context) error {
					_, err := s.attendees.InsertIfAbsent(ctx, bson.M{"_id": keepID, "at": now})
					return err
				}, func(ctx context.Context) error {
					_, err := s.attendees.DeleteOne(ctx, bson.M{"_id": keepID})
					return err
				}); err != nil {
					return err
				}
				d.merge(distinctDeltas(&keep.Trainee, 1))
			}
		}
		if err := s.logChanges(ctx, u, ch); err != nil {
			return err
		}
		if err := s.count(ctx, u, "merge counters", d); err != nil {
			return err
		}
		return s.st.Events().Publish(ctx, events.TraineesMerged, store.Message{Key: dropID,
			Payload: events.Merged{Kept: keepID, Dropped: dropID, By: p.UserID}})
	})
	s.forgetUser(keep.UserID, drop.UserID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, p, "trainee.merge", keepID, map[string]any{"dropped": dropID, "moved_attendance": res.MovedAttendance,
		"merged_attendance": res.MergedAttendance, "moved_enrollments": res.MovedEnrollments, "merged_enrollments": res.MergedEnrollments})
	return res, nil
}

// mergeAccount moves the dropped record's login account to the kept one
// when that has none, else disables it.
func (s *Service) mergeAccount(ctx context.Context, u *store.Unit, keep, drop *traineeDoc) error {
	uid := drop.UserID
	if uid == "" {
		return nil
	}
	if keep.UserID != "" {
		// An account that is gone needs no disabling.
		setDisabled := func(ctx context.Context, v bool) error {
			err := s.d.Users.SetDisabled(ctx, uid, v)
			if err != nil && server.ToError(err).Code == server.CodeNotFound {
				return nil
			}
			return err
		}
		if err := u.Do(ctx, "disable the dropped account", func(ctx context.Context) error { return setDisabled(ctx, true) },
			func(ctx context.Context) error { return setDisabled(ctx, false) }); err != nil {
			return err
		}
		return u.Do(ctx, "dropped account key", func(ctx context.Context) error {
			_, err := s.keys.DeleteOne(ctx, bson.M{"_id": userKey(uid)})
			return err
		}, func(ctx context.Context) error {
			_, err := s.keys.InsertIfAbsent(ctx, traineeKey{ID: userKey(uid), TraineeID: drop.ID})
			return err
		})
	}
	if err := u.Do(ctx, "move the account", func(ctx context.Context) error {
		ok, err := s.trainees.UpdateIf(ctx, keep.ID, store.Cond{"user_id": bson.M{"$in": bson.A{nil, ""}}}, bson.M{"$set": bson.M{"user_id": uid}})
		if err == nil && !ok {
			return server.Conflict("学员档案刚被他人修改，请刷新后重试")
		}
		return err
	}, func(ctx context.Context) error {
		_, err := s.trainees.UpdateIf(ctx, keep.ID, store.Cond{"user_id": uid}, bson.M{"$unset": bson.M{"user_id": ""}})
		return err
	}); err != nil {
		return err
	}
	return u.Do(ctx, "account key", func(ctx context.Context) error {
		_, err := s.keys.ReplaceOne(ctx, bson.M{"_id": userKey(uid)}, traineeKey{ID: userKey(uid), TraineeID: keep.ID})
		return err
	}, func(ctx context.Context) error {
		_, err := s.keys.ReplaceOne(ctx, bson.M{"_id": userKey(uid)}, traineeKey{ID: userKey(uid), TraineeID: drop.ID})
		return err
	})
}
