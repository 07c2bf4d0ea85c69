package sheets

// Roster is the trainee roster (花名册) the enrollment import reads.
// Keys: name, id_number, phone, village, township, gender, groups.
var Roster = &Schema{
	Name: "花名册",
	Fields: []Field{
		{Key: "name", Label: "姓名", Required: true, Synonyms: []string{"姓名", "名字", "学员姓名", "学员", "name"}},
		{Key: "id_number", Label: "身份证号", Required: true, Text: true, Synonyms: []string{
			"身份证号", "身份证号码", "身份证", "公民身份号码", "公民身份证号", "证件号码", "身份证件号码", "id_number", "id"}},
		{Key: "phone", Label: "手机号", Required: true, Synonyms: []string{
			"手机号", "手机号码", "手机", "联系电话", "联系方式", "电话", "电话号码", "phone", "mobile"}},
		{Key: "village", Label: "村", Required: true, Synonyms: []string{
			"村", "村名", "行政村", "所在村", "所在村（社区）", "村（社区）", "村社区", "村委会", "village", "region_id"}},
		{Key: "township", Label: "乡镇", Synonyms: []string{
			"乡镇", "所在乡镇", "乡（镇、街道）", "乡镇（街道）", "乡镇街道", "所在乡镇（街道）", "township"}},
		{Key: "gender", Label: "性别", Synonyms: []string{"性别", "gender", "sex"}},
		{Key: "groups", Label: "人群类别", Synonyms: []string{
			"人群类别", "类别", "身份", "人群", "人员类别", "学员类别", "groups", "group"}},
	},
}

// Regions is the region list (区划) the regions import reads, with the
// English header code,name,level,parent_code,poverty or its Chinese names.
var Regions = &Schema{
	Name: "区划表",
	Fields: []Field{
		{Key: "code", Label: "区划代码", Required: true, Synonyms: []string{"code", "代码", "编码", "区划代码", "行政区划代码", "统计用区划代码"}},
		{Key: "name", Label: "名称", Required: true, Synonyms: []string{"name", "名称", "区划名称", "单位名称"}},
		{Key: "level", Label: "级别", Required: true, Synonyms: []string{"level", "级别", "层级", "类型"}},
		{Key: "parent_code", Label: "上级代码", Synonyms: []string{"parent_code", "parent", "上级代码", "上级编码", "上级区划代码"}},
		{Key: "poverty", Label: "贫困村", Synonyms: []string{"poverty", "贫困村", "是否贫困村", "脱贫村", "是否脱贫村"}},
	},
}

// Attendance is a paper sign-in sheet typed in (签到表): the ID number, or
// the name and the phone, and a sign-in mark per row (read it with
// MarkCell). Keys: id_number, name, phone, present.
var Attendance = &Schema{
	Name: "签到表",
	Fields: []Field{
		{Key: "id_number", Label: "身份证号", Text: true, Synonyms: Roster.field("id_number").Synonyms},
		{Key: "name", Label: "姓名", Synonyms: Roster.field("name").Synonyms},
		{Key: "phone", Label: "手机号", Synonyms: Roster.field("phone").Synonyms},
		{Key: "present", Label: "签到", Required: true, Synonyms: []string{
			"签到", "签到情况", "是否签到", "签到（√）", "出勤", "是否出勤", "到课", "签名", "签字", "学员签名", "present"}},
	},
	AnyOf: [][]string{{"id_number"}, {"name", "phone"}},
}
