package linkserver

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/linkserver.css
var stylesheet []byte

// stylesheetPath serves the pages' only stylesheet (the Content Security
// Policy forbids inline style).
const stylesheetPath = "/assets/linkserver.css"

// Page names.
const (
	pageConnect = "connect.html"
	pageSuccess = "success.html"
	pageMessage = "message.html"
	pageHome    = "home.html"
)

// pages holds one template set per page, each with the shared layout.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range []string{pageConnect, pageSuccess, pageMessage, pageHome} {
		t, err := template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// page is the data of every page; each uses the fields it needs.
type page struct {
	// Title is the document title and main heading.
	Title string
	// Kind names the outcome for people and automation (the main
	// element's id): connect, linked, declined, error, unauthorized, ...
	Kind string
	// Message and Detail explain the outcome.
	Message string
	Detail  string
	// Choices are the connect page's institutions.
	Choices []choice
	// Reconsent says the connect page renews an existing link.
	Reconsent bool
	// InstitutionName and LinkID describe a completed link.
	InstitutionName string
	LinkID          string
	// Missing lists what a partial consent leaves out.
	Missing []scopeNote
	// ReturnURL, when set, is offered as a way back to the app.
	ReturnURL string
	// DashboardURL, when set, is offered on the success page.
	DashboardURL string
}

// choice is one institution on the connect page.
type choice struct {
	Slug     string
	Name     string
	StartURL string
}

// scopeNote explains one scope the user did not grant.
type scopeNote struct {
	Scope   string
	Meaning string
}

// scopeMeaning says what a scope that was not granted means for the user.
func scopeMeaning(scope string) string {
	switch scope {
	case consumerapi.ScopeAccounts:
		return "Accounts and balances will not be synced."
	case consumerapi.ScopeTransactions:
		return "Transactions will not be synced."
	case consumerapi.ScopeUserProfile:
		return "Your name and contact details will not be read."
	case consumerapi.ScopeOfflineAccess, consumerapi.LegacyOfflineAccess:
		return "Data cannot be refreshed while you are away."
	default:
		return "This permission was not granted."
	}
}

// render executes a page into a buffer first, so that a template failure
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data page) {
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.logger.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// handleStylesheet serves the embedded stylesheet.
func (s *Server) handleStylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(stylesheet)
}
