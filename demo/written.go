package demo

import (
	"context"
	"fmt"

	"nongxun/clock"
)

// loadWritten has two township officers file this month's written report
// (before the 30th, so on time) from their township's figures.
func (l *loader) loadWritten(ctx context.Context) error {
	month := clock.Month(l.now)
	n := 0
	for _, o := range l.officers[:min(2, len(l.officers))] {
		var pr struct {
			PersonTimes int `json:"person_times"`
			Trainees    int `json:"trainees"`
		}
		if err := o.must("读取本乡镇培训进度", "GET", "/progress", nil, &pr); err != nil {
			return err
		}
		var conv struct {
			Certified  int `json:"certified"`
			ShopOpened int `json:"shop_opened"`
			Selling    int `json:"selling"`
		}
		if err := o.must("读取本乡镇转化情况", "GET", "/conversion", nil, &conv); err != nil {
			return err
		}
		var cov struct {
			VillagesCovered int `json:"villages_covered"`
			VillagesTotal   int `json:"villages_total"`
			OperatingPoints int `json:"operating_points"`
		}
		if err := o.must("读取本乡镇站点覆盖", "GET", "/stations/coverage", nil, &cov); err != nil {
			return err
		}
		t := unmarked(l.townships[o.Township].Name)
		text := fmt.Sprintf(`%s %s 电子商务进农村工作月报（演示）

一、培训：本乡镇累计培训 %d 人次、%d 人，取得结业证书 %d 人。本月按计划开班，学员以建档立卡贫困户、妇女和返乡人员为主。
二、转化：累计开设网店 %d 家，近三个月有销售的 %d 家；对结业学员逐一电话或上门回访。
三、站点：运营中的村级服务点 %d 个，覆盖行政村 %d / %d 个；快递进村正常。
四、存在问题：部分村点经营者兼顾农活，营业时间不稳定；山区村物流成本偏高。
五、下月计划：继续开展直播带货和产品包装培训，督促已验收站点尽快运营。`,
			t, month, pr.PersonTimes, pr.Trainees, conv.Certified, conv.ShopOpened, conv.Selling, cov.OperatingPoints, cov.VillagesCovered, cov.VillagesTotal)
		if err := o.must("报送月报", "PUT", "/reports/written/"+month, map[string]any{"text": text}, nil); err != nil {
			return err
		}
		n++
	}
	l.say("        %d 个乡镇报送了 %s 的书面月报", n, month)
	l.count("书面月报", n)
	return nil
}
