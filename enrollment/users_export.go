package enrollment

import "context"

// TraineeTownship is the township of the trainee record whose login account
// is userID (not_found when the account has no trainee record). The users
// service asks it before an officer resets a trainee's password.
func (s *Service) TraineeTownship(ctx context.Context, userID string) (string, error) {
	t, err := s.TraineeByUser(ctx, userID)
	if err != nil {
		return "", err
	}
	return t.TownshipID, nil
}
