package certificates

import (
	"context"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"nongxun/audit"
	"nongxun/courses"
	"nongxun/regions"
	"nongxun/server"
	"nongxun/store"
)

// Courses is what certificates reads of the courses package.
type Courses interface {
	Course(ctx context.Context, id string) (*courses.Course, error)
	Sessions(ctx context.Context, courseID string) ([]courses.Session, error)
}

// Person is a trainee as certificates needs them.
type Person struct {
	ID, UserID, Name, TownshipID string
}

// Roster is what certificates reads of enrollment: trainees, enrolments
// and attendance. EnrollmentRoster adapts *enrollment.Service to it.
type Roster interface {
	People(ctx context.Context, ids []string) (map[string]Person, error)
	PersonByUser(ctx context.Context, userID string) (*Person, error)
	Enrolled(ctx context.Context, courseID string) ([]string, error)
	Present(ctx context.Context, courseID string) (map[string][]string, error)
}

// Deps are what the certificates service needs.
type Deps struct {
	Store   *store.Store
	Config  server.Config
	Regions *regions.Service
	Audit   *audit.Log
	Log     *slog.Logger
	Courses Courses
	Roster  Roster
	// SealPath is an optional PNG of the issuer's seal, drawn over the issuer's name.
	SealPath string
}

// Service owns the certificates, certificate_assessments,
// certificate_rules, certificate_counters and certificate_pdfs collections.
type Service struct {
	st          *store.Store
	d           Deps
	certs       *store.Collection
	assessments *store.Collection
	rules       *store.Collection
	counters    *store.Collection
	pdfs        *store.Collection
	font        *pdfFont
	fontErr     error
	seal        []byte
	limiter     *server.Limiter
	codes       codeIndex
	docs        docCache
	now         func() time.Time

	// OnIssued is called once for every newly issued certificate (main.go
	// wires incubation's follow-up scheduling to it).
	OnIssued func(ctx context.Context, c Certificate)
	// OnRevoked is called after a revocation with the number of valid
	// certificates the trainee still holds (main.go wires incubation's
	// "certified" step to it).
	OnRevoked func(ctx context.Context, c Certificate, othersValid int64)
	hooks     *hookQueue // background delivery of OnIssued, once StartHooks ran
}

// New opens the service, declares its indexes and loads the PDF font.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	s := &Service{st: st, d: d,
		certs:       st.C("certificates"),
		assessments: st.C("certificate_assessments"),
		rules:       st.C("certificate_rules"),
		counters:    st.C("certificate_counters"),
		pdfs:        st.C("certificate_pdfs"),
		limiter:     server.NewLimiter(30, time.Minute),
		now:         time.Now,
		docs:        docCache{on: st.Embedded()},
	}
	idx := []struct {
		keys   bson.D
		unique bool
	}{
		{bson.D{{Key: "serial", Value: 1}}, true},
		{bson.D{{Key: "code", Value: 1}}, true},
		{bson.D{{Key: "course_id", Value: 1}}, false},
		{bson.D{{Key: "trainee_id", Value: 1}}, false},
		{bson.D{{Key: "year", Value: 1}, {Key: "seq", Value: -1}}, false},
	}
	for _, x := range idx {
		if err := s.certs.Index(ctx, x.keys, x.unique); err != nil {
			return nil, err
		}
	}
	if err := s.assessments.Index(ctx, bson.D{{Key: "course_id", Value: 1}}, false); err != nil {
		return nil, err
	}
	s.font, s.fontErr = loadFont(d.Config.FontPath)
	if s.fontErr != nil {
		d.Log.Warn("certificate font missing: PDFs cannot be drawn until FONT_PATH names a TrueType font with Chinese glyphs", "err", s.fontErr.Error())
	}
	if d.SealPath != "" {
		if b, err := os.ReadFile(d.SealPath); err == nil && isPNG(b) {
			s.seal = b
		}
	}
	return s, nil
}

func isPNG(b []byte) bool { return len(b) > 8 && string(b[1:4]) == "PNG" }

// Counter documents: "township" holds valid certificates per township
// (county total under "county"); "month/YYYY-MM" holds certificates issued
// that month per township.
const (
	countyKey   = "county"
	townshipCtr = "township"
)

func monthCtr(m string) string { return "month/" + m }

