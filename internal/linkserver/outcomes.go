package linkserver

import (
	"errors"
	"net/http"
	"strings"
)

// failure names why a consent page or step stops. Each has one row in
// outcomes: the page shown and the status reported to the app.
type failure int

// Failures of the consent flow.
const (
	failInternal failure = iota
	failTokenMissing
	failTokenExpired
	failTokenAudience
	failTokenInvalid
	failOtherUser
	failOtherBank
	failNoBankChosen
	failUnknownInstitution
	failLinkNotFound
	failReturnURLRefused
	failBankUnreachable
	failNoState
	failUnknownState
	failStateUsed
	failStateExpired
	failOtherBrowser
	failDeclined
	failIssuerMismatch
	failAuthorizationError
	failMalformedCallback
	failExchange
	failOfflineAccessRequired
	failOtherBankUser
)

// outcome is how a failure is shown: the HTTP status, the page's kind (the
// main element's id), its title, message and advice, and the status
// appended to the app's return URL ("" : the page offers no way back).
// In message, {bank} is the institution's name and {code} the OAuth error
// code the institution reported.
type outcome struct {
	status       int
	kind         string
	title        string
	message      string
	advice       string
	returnStatus string
}

const (
	adviceStartAgain     = "Go back to your app and start again."
	adviceNothingStarted = "Nothing was saved. Go back to your app and start again."
	adviceNothingRetry   = "Nothing was saved. Go back to your app and try again."
)

// outcomes is the one table from failure to page.
var outcomes = map[failure]outcome{
	failInternal: {http.StatusInternalServerError, "error", "Something went wrong",
		"Your bank was not connected because of an error on our side.", "Nothing was saved. Please try again in a few minutes.", returnError},
	failTokenMissing: {http.StatusUnauthorized, "unauthorized", "Open this page from your app",
		"This page only works when your app sends you here.", adviceStartAgain, ""},
	failTokenExpired: {http.StatusUnauthorized, "unauthorized", "This link has expired",
		"Links to connect a bank are valid for a few minutes only.", adviceStartAgain, ""},
	failTokenAudience: {http.StatusForbidden, "forbidden", "This link cannot be used here",
		"This link was not made for connecting a bank.", adviceStartAgain, ""},
	failTokenInvalid: {http.StatusUnauthorized, "unauthorized", "This link is not valid",
		"The link is damaged or was not made by your app.", adviceStartAgain, ""},
	failOtherUser: {http.StatusForbidden, "forbidden", "This link cannot be used here",
		"This link was made for someone else.", adviceStartAgain, ""},
	failOtherBank: {http.StatusForbidden, "forbidden", "This link cannot be used here",
		"This link was made for another bank.", adviceStartAgain, ""},
	failNoBankChosen: {http.StatusBadRequest, "error", "Choose your bank",
		"No bank was chosen.", "Go back to the list of banks and choose one.", ""},
	failUnknownInstitution: {http.StatusNotFound, "not-found", "Bank not available",
		"This bank is not available for connecting.", "Go back to your app and choose another bank.", ""},
	failLinkNotFound: {http.StatusNotFound, "not-found", "Connection not found",
		"The bank connection this link refers to does not exist.", "It may have been removed. Go back to your app and connect your bank again.", ""},
	failReturnURLRefused: {http.StatusBadRequest, "error", "This link cannot be used",
		"The app asked to send you back to an address that is not allowed.", "Contact the app's support.", ""},
	failBankUnreachable: {http.StatusBadGateway, "error", "Your bank cannot be reached",
		"{bank} is not answering right now.", "Please try again in a few minutes.", ""},
	failNoState: {http.StatusBadRequest, "error", "This sign-in cannot be completed",
		"The response from your bank is incomplete.", adviceStartAgain, ""},
	failUnknownState: {http.StatusBadRequest, "error", "This sign-in cannot be completed",
		"This response does not belong to a connection started here.", adviceStartAgain, ""},
	failStateUsed: {http.StatusBadRequest, "error", "This sign-in was already completed",
		"This response was already used once and cannot be used again.", "If your bank is not connected yet, go back to your app and start again.", ""},
	failStateExpired: {http.StatusBadRequest, "error", "This sign-in took too long",
		"Connecting a bank must be finished within a few minutes.", adviceStartAgain, ""},
	failOtherBrowser: {http.StatusForbidden, "forbidden", "This sign-in cannot be completed here",
		"Connecting a bank must be finished in the same browser it was started from.", "Go back to your app and start again from there.", ""},
	failDeclined: {http.StatusOK, "declined", "You declined",
		"You chose not to connect your account at {bank}. Nothing was saved.", "You can connect it later from your app.", returnDeclined},
	failIssuerMismatch: {http.StatusBadRequest, "error", "This sign-in cannot be completed",
		"The response did not come from {bank}.", adviceNothingStarted, returnError},
	failAuthorizationError: {http.StatusBadGateway, "error", "Your bank could not be connected",
		"{bank} reported an error ({code}).", adviceNothingRetry, returnError},
	failMalformedCallback: {http.StatusBadRequest, "error", "This sign-in cannot be completed",
		"The response from your bank is incomplete.", adviceNothingStarted, returnError},
	failExchange: {http.StatusBadGateway, "error", "Your bank could not be connected",
		"The sign-in at {bank} could not be completed.", adviceNothingRetry, returnError},
	failOfflineAccessRequired: {http.StatusOK, "offline-access-required", "Your bank was not connected",
		"You did not allow this app to stay connected (offline access). Without it the app cannot refresh your data while you are away, so nothing was saved.",
		"To connect your bank, start again and keep “Stay connected” ticked.", returnOfflineAccessRequired},
	failOtherBankUser: {http.StatusConflict, "error", "You signed in as someone else",
		"You signed in at {bank} with a different user than the connection you are renewing. Nothing was changed.",
		"Go back to your app and renew the connection with the same bank user, or connect this user as a new bank.", returnError},
}

