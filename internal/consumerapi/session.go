package consumerapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// Session makes Consumer API calls for one Banno user with the tokens of
// one TokenSource. After a 401 it asks the source to renew the access token
// and retries the call once.
//
// A Session is cheap; create one per user per sync. It is safe for
// concurrent use if its TokenSource is.
type Session struct {
	c      *Client
	userID string
	tokens TokenSource
}

// Session returns a Session for the user whose Banno id (the ID token's sub)
// is userID.
func (c *Client) Session(userID string, tokens TokenSource) *Session {
	return &Session{c: c, userID: userID, tokens: tokens}
}

// UserID returns the Banno user id of the session.
func (s *Session) UserID() string { return s.userID }

// userPath returns "/users/{userId}" + suffix with every id escaped.
func (s *Session) userPath(suffix ...string) (string, error) {
	if s.userID == "" {
		return "", fmt.Errorf("%w: empty user id", ErrInvalidQuery)
	}
	p := "/users/" + url.PathEscape(s.userID)
	for _, seg := range suffix {
		p += "/" + seg
	}
	return p, nil
}

// do runs r with the session's access token, renewing it and retrying once
// after a 401.
func (s *Session) do(ctx context.Context, r apiRequest) error {
	tok, err := s.tokens.AccessToken(ctx)
	if err != nil {
		return fmt.Errorf("get access token: %w", err)
	}
	r.token = tok
	err = s.c.call(ctx, r)
	if !IsUnauthorized(err) {
		return err
	}
	fresh, rerr := s.tokens.RenewAccessToken(ctx, tok)
	if rerr != nil {
		if errors.Is(rerr, ErrNoRenewal) {
			return err
		}
		return fmt.Errorf("renew access token after 401: %w", rerr)
	}
	r.token = fresh
	return s.c.call(ctx, r)
}

// escapeID escapes an id for use as one path segment and refuses empty ids.
func escapeID(kind, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w: empty %s id", ErrInvalidQuery, kind)
	}
	return url.PathEscape(id), nil
}
