package statuspage

import (
	"context"
	"net/http"
)

// recentRuns is how many sync runs the runs page lists.
const recentRuns = 100

// handleRuns lists the latest sync runs of every link.
func (h *handler) handleRuns(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	runs, err := h.store.RecentSyncRuns(ctx, recentRuns, "")
	if err != nil {
		h.databaseError(w, r, "runs", err)
		return
	}
	h.render(w, http.StatusOK, pageRuns, page{
		Title: "Recent sync runs", Kind: "runs", Nav: "runs", Now: h.now(), Content: runs,
	})
}
