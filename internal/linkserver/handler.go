package linkserver

import "net/http"

// routes builds the server's handler: every route behind the security
// headers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Consent, for people in a browser.
	mux.HandleFunc("GET /link", s.handleConnect)
	mux.HandleFunc("GET /link/start", s.handleStart)
	mux.HandleFunc("GET "+CallbackPath, s.handleCallback)
	mux.HandleFunc("GET "+DonePath, s.handleDone)
	mux.HandleFunc("GET /{$}", s.handleHome)

	// Link management, for the PFM app's backend.
	mux.Handle("GET /api/links", s.apiAuth(s.handleListLinks))
	mux.Handle("POST /api/links/{id}/reconsent", s.apiAuth(s.handleReconsent))
	mux.Handle("POST /api/links/{id}/sync", s.apiAuth(s.handleSync))
	mux.Handle("DELETE /api/links/{id}", s.apiAuth(s.handleUnlink))
	mux.Handle("DELETE /api/users/me", s.apiAuth(s.handleEraseUser))
	mux.Handle("GET /api/users/me/export", s.apiAuthWithin(exportTimeout, s.handleExportUser))
	// Other methods and paths get JSON errors too.
	mux.Handle("/api/links", methodNotAllowed(http.MethodGet))
	mux.Handle("/api/links/{id}/reconsent", methodNotAllowed(http.MethodPost))
	mux.Handle("/api/links/{id}/sync", methodNotAllowed(http.MethodPost))
	mux.Handle("/api/links/{id}", methodNotAllowed(http.MethodDelete))
	mux.Handle("/api/users/me", methodNotAllowed(http.MethodDelete))
	mux.Handle("/api/users/me/export", methodNotAllowed(http.MethodGet))
	mux.HandleFunc("/api/", apiNotFound)

	// Operations.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)

	mux.HandleFunc("GET "+stylesheetPath, s.handleStylesheet)

	return securityHeaders(mux, isHTTPS(s.publicURL))
}
