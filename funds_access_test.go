package main

// The fund routes' entries in the authorization matrix: the office writes,
// the auditor reads; edits of entries are refused to everyone (append_only).
func init() {
	for k, v := range map[string][]string{
		"GET /api/v1/funds/summary":               {admin, auditor},
		"GET /api/v1/funds/gates":                 {admin, auditor},
		"GET /api/v1/funds/reconcile":             {admin, auditor},
		"POST /api/v1/funds/gates":                {admin},
		"POST /api/v1/funds/entries":              {admin},
		"GET /api/v1/funds/entries":               {admin, auditor},
		"GET /api/v1/funds/ledger":                {admin, auditor},
		"GET /api/v1/funds/entries/:id":           {admin, auditor},
		"POST /api/v1/funds/entries/:id/evidence": {admin},
		"GET /api/v1/funds/evidence/:id":          {admin, auditor},
		"POST /api/v1/funds/subsidies":            {admin},
		"GET /api/v1/funds/subsidies":             {admin, auditor},
		"PUT /api/v1/funds/entries":               {anyRole},
		"PATCH /api/v1/funds/entries":             {anyRole},
		"DELETE /api/v1/funds/entries":            {anyRole},
		"PUT /api/v1/funds/entries/:id":           {anyRole},
		"PATCH /api/v1/funds/entries/:id":         {anyRole},
		"DELETE /api/v1/funds/entries/:id":        {anyRole},
	} {
		access[k] = v
	}
}
