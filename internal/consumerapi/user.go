package consumerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// UserProfile is the response of GET /users/{userId}. Fields Banno adds
// beyond these are kept in Raw.
type UserProfile struct {
	ID            string `json:"id,omitempty"`
	FirstName     string `json:"firstName"`
	LastName      string `json:"lastName"`
	Email         string `json:"email"`
	InstitutionID string `json:"institutionId"`
	// Raw is the profile exactly as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the profile and keeps its raw JSON.
func (p *UserProfile) UnmarshalJSON(b []byte) error {
	type plain UserProfile
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = UserProfile(v)
	p.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// Profile returns the user's profile (scope user.profile.readonly).
func (s *Session) Profile(ctx context.Context) (*UserProfile, error) {
	path, err := s.userPath()
	if err != nil {
		return nil, fmt.Errorf("get user profile: %w", err)
	}
	var p UserProfile
	err = s.do(ctx, apiRequest{
		method: http.MethodGet,
		route:  "/users/{userId}",
		url:    s.c.apiURL(path, nil),
		decode: decodeJSON(&p),
	})
	if err != nil {
		return nil, fmt.Errorf("get user profile: %w", err)
	}
	return &p, nil
}
