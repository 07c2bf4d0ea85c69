package certificates

import (
	"context"
	"log/slog"
	"net"
	"net/url"
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

// Service owns the certificates, certificate_codes,
// certificate_course_index, certificate_trainee_index,
// certificate_assessments, certificate_rules, certificate_counters,
// certificate_pdfs, certificate_settings and certificate_moves collections.
type Service struct {
	st          *store.Store
	d           Deps
	certs       *store.Collection
	codes       *store.Collection
	courseIdx   *store.Collection
	traineeIdx  *store.Collection
	assessments *store.Collection
	rules       *store.Collection
	counters    *store.Collection
	pdfs        *store.Collection
	settings    *store.Collection
	moves       *store.Collection
	font        *pdfFont
	fontErr     error
	seal        []byte // the seal file of DATA_DIR, when no seal was uploaded
	limiter     *server.Limiter
	now         func() time.Time
}

// Collections of the package.
const (
	collCerts       = "certificates"
	collCodes       = "certificate_codes"
	collCourseIdx   = "certificate_course_index"
	collTraineeIdx  = "certificate_trainee_index"
	collAssessments = "certificate_assessments"
	collRules       = "certificate_rules"
	collCounters    = "certificate_counters"
	collPDFs        = "certificate_pdfs"
	collSettings    = "certificate_settings"
	collMoves       = "certificate_moves"
)

// upgradeIndexID marks, in certificate_counters, that every certificate
// has its code, course and trainee index documents.
const upgradeIndexID = "upgrade/index-v1"

// New opens the service: it creates its collections and indexes, loads the
// PDF font, indexes certificates stored before the index documents existed
// (once), and warns when PUBLIC_URL is a loopback address.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	st := d.Store
	if err := st.Ensure(ctx, collCerts, collCodes, collCourseIdx, collTraineeIdx, collAssessments, collRules,
		collCounters, collPDFs, collSettings, collMoves); err != nil {
		return nil, err
	}
	s := &Service{st: st, d: d,
		certs:       st.C(collCerts),
		codes:       st.C(collCodes),
		courseIdx:   st.C(collCourseIdx),
		traineeIdx:  st.C(collTraineeIdx),
		assessments: st.C(collAssessments),
		rules:       st.C(collRules),
		counters:    st.C(collCounters),
		pdfs:        st.C(collPDFs),
		settings:    st.C(collSettings),
		moves:       st.C(collMoves),
		limiter:     server.NewLimiter(30, time.Minute),
		now:         time.Now,
	}
	st.BlobRef(collPDFs, "blob")
	st.BlobRef(collSettings, "seal_blob")
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
	if loopback(d.Config.PublicURL) {
		d.Log.Warn("PUBLIC_URL is a loopback address: the QR code of every certificate printed now points to this machine, not to a page the public can open; set PUBLIC_URL to the address people reach",
			"public_url", d.Config.PublicURL)
	}
	if err := s.upgrade(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// upgrade writes the index documents of certificates stored before them, once.
func (s *Service) upgrade(ctx context.Context) error {
	var mark bson.M
	err := s.counters.Get(ctx, upgradeIndexID, &mark)
	if err == nil {
		return nil
	}
	if !store.IsNotFound(err) {
		return err
	}
	n, err := s.reindex(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		s.d.Log.Info("certificates: indexed certificates stored before the index documents", "documents", n)
	}
	_, err = s.counters.InsertIfAbsent(ctx, bson.M{"_id": upgradeIndexID, "at": time.Now().UTC()})
	return err
}

// loopback reports whether a public URL names this machine only.
func loopback(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return true
	}
	h := u.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
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

// cert loads one certificate by _id; server.NotFound when absent.
func (s *Service) cert(ctx context.Context, id string) (*Certificate, error) {
	var c Certificate
	if err := s.certs.Get(ctx, id, &c); err != nil {
		if store.IsNotFound(err) {
			return nil, server.NotFound("证书不存在")
		}
		return nil, err
	}
	return &c, nil
}

// Certificate returns one certificate; server.NotFound when absent.
func (s *Service) Certificate(ctx context.Context, id string) (*Certificate, error) {
	return s.cert(ctx, id)
}

// ByCode finds a certificate by its verification code: two _id lookups
// (the code's document, then the certificate), judged from the data.
func (s *Service) ByCode(ctx context.Context, code string) (*Certificate, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if !ValidCode(code) {
		return nil, server.Invalid("验证码格式错误", "code", "应为 16 位字母数字")
	}
	notFound := server.NotFound("未找到该证书，请核对二维码或验证码")
	var d codeDoc
	if err := s.codes.Get(ctx, code, &d); err != nil {
		if store.IsNotFound(err) {
			return nil, notFound
		}
		return nil, err
	}
	c, err := s.cert(ctx, d.Cert)
	if err != nil {
		if server.ToError(err).Code == server.CodeNotFound {
			return nil, notFound
		}
		return nil, err
	}
	if c.Code != code {
		return nil, notFound
	}
	return c, nil
}

// All returns every certificate by serial, for registers and reports. It
// reads the whole collection: exports and background work only.
func (s *Service) All(ctx context.Context) ([]Certificate, error) {
	out := []Certificate{}
	err := s.certs.Find(ctx, bson.M{}, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out, err
}
