package statuspage

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Page sizes of the link pages.
const (
	// linksPerPage is how many links one page of the list shows.
	linksPerPage = 100
	// linkRuns is how many sync runs a link's page lists.
	linkRuns = 50
	// linkQuarantine is how many quarantined records a link's page lists.
	linkQuarantine = 50
	// maxPage bounds the page number, so that an absurd offset never
	// reaches the database.
	maxPage = 1_000_000
)

// uuidRE matches the canonical text form of a UUID.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// filter is one entry of the status filter above the list.
type filter struct {
	Label   string
	URL     string
	Count   int
	Current bool
}

// linkList is the data of the links page.
type linkList struct {
	// Status is the status shown, empty for all.
	Status  string
	Filters []filter
	Links   []pfm.Link
	// First and Last number the links shown (1-based); Total counts the
	// links with the status.
	First, Last, Total int
	// PrevURL and NextURL page through the list (empty at either end).
	PrevURL, NextURL string
}

// linksURL is the address of one page of the list.
func linksURL(status string, page int) string {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/links"
	}
	return "/links?" + q.Encode()
}

// handleLinks lists links with one status (all without one), the most
// recently attempted first, 100 a page.
func (h *handler) handleLinks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !pfm.LinkStatus(status).Valid() {
		h.renderMessage(w, r, http.StatusBadRequest, "Unknown link status",
			"A link's status is active, reauth_required, revoked or disabled.")
		return
	}
	pageNo := 1
	if raw := q.Get("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxPage {
			h.renderMessage(w, r, http.StatusBadRequest, "Bad page number", "Pages are numbered from 1.")
			return
		}
		pageNo = n
	}

	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	counts, err := h.store.LinkStatusCounts(ctx)
	if err != nil {
		h.databaseError(w, r, "links", err)
		return
	}
	offset := (pageNo - 1) * linksPerPage
	// One more than a page tells whether a next page exists.
	links, err := h.store.ListLinks(ctx, status, offset, linksPerPage+1)
	if err != nil {
		h.databaseError(w, r, "links", err)
		return
	}

	rows, total := statusRows(counts)
	l := linkList{Status: status, Total: total}
	l.Filters = append(l.Filters, filter{Label: "all", URL: linksURL("", 1), Count: total, Current: status == ""})
	for _, row := range rows {
		l.Filters = append(l.Filters, filter{Label: row.Status, URL: linksURL(row.Status, 1), Count: row.Count, Current: row.Status == status})
	}
	if status != "" {
		l.Total = counts[status]
	}
	if len(links) > linksPerPage {
		links = links[:linksPerPage]
		l.NextURL = linksURL(status, pageNo+1)
	}
	if pageNo > 1 {
		l.PrevURL = linksURL(status, pageNo-1)
	}
	l.Links = links
	if len(links) > 0 {
		l.First, l.Last = offset+1, offset+len(links)
	}
	title := "Links"
	if status != "" {
		title = "Links: " + status
	}
	h.render(w, http.StatusOK, pageLinks, page{Title: title, Kind: "links", Nav: "links", Now: h.now(), Content: l})
}

// linkDetail is the data of one link's page.
type linkDetail struct {
	Link   pfm.Link
	Counts store.LinkDataCounts
	Runs   []store.SyncRunView
	// Quarantined counts the link's unresolved quarantined records;
	// Quarantine lists the most recently seen (never their raw JSON: it
	// holds the user's transaction details).
	Quarantined int
	Quarantine  []store.QuarantinedRecord
}

// handleLink shows one link and its latest sync runs; 404 for an id that
// is not a link's.
func (h *handler) handleLink(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !uuidRE.MatchString(id) {
		h.renderMessage(w, r, http.StatusNotFound, "Link not found", "There is no link with this id.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	link, err := h.store.Link(ctx, id)
	if errors.Is(err, pfm.ErrNotFound) {
		h.renderMessage(w, r, http.StatusNotFound, "Link not found", "There is no link with this id.")
		return
	}
	if err != nil {
		h.databaseError(w, r, "link", err)
		return
	}
	runs, err := h.store.RecentSyncRuns(ctx, linkRuns, link.ID)
	if err != nil {
		h.databaseError(w, r, "link", err)
		return
	}
	counts, err := h.store.LinkDataCounts(ctx, link.ID)
	if err != nil {
		h.databaseError(w, r, "link", err)
		return
	}
	quarantined, err := h.store.LinkQuarantineCount(ctx, link.ID)
	if err != nil {
		h.databaseError(w, r, "link", err)
		return
	}
	var quarantine []store.QuarantinedRecord
	if quarantined > 0 {
		if quarantine, err = h.store.LinkQuarantine(ctx, link.ID, linkQuarantine); err != nil {
			h.databaseError(w, r, "link", err)
			return
		}
		for i := range quarantine {
			quarantine[i].Raw = ""
		}
	}
	h.render(w, http.StatusOK, pageLink, page{
		Title: "Link " + link.ID, Kind: "link", Nav: "links", Now: h.now(),
		Content: linkDetail{Link: link, Counts: counts, Runs: runs, Quarantined: quarantined, Quarantine: quarantine},
	})
}
