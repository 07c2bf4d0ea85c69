package main

import (
	"context"
	"sort"
	"strings"
	"time"

	"nongxun/courses"
	"nongxun/enrollment"
	"nongxun/funds"
	"nongxun/incubation"
	"nongxun/reports"
	"nongxun/server"
	"nongxun/stations"
	"nongxun/users"

	"nongxun/certificates"
)

// reportSources are the services the reports read, each nil until build() wires it.
type reportSources struct {
	Users        *users.Service
	Courses      *courses.Service
	Enrollment   *enrollment.Service
	Certificates *certificates.Service
	Incubation   *incubation.Service
	Stations     *stations.Service
	Funds        *funds.Service
}

// system is the principal the reports use to list records for the office.
var system = &server.Principal{UserID: "reports", Role: server.RoleAdmin, Name: "统计"}

// reportsCacheTTL and reportsSlowTTL override the dashboard's caches
// (benchmarks set them negative).
var reportsCacheTTL, reportsSlowTTL time.Duration

// reportsDeps adapts the feature services to the reports' own small
// types, so the reports package imports none of them.
func reportsDeps(d reports.Deps, s reportSources) reports.Deps {
	d.CacheTTL, d.SlowTTL = reportsCacheTTL, reportsSlowTTL
	if s.Courses != nil {
		d.Sources = append(d.Sources, s.Courses)
	}
	if e := s.Enrollment; e != nil {
		d.Sources = append(d.Sources, e)
		d.Progress = func(ctx context.Context, tid string) (*reports.Progress, error) {
			return reports.Via[reports.Progress](e.Progress(ctx, tid))
		}
		d.Roster = func(ctx context.Context, tid string) ([]reports.TraineeRow, error) {
			var out []reports.TraineeRow
			const page = 500 // enrollment.List's largest page
			for skip := int64(0); ; skip += page {
				list, err := e.List(ctx, enrollment.ListFilter{TownshipID: tid, Limit: page, Skip: skip})
				if err != nil {
					return nil, err
				}
				for _, t := range list {
					out = append(out, reports.TraineeRow{Name: maskName(t.Name), Gender: t.Gender, IDMasked: t.IDMasked, Phone: t.Phone,
						TownshipID: t.TownshipID, Village: regionName(d, ctx, t.RegionID), Groups: t.Groups, CreatedAt: t.CreatedAt})
				}
				if len(list) < page {
					return out, nil
				}
			}
		}
	}
	if c := s.Certificates; c != nil {
		d.Sources = append(d.Sources, c)
		d.Certificates = c.CountByTownship
	}
	if in := s.Incubation; in != nil {
		d.Sources = append(d.Sources, in)
		d.Conversion = func(ctx context.Context, tid string) (*reports.Conversion, error) {
			return reports.Via[reports.Conversion](in.Conversion(ctx, tid))
		}
		d.SalesGrowth = func(ctx context.Context, tid string) (*reports.Growth, error) {
			g, err := in.SalesGrowth(ctx, tid)
			if err != nil {
				return nil, err
			}
			out := &reports.Growth{CurrentFen: g.YTDRevenueFen, PreviousFen: g.YTDLastYearFen, ByMonth: map[string]int64{}}
			if g.YTDGrowth != nil {
				out.Rate, out.Known = *g.YTDGrowth, true
			}
			for _, m := range g.ByMonth {
				out.ByMonth[m.Month] = m.RevenueFen
			}
			return out, nil
		}
		d.Enterprises = in.Counts
	}
	if st := s.Stations; st != nil {
		d.Sources = append(d.Sources, st)
		d.Coverage = func(ctx context.Context, tid string) (*reports.Coverage, error) {
			return reports.Via[reports.Coverage](st.Coverage(ctx, tid))
		}
		d.Parcels = func(ctx context.Context, tid string) (*reports.Volumes, error) {
			v, err := st.ParcelVolumes(ctx, tid)
			if err != nil {
				return nil, err
			}
			out := &reports.Volumes{Up: v.Up, Down: v.Down, UpwardShare: v.UpwardShare, AvgDownHours: v.AvgCountyToVillageHours,
				UpByMonth: map[string]int64{}, DownByMonth: map[string]int64{}}
			for _, day := range v.Days { // the last 30 days, by day
				if len(day.Date) == 10 {
					out.UpByMonth[day.Date[5:]] += day.Up
					out.DownByMonth[day.Date[5:]] += day.Down
				}
			}
			return out, nil
		}
		d.Facilities = func(ctx context.Context) (*reports.Facilities, error) {
			f := &reports.Facilities{VillagePointTarget: 190, TownshipsTotal: int64(len(d.Regions.Townships(ctx)))}
			for _, x := range st.List(ctx, system, stations.ListFilter{Status: "operating"}) {
				switch x.Kind {
				case "county_center":
					f.CountyCenters++
				case "warehouse":
					f.Warehouses++
					if x.AreaM2 > f.WarehouseAreaM2 {
						f.WarehouseAreaM2 = x.AreaM2
					}
				case "township":
					f.TownshipStations++
				case "village":
					f.VillagePoints++
				}
			}
			subs, err := st.Subsidies(ctx)
			if err != nil {
				return nil, err
			}
			for _, x := range subs {
				if x.Paid {
					f.SubsidyPaidFen += x.AmountFen
				} else {
					f.SubsidyOwedFen += x.AmountFen
				}
				if x.Kind == "village" {
					f.AcceptedNewPoints++
				}
			}
			return f, nil
		}
		d.Acceptance = func(ctx context.Context) ([]reports.AcceptanceRow, error) {
			list, err := st.AcceptanceRecords(ctx)
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
			return out, nil
		}
	}
	if fs := s.Funds; fs != nil {
		d.Sources = append(d.Sources, fs)
		d.Funds = func(ctx context.Context) (*reports.FundSummary, error) {
			sum, err := fs.Summary(ctx)
			if err != nil {
				return nil, err
			}
			out := &reports.FundSummary{TotalFen: sum.TotalFen, AllocatedFen: sum.AllocatedFen, PaidFen: sum.PaidFen, ByCategory: map[string]int64{}}
			for k, c := range sum.ByCategory {
				out.ByCategory[k] = c.AllocatedFen
			}
			for _, r := range sum.Rules {
				msg := r.Name
				if r.Detail != "" {
					msg += "：" + r.Detail
				}
				out.Rules = append(out.Rules, reports.FundRule{Rule: r.Rule, OK: r.OK, Message: msg, Ratio: r.Ratio, Limit: r.LimitRatio})
			}
			for _, t := range sum.Tranches {
				out.Tranches = append(out.Tranches, reports.FundTranche{Tranche: t.Tranche, Gate: t.GateName, Open: t.Open, DueFen: t.CapFen, PaidFen: t.PaidFen})
			}
			return out, nil
		}
		d.Ledger = func(ctx context.Context) ([]reports.LedgerRow, error) {
			list, err := fs.Ledger(ctx)
			if err != nil {
				return nil, err
			}
			out := make([]reports.LedgerRow, 0, len(list))
			for _, e := range list {
				out = append(out, reports.LedgerRow{ID: e.ID, At: e.At, Kind: e.Kind, Category: e.Category, Use: e.Use, Purpose: e.Purpose,
					AmountFen: e.AmountFen, Payee: e.Payee, Tranche: e.Tranche, Reverses: e.Reverses})
			}
			return out, nil
		}
	}
	if c, e := s.Courses, s.Enrollment; c != nil && e != nil {
		d.Sessions = func(ctx context.Context) ([]reports.SessionRow, error) {
			list, err := c.Courses(ctx, system, courses.CourseFilter{})
			if err != nil {
				return nil, err
			}
			var out []reports.SessionRow
			for _, co := range list {
				ss, err := c.Sessions(ctx, co.ID)
				if err != nil {
					return nil, err
				}
				for _, x := range ss {
					att, err := e.SessionAttendance(ctx, x.ID)
					if err != nil {
						return nil, err
					}
					photos, err := e.SignInPhotos(ctx, x.ID)
					if err != nil {
						return nil, err
					}
					out = append(out, reports.SessionRow{ID: x.ID, Course: co.Title, StartsAt: x.StartsAt, Location: x.Location, TownshipID: x.TownshipID,
						Present: int64(presentCount(att)), SheetPhotos: int64(len(photos)), Cancelled: x.Cancelled})
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
			return out, nil
		}
		d.SignInSheet = func(ctx context.Context, id string) (*reports.SignInSheet, error) {
			x, err := c.Session(ctx, id)
			if err != nil {
				return nil, err
			}
			co, err := c.Course(ctx, x.CourseID)
			if err != nil {
				return nil, err
			}
			att, err := e.SessionAttendance(ctx, id)
			if err != nil {
				return nil, err
			}
			ids := make([]string, 0, len(att))
			for _, a := range att {
				ids = append(ids, a.TraineeID)
			}
			ts, err := e.Trainees(ctx, ids)
			if err != nil {
				return nil, err
			}
			photos, err := e.SignInPhotos(ctx, id)
			if err != nil {
				return nil, err
			}
			sh := &reports.SignInSheet{SessionID: id, Course: co.Title, StartsAt: x.StartsAt, Location: x.Location, Photos: photos}
			if s.Users != nil {
				if u, err := s.Users.Get(ctx, x.TrainerID); err == nil {
					sh.Trainer = u.Name
				}
			}
			for _, a := range att {
				t := ts[a.TraineeID]
				sh.Rows = append(sh.Rows, reports.SignInRow{Name: t.Name, IDMasked: t.IDMasked, Phone: t.Phone, Status: a.Status, At: a.At, Method: a.Method})
			}
			return sh, nil
		}
	}
	return d
}

func presentCount(att []enrollment.Attendance) int {
	n := 0
	for _, a := range att {
		if a.Status == "present" || a.Status == "late" {
			n++
		}
	}
	return n
}

// maskName keeps a name's first character (张**).
func maskName(n string) string {
	r := []rune(n)
	if len(r) <= 1 {
		return n
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

func regionName(d reports.Deps, ctx context.Context, id string) string {
	if r, ok := d.Regions.Get(ctx, id); ok {
		return r.Name
	}
	return ""
}
