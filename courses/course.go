// Package courses holds courses, their sessions (班次) and the trainers'
// materials kept in the blob store. Other packages read sessions through
// Service.Course, Session, Sessions and SessionsByTrainer.
package courses

import (
	"strings"
	"time"
	"unicode/utf8"

	"nongxun/server"
)

// Course is one training course.
type Course struct {
	ID           string    `bson:"_id" json:"id"`
	Title        string    `bson:"title" json:"title"`
	Description  string    `bson:"description" json:"description"`
	Category     string    `bson:"category" json:"category"`
	TargetGroups []string  `bson:"target_groups" json:"target_groups"`
	Hours        float64   `bson:"hours" json:"hours"`
	PassRatio    float64   `bson:"pass_ratio" json:"pass_ratio"`
	Published    bool      `bson:"published" json:"published"`
	CreatedBy    string    `bson:"created_by" json:"created_by"`
	CreatedAt    time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt    time.Time `bson:"updated_at,omitempty" json:"updated_at,omitempty"`
	// Makers made the course (its creator; for courses older than
	// ownership, also the trainers of its sessions). Trainers are the
	// trainers its makers or the admin assigned to it. Only they (and the
	// admin, and an officer for sessions in their township) schedule its
	// sessions, upload its materials and issue its certificates.
	Makers   []string `bson:"makers" json:"makers"`
	Trainers []string `bson:"trainers" json:"trainers"`
}

// Teaches reports whether user is one of the course's makers or assigned
// trainers: the people who may schedule it, upload its materials, issue
// and read its certificates.
func (c *Course) Teaches(userID string) bool {
	return userID != "" && (contains(c.Makers, userID) || contains(c.Trainers, userID))
}

// IsMaker reports whether user made the course.
func (c *Course) IsMaker(userID string) bool { return userID != "" && contains(c.Makers, userID) }

// Geofence is the circle a check-in position must fall in.
type Geofence struct {
	Lat     float64 `bson:"lat" json:"lat"`
	Lng     float64 `bson:"lng" json:"lng"`
	RadiusM float64 `bson:"radius_m" json:"radius_m"`
}

// Session is one scheduled sitting (班次) of a course.
type Session struct {
	ID           string     `bson:"_id" json:"id"`
	CourseID     string     `bson:"course_id" json:"course_id"`
	StartsAt     time.Time  `bson:"starts_at" json:"starts_at"`
	EndsAt       time.Time  `bson:"ends_at" json:"ends_at"`
	Location     string     `bson:"location" json:"location"`
	RegionID     string     `bson:"region_id" json:"region_id"`
	TownshipID   string     `bson:"township_id" json:"township_id"`
	StationID    string     `bson:"station_id,omitempty" json:"station_id,omitempty"`
	TrainerID    string     `bson:"trainer_id" json:"trainer_id"`
	Capacity     int        `bson:"capacity" json:"capacity"`
	Geofence     *Geofence  `bson:"geofence,omitempty" json:"geofence,omitempty"`
	Cancelled    bool       `bson:"cancelled" json:"cancelled"`
	StartedEarly bool       `bson:"started_early,omitempty" json:"started_early,omitempty"`
	CancelReason string     `bson:"cancel_reason,omitempty" json:"cancel_reason,omitempty"`
	Backfilled   bool       `bson:"backfilled" json:"backfilled"`
	CreatedBy    string     `bson:"created_by" json:"created_by"`
	CreatedAt    time.Time  `bson:"created_at" json:"created_at"`
	CancelledAt  *time.Time `bson:"cancelled_at,omitempty" json:"cancelled_at,omitempty"`
}

// Groups are the trainee groups a course may target (API.md, trainees).
var Groups = []string{"poverty", "woman", "youth", "returnee_graduate", "returnee_worker", "veteran", "disabled"}

// CourseInput is the body of creating (all required but description,
// target_groups, published) or editing (any subset) a course.
type CourseInput struct {
	Title        *string   `json:"title"`
	Description  *string   `json:"description"`
	Category     *string   `json:"category"`
	TargetGroups *[]string `json:"target_groups"`
	Hours        *float64  `json:"hours"`
	PassRatio    *float64  `json:"pass_ratio"`
	Published    *bool     `json:"published"`
}

// apply copies the given fields onto c; on create, missing required fields are reported.
func (in *CourseInput) apply(c *Course, create bool) server.Fields {
	f := server.Fields{}
	if create {
		f.Add(in.Title == nil, "title", "必填")
		f.Add(in.Category == nil, "category", "必填")
		f.Add(in.Hours == nil, "hours", "必填")
		f.Add(in.PassRatio == nil, "pass_ratio", "必填")
	}
	if in.Title != nil {
		c.Title = strings.TrimSpace(*in.Title)
	}
	if in.Description != nil {
		c.Description = strings.TrimSpace(*in.Description)
	}
	if in.Category != nil {
		c.Category = strings.TrimSpace(*in.Category)
	}
	if in.TargetGroups != nil {
		c.TargetGroups = dedup(*in.TargetGroups)
	}
	if in.Hours != nil {
		c.Hours = *in.Hours
	}
	if in.PassRatio != nil {
		c.PassRatio = *in.PassRatio
	}
	if in.Published != nil {
		c.Published = *in.Published
	}
	return f
}

// Validate checks the fields that need no lookup (the category is looked up by the service).
func (c *Course) Validate(f server.Fields) {
	n := utf8.RuneCountInString(c.Title)
	f.Add(n == 0, "title", "必填")
	f.Add(n > 100, "title", "不超过 100 字")
	f.Add(utf8.RuneCountInString(c.Description) > 5000, "description", "不超过 5000 字")
	f.Add(c.Category == "", "category", "必填")
	f.Add(c.Hours <= 0 || c.Hours > 1000, "hours", "应在 0 到 1000 学时之间")
	f.Add(c.PassRatio < 0 || c.PassRatio > 1, "pass_ratio", "应在 0 到 1 之间")
	for _, g := range c.TargetGroups {
		f.Add(!contains(Groups, g), "target_groups", "未知人群："+g)
	}
}

func dedup(xs []string) []string {
	out := []string{}
	for _, x := range xs {
		x = strings.TrimSpace(x)
		if x != "" && !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
