// Command nongxun serves the training and incubation platform of a
// county's e-commerce-into-villages demonstration programme, and runs its
// maintenance commands (demo, imports, recount, backup).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"nongxun/audit"
	"nongxun/backup"
	"nongxun/certificates"
	"nongxun/cli"
	"nongxun/courses"
	"nongxun/enrollment"
	"nongxun/events"
	"nongxun/funds"
	"nongxun/incubation"
	"nongxun/logistics"
	"nongxun/regions"
	"nongxun/reports"
	"nongxun/server"
	"nongxun/stations"
	"nongxun/store"
	"nongxun/users"
	"nongxun/web"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := server.LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nongxun: configuration:", err)
		return 2
	}
	log := newLogger(cfg.LogLevel)
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "serve" {
		if err := serve(cfg, log); err != nil {
			fmt.Fprintln(os.Stderr, "nongxun:", err)
			return 1
		}
		return 0
	}
	return cli.Run(cmd, args, cfg, log, build)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// build wires every feature onto a new fiber app.
func build(ctx context.Context, cfg server.Config, st *store.Store, log *slog.Logger) (*fiber.App, *server.Tokens, error) {
	tokens := server.NewTokens(cfg.JWTSecret)
	app := server.New(log, st)
	web.Register(app)

	auditLog, err := audit.New(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	regionSvc, err := regions.New(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	regionSvc.Audit = auditLog
	st.OnRepair("region tree", regionSvc.RepairTree)
	// users: accounts, login (throttled), token versions checked on every
	// request, password resets. Stations and Trainees are set below, once
	// those services exist.
	userSvc, err := users.New(ctx, st, tokens)
	if err != nil {
		return nil, nil, err
	}
	userSvc.Audit = auditLog
	if pw, err := userSvc.EnsureAdmin(ctx, cfg.AdminPassword); err != nil {
		return nil, nil, err
	} else if pw != "" {
		fmt.Fprintf(os.Stderr, "\n  nongxun: created user admin with password %s\n  (shown once; change it after logging in)\n\n", pw)
	}

	// Every /api/v1 route needs a token but those under server.PublicAPI;
	// each route also names its roles with server.Require.
	api := app.Group("/api/v1", tokens.Authenticate())
	userSvc.Register(api, regionSvc)
	regionSvc.Register(api)
	regionSvc.RegisterAdmin(api)
	auditLog.Register(api)
	backup.New(st, filepath.Join(cfg.DataDir, "tmp"), auditLog).Register(api)

	// courses: courses, sessions, materials. courseSvc.Enrolled (user id,
	// course id → enrolled) is set from enrollment below.
	courseSvc, err := courses.New(ctx, courses.Deps{Store: st, Config: cfg, Regions: regionSvc, Users: userSvc, Audit: auditLog, Log: log})
	if err != nil {
		return nil, nil, err
	}
	st.OnRepair("sessions-held counters", courseSvc.RepairCounters)
	st.OnRepair("session lists", courseSvc.RepairLists)
	courseSvc.Register(api)

	// stations: county centre, warehouse, township stations, village points,
	// coverage, subsidies, services log, photos. logistics: parcels over
	// those nodes (looked up with stationSvc.Station / Hub), their scans,
	// volumes and archive; stationSvc reports its figures (UseParcels).
	// funds calls stationSvc.SubsidyDue / MarkSubsidyPaid / Subsidies / Totals.
	stationSvc, err := stations.New(ctx, stations.Deps{Store: st, Config: cfg, Regions: regionSvc, Audit: auditLog, Users: userSvc, Log: log})
	if err != nil {
		return nil, nil, err
	}
	st.OnRepair("station coverage and subsidy counters", stationSvc.RepairCounters)
	stationSvc.Register(api)
	userSvc.Stations = users.StationFunc(func(ctx context.Context, id string) bool {
		_, err := stationSvc.Station(ctx, id)
		return err == nil
	})
	parcelSvc, err := logistics.New(ctx, logistics.Deps{Store: st, Stations: stationSvc, Regions: regionSvc, Audit: auditLog, Log: log})
	if err != nil {
		return nil, nil, err
	}
	st.OnRepair("parcel day counters", parcelSvc.RepairInBackground)
	stationSvc.UseParcels(parcelSvc)
	parcelSvc.Register(api)

	// enrollment: trainees, enrolment, check-ins, roll call, person-time counters.
	enrollSvc, err := enrollment.New(ctx, enrollment.Deps{Store: st, Config: cfg, Regions: regionSvc, Users: userSvc, Audit: auditLog, Log: log, Courses: courseSvc})
	if err != nil {
		return nil, nil, err
	}
	courseSvc.Enrolled = enrollSvc.UserEnrolled
	userSvc.Trainees = enrollSvc
	st.OnRepair("enrollment counters, lists and keys", enrollSvc.Repair)
	enrollSvc.Register(api)

	// certificates: eligibility, serials, PDFs, public verification (/verify/:code),
	// revocation, ZIP and register exports. It publishes CertificateIssued and
	// CertificateRevoked; a merge of two trainee records moves certificates.
	certSvc, err := certificates.New(ctx, certificates.Deps{Store: st, Config: cfg, Regions: regionSvc, Audit: auditLog, Log: log,
		Courses: courseSvc, Roster: certificates.EnrollmentRoster{S: enrollSvc}, SealPath: filepath.Join(cfg.DataDir, "seal.png")})
	if err != nil {
		return nil, nil, err
	}
	st.OnRepair("certificate counters", certSvc.RepairCounters)
	st.Events().Subscribe(events.TraineesMerged, "certificates", certSvc.OnTraineesMerged)
	certSvc.Register(api)
	certSvc.RegisterPublic(app)

	// incubation: follow-up tasks, shops and monthly sales, cohorts,
	// enterprises, brands, products, the conversion funnel. A certificate
	// issued or a course finished schedules the trainee's follow-ups; the
	// hooks are set before enrollSvc.Start runs its course-finished check.
	incSvc, err := incubation.New(ctx, incubation.Deps{Store: st, Regions: regionSvc, Audit: auditLog, Log: log,
		Trainees: incubation.FromEnrollment(enrollSvc), Assignees: incubation.AssigneesFrom(courseSvc)})
	if err != nil {
		return nil, nil, err
	}
	st.OnRepair("incubation counters and due lists", incSvc.Repair)
	st.Events().SubscribeBatch(events.CertificateIssued, "incubation", incSvc.OnCertificatesIssued)
	st.Events().Subscribe(events.CertificateRevoked, "incubation", incSvc.OnCertificateRevoked)
	st.Events().Subscribe(events.CourseFinished, "incubation", incSvc.OnCourseFinished)
	st.Events().Subscribe(events.TraineesMerged, "incubation", incSvc.OnTraineesMerged)
	incSvc.Register(api)
	enrollSvc.Start(ctx)

	// funds: budget lines, the append-only ledger with its rule checks,
	// tranche gates, evidence files; station subsidies paid through stationSvc.
	fundSvc, err := funds.New(ctx, funds.Deps{Store: st, Config: cfg, Audit: auditLog, Log: log, Stations: stationSvc,
		Subsidies: func(ctx context.Context) ([]funds.Subsidy, error) {
			list, err := stationSvc.Subsidies(ctx)
			out := make([]funds.Subsidy, 0, len(list))
			for _, x := range list {
				out = append(out, funds.Subsidy{StationID: x.StationID, Name: x.Name, AmountFen: x.AmountFen, Paid: x.Paid})
			}
			return out, err
		},
		SubsidyTotals: func(ctx context.Context) (funds.SubsidyFigures, error) {
			t, err := stationSvc.Totals(ctx)
			return funds.SubsidyFigures{OwedFen: t.OwedFen, PaidFen: t.PaidFen, OwedCount: int(t.OwedCount), PaidCount: int(t.PaidCount)}, err
		}})
	if err != nil {
		return nil, nil, err
	}
	fundSvc.Register(api)

	// reports: dashboard, monthly report, written reports, self-evaluation,
	// public page /public, archive exports. Add each service to
	// reportSources (reports_wiring.go adapts it) as it is wired above.
	reportSvc, err := reports.New(ctx, reportsDeps(reports.Deps{Store: st, Config: cfg, Regions: regionSvc, Audit: auditLog, Log: log},
		reportSources{Users: userSvc, Courses: courseSvc, Stations: stationSvc, Enrollment: enrollSvc, Certificates: certSvc, Funds: fundSvc, Incubation: incSvc}))
	if err != nil {
		return nil, nil, err
	}
	st.OnRepair("written-report tallies", reportSvc.RepairTally)
	reportSvc.Register(api)
	reportSvc.RegisterPublic(app, api)

	// The Chinese labels of codes shown to people (NX.label in the web
	// shell): each package exports its map; add yours here.
	server.Labels{
		"role":         server.RoleNames,
		"group":        enrollment.GroupNames,
		"audit_action": audit.ActionNames,
	}.Register(api)
	st.Go("refresh-token sweep", userSvc.RunSweeps)

	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })

	// Before serving: the registered repairs rebuild what a crash or a
	// failed undo may have left behind (embedded engine; on MongoDB they are
	// explicit recount commands), then events start flowing.
	if err := st.RunRepairs(ctx); err != nil {
		return nil, nil, err
	}
	st.Events().Start()
	return app, tokens, nil
}

func serve(cfg server.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := cfg.EnsureSecrets(); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, MongoURI: cfg.MongoURI, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Close(cctx)
		log.Info("stopped")
	}()
	app, tokens, err := build(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	// The CLI's token: short-lived, rotated while serving, revoked when the
	// store stops its background work at shutdown.
	if loop, err := cli.StartLocalToken(filepath.Join(cfg.DataDir, "cli.token"), tokens, cfg.Port, log); err != nil {
		log.Warn("cannot write the CLI token", "err", err.Error())
	} else {
		st.Go("cli token", loop)
	}
	errc := make(chan error, 1)
	go func() { errc <- app.Listen(fmt.Sprintf(":%d", cfg.Port)) }()
	log.Info("serving", "port", cfg.Port, "mongodb", cfg.MongoURI != "", "data_dir", cfg.DataDir)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	return app.ShutdownWithTimeout(20 * time.Second)
}
