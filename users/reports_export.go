package users

import "context"

// This file is what the reports package reads of users. It is kept by the
// reports engineer; the users engineer keeps it true.

// DisplayName is a user's name as printed on a sign-in sheet ("" when unknown).
func (s *Service) DisplayName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	u, err := s.Get(ctx, id)
	if err != nil {
		return ""
	}
	return u.Name
}
