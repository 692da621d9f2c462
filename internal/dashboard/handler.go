package dashboard

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/httpsec"
	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/reporting"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/dashboard.css
var stylesheet []byte

//go:embed assets/favicon.svg
var favicon []byte

// Paths of the embedded assets.
const (
	stylesheetPath = "/assets/dashboard.css"
	faviconPath    = "/assets/favicon.svg"
)

// Limits of what one page shows.
const (
	recentTransactions = 25
	cashFlowMonths     = 12
	netWorthDays       = 2 * 366
	userListLimit      = 200
	reconnectTokenTTL  = 15 * time.Minute
	maxAppUserLen      = 200
)

// Options configure the dashboard.
type Options struct {
	// Reader reads the reporting views (as a pfm_reader member).
	Reader *reporting.Reader
	// Logger records failures; nil discards.
	Logger *slog.Logger
	// LinkURL is the link server's public URL; with AppKey it enables the
	// Reconnect button. Empty hides it.
	LinkURL string
	// AppKey signs the short-lived link tokens of Reconnect.
	AppKey []byte
	// HTTPS adds Strict-Transport-Security.
	HTTPS bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

type handler struct {
	o     Options
	pages map[string]*template.Template
}

// New returns the dashboard's HTTP handler.
func New(o Options) (http.Handler, error) {
	if o.Reader == nil {
		return nil, errors.New("dashboard: a reporting reader is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if (o.LinkURL == "") != (len(o.AppKey) == 0) {
		return nil, errors.New("dashboard: Reconnect needs both the link server's URL and the app key")
	}
	if len(o.AppKey) > 0 && len(o.AppKey) < linkserver.MinAppKeyLen {
		return nil, fmt.Errorf("dashboard: the app key is %d bytes, want at least %d", len(o.AppKey), linkserver.MinAppKeyLen)
	}
	if o.LinkURL != "" {
		u, err := url.Parse(o.LinkURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("dashboard: link server URL %q is not an absolute http(s) URL", o.LinkURL)
		}
	}
	h := &handler{o: o, pages: map[string]*template.Template{}}
	for _, name := range []string{"index.html", "dashboard.html", "message.html"} {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", name, err)
		}
		h.pages[name] = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.handleRoot)
	mux.HandleFunc("GET /reconnect", h.handleReconnect)
	mux.HandleFunc("GET /healthz", h.handleHealthz)
	mux.HandleFunc("GET "+stylesheetPath, serveAsset("text/css; charset=utf-8", stylesheet))
	mux.HandleFunc("GET "+faviconPath, serveAsset("image/svg+xml", favicon))
	return httpsec.Headers(mux, httpsec.Options{
		HTTPS:   o.HTTPS,
		NoStore: func(r *http.Request) bool { return !strings.HasPrefix(r.URL.Path, "/assets/") },
	}), nil
}

func serveAsset(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(body)
	}
}

// handleHealthz answers 200 when the reporting views are readable.
func (h *handler) handleHealthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.o.Reader.Ping(ctx); err != nil {
		h.o.Logger.Warn("health check failed", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// basePage is what every page shows.
type basePage struct {
	Title      string
	Stylesheet string
	Favicon    string
	Now        time.Time
}

func (h *handler) base(title string) basePage {
	return basePage{Title: title, Stylesheet: stylesheetPath, Favicon: faviconPath, Now: h.o.Now().UTC()}
}

// indexPage lists the app users (a demo convenience: a real app knows its
// signed-in user).
type indexPage struct {
	basePage
	Users []string
}

// handleRoot serves the dashboard of ?user=…, or the list of app users.
func (h *handler) handleRoot(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	q := r.URL.Query()
	if !q.Has("user") {
		users, err := h.o.Reader.AppUsers(ctx, userListLimit)
		if err != nil {
			h.fail(w, err, "list app users")
			return
		}
		h.render(w, http.StatusOK, "index.html", indexPage{basePage: h.base("pfmsync dashboard"), Users: users})
		return
	}
	user := q.Get("user")
	if user == "" || len(user) > maxAppUserLen {
		h.message(w, http.StatusBadRequest, "Unknown user", "The user parameter must name an app user (1 to 200 bytes).")
		return
	}
	p, err := h.dashboard(ctx, user)
	if err != nil {
		h.fail(w, err, "build dashboard")
		return
	}
	if len(p.Links) == 0 {
		h.message(w, http.StatusNotFound, "Unknown user", "This app user has no linked institution.")
		return
	}
	h.render(w, http.StatusOK, "dashboard.html", p)
}

// handleReconnect sends the user to the link server's connect page for a
// link that needs re-consent, with a freshly signed, short-lived link token
// naming the link. The token is made on click, so it never sits in a page.
func (h *handler) handleReconnect(w http.ResponseWriter, r *http.Request) {
	if h.o.LinkURL == "" {
		h.message(w, http.StatusNotFound, "Reconnect is not configured", "The dashboard was started without the link server's URL and app key.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	q := r.URL.Query()
	user, linkID := q.Get("user"), q.Get("link")
	if user == "" || len(user) > maxAppUserLen || linkID == "" {
		h.message(w, http.StatusBadRequest, "Cannot reconnect", "The request must name a user and one of their links.")
		return
	}
	l, err := h.o.Reader.Link(ctx, user, linkID)
	if errors.Is(err, reporting.ErrNotFound) {
		h.message(w, http.StatusNotFound, "Cannot reconnect", "This link is not one of the user's.")
		return
	}
	if err != nil {
		h.fail(w, err, "read link")
		return
	}
	if !l.NeedsReconsent() {
		h.message(w, http.StatusConflict, "Nothing to reconnect", "This connection does not need the user's consent again.")
		return
	}
	token, err := linkserver.SignLinkToken(h.o.AppKey, linkserver.LinkClaims{
		Audience: linkserver.AudienceLink, AppUser: user, LinkID: l.LinkID, Expiry: h.o.Now().Add(reconnectTokenTTL),
	})
	if err != nil {
		h.fail(w, err, "sign link token")
		return
	}
	http.Redirect(w, r, strings.TrimRight(h.o.LinkURL, "/")+"/link?"+url.Values{"token": {token}}.Encode(), http.StatusSeeOther)
}

// messagePage is a short explanation (an error, a refusal).
type messagePage struct {
	basePage
	Heading, Text string
}

func (h *handler) message(w http.ResponseWriter, status int, heading, text string) {
	h.render(w, status, "message.html", messagePage{basePage: h.base(heading), Heading: heading, Text: text})
}

func (h *handler) fail(w http.ResponseWriter, err error, what string) {
	h.o.Logger.Error("dashboard request failed", "step", what, "error", err)
	h.message(w, http.StatusInternalServerError, "Something went wrong", "The dashboard could not read the data. Try again shortly.")
}

func (h *handler) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, name, data); err != nil {
		h.o.Logger.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
