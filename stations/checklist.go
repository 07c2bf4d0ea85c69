package stations

import (
	"context"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"nongxun/server"
	"nongxun/store"
)

// CheckItem is one item of the acceptance checklist.
type CheckItem struct {
	Key      string   `bson:"key" json:"key"`
	Label    string   `bson:"label" json:"label"`
	Required bool     `bson:"required" json:"required"`
	Kinds    []string `bson:"kinds" json:"kinds"` // station kinds it applies to
}

// DefaultChecklist is the published Hebei (2017) village-station
// acceptance list (DESIGN.md), applied to village points and township
// stations until the county configures its own.
var DefaultChecklist = []CheckItem{
	{Key: "area", Label: "经营面积不少于 10 平方米（人口 500 人以上的村或贫困村）", Required: true, Kinds: []string{KindVillage, KindTownship}},
	{Key: "computer", Label: "配备电脑", Required: true, Kinds: []string{KindVillage, KindTownship}},
	{Key: "display", Label: "配备显示屏", Required: true, Kinds: []string{KindVillage, KindTownship}},
	{Key: "recorder", Label: "上网行为记录仪在线率不低于 95%", Required: true, Kinds: []string{KindVillage, KindTownship}},
	{Key: "baskets", Label: "配备快递包裹筐", Required: true, Kinds: []string{KindVillage, KindTownship}},
	{Key: "notice_board", Label: "设有公示栏", Required: true, Kinds: []string{KindVillage, KindTownship}},
	{Key: "door_sign", Label: "悬挂“电子商务进农村综合示范项目”门牌", Required: true, Kinds: []string{KindVillage, KindTownship}},
}

const checklistID = "checklist"

type checklistDoc struct {
	ID    string      `bson:"_id"`
	Items []CheckItem `bson:"items"`
}

// Checklist returns the configured acceptance checklist, or the default.
func (s *Service) Checklist(ctx context.Context) ([]CheckItem, error) {
	var d checklistDoc
	err := s.config.Get(ctx, checklistID, &d)
	if store.IsNotFound(err) {
		return append([]CheckItem(nil), DefaultChecklist...), nil
	}
	if err != nil {
		return nil, err
	}
	return d.Items, nil
}

var keyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// SetChecklist replaces the acceptance checklist (admin).
func (s *Service) SetChecklist(ctx context.Context, p *server.Principal, items []CheckItem) ([]CheckItem, error) {
	f := server.Fields{}
	f.Add(len(items) == 0 || len(items) > 40, "items", "清单应有 1 到 40 项")
	seen := map[string]bool{}
	for i := range items {
		it := &items[i]
		it.Key = strings.TrimSpace(it.Key)
		it.Label = strings.TrimSpace(it.Label)
		f.Add(!keyRe.MatchString(it.Key) || seen[it.Key], "items", "每项须有唯一的 key（小写字母、数字、下划线）")
		f.Add(it.Label == "" || len([]rune(it.Label)) > 100, "items", "每项须有说明（100 字以内）")
		if len(it.Kinds) == 0 {
			it.Kinds = []string{KindVillage, KindTownship}
		}
		for _, k := range it.Kinds {
			f.Add(kindName[k] == "", "items", "适用站点类型应为县级中心、仓储物流中心、乡镇服务站或村级服务点")
		}
		seen[it.Key] = true
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if _, err := s.config.ReplaceOne(ctx, bson.M{"_id": checklistID}, checklistDoc{ID: checklistID, Items: items},
		options.Replace().SetUpsert(true)); err != nil {
		return nil, err
	}
	s.note(ctx, p, "station.checklist", checklistID, map[string]any{"items": len(items)})
	return items, nil
}

// judge turns the inspector's answers into checklist results. Unknown keys
// are invalid; a pass needs every required item of the station's kind met.
func (s *Service) judge(ctx context.Context, kind string, answers map[string]bool, pass bool) ([]CheckResult, error) {
	list, err := s.Checklist(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	out := []CheckResult{}
	var missing []string
	for _, it := range list {
		known[it.Key] = true
		if !contains(it.Kinds, kind) {
			continue
		}
		ok := answers[it.Key]
		out = append(out, CheckResult{Key: it.Key, Label: it.Label, Required: it.Required, OK: ok})
		if it.Required && !ok {
			missing = append(missing, it.Label)
		}
	}
	for k := range answers {
		if !known[k] {
			return nil, server.Invalid("验收清单中没有此项："+k, "checklist", "未知项目 "+k)
		}
	}
	if pass && len(missing) > 0 {
		return nil, &server.Error{Code: server.CodeInvalid, Rule: "acceptance_checklist",
			Message: "验收清单未全部达标，不能判为合格：" + strings.Join(missing, "；"),
			Fields:  map[string]string{"checklist": "必备项未达标"}}
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
