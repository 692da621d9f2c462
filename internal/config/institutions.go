package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Institution configures one Banno institution pfmsync is registered with.
// Its client secret never appears in the configuration text: it is read
// from the environment variable or file the entry names.
type Institution struct {
	// Slug is the short stable name used in URLs (e.g. "garden-fi").
	Slug string `json:"slug"`
	// Name is shown to people choosing their bank.
	Name string `json:"name"`
	// BaseURL is the Consumer API base, https://{host}/a/consumer/api/v0.
	BaseURL string `json:"base_url"`
	// Issuer is the OpenID issuer, when it is not {base_url}/oidc (an
	// institution served from another host, or a non-Banno provider).
	Issuer string `json:"issuer,omitempty"`
	// Scopes replaces the Banno scopes requested at consent; it must
	// contain "openid".
	Scopes []string `json:"scopes,omitempty"`
	// ClientID is pfmsync's OAuth client id there.
	ClientID string `json:"client_id"`
	// ClientSecretEnv names the environment variable holding the secret.
	ClientSecretEnv string `json:"client_secret_env,omitempty"`
	// ClientSecretFile names a file holding the secret.
	ClientSecretFile string `json:"client_secret_file,omitempty"`
	// ClientSecret is loaded from ClientSecretEnv or ClientSecretFile.
	ClientSecret string `json:"-"`
	// RequestsPerSecond and Burst bound pfmsync's request rate to this
	// institution for the whole deployment: every worker process takes
	// from one budget in the database (0: 5 per second, burst 10).
	RequestsPerSecond float64 `json:"requests_per_second,omitempty"`
	Burst             int     `json:"burst,omitempty"`
	// MaxConcurrentSyncs bounds the syncs running at once against this
	// institution in every worker process together (0: no deployment-wide
	// bound; each process runs up to PFMSYNC_WORKER_CONCURRENCY syncs, and
	// the shared request rate bounds what the bank sees).
	MaxConcurrentSyncs int `json:"max_concurrent_syncs,omitempty"`
	// AllowInsecureHTTP permits an http:// base URL on a host other than
	// loopback (a sandbox institution inside a private network, as in
	// docker compose). Never for a real bank.
	AllowInsecureHTTP bool `json:"allow_insecure_http,omitempty"`
}

// Environment variables naming the institutions.
const (
	EnvInstitutions     = "PFMSYNC_INSTITUTIONS"
	EnvInstitutionsFile = "PFMSYNC_INSTITUTIONS_FILE"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// loadInstitutions reads the institution list: inline JSON in
// PFMSYNC_INSTITUTIONS or a JSON file named by PFMSYNC_INSTITUTIONS_FILE.
func (r *reader) institutions(file string) []Institution {
	inline := r.institutionsJSON
	var text []byte
	switch {
	case inline != "" && file != "":
		r.fail(EnvInstitutions, "and "+EnvInstitutionsFile+" are both set; use one")
		return nil
	case inline != "":
		text = []byte(inline)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			r.fail(EnvInstitutionsFile, fmt.Sprintf("cannot be read: %v", err))
			return nil
		}
		text = b
	default:
		return nil
	}
	name := EnvInstitutions
	if file != "" {
		name = EnvInstitutionsFile
	}
	var list []Institution
	dec := json.NewDecoder(strings.NewReader(string(text)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		r.fail(name, fmt.Sprintf("must be a JSON list of institutions: %v", err))
		return nil
	}
	seen := map[string]bool{}
	for i := range list {
		in := &list[i]
		where := fmt.Sprintf("%s[%d]", name, i)
		if in.Slug != "" {
			where = fmt.Sprintf("%s[%q]", name, in.Slug)
		}
		if err := r.completeInstitution(in); err != nil {
			r.fail(where, err.Error())
		}
		if seen[in.Slug] {
			r.fail(where, "repeats a slug")
		}
		seen[in.Slug] = true
	}
	return list
}

func (r *reader) completeInstitution(in *Institution) error {
	var errs []error
	if !slugRE.MatchString(in.Slug) {
		errs = append(errs, errors.New("slug must be lowercase letters, digits and dashes"))
	}
	if in.Name == "" {
		in.Name = in.Slug
	}
	if u, err := url.Parse(in.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New("base_url must be an absolute URL like https://host/a/consumer/api/v0"))
	}
	in.BaseURL = strings.TrimRight(in.BaseURL, "/")
	if in.Issuer != "" {
		if u, err := url.Parse(in.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("issuer must be an absolute URL like https://host/a/consumer/api/v0/oidc"))
		}
		in.Issuer = strings.TrimRight(in.Issuer, "/")
	}
	if in.Scopes != nil && !slices.Contains(in.Scopes, "openid") {
		errs = append(errs, errors.New(`scopes must contain "openid"`))
	}
	for _, sc := range in.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\n\"\\") {
			errs = append(errs, fmt.Errorf("scope %q is not a valid scope token", sc))
		}
	}
	if in.ClientID == "" {
		errs = append(errs, errors.New("client_id is required"))
	}
	switch {
	case in.ClientSecretEnv != "" && in.ClientSecretFile != "":
		errs = append(errs, errors.New("give client_secret_env or client_secret_file, not both"))
	case in.ClientSecretEnv != "":
		in.ClientSecret = strings.TrimSpace(r.getenv(in.ClientSecretEnv))
		if in.ClientSecret == "" {
			errs = append(errs, fmt.Errorf("client secret variable %s is empty or unset", in.ClientSecretEnv))
		}
	case in.ClientSecretFile != "":
		b, err := os.ReadFile(in.ClientSecretFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("client secret file cannot be read: %w", err))
		}
		in.ClientSecret = strings.TrimSpace(string(b))
		if err == nil && in.ClientSecret == "" {
			errs = append(errs, errors.New("client secret file is empty"))
		}
	default:
		errs = append(errs, errors.New("client_secret_env or client_secret_file is required"))
	}
	if in.RequestsPerSecond < 0 || in.Burst < 0 || in.MaxConcurrentSyncs < 0 {
		errs = append(errs, errors.New("requests_per_second, burst and max_concurrent_syncs must not be negative"))
	}
	if in.RequestsPerSecond == 0 {
		in.RequestsPerSecond = 5
	}
	if in.Burst == 0 {
		in.Burst = 10
	}
	return errors.Join(errs...)
}

// Institution returns the configured institution with the slug.
func (c Config) Institution(slug string) (Institution, bool) {
	for _, in := range c.Institutions {
		if in.Slug == slug {
			return in, true
		}
	}
	return Institution{}, false
}