// bump adds delta certificates of township tid; month is "" on revocation,
// which lowers the valid count but leaves the month's issued figure alone.
func (s *Service) bump(ctx context.Context, byTownship map[string]int64, month string) error {
	tw := map[string]int64{}
	var total int64
	for tid, n := range byTownship {
		if tid != "" {
			tw[tid] += n
		}
		total += n
	}
	tw[countyKey] = total
	if err := s.counters.Inc(ctx, townshipCtr, tw); err != nil {
		return err
	}
	if month == "" {
		return nil
	}
	return s.counters.Inc(ctx, monthCtr(month), tw)
}

// CountByTownship returns valid certificates per township, read from
// counters; the "" key is the county total.
func (s *Service) CountByTownship(ctx context.Context) (map[string]int64, error) {
	doc, err := s.counters.Counter(ctx, townshipCtr)
	if err != nil {
		return nil, err
	}
	return counterMap(doc), nil
}

// MonthlyFigures returns township id → "certificates" → certificates issued
// in month "YYYY-MM", read from counters; "" is the county.
func (s *Service) MonthlyFigures(ctx context.Context, month string) (map[string]map[string]int64, error) {
	doc, err := s.counters.Counter(ctx, monthCtr(month))
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for k, v := range counterMap(doc) {
		out[k] = map[string]int64{"certificates": v}
	}
	return out, nil
}

func counterMap(doc bson.M) map[string]int64 {
	out := map[string]int64{}
	for k, v := range doc {
		if k == "_id" {
			continue
		}
		if k == countyKey {
			k = ""
		}
		out[k] = store.Int64(v)
	}
	return out
}

// cert loads one certificate; server.NotFound when absent.
func (s *Service) cert(ctx context.Context, id string) (*Certificate, error) {
	if err := s.warm(ctx); err != nil {
		return nil, err
	}
	if c, ok := s.docs.get(id); ok {
		return &c, nil
	}
	var c Certificate
	if err := s.certs.FindOne(ctx, bson.M{"_id": id}, &c); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("证书不存在")
		}
		return nil, err
	}
	s.docs.put(c, false)
	return &c, nil
}

// Certificate returns one certificate; server.NotFound when absent.
func (s *Service) Certificate(ctx context.Context, id string) (*Certificate, error) {
	return s.cert(ctx, id)
}

// warm loads the code index and the certificate cache, with their cached
// PDFs, on first use (embedded engine only).
func (s *Service) warm(ctx context.Context) error {
	if !s.docs.on {
		return nil
	}
	return s.codes.ensure(ctx, func(ctx context.Context) error {
		cur, err := s.certs.Cursor(ctx, bson.M{})
		if err != nil {
			return err
		}
		defer cur.Close(ctx)
		for cur.Next(ctx) {
			var d Certificate
			if err := cur.Decode(&d); err != nil {
				return err
			}
			s.codes.add(d.Code, d.ID)
			s.docs.put(d, false)
		}
		if err := cur.Err(); err != nil {
			return err
		}
		var pdfs []pdfEntry
		if err := s.pdfs.Find(ctx, bson.M{}, &pdfs); err != nil {
			return err
		}
		for _, p := range pdfs {
			s.docs.attach(p.CertID, &pdfRef{Status: p.Status, Blob: p.Blob, Size: p.Size})
		}
		return nil
	})
}

// ByCode finds a certificate by its verification code.
func (s *Service) ByCode(ctx context.Context, code string) (*Certificate, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if !ValidCode(code) {
		return nil, server.Invalid("验证码格式错误", "code", "应为 16 位字母数字")
	}
	notFound := server.NotFound("未找到该证书，请核对二维码或验证码")
	if err := s.warm(ctx); err != nil {
		return nil, err
	}
	if id, ok, _ := s.codes.get(code); ok {
		c, err := s.cert(ctx, id)
		if err == nil && c.Code == code {
			return c, nil
		}
		if err != nil && server.ToError(err).Code != server.CodeNotFound {
			return nil, err
		}
	}
	var c Certificate
	if err := s.certs.FindOne(ctx, bson.M{"code": code}, &c); err != nil {
		if store.IsNotFound(err) {
			return nil, notFound
		}
		return nil, err
	}
	s.codes.add(c.Code, c.ID)
	s.docs.put(c, false)
	return &c, nil
}

// All returns every certificate by serial, for registers and reports
// (without the cached PDF reference).
func (s *Service) All(ctx context.Context) ([]Certificate, error) {
	out := []Certificate{}
	err := s.certs.Find(ctx, bson.M{}, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out, err
}
