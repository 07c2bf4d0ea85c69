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
	"GET /api/v1/setup":                                           {admin},
	"GET /public":                                                 {public},
	"GET /api/v1/public/summary":                                  {public},
	"POST /api/v1/auth/login":                                     {public},
	"POST /api/v1/auth/refresh":                                   {public},
	"POST /api/v1/auth/logout":                                    {public},
	"GET /api/v1/me":                                              {anyRole},
	"POST /api/v1/me/password":                                    {anyRole},
	"POST /api/v1/users":                                          {admin},
	"GET /api/v1/users":                                           {admin, auditor, officer},
	"GET /api/v1/users/:id":                                       {admin, auditor, officer},
	"PATCH /api/v1/users/:id":                                     {admin},
	"POST /api/v1/users/:id/disable":                              {admin},
	"POST /api/v1/users/:id/enable":                               {admin},
	"POST /api/v1/users/:id/password-reset":                       {admin, officer},
	"GET /api/v1/labels":                                          {anyRole},
	"GET /api/v1/regions":                                         {anyRole},
	"POST /api/v1/regions":                                        {admin},
	"PATCH /api/v1/regions/:id":                                   {admin},
	"POST /api/v1/regions/demo":                                   {admin},
	"POST /api/v1/regions/import":                                 {admin},
	"POST /api/v1/regions/import/refused":                         {admin},
	"GET /api/v1/audit":                                           {admin, auditor},
	"GET /api/v1/admin/backup":                                    {admin},
	"POST /api/v1/admin/restore":                                  {admin},
	"POST /api/v1/admin/blobs/sweep":                              {admin},
	"POST /api/v1/admin/repair":                                   {admin},

	// courses, enrollment, certificates, stations (checked against each package's design)
	"GET /api/v1/course-categories":                   {anyRole},
	"GET /api/v1/courses":                             {anyRole},
	"GET /api/v1/courses/:id":                         {anyRole},
	"GET /api/v1/courses/:id/sessions":                {anyRole},
	"GET /api/v1/sessions/:id":                        {anyRole},
	"GET /api/v1/my/sessions":                         {trainer, trainee},
	"GET /api/v1/trainers":                            {admin, officer, trainer, auditor},
	"GET /api/v1/courses/:id/materials":               {anyRole},
	"GET /api/v1/materials/:id":                       {anyRole},
	"GET /api/v1/materials/:id/link":                  {anyRole},
	"GET /api/v1/public/materials/:id":                {public},
	"GET /api/v1/stations/coverage":                   {admin, officer, trainer, station, auditor},
	"GET /api/v1/stations/checklist":                  {admin, officer, trainer, station, auditor},
	"GET /api/v1/stations/subsidies":                  {admin, officer, auditor},
	"GET /api/v1/stations/acceptances":                {admin, officer, auditor},
	"GET /api/v1/stations":                            {admin, officer, trainer, station, auditor},
	"GET /api/v1/stations/:id":                        {admin, officer, trainer, station, auditor},
	"GET /api/v1/stations/:id/services":               {admin, officer, trainer, station, auditor},
	"GET /api/v1/stations/:id/photos/:photo":          {admin, officer, trainer, station, auditor},
	"GET /api/v1/parcels/volumes":                     {admin, officer, trainer, auditor},
	"GET /api/v1/parcels/:waybill":                    {admin, officer, trainer, station, auditor},
	"GET /api/v1/trainees":                            {admin, officer, trainer, auditor},
	"GET /api/v1/trainees/:id":                        {admin, officer, trainer, auditor},
	"GET /api/v1/trainees/:id/id-number":              {admin},
	"GET /api/v1/trainees/:id/attendance":             {admin, officer, trainer, auditor},
	"GET /api/v1/courses/:id/enrollments":             {admin, officer, trainer, auditor},
	"GET /api/v1/sessions/:id/checkin-code":           {admin, trainer},
	"GET /api/v1/sessions/:id/checkin-qr.png":         {admin, trainer},
	"GET /api/v1/sessions/:id/attendance":             {admin, officer, trainer, auditor},
	"GET /api/v1/sessions/:id/signin-photos":          {admin, officer, trainer, auditor},
	"GET /api/v1/sessions/:id/signin-photos/:blob":    {admin, officer, trainer, auditor},
	"GET /api/v1/progress":                            {admin, officer, trainer, auditor},
	"GET /api/v1/join/:code":                          {public},
	"GET /api/v1/my/trainee":                          {trainee},
	"GET /api/v1/my/enrollments":                      {trainee},
	"GET /api/v1/my/schedule":                         {trainee},
	"GET /api/v1/my/attendance":                       {trainee},
	"GET /api/v1/courses/:id/certificates":            {admin, officer, trainer, auditor},
	"GET /api/v1/courses/:id/certificates/zip":        {admin, officer, trainer},
	"GET /api/v1/courses/:id/eligibility":             {admin, officer, trainer, auditor},
	"GET /api/v1/courses/:id/certificate-rule":        {admin, officer, trainer, auditor},
	"GET /api/v1/courses/:id/assessments":             {admin, officer, trainer, auditor},
	"GET /api/v1/certificates/register":               {admin, officer, trainer, auditor},
	"GET /api/v1/certificates/settings":               {admin, officer, trainer, auditor},
	"PUT /api/v1/certificates/settings":               {admin},
	"GET /api/v1/certificates/seal":                   {admin},
	"POST /api/v1/certificates/seal":                  {admin},
	"DELETE /api/v1/certificates/seal":                {admin},
	"PUT /api/v1/courses/:id/trainers":                {admin, trainer},
	"POST /api/v1/sessions/:id/start":                 {admin, officer, trainer},
	"GET /api/v1/certificates/:id":                    {admin, officer, trainer, trainee, auditor},
	"GET /api/v1/certificates/:id/pdf":                {admin, officer, trainer, trainee},
	"GET /api/v1/my/certificates":                     {trainee},
	"GET /api/v1/verify/:code":                        {public},
	"POST /api/v1/course-categories":                  {admin},
	"POST /api/v1/courses":                            {admin, trainer},
	"POST /api/v1/courses/:id/sessions":               {admin, officer, trainer},
	"POST /api/v1/sessions/:id/cancel":                {admin, officer, trainer},
	"POST /api/v1/courses/:id/materials":              {admin, trainer},
	"POST /api/v1/stations/coverage/recount":          {admin},
	"POST /api/v1/stations":                           {admin},
	"POST /api/v1/stations/:id/status":                {admin},
	"POST /api/v1/stations/:id/acceptance":            {admin},
	"POST /api/v1/stations/:id/services":              {admin, station},
	"POST /api/v1/stations/:id/photos":                {admin, station},
	"POST /api/v1/parcels/archive":                    {admin},
	"POST /api/v1/parcels/recount":                    {admin},
	"POST /api/v1/parcels":                            {admin, station},
	"POST /api/v1/parcels/:waybill/scans":             {admin, station},
	"POST /api/v1/trainees":                           {admin, officer, trainer},
	"POST /api/v1/trainees/import":                    {admin, officer, trainer},
	"POST /api/v1/trainees/import/refused":            {admin, officer, trainer},
	"POST /api/v1/trainees/:id/account":               {admin, officer, trainer},
	"POST /api/v1/courses/:id/enrollments":            {admin, officer, trainer, trainee},
	"POST /api/v1/sessions/:id/rollcall":              {admin, trainer},
	"POST /api/v1/sessions/:id/marks":                 {admin, trainer},
	"POST /api/v1/sessions/:id/attendance/import":     {admin, trainer},
	"POST /api/v1/sessions/:id/signin-photos":         {admin, trainer},
	"POST /api/v1/checkins":                           {trainee},
	"POST /api/v1/checkins/batch":                     {trainee},
	"POST /api/v1/progress/recount":                   {admin},
	"POST /api/v1/join/register":                      {public},
	"POST /api/v1/courses/:id/certificates":           {admin, trainer},
	"POST /api/v1/courses/:id/assessments":            {admin},
	"POST /api/v1/certificates/:id/revoke":            {admin},
	"PUT /api/v1/stations/checklist":                  {admin},
	"PUT /api/v1/courses/:id/certificate-rule":        {admin},
	"DELETE /api/v1/materials/:id":                    {admin, trainer},
	"PATCH /api/v1/courses/:id":                       {admin, trainer},
	"PATCH /api/v1/materials/:id":                     {admin, trainer},
	"PATCH /api/v1/stations/:id":                      {admin, station},
	"GET /api/v1/trainees/:id/enrollments":            {admin, officer, trainer, auditor},
	"GET /api/v1/enrollment-status":                   {admin, officer, trainer, trainee, auditor},
	"POST /api/v1/trainees/merge":                     {admin, officer},
	"PATCH /api/v1/trainees/:id":                      {admin, officer, trainer},
	"PUT /api/v1/trainees/:id/id-number":              {admin},
	"DELETE /api/v1/courses/:id/enrollments/:trainee": {admin, officer, trainer, trainee},

	// incubation: trainees report their own shops and sales; admin runs cohorts and the registries
	"GET /api/v1/followups":                             {admin, officer, trainer, auditor},
	"GET /api/v1/followups/tasks":                       {admin, officer, trainer, auditor},
	"GET /api/v1/shops":                                 {admin, officer, trainer, trainee, auditor},
	"GET /api/v1/shops/:id":                             {admin, officer, trainer, trainee, auditor},
	"GET /api/v1/shops/:id/sales":                       {admin, officer, trainer, trainee, auditor},
	"GET /api/v1/conversion":                            {admin, officer, trainer, auditor},
	"GET /api/v1/conversion/steps/:step":                {admin, officer, trainer, auditor},
	"GET /api/v1/incubation/growth":                     {admin, officer, trainer, auditor},
	"GET /api/v1/incubation/summary":                    {admin, officer, trainer, auditor},
	"GET /api/v1/cohorts":                               {admin, officer, trainer, auditor},
	"GET /api/v1/cohorts/:id":                           {admin, officer, trainer, auditor},
	"GET /api/v1/enterprises":                           {admin, officer, trainer, auditor},
	"GET /api/v1/brands":                                {admin, officer, trainer, auditor},
	"GET /api/v1/products":                              {admin, officer, trainer, trainee, auditor},
	"POST /api/v1/followups":                            {admin, officer, trainer},
	"POST /api/v1/shops":                                {admin, officer, trainer, trainee},
	"POST /api/v1/shops/:id/sales":                      {admin, officer, trainer, trainee},
	"POST /api/v1/shops/:id/close":                      {admin, officer},
	"POST /api/v1/conversion/recount":                   {admin},
	"POST /api/v1/cohorts":                              {admin},
	"POST /api/v1/cohorts/:id/members":                  {admin},
	"POST /api/v1/cohorts/:id/members/:shop/milestones": {admin},
	"POST /api/v1/cohorts/:id/members/:shop/graduate":   {admin},
	"POST /api/v1/enterprises":                          {admin},
	"POST /api/v1/brands":                               {admin},
	"POST /api/v1/products":                             {admin},
	"PUT /api/v1/cohorts/:id":                           {admin},
	"PUT /api/v1/enterprises/:id":                       {admin},
	"PUT /api/v1/brands/:id":                            {admin},
	"PUT /api/v1/products/:id":                          {admin},
}

var _ = roles
