package stations

import (
	"context"
	"sort"
	"strings"

	"nongxun/reports"
)

// This file is what the reports package reads of stations and logistics,
// in the reports' types. It is kept by the reports engineer; the stations
// engineer keeps it true when the collections or counters it reads change.

// ReportCoverage is Coverage in the reports' type.
func (s *Service) ReportCoverage(ctx context.Context, townshipID string) (*reports.Coverage, error) {
	c, err := s.Coverage(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	return &reports.Coverage{VillagesTotal: c.VillagesTotal, VillagesCovered: c.VillagesCovered, Ratio: c.Ratio,
		PovertyVillagesTotal: c.PovertyVillagesTotal, PovertyVillagesCovered: c.PovertyVillagesCovered, PovertyRatio: c.PovertyRatio,
		TownshipsTotal: c.TownshipsTotal, TownshipsCovered: c.TownshipsCovered, TargetRatio: c.TargetRatio, OperatingPoints: c.OperatingPoints}, nil
}

// ReportParcels is the last 30 days of parcels, with the volumes by day ("MM-DD").
func (s *Service) ReportParcels(ctx context.Context, townshipID string) (*reports.Volumes, error) {
	v, err := s.ParcelVolumes(ctx, townshipID)
	if err != nil {
		return nil, err
	}
	out := &reports.Volumes{Up: v.Up, Down: v.Down, UpwardShare: v.UpwardShare, AvgDownHours: v.AvgCountyToVillageHours,
		UpByMonth: map[string]int64{}, DownByMonth: map[string]int64{}}
	for _, day := range v.Days {
		if len(day.Date) == 10 {
			out.UpByMonth[day.Date[5:]] += day.Up
			out.DownByMonth[day.Date[5:]] += day.Down
		}
	}
	return out, nil
}

// ReportFacilities counts the built infrastructure from the station
// list's pack (one read by _id; list.go): operating stations by kind, the
// largest operating warehouse, and the new-station subsidies paid and
// owed. The village-point target is the reports' own setting.
func (s *Service) ReportFacilities(ctx context.Context) (*reports.Facilities, error) {
	list, err := s.summaries(ctx)
	if err != nil {
		return nil, err
	}
	f := &reports.Facilities{TownshipsTotal: int64(len(s.d.Regions.Townships(ctx)))}
	for _, x := range list {
		if x.Status == StatusOperating {
			switch x.Kind {
			case KindCountyCenter:
				f.CountyCenters++
			case KindWarehouse:
				f.Warehouses++
				f.WarehouseAreaM2 = max(f.WarehouseAreaM2, x.AreaM2)
			case KindTownship:
				f.TownshipStations++
			case KindVillage:
				f.VillagePoints++
			}
		}
		amount := subsidyOf(x.Kind, x.Origin)
		if x.AcceptedAt == nil || amount == 0 {
			continue
		}
		if x.SubsidyPaid {
			f.SubsidyPaidFen += amount
		} else {
			f.SubsidyOwedFen += amount
		}
		if x.Kind == KindVillage {
			f.AcceptedNewPoints++
		}
	}
	return f, nil
}

// ReportAcceptance lists every acceptance inspection, oldest first, for the
// self-evaluation (a failed one noted 未通过).
func (s *Service) ReportAcceptance(ctx context.Context) ([]reports.AcceptanceRow, error) {
	list, err := s.AcceptanceRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reports.AcceptanceRow, 0, len(list))
	for _, a := range list {
		note := a.Note
		if a.Result == "fail" {
			note = strings.TrimSpace("未通过 " + note)
		}
		out = append(out, reports.AcceptanceRow{Station: a.Name, Kind: a.Kind, TownshipID: a.TownshipID, Origin: a.Origin, AcceptedAt: a.At, Note: note})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AcceptedAt.Before(out[j].AcceptedAt) })
	return out, nil
}
