package statuspage

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Overview sizes and windows.
const (
	// overviewRuns is how many recent sync runs the overview lists.
	overviewRuns = 20
	// overdueGrace is how long after its due time an active link may wait
	// to be claimed by the scheduler (every 30 s by default) before it
	// counts as overdue.
	overdueGrace = 10 * time.Minute
)

// linkStatuses are the link statuses in the order the pages list them.
var linkStatuses = []pfm.LinkStatus{pfm.LinkActive, pfm.LinkReauthRequired, pfm.LinkRevoked, pfm.LinkDisabled}

// statusCount is one row of the links-by-status table.
type statusCount struct {
	Status string
	Count  int
}

// overview is the overview page's data.
type overview struct {
	Statuses     []statusCount
	TotalLinks   int
	Freshness    store.SyncFreshness
	OverdueGrace string
	Queues       []store.QueueStat
	Events       store.EventDeliveryStats
	Day          []store.InstitutionHealth
	Hour         []store.InstitutionHealth
	Runs         []store.SyncRunView
}

// statusRows orders link counts: the known statuses first (zero
// included), then any other by name.
func statusRows(counts map[string]int) ([]statusCount, int) {
	rows := make([]statusCount, 0, len(linkStatuses))
	total := 0
	for _, s := range linkStatuses {
		rows = append(rows, statusCount{Status: string(s), Count: counts[string(s)]})
		total += counts[string(s)]
	}
	var others []string
	for s := range counts {
		if !pfm.LinkStatus(s).Valid() {
			others = append(others, s)
		}
	}
	slices.Sort(others)
	for _, s := range others {
		rows = append(rows, statusCount{Status: s, Count: counts[s]})
		total += counts[s]
	}
	return rows, total
}

// handleOverview serves the overview: links by status, data freshness,
// queues, institution health over the last day and hour, and the latest
// sync runs.
func (h *handler) handleOverview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	now := h.now()
	var o overview
	var err error
	counts, err := h.store.LinkStatusCounts(ctx)
	if err == nil {
		o.Statuses, o.TotalLinks = statusRows(counts)
		o.Freshness, err = h.store.SyncFreshness(ctx, now.Add(-overdueGrace))
	}
	if err == nil {
		o.Queues, err = h.store.QueueStats(ctx, now)
	}
	if err == nil {
		o.Events, err = h.store.EventDeliveryStats(ctx)
	}
	if err == nil {
		o.Day, err = h.store.InstitutionHealth(ctx, now.Add(-24*time.Hour))
	}
	if err == nil {
		o.Hour, err = h.store.InstitutionHealth(ctx, now.Add(-time.Hour))
	}
	if err == nil {
		o.Runs, err = h.store.RecentSyncRuns(ctx, overviewRuns, "")
	}
	if err != nil {
		h.databaseError(w, r, "overview", err)
		return
	}
	o.OverdueGrace = formatAge(overdueGrace)
	h.render(w, http.StatusOK, pageOverview, page{
		Title: "pfmsync status", Kind: "overview", Nav: "overview", Now: now, Content: o,
	})
}
