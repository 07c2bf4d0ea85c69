package stations

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/clock"
	"nongxun/server"
	"nongxun/store"
)

// maxInspections bounds the inspections kept in a station document.
const maxInspections = 20

// StatusChange is POST /stations/:id/status. For "accepted" it also
// carries the inspection: inspector and the checklist results.
type StatusChange struct {
	Status    string          `json:"status"`
	At        string          `json:"at"`
	Note      string          `json:"note"`
	Inspector string          `json:"inspector"`
	Result    string          `json:"result"`
	Checklist map[string]bool `json:"checklist"`
}

// InspectionInput is POST /stations/:id/acceptance: one inspection,
// passed or failed; a pass moves a built station to accepted.
type InspectionInput struct {
	At        string          `json:"at"`
	Inspector string          `json:"inspector"`
	Result    string          `json:"result"`
	Checklist map[string]bool `json:"checklist"`
	Note      string          `json:"note"`
}

// parseAt reads an RFC 3339 time that is not in the future and lies in the
// programme's years (docs/design.md, "Time"): a station's steps are
// programme dates, entered after the fact at most.
func parseAt(f server.Fields, field, v string, now time.Time) time.Time {
	if v == "" {
		f.Add(true, field, "请填写时间")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	f.Add(err != nil, field, "时间格式不对，应如 2019-09-30T10:00:00+08:00")
	f.Add(err == nil && !clock.InProgrammeRange(t), field, fmt.Sprintf("日期应在 %d 年至 %d 年之间", clock.ProgrammeMinYear, clock.ProgrammeMaxYear))
	f.Add(err == nil && clock.InProgrammeRange(t) && t.After(now.Add(15*time.Minute)), field, "时间不能晚于现在")
	return t.UTC()
}

func (in *InspectionInput) validate(now time.Time) (time.Time, error) {
	in.Inspector = strings.TrimSpace(in.Inspector)
	in.Note = strings.TrimSpace(in.Note)
	f := server.Fields{}
	at := parseAt(f, "at", in.At, now)
	f.Add(in.Inspector == "" || len([]rune(in.Inspector)) > 40, "inspector", "请填写验收人（40 字以内）")
	f.Add(in.Result != "pass" && in.Result != "fail", "result", "请选择合格或不合格")
	f.Add(len([]rune(in.Note)) > 500, "note", "备注过长（500 字以内）")
	return at, f.Err()
}

// SetStatus moves a station one step along planned → built → accepted →
// operating → closed. A skipped or backward step is a conflict naming the
// rule; "accepted" needs a passed inspection; operating and closing keep
// the coverage counters; every change goes to the audit log.
func (s *Service) SetStatus(ctx context.Context, p *server.Principal, id string, in StatusChange) (*Station, error) {
	in.Note = strings.TrimSpace(in.Note)
	f := server.Fields{}
	f.Add(in.Status != StatusBuilt && in.Status != StatusAccepted && in.Status != StatusOperating && in.Status != StatusClosed,
		"status", "应为已建成、已验收、运营中或已关闭")
	f.Add(len([]rune(in.Note)) > 500, "note", "备注过长（500 字以内）")
	at := parseAt(f, "at", in.At, s.now())
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Status == StatusAccepted {
		if in.Result == "" {
			in.Result = "pass"
		}
		if in.Result != "pass" {
			return nil, server.Invalid("标记为已验收须验收合格；不合格的验收请在“验收记录”中登记", "result", "应为合格")
		}
		return s.Inspect(ctx, p, id, InspectionInput{At: in.At, Inspector: in.Inspector, Result: in.Result, Checklist: in.Checklist, Note: in.Note})
	}
	x, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := stepRule(x, in.Status, at); err != nil {
		return nil, err
	}
	return s.move(ctx, p, x, Step{Status: in.Status, At: at, Note: in.Note, By: who(p)}, nil)
}

// stepRule refuses a skipped or backward step, or a step dated before the last.
func stepRule(x *Station, to string, at time.Time) error {
	from := x.Status
	switch d := statusOrder[to] - statusOrder[from]; {
	case d <= 0:
		return server.RuleBroken(server.CodeConflict, "status_no_backward",
			"站点状态不能倒退或重复：当前为「"+statusName[from]+"」，不能改为「"+statusName[to]+"」")
	case d > 1:
		next := statusOrderList[statusOrder[from]+1]
		return server.RuleBroken(server.CodeConflict, "status_no_skip",
			"站点状态不能跳步：当前为「"+statusName[from]+"」，下一步应为「"+statusName[next]+"」")
	}
	// The planned step is dated when the record was made; later steps may
	// be entered after the fact, so only they are kept in order.
	if n := len(x.History); n > 0 && x.History[n-1].Status != StatusPlanned && at.Before(x.History[n-1].At) {
		return server.RuleBroken(server.CodeConflict, "status_time_order",
			"时间早于上一步（"+statusName[x.History[n-1].Status]+"，"+clock.Show(x.History[n-1].At)+"）")
	}
	return nil
}

// move writes one status step as one unit: the station's status by a
// conditional update on the status as read (of two racing steps one
// matches nothing, on any engine and any number of app nodes), then the
// coverage marker and counters; a failure undoes the earlier writes.
func (s *Service) move(ctx context.Context, p *server.Principal, x *Station, step Step, insp *Inspection) (*Station, error) {
	set := bson.M{"status": step.Status}
	if step.Status == StatusAccepted {
		set["accepted_at"] = step.At
	}
	upd := bson.M{"$set": set, "$push": bson.M{"history": step}}
	if insp != nil {
		upd["$push"] = bson.M{"history": step, "inspections": insp}
	}
	due := step.Status == StatusAccepted && subsidyOf(x.Kind, x.Origin) > 0
	defer s.changed(x)
	err := s.st.Unit(ctx, "station.status", func(u *store.Unit) error {
		ok, err := s.stations.UpdateIf(ctx, x.ID, store.Cond{"status": x.Status}, upd)
		if err != nil {
			return err
		}
		if !ok {
			return s.lostRace(ctx, x.ID, step)
		}
		u.OnFail("station status", func(ctx context.Context) error {
			back := bson.M{"$set": bson.M{"status": x.Status}, "$pop": bson.M{"history": 1}}
			if insp != nil {
				back["$pop"] = bson.M{"history": 1, "inspections": 1}
			}
			if step.Status == StatusAccepted {
				back["$unset"] = bson.M{"accepted_at": ""}
			}
			_, err := s.stations.UpdateIf(ctx, x.ID, store.Cond{"status": step.Status}, back)
			return err
		})
		switch {
		case step.Status == StatusOperating:
			err = s.cover(ctx, u, x, true)
		case step.Status == StatusClosed:
			err = s.cover(ctx, u, x, false)
		case due:
			err = s.subsidyCount(ctx, u, map[string]int64{"owed_fen": subsidyOf(x.Kind, x.Origin), "owed_count": 1})
		}
		if err != nil {
			return err
		}
		return s.listStep(ctx, u, x.ID, x)
	})
	if err != nil {
		return nil, err
	}
	detail := map[string]any{"from": x.Status, "to": step.Status, "at": step.At, "note": step.Note, "kind": x.Kind, "name": x.Name}
	if insp != nil {
		detail["inspector"], detail["result"] = insp.Inspector, insp.Result
	}
	s.note(ctx, p, "station.status", x.ID, detail)
	if step.Status == StatusClosed {
		// A closed county centre or township station frees its place.
		if err := s.dropMarker(ctx, uniqueKey(x.Kind, x.RegionID), x.ID); err != nil {
			s.d.Log.Error("stations: the closed station's place is still held; run the coverage recount", "station", x.ID, "err", err.Error())
		}
	}
	return s.load(ctx, x.ID)
}

// lostRace explains a status step whose conditional update matched
// nothing: another step landed first. The step is judged again against the
// station as it is now, so the refusal names the rule it breaks.
func (s *Service) lostRace(ctx context.Context, id string, step Step) error {
	if now, err := s.load(ctx, id); err == nil {
		if err := stepRule(now, step.Status, step.At); err != nil {
			return err
		}
	}
	return server.RuleBroken(server.CodeConflict, "status_changed", "站点状态刚被他人修改，请刷新后重试")
}

// Inspect records an acceptance inspection of a built station. A pass
// needs every required checklist item met and moves the station to
// accepted (which makes a new township station or village point's subsidy
// due); a fail is kept as evidence and leaves the station built.
func (s *Service) Inspect(ctx context.Context, p *server.Principal, id string, in InspectionInput) (*Station, error) {
	at, err := in.validate(s.now())
	if err != nil {
		return nil, err
	}
	x, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	defer s.changed(x)
	if x.Status != StatusBuilt {
		return nil, server.RuleBroken(server.CodeConflict, "acceptance_after_built",
			"只有「已建成」的站点才能验收，当前为「"+statusName[x.Status]+"」")
	}
	if len(x.Inspections) >= maxInspections {
		return nil, server.Conflict("验收记录已达上限")
	}
	items, err := s.judge(ctx, x.Kind, in.Checklist, in.Result == "pass")
	if err != nil {
		return nil, err
	}
	insp := Inspection{At: at, Inspector: in.Inspector, Result: in.Result, Items: items, Note: in.Note, By: who(p)}
	if in.Result == "pass" {
		if err := stepRule(x, StatusAccepted, at); err != nil {
			return nil, err
		}
		return s.move(ctx, p, x, Step{Status: StatusAccepted, At: at, Note: in.Note, By: who(p)}, &insp)
	}
	ok, err := s.stations.UpdateIf(ctx, x.ID, store.Cond{"status": StatusBuilt}, bson.M{"$push": bson.M{"inspections": insp}})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, server.RuleBroken(server.CodeConflict, "status_changed", "站点状态刚被他人修改，请刷新后重试")
	}
	s.note(ctx, p, "station.inspection", x.ID, map[string]any{"result": "fail", "inspector": insp.Inspector, "at": at})
	return s.load(ctx, x.ID)
}