// Statuses appended to the return URL (status=…).
const (
	returnLinked                = "linked"
	returnDeclined              = "declined"
	returnOfflineAccessRequired = "offline_access_required"
	returnError                 = "error"
)

// consentError is a consent step's refusal: why, and what the page needs.
type consentError struct {
	reason failure
	// bank is the institution's name, code an OAuth error code.
	bank, code string
	// returnURL is the consent request's (allowed) return URL and linkID
	// the link it renews, once the consent request is known.
	returnURL, linkID string
	// err is the underlying error, for the log only.
	err error
}

func (e *consentError) Error() string {
	o := outcomes[e.reason]
	msg := o.title
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *consentError) Unwrap() error { return e.err }

// refuse returns a consentError for reason.
func refuse(reason failure, err error) *consentError { return &consentError{reason: reason, err: err} }

// asConsentError returns err as a consentError; any other error is
// failInternal.
func asConsentError(err error) *consentError {
	var ce *consentError
	if errors.As(err, &ce) {
		return ce
	}
	return refuse(failInternal, err)
}

// page is the message page of a refusal.
func (e *consentError) page() (int, page) {
	o := outcomes[e.reason]
	r := strings.NewReplacer("{bank}", e.bank, "{code}", e.code)
	p := page{Title: o.title, Kind: o.kind, Message: r.Replace(o.message), Detail: o.advice}
	if o.returnStatus != "" && e.returnURL != "" {
		p.ReturnURL = withReturnParams(e.returnURL, e.linkID, o.returnStatus)
	}
	return o.status, p
}

// renderRefusal renders the page of a consent step's error.
func (s *Server) renderRefusal(w http.ResponseWriter, err error) {
	status, p := asConsentError(err).page()
	s.render(w, status, pageMessage, p)
}
