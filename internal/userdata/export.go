package userdata

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pfmsync/pfmsync/internal/store"
)

// Format is the shape of an export.
type Format string

// Export formats.
const (
	// FormatJSON is one JSON document: the bundle.
	FormatJSON Format = "json"
	// FormatZip is a zip archive of the bundle (export.json) and one CSV
	// file per table (TABLE.csv, with a header line).
	FormatZip Format = "zip"
)

// ParseFormat reads a format name ("" is JSON).
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatJSON:
		return FormatJSON, nil
	case FormatZip:
		return FormatZip, nil
	default:
		return "", fmt.Errorf("unknown export format %q: use json or zip", s)
	}
}

// ContentType is the format's media type.
func (f Format) ContentType() string {
	if f == FormatZip {
		return "application/zip"
	}
	return "application/json"
}

// BundleVersion names the bundle's layout.
const BundleVersion = "pfmsync.export.v1"

// Export writes everything pfmsync holds about appUserRef to w, streamed
// from one consistent snapshot of the database: the user's links, accounts,
// balance history, transactions (with the bank's raw JSON), sync progress,
// change feed, events (and the horizons of both feeds), sync history,
// consent requests and token metadata. No secret
// is included (no sealed token, PKCE verifier, nonce or state). A user
// pfmsync does not know gets an export with empty tables. On an error
// mid-way the output is truncated and invalid, never silently partial.
func Export(ctx context.Context, st *store.Store, appUserRef string, format Format, now time.Time, w io.Writer) error {
	err := st.ExportAppUser(ctx, appUserRef, func(x *store.Export) error {
		if format != FormatZip {
			bw := bufio.NewWriterSize(w, 64<<10)
			if err := writeBundle(ctx, x, appUserRef, now, bw); err != nil {
				return err
			}
			return bw.Flush()
		}
		zw := zip.NewWriter(w)
		f, err := zw.CreateHeader(&zip.FileHeader{Name: "export.json", Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		if err := writeBundle(ctx, x, appUserRef, now, f); err != nil {
			return err
		}
		for _, table := range store.ExportTables() {
			f, err := zw.CreateHeader(&zip.FileHeader{Name: table + ".csv", Method: zip.Deflate, Modified: now})
			if err != nil {
				return err
			}
			if _, err := x.CSV(ctx, table, f); err != nil {
				return err
			}
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("export an app user: %w", err)
	}
	return nil
}

// writeBundle writes the JSON bundle: {"format", "app_user_ref",
// "exported_at", "tables": {"links": [...], ...}}, row by row.
func writeBundle(ctx context.Context, x *store.Export, appUserRef string, now time.Time, w io.Writer) error {
	head, err := json.Marshal(struct {
		Format     string    `json:"format"`
		AppUserRef string    `json:"app_user_ref"`
		ExportedAt time.Time `json:"exported_at"`
	}{BundleVersion, appUserRef, now.UTC()})
	if err != nil {
		return err
	}
	// The header object without its closing brace, then the tables.
	if _, err := w.Write(head[:len(head)-1]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, `,"tables":{`); err != nil {
		return err
	}
	for i, table := range store.ExportTables() {
		sep := ","
		if i == 0 {
			sep = ""
		}
		if _, err := fmt.Fprintf(w, "%s\n%q:[", sep, table); err != nil {
			return err
		}
		first := true
		_, err := x.JSON(ctx, table, func(row []byte) error {
			lead := ",\n"
			if first {
				lead, first = "\n", false
			}
			if _, err := io.WriteString(w, lead); err != nil {
				return err
			}
			_, err := w.Write(row)
			return err
		})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, "]"); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "\n}}\n")
	return err
}
