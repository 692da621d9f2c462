package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/sandbox"
)

// linkDemoUser connects sandbox user n for appUser through the real consent
// flow, as a browser would: the link server's start URL redirects to the
// bank's login and consent page, the page's form is submitted with the demo
// password and every scope ticked, and the bank redirects back to the link
// server's callback.
func linkDemoUser(ctx context.Context, linkURL string, appKey []byte, appUser string, n int) error {
	token, err := linkserver.SignLinkToken(appKey, linkserver.LinkClaims{
		Audience: linkserver.AudienceLink, AppUser: appUser, Institution: institutionSlug, Expiry: time.Now().Add(10 * time.Minute),
	})
	if err != nil {
		return err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		Jar:           jar, // the link server binds the consent to this "browser"
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(u string) (*http.Response, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(body), err
	}

	// 1. The app sends the user to the link server, which sends them on to
	// the bank.
	resp, _, err := get(linkURL + "/link/start?" + url.Values{"token": {token}, "institution": {institutionSlug}}.Encode())
	if err != nil {
		return fmt.Errorf("start consent: %w", err)
	}
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || authURL == "" {
		return fmt.Errorf("start consent: got %s, want a redirect to the bank", resp.Status)
	}
	// 2. The bank shows its login and consent page.
	resp, page, err := get(authURL)
	if err != nil {
		return fmt.Errorf("open the bank's consent page: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="granted_scope"`) {
		return fmt.Errorf("the bank's consent page answered %s", resp.Status)
	}
	// 3. The user logs in, keeps every scope ticked and clicks Allow: the
	// page's form posts to the same URL.
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	form := u.Query()
	form.Set("username", sandbox.Username(n))
	form.Set("password", sandbox.DemoPassword)
	form.Set("action", "allow")
	for _, s := range strings.Fields(form.Get("scope")) {
		form.Add("granted_scope", s)
	}
	postURL := *u
	postURL.RawQuery = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, postURL.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("submit the consent form: %w", err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || callback == "" {
		return fmt.Errorf("submit the consent form: got %s, want a redirect back", resp.Status)
	}
	// 4. Back at the link server: the link is stored and its first sync
	// queued.
	resp, page, err = get(callback)
	if err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	// The callback redirects to a clean success URL, so that reloading the
	// page is harmless; that page says the bank is connected.
	if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "" {
		done, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return fmt.Errorf("callback redirect: %w", err)
		}
		if resp, page, err = get(done.String()); err != nil {
			return fmt.Errorf("success page: %w", err)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("callback answered %s: %s", resp.Status, firstLine(page))
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
