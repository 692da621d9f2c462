package statuspage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/pfmsync/pfmsync/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/statuspage.css
var stylesheet []byte

//go:embed assets/favicon.svg
var favicon []byte

// Paths of the embedded assets: the pages' only stylesheet (the Content
// Security Policy forbids inline style) and their icon (declared, so that
// browsers do not ask for /favicon.ico).
const (
	stylesheetPath = "/assets/statuspage.css"
	faviconPath    = "/assets/favicon.svg"
)

// Page names.
const (
	pageOverview = "overview.html"
	pageLinks    = "links.html"
	pageLink     = "link.html"
	pageRuns     = "runs.html"
	pageMessage  = "message.html"
)

// pages holds one template set per page, each with the shared layout and
// partials.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range []string{pageOverview, pageLinks, pageLink, pageRuns, pageMessage} {
		t, err := template.New(name).Funcs(templateFuncs).
			ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// page is the data of every page.
type page struct {
	// Title is the document title and main heading.
	Title string
	// Kind names the page (the main element's id): overview, links,
	// link, runs, not-found, error, ...
	Kind string
	// Nav is the navigation entry to mark current: overview, links, runs.
	Nav string
	// Now is the server time the page describes.
	Now time.Time
	// Refresh is the meta refresh interval in seconds (0: none).
	Refresh int
	// Message explains a message page.
	Message string
	// Content is the page's own data.
	Content any
}

// runsTable is the data of the sync runs table partial.
type runsTable struct {
	// ID is the table's element id.
	ID   string
	Now  time.Time
	Runs []store.SyncRunView
	// ShowLink adds the link and institution columns.
	ShowLink bool
}

// healthTable is the data of the institution health table partial.
type healthTable struct {
	// ID is the table's element id.
	ID   string
	Now  time.Time
	Rows []store.InstitutionHealth
}

// templateFuncs are the formatting helpers the templates use.
var templateFuncs = template.FuncMap{
	"at":       timeAt,
	"age":      formatAge,
	"duration": formatDuration,
	"rate":     formatRate,
	"trunc":    truncateMessage,
	"scope":    shortScope,
	"runsTable": func(id string, now time.Time, runs []store.SyncRunView, showLink bool) runsTable {
		return runsTable{ID: id, Now: now, Runs: runs, ShowLink: showLink}
	},
	"healthTable": func(id string, now time.Time, rows []store.InstitutionHealth) healthTable {
		return healthTable{ID: id, Now: now, Rows: rows}
	},
}

// render executes a page into a buffer first, so that a template failure
// never sends half a page.
func (h *handler) render(w http.ResponseWriter, status int, name string, data page) {
	data.Now = data.Now.UTC()
	data.Refresh = h.refresh
	var buf bytes.Buffer
	if err := h.pages.sets[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.logger.Error("render status page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderMessage renders the message page.
func (h *handler) renderMessage(w http.ResponseWriter, _ *http.Request, status int, title, message string) {
	kind := "error"
	switch status {
	case http.StatusNotFound:
		kind = "not-found"
	case http.StatusBadRequest:
		kind = "bad-request"
	}
	h.render(w, status, pageMessage, page{Title: title, Kind: kind, Now: h.now(), Message: message})
}

// databaseError logs a failed read and answers 500 with a short message:
// the details stay in the log.
func (h *handler) databaseError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.logger.Error("status page: database read failed", "page", what, "path", r.URL.Path, "error", err)
	h.renderMessage(w, r, http.StatusInternalServerError, "Status unavailable",
		"The status could not be read from the database. The error is in the server log.")
}

// handleStylesheet serves the embedded stylesheet.
func (h *handler) handleStylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(stylesheet)
}

// handleFavicon serves the embedded icon.
func (h *handler) handleFavicon(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write(favicon)
}
