package main

// Access table for TestAuthorizationMatrix: route → who may call it.
const (
	public  = "public" // no token needed
	anyRole = "any"    // any logged-in user
	admin   = "admin"
	officer = "officer"
	trainer = "trainer"
	trainee = "trainee"
	station = "station"
	auditor = "auditor"
)

var (
	staff   = []string{admin, officer, trainer}
	readers = []string{admin, officer, trainer, auditor}
)

func roles(lists ...any) []string {
	var out []string
	for _, l := range lists {
		switch v := l.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}

// publicPages are non-API routes that the matrix also checks.
var publicPages = map[string]bool{"GET /public": true}

var access = map[string][]string{
	// reports
	"GET /api/v1/reports/monthly":                                 {admin, officer, auditor},
	"GET /api/v1/reports/dashboard":                               {admin, officer, auditor},
	"GET /api/v1/reports/charts/:name":                            {admin, officer, auditor},
	"GET /api/v1/reports/settings":                                {admin, officer, auditor},
	"PUT /api/v1/reports/settings":                                {admin},
	"GET /api/v1/reports/written":                                 {admin, officer, auditor},
	"PUT /api/v1/reports/written/:month":                          {admin, officer},
	"POST /api/v1/reports/written/:month/attachments":             {admin, officer},
	"GET /api/v1/reports/written/:month/:township":                {admin, officer, auditor},
	"GET /api/v1/reports/written/:month/:township/attachments/:n": {admin, officer, auditor},
	"GET /api/v1/reports/self-evaluation":                         {admin, auditor},
	"GET /api/v1/reports/exports/signin/:id":                      {admin, officer, auditor, trainer},
	"GET /api/v1/reports/exports/:kind":                           {admin, officer, auditor},
	"GET /public":                                                 {public},
	"GET /api/v1/public/summary":                                  {public},
	"POST /api/v1/auth/login":                                     {public},
	"POST /api/v1/auth/refresh":                                   {public},
	"POST /api/v1/auth/logout":                                    {public},
	"GET /api/v1/me":                                              {anyRole},
	"POST /api/v1/me/password":                                    {anyRole},
	"POST /api/v1/users":                                          {admin},
	"GET /api/v1/users":                                           {admin, auditor},
	"POST /api/v1/users/:id/disable":                              {admin},
	"GET /api/v1/regions":                                         {anyRole},
	"POST /api/v1/regions":                                        {admin},
	"PATCH /api/v1/regions/:id":                                   {admin},
	"POST /api/v1/regions/demo":                                   {admin},
	"POST /api/v1/regions/import":                                 {admin},
	"GET /api/v1/audit":                                           {admin, auditor},
	"GET /api/v1/admin/backup":                                    {admin},
	"POST /api/v1/admin/restore":                                  {admin},
}

var _ = roles
