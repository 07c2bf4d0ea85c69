package incubation

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/events"
	"nongxun/store"
)

// OnTraineesMerged moves everything incubation keeps of the dropped
// trainee to the kept one: shops (and so their sales), replaced sales,
// follow-up records, follow-up tasks, cohort membership and funnel
// markers. Counters stay exact: a step the kept trainee already counted
// loses the dropped one's count, a step only the dropped one counted
// moves to the kept one (to the kept one's township and groups). Each
// step is idempotent and its own unit, so a redelivery, or a retry after
// a failure half way, finishes the move without counting anything twice.
func (s *Service) OnTraineesMerged(ctx context.Context, e store.Event) error {
	var m events.Merged
	if err := e.Decode(&m); err != nil {
		return fmt.Errorf("incubation: merge event %s: %w", e.Key, err)
	}
	if m.Kept == "" || m.Dropped == "" || m.Kept == m.Dropped {
		return nil
	}
	if s.d.Trainees == nil {
		return fmt.Errorf("incubation: no trainee source")
	}
	kept, err := s.d.Trainees.Trainee(ctx, m.Kept)
	if err != nil {
		return fmt.Errorf("incubation: kept trainee %s: %w", m.Kept, err)
	}
	kw := whoOf(kept)
	// Merges are rare and run in the background: filtering by trainee
	// (a scan on the embedded engine) is fine here.
	var shops []Shop
	if err := s.shops.Find(ctx, bson.M{"trainee_id": m.Dropped}, &shops); err != nil {
		return err
	}
	for _, sh := range shops {
		if _, err := s.shops.UpdateIf(ctx, sh.ID, store.Cond{"trainee_id": m.Dropped},
			bson.M{"$set": bson.M{"trainee_id": kept.ID, "trainee_name": kept.Name, "trainee": kw}}); err != nil {
			return err
		}
	}
	for _, c := range []*store.Collection{s.salesHist, s.members} {
		if _, err := c.UpdateMany(ctx, bson.M{"trainee_id": m.Dropped}, bson.M{"$set": bson.M{"trainee_id": kept.ID}}); err != nil {
			return err
		}
	}
	if _, err := s.members.UpdateMany(ctx, bson.M{"trainee_id": kept.ID}, bson.M{"$set": bson.M{"trainee_name": kept.Name}}); err != nil {
		return err
	}
	// Follow-ups become the kept trainee's, in their township and groups;
	// the month's follow-up counts move with them.
	var fus []Followup
	if err := s.followups.Find(ctx, bson.M{"trainee_id": m.Dropped}, &fus); err != nil {
		return err
	}
	for _, f := range fus {
		if err := s.st.Unit(ctx, "merge.followup", func(u *store.Unit) error {
			ok, err := s.followups.UpdateIf(ctx, f.ID, store.Cond{"trainee_id": m.Dropped}, bson.M{"$set": bson.M{
				"trainee_id": kept.ID, "trainee_name": kept.Name, "township_id": kept.TownshipID, "groups": kept.Groups}})
			if err != nil || !ok || tk(f.TownshipID) == tk(kept.TownshipID) {
				return err
			}
			u.OnFail("follow-up "+f.ID, func(ctx context.Context) error {
				_, err := s.followups.UpdateOne(ctx, bson.M{"_id": f.ID}, bson.M{"$set": bson.M{"trainee_id": f.TraineeID, "trainee_name": f.TraineeName,
					"township_id": f.TownshipID, "groups": f.Groups}})
				return err
			})
			month := clock.Month(f.ContactedAt)
			if err := s.incUndo(ctx, u, s.counters, monthDoc(month, f.TownshipID), map[string]int64{"followups": -1}); err != nil {
				return err
			}
			return s.incUndo(ctx, u, s.counters, monthDoc(month, kept.TownshipID), map[string]int64{"followups": 1})
		}); err != nil {
			return err
		}
	}
	for _, days := range s.cfg.FollowupDays {
		if err := s.moveTask(ctx, m.Dropped, kept, days); err != nil {
			return err
		}
	}
	for _, step := range markedSteps {
		var dm mark
		if err := s.markColl(step).Get(ctx, step+"/"+m.Dropped, &dm); err != nil {
			if store.IsNotFound(err) {
				continue
			}
			return err
		}
		if err := s.st.Unit(ctx, "merge."+step, func(u *store.Unit) error {
			if _, err := s.count(ctx, u, step, kw); err != nil {
				return err
			}
			return s.uncount(ctx, u, step, m.Dropped)
		}); err != nil {
			return err
		}
	}
	var sell mark
	if err := s.markColl(sellPrefix).Get(ctx, sellPrefix+"/"+m.Dropped, &sell); err != nil && !store.IsNotFound(err) {
		return err
	}
	for shopID, month := range sell.Shops {
		if err := s.st.Unit(ctx, "merge.sell", func(u *store.Unit) error {
			if err := s.setLastSale(ctx, u, kw, shopID, month); err != nil {
				return err
			}
			return s.setLastSale(ctx, u, sell.W, shopID, "")
		}); err != nil {
			return err
		}
	}
	s.audit(ctx, nil, "incubation.merge", kept.ID, map[string]any{"dropped": m.Dropped, "by": m.By, "shops": len(shops)})
	return nil
}

// moveTask moves the dropped trainee's task of days to the kept trainee:
// the kept one keeps their own when they have one; otherwise the dropped
// one's is copied under the kept one's id (and listed when open). Then
// the dropped one's goes, with its list entries.
func (s *Service) moveTask(ctx context.Context, dropped string, kept *Trainee, days int) error {
	var t Task
	if err := s.tasks.Get(ctx, taskID(dropped, days), &t); err != nil {
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	return s.st.Unit(ctx, "merge.task", func(u *store.Unit) error {
		moved := t
		moved.ID, moved.TraineeID, moved.TraineeName, moved.Phone = taskID(kept.ID, days), kept.ID, kept.Name, kept.Phone
		moved.VillageID, moved.TownshipID = kept.RegionID, kept.TownshipID
		moved.DueLists = nil
		if moved.Status == TaskOpen {
			one := []Task{moved}
			if err := s.place(ctx, one); err != nil {
				return err
			}
			moved = one[0]
		}
		added, err := s.tasks.InsertIfAbsent(ctx, moved)
		if err != nil {
			return err
		}
		if added {
			u.OnFail("task "+moved.ID, func(ctx context.Context) error {
				_, err := s.tasks.DeleteOne(ctx, bson.M{"_id": moved.ID})
				return err
			})
			if moved.Status == TaskOpen {
				if err := s.indexTasks(ctx, u, []Task{moved}, true); err != nil {
					return err
				}
			}
		}
		if t.Status == TaskOpen {
			if err := s.unindexTask(ctx, u, &t); err != nil {
				return err
			}
		}
		_, err = s.tasks.DeleteOne(ctx, bson.M{"_id": t.ID})
		return err
	})
}
