package enrollment

import (
	"strings"
	"time"

	"nongxun/server"
	"nongxun/users"
)

// Groups a trainee may belong to (重点人群).
const (
	GroupPoverty          = "poverty"           // 建档立卡贫困户
	GroupWoman            = "woman"             // 妇女
	GroupYouth            = "youth"             // 青年
	GroupReturneeGraduate = "returnee_graduate" // 返乡大学生
	GroupReturneeWorker   = "returnee_worker"   // 返乡农民工
	GroupVeteran          = "veteran"           // 退役军人
	GroupDisabled         = "disabled"          // 残疾人
)

// Groups lists every group, in display order.
var Groups = []string{GroupPoverty, GroupWoman, GroupYouth, GroupReturneeGraduate, GroupReturneeWorker, GroupVeteran, GroupDisabled}

// GroupNames are the Chinese labels, also accepted on import.
var GroupNames = map[string]string{
	GroupPoverty: "建档立卡贫困户", GroupWoman: "妇女", GroupYouth: "青年", GroupReturneeGraduate: "返乡大学生",
	GroupReturneeWorker: "返乡农民工", GroupVeteran: "退役军人", GroupDisabled: "残疾人",
}

// Trainee is a registered trainee. The ID number itself is never in this
// struct: only its masked form.
type Trainee struct {
	ID         string    `bson:"_id" json:"id"`
	UserID     string    `bson:"user_id,omitempty" json:"user_id,omitempty"`
	Name       string    `bson:"name" json:"name"`
	Gender     string    `bson:"gender" json:"gender"`
	BirthDate  string    `bson:"birth_date" json:"birth_date"`
	Phone      string    `bson:"phone" json:"phone"`
	RegionID   string    `bson:"region_id" json:"region_id"` // village
	TownshipID string    `bson:"township_id" json:"township_id"`
	Groups     []string  `bson:"groups" json:"groups"`
	IDMasked   string    `bson:"id_masked" json:"id_number"`
	CreatedAt  time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt  time.Time `bson:"updated_at,omitempty" json:"updated_at,omitempty"`
	// Status is "" for a live record and "merged" for one merged into
	// MergedInto (kept for the audit trail, counted nowhere).
	Status     string `bson:"status,omitempty" json:"status,omitempty"`
	MergedInto string `bson:"merged_into,omitempty" json:"merged_into,omitempty"`
}

// StatusMerged marks a trainee record merged into another.
const StatusMerged = "merged"

// Merged reports whether the record was merged into another.
func (t *Trainee) Merged() bool { return t.Status == StatusMerged }

// HasGroup reports whether the trainee belongs to group g.
func (t *Trainee) HasGroup(g string) bool {
	for _, x := range t.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// traineeDoc is the stored form: the trainee plus the keyed hash and the
// sealed ID number.
type traineeDoc struct {
	Trainee   `bson:",inline"`
	IDHash    string `bson:"id_hash"`
	IDSealed  string `bson:"id_sealed"`
	CreatedBy string `bson:"created_by"`
	Source    string `bson:"source"` // staff, import, self
	// Ver counts corrections of the record: each is a conditional update
	// on the version read, so two at once cannot both apply.
	Ver int64 `bson:"ver,omitempty"`
}

// verCond is the condition "still the version read".
func verCond(v int64) map[string]any {
	if v == 0 {
		return map[string]any{"ver": nil}
	}
	return map[string]any{"ver": v}
}

// NewTrainee is what registering a trainee takes.
type NewTrainee struct {
	Name     string   `json:"name"`
	IDNumber string   `json:"id_number"`
	Phone    string   `json:"phone"`
	Gender   string   `json:"gender"`
	RegionID string   `json:"region_id"`
	Groups   []string `json:"groups"`
	Password string   `json:"password"`
}

// normGender accepts male/female and 男/女.
func normGender(g string) string {
	switch strings.ToLower(strings.TrimSpace(g)) {
	case "male", "m", "男":
		return GenderMale
	case "female", "f", "女":
		return GenderFemale
	case "":
		return ""
	}
	return "?"
}

// normGroup accepts a group's key or its Chinese name.
func normGroup(g string) string {
	g = strings.TrimSpace(g)
	if _, ok := GroupNames[g]; ok {
		return g
	}
	for k, v := range GroupNames {
		if v == g || (k == GroupPoverty && (g == "贫困户" || g == "建档立卡")) {
			return k
		}
	}
	return ""
}

// normGroups turns group keys or Chinese names into keys, without
// repeats, in the order given; bad lists the unknown ones.
func normGroups(in []string) (groups, bad []string) {
	groups = []string{}
	for _, x := range in {
		k := normGroup(x)
		if k == "" {
			bad = append(bad, x)
			continue
		}
		if !contains(groups, k) {
			groups = append(groups, k)
		}
	}
	return groups, bad
}

// Validate checks the fields that need no database and fills in gender
// and birth date from the ID number. isVillage checks the region. The
// phone may be left out (a trainee without a phone has no login account).
func (n *NewTrainee) Validate(now time.Time, isVillage func(string) bool) (IDNumber, error) {
	n.Name = strings.TrimSpace(n.Name)
	n.Phone = strings.TrimSpace(n.Phone)
	f := server.Fields{}
	f.Add(n.Name == "" || len([]rune(n.Name)) > 30, "name", "请填写姓名（30 字以内）")
	id, err := ParseIDNumber(n.IDNumber, now)
	if err != nil {
		f.Add(true, "id_number", err.Error())
	}
	f.Add(n.Phone != "" && !users.ValidPhone(n.Phone), "phone", "应为 11 位手机号（没有手机可不填）")
	g := normGender(n.Gender)
	f.Add(g == "?", "gender", "性别应为 male 或 female")
	if err == nil && g != "" && g != "?" && g != id.Gender {
		f.Add(true, "gender", "与身份证号中的性别不符")
	}
	f.Add(!isVillage(n.RegionID), "region_id", "请选择所在行政村")
	groups, bad := normGroups(n.Groups)
	for _, x := range bad {
		f.Add(true, "groups", "未知的人群类别："+x)
	}
	if err == nil && id.Gender == GenderFemale && !contains(groups, GroupWoman) {
		groups = append(groups, GroupWoman)
	}
	n.Groups = groups
	f.Add(n.Password != "" && (len(n.Password) < 8 || len(n.Password) > 128), "password", "密码至少 8 位")
	if e := f.Err(); e != nil {
		return IDNumber{}, e
	}
	n.Gender = id.Gender
	return id, nil
}
