package demo

// subject is one course the county's training plan offers.
type subject struct {
	Title, Desc string
	Groups      []string
	Sessions    int
}

// catalog is the training plan by category (courses.DefaultCategories),
// after the plan's 网店开设、宣传推广、产品营销 and the practice it asks for.
var catalog = []struct {
	Category string
	Subjects []subject
}{
	{"网店开设", []subject{
		{"淘宝网店开设入门", "注册、实名认证、店铺装修、商品上架与定价，课后每人开出自己的店铺。", []string{"poverty", "woman", "returnee_worker"}, 3},
		{"拼多多开店与拼团运营", "开店流程、拼团规则、农产品类目资质与发货时效要求。", []string{"poverty", "youth"}, 3},
		{"微信小店与朋友圈开店", "用微信小店卖自家农产品：开店、收款、发货和售后。", []string{"woman", "disabled"}, 2},
		{"抖音小店入驻实务", "入驻资质、保证金、商品审核和短视频挂车。", []string{"youth", "returnee_graduate"}, 3},
	}},
	{"宣传推广", []subject{
		{"农产品短视频拍摄与剪辑", "用手机拍出好看的产品和田间视频，剪辑、配字幕和发布。", []string{"youth", "woman"}, 3},
		{"朋友圈与社群营销", "建群、维护老客户、节日促销与口碑传播。", []string{"woman", "poverty"}, 2},
		{"产品图片拍摄与详情页制作", "主图、详情页的拍摄和排版，手机修图。", []string{"youth", "returnee_graduate"}, 3},
	}},
	{"产品营销", []subject{
		{"会泽石榴网络营销", "石榴的分级、卖点提炼、预售和节令营销。", []string{"poverty"}, 3},
		{"马铃薯与杂粮线上销售", "马铃薯、荞麦等大宗产品的小包装化和线上定价。", []string{"poverty", "returnee_worker"}, 3},
		{"核桃、辣椒网货化打造", "从农产品到网货：规格、包装、品牌故事。", []string{"poverty", "veteran"}, 3},
	}},
	{"直播带货", []subject{
		{"直播带货入门", "开播准备、话术、灯光和手机设备，现场试播。", []string{"youth", "returnee_graduate", "woman"}, 3},
		{"乡村主播培育班", "田间直播、产地溯源直播和直播间互动技巧。", []string{"youth", "returnee_worker"}, 4},
		{"直播选品与复盘", "选品、定价、数据复盘与粉丝运营。", []string{"youth"}, 2},
	}},
	{"实操", []subject{
		{"网店运营实操", "上机实操：商品发布、订单处理、客服回复与评价管理。", []string{"poverty", "woman"}, 4},
		{"电商客服与售后实操", "售前咨询、售后纠纷处理和平台规则。", []string{"woman", "disabled"}, 3},
		{"村级服务点业务实操", "代买代卖、缴费、快递收发的系统操作。", []string{"returnee_worker", "veteran"}, 2},
	}},
	{"物流与包装", []subject{
		{"农产品分级与包装", "分级标准、包装材料选择、防损和成本核算。", []string{"poverty"}, 2},
		{"快递收发与物流对接", "与快递企业对接、运费谈判、批量发货。", []string{"returnee_worker", "veteran"}, 2},
		{"生鲜冷链与预冷技术", "石榴、蔬菜的预冷、冷链和破损理赔。", []string{"poverty", "youth"}, 3},
	}},
	{"品牌与质量", []subject{
		{"地理标志与区域品牌建设", "地理标志、商标注册和区域公用品牌的使用。", []string{"returnee_graduate"}, 2},
		{"“三品一标”与SC认证申报", "无公害、绿色、有机、地理标志和SC认证的申报材料。", []string{"veteran", "returnee_graduate"}, 2},
		{"农产品质量追溯实务", "追溯码的使用、检测报告和批次管理。", []string{"poverty"}, 2},
	}},
	{"其他", []subject{
		{"农村电商政策解读", "示范县政策、补助标准和申报流程。", []string{"poverty", "veteran", "disabled"}, 2},
		{"电商创业与小额信贷", "创业计划、贴息贷款与风险防范。", []string{"returnee_worker", "returnee_graduate", "youth"}, 2},
		{"网络安全与防诈骗", "网店和网购中的常见骗局和防范。", []string{"woman", "disabled", "poverty"}, 2},
	}},
}

// monthWeights shape how many courses start in each programme month:
// slow over the Spring Festival and the busy farming weeks, busy in
// autumn after the harvest.
var monthWeights = []int{3, 2, 6, 8, 9, 7, 6, 8, 10, 11, 10, 4}

// halls are the rooms township sessions meet in.
var halls = []string{"便民服务中心培训室", "人民政府三楼会议室", "农村电商服务站培训室", "文化活动中心"}
