package workercmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/probe"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/userdata"
)

// Admin runs the operator's one-shot commands on links.
type Admin struct {
	// Store is the datastore.
	Store *store.Store
	// Jobs queues syncs; an insert-only River client is enough.
	Jobs *river.Client[pgx.Tx]
	// Out receives the commands' output.
	Out io.Writer
	// Eraser erases app users (erase-user); it needs the institutions'
	// clients and the token sealer to revoke grants.
	Eraser *userdata.Eraser
	// Prober probes institutions (probe-institution); it needs the
	// institutions' clients and the token sealer.
	Prober *probe.Prober
	// Now is the clock of exports (default time.Now).
	Now func() time.Time
}

// Run runs one link command (links, sync-now, resync, disable, enable,
// probe-institution) or app user command (erase-user, export-user).
// Its errors are one line, for the operator.
func (a *Admin) Run(ctx context.Context, cmd Command) error {
	switch cmd.Name {
	case Links:
		return a.links(ctx, cmd.JSON)
	case EraseUser:
		return a.eraseUser(ctx, cmd.AppUserRef, cmd.JSON)
	case ExportUser:
		return a.exportUser(ctx, cmd.AppUserRef, cmd.Format)
	}
	link, err := a.Store.Link(ctx, cmd.LinkID)
	if errors.Is(err, pfm.ErrNotFound) {
		return fmt.Errorf("no link with id %s", cmd.LinkID)
	}
	if err != nil {
		return err
	}
	switch cmd.Name {
	case SyncNow:
		return a.syncNow(ctx, link)
	case Resync:
		return a.resync(ctx, link)
	case Disable:
		return a.disable(ctx, link)
	case Enable:
		return a.enable(ctx, link)
	case ProbeInstitution:
		return a.probeInstitution(ctx, link, cmd.JSON)
	default:
		return usageErr("%s is not a link command", cmd.Name)
	}
}

func (a *Admin) syncNow(ctx context.Context, link pfm.Link) error {
	if link.Status != pfm.LinkActive {
		return fmt.Errorf("link %s is %s: only active links sync (enable it, or the user must consent again)", link.ID, link.Status)
	}
	var queued bool
	err := a.Store.Transact(ctx, func(tx *store.Store) (err error) {
		queued, err = jobs.EnqueueSync(ctx, a.Jobs, tx.Tx(), link.ID, jobs.TriggerManual)
		return err
	})
	if err != nil {
		return err
	}
	if queued {
		fmt.Fprintf(a.Out, "queued a sync of link %s\n", link.ID)
	} else {
		fmt.Fprintf(a.Out, "a sync of link %s is already queued or running\n", link.ID)
	}
	return nil
}

// errSyncPending rolls back a resync that would race a queued or running
// sync (which would write its progress over the reset).
var errSyncPending = errors.New("sync pending")

func (a *Admin) resync(ctx context.Context, link pfm.Link) error {
	if link.Status != pfm.LinkActive {
		return fmt.Errorf("link %s is %s: only active links sync", link.ID, link.Status)
	}
	var accounts int64
	err := a.Store.Transact(ctx, func(tx *store.Store) error {
		var err error
		if accounts, err = tx.ResetSyncState(ctx, link.ID); err != nil {
			return err
		}
		queued, err := jobs.EnqueueSync(ctx, a.Jobs, tx.Tx(), link.ID, jobs.TriggerResync)
		if err != nil {
			return err
		}
		if !queued {
			return errSyncPending
		}
		return nil
	})
	if errors.Is(err, errSyncPending) {
		return fmt.Errorf("a sync of link %s is queued or running; nothing was reset: run resync again when it has finished", link.ID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "reset the sync progress of %d accounts and queued a full re-sync of link %s\n", accounts, link.ID)
	return nil
}

func (a *Admin) disable(ctx context.Context, link pfm.Link) error {
	if link.Status == pfm.LinkDisabled {
		fmt.Fprintf(a.Out, "link %s is already disabled\n", link.ID)
		return nil
	}
	if err := a.Store.SetLinkStatus(ctx, link.ID, pfm.LinkDisabled, "", ""); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "link %s disabled\n", link.ID)
	return nil
}

func (a *Admin) enable(ctx context.Context, link pfm.Link) error {
	switch link.Status {
	case pfm.LinkActive:
		fmt.Fprintf(a.Out, "link %s is already active\n", link.ID)
		return nil
	case pfm.LinkDisabled:
	default:
		return fmt.Errorf("link %s is %s, not disabled: only the user's new consent resumes it", link.ID, link.Status)
	}
	if err := a.Store.SetLinkStatus(ctx, link.ID, pfm.LinkActive, "", ""); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "link %s enabled; it syncs at the next scheduler pass\n", link.ID)
	return nil
}

func (a *Admin) probeInstitution(ctx context.Context, link pfm.Link, asJSON bool) error {
	if a.Prober == nil {
		return errors.New("probe-institution needs the institutions and the token keys configured")
	}
	res, err := a.Prober.Run(ctx, link)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return probe.WriteReport(a.Out, res)
}

func (a *Admin) eraseUser(ctx context.Context, ref string, asJSON bool) error {
	if a.Eraser == nil {
		return errors.New("erase-user needs the institutions and the token keys configured")
	}
	er, err := a.Eraser.Erase(ctx, ref)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(er)
	}
	tw := tabwriter.NewWriter(a.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "erased app user %q: %d links, %d rows\n", ref, er.Links, er.Rows())
	for _, r := range er.Revocations {
		fmt.Fprintf(tw, "link %s\t%s\trevocation %s\t%s\n", r.LinkID, r.Institution, r.Outcome, orDash(string(r.ErrorClass)))
	}
	fmt.Fprintln(tw, "TABLE\tROWS DELETED")
	for _, c := range er.Deleted {
		fmt.Fprintf(tw, "%s\t%d\n", c.Table, c.Rows)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write the erasure report: %w", err)
	}
	return nil
}

func (a *Admin) exportUser(ctx context.Context, ref, format string) error {
	f, err := userdata.ParseFormat(format)
	if err != nil {
		return usageErr("export-user: %v", err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	return userdata.Export(ctx, a.Store, ref, f, now().UTC(), a.Out)
}

// linkRow is one line of the links listing.
type linkRow struct {
	ID          string     `json:"id"`
	AppUserRef  string     `json:"app_user_ref"`
	Institution string     `json:"institution"`
	Status      string     `json:"status"`
	LastSuccess *time.Time `json:"last_success_at"`
	NextSync    *time.Time `json:"next_sync_at"`
	LastError   string     `json:"last_error_class,omitempty"`
}

func (a *Admin) links(ctx context.Context, asJSON bool) error {
	links, err := a.Store.Links(ctx)
	if err != nil {
		return err
	}
	rows := make([]linkRow, 0, len(links))
	for _, l := range links {
		rows = append(rows, linkRow{ID: l.ID, AppUserRef: l.AppUserRef, Institution: l.InstitutionSlug, Status: string(l.Status),
			LastSuccess: utc(l.LastSuccessAt), NextSync: utc(l.NextSyncAt), LastError: string(l.LastErrorClass)})
	}
	if asJSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(a.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAPP USER\tINSTITUTION\tSTATUS\tLAST SUCCESS\tNEXT SYNC\tLAST ERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, orDash(r.AppUserRef), r.Institution, r.Status,
			when(r.LastSuccess, "never"), when(r.NextSync, "-"), orDash(r.LastError))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write links: %w", err)
	}
	return nil
}

// utc returns t in UTC (nil stays nil).
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// orDash keeps an empty cell visible.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when renders an optional time in UTC to the second, or none.
func when(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
