// Package courses holds courses, their sessions (班次) and the trainers'
// materials kept in the blob store. Other packages read sessions through
// Service.Course, Session, Sessions and SessionsByTrainer.
package courses

import (
	"time"
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
}

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
	CancelReason string     `bson:"cancel_reason,omitempty" json:"cancel_reason,omitempty"`
	Backfilled   bool       `bson:"backfilled" json:"backfilled"`
	CreatedBy    string     `bson:"created_by" json:"created_by"`
	CreatedAt    time.Time  `bson:"created_at" json:"created_at"`
	CancelledAt  *time.Time `bson:"cancelled_at,omitempty" json:"cancelled_at,omitempty"`
}
