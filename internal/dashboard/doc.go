// Package dashboard is the reference PFM dashboard: server-rendered pages
// (html/template, SVG charts generated in Go, an embedded stylesheet, no
// JavaScript) that read only the reporting views through
// internal/reporting, connected as a login role that is a member of
// pfm_reader. Per app user it shows net worth over time, income and
// spending by month, this month's spending by category, recent
// transactions, accounts with their freshness and link status (with a
// Reconnect button through the link server for a link that needs
// re-consent) and recurring payments. See docs/dashboard.md.
package dashboard
