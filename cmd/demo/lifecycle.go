package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/linkserver"
)

// dashboardSource is the reference dashboard's package; the demo builds and
// starts it when the tree has it.
const dashboardSource = "./cmd/dashboard"

// dashboardAvailable reports whether the demo runs the reference
// dashboard: when building, if its source is in the tree; otherwise if its
// binary is in the bin folder.
func dashboardAvailable(o options) bool {
	if o.build {
		info, err := os.Stat(dashboardSource)
		return err == nil && info.IsDir()
	}
	_, err := os.Stat(filepath.Join(o.bin, "dashboard"))
	return err == nil
}

// checkPorts fails, naming the port and its flag, if a listener the demo
// needs is taken: before a build that may take minutes, not after.
func checkPorts(o options, withDashboard bool) error {
	type port struct{ addr, what, flag string }
	ports := []port{
		{o.sandboxAddr, "the sandbox institution", "-sandbox-addr"},
		{o.linkAddr, "the link server", "-link-addr"},
		{o.adminAddr, "the status page", "-admin-addr"},
		{o.metrics, "the worker's metrics", "-metrics-addr"},
	}
	if withDashboard {
		ports = append(ports, port{o.dashboardAddr, "the dashboard", "-dashboard-addr"})
	}
	var errs []error
	for _, p := range ports {
		l, err := net.Listen("tcp", p.addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (for %s) is in use or unavailable: stop what listens there (is another demo running?) or pass %s", p.addr, p.what, p.flag))
			continue
		}
		_ = l.Close()
	}
	return errors.Join(errs...)
}

// build compiles the binaries the demo starts into bin.
func build(ctx context.Context, bin string, withDashboard bool, stdout, stderr io.Writer) error {
	pkgs := []string{"./cmd/sandbox", "./cmd/linkserver", "./cmd/worker"}
	if withDashboard {
		pkgs = append(pkgs, dashboardSource)
	}
	fmt.Fprintf(stdout, "building %s into %s/ (the first build takes a few minutes)\n", strings.Join(pkgs, " "), bin)
	started := time.Now()
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", bin + "/"}, pkgs...)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build the binaries: %w", err)
	}
	fmt.Fprintf(stdout, "built in %s\n", time.Since(started).Round(time.Second))
	return nil
}

// stateFiles are the demo's secrets, which belong with its database: tokens
// sealed with the key ring cannot be read without it.
var stateFiles = []string{keysFileName, appKeyFile, passwordFile}

// reset drops the demo database and its keys together.
func reset(ctx context.Context, stdout io.Writer, adminURL string, o options) error {
	dropped, err := dropDatabase(ctx, adminURL, o.database)
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	if dropped {
		fmt.Fprintf(stdout, "reset: dropped database %s\n", o.database)
	}
	for _, name := range stateFiles {
		path := filepath.Join(o.state, name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reset: %w", err)
		}
	}
	fmt.Fprintf(stdout, "reset: removed the keys in %s\n", o.state)
	return nil
}

// checkKeysMatchDatabase refuses to start when the key ring is gone but the
// database holds links: their tokens are sealed with the lost keys and can
// never sync again.
func checkKeysMatchDatabase(ctx context.Context, o options, dbURL string) error {
	keys := filepath.Join(o.state, keysFileName)
	if _, err := os.Stat(keys); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	n, err := linkCount(ctx, dbURL)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("the database %s holds %d links whose tokens were sealed with the key ring %s, which is missing: "+
			"they could never sync again. Start afresh with `make run RESET=1` (or `demo -reset`), which drops the database and the keys together",
			o.database, n, keys)
	}
	return nil
}

// connectURL returns a connect-page URL for appUser, valid for as long as
// the link server accepts (an hour).
func connectURL(appKey []byte, linkURL, appUser string) (string, error) {
	token, err := linkserver.SignLinkToken(appKey, linkserver.LinkClaims{Audience: linkserver.AudienceLink, AppUser: appUser, Expiry: time.Now().Add(linkserver.MaxTokenLifetime)})
	if err != nil {
		return "", err
	}
	return linkURL + "/link?" + url.Values{"token": {token}}.Encode(), nil
}

// printConnectURL is the connect-url subcommand: a fresh connect URL signed
// with the running demo's app key.
func printConnectURL(stdout io.Writer, o options) error {
	key, err := readAppKey(o)
	if err != nil {
		return err
	}
	u, err := connectURL(key, "http://"+o.linkAddr, o.user)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, u)
	return nil
}

// printAPIToken is the api-token subcommand: a link API token for the app
// user, signed with the running demo's app key and valid for as long as
// the link server accepts (an hour). The demo prints a curl example that
// makes one per call, so no token is printed where it could be copied
// into logs.
func printAPIToken(stdout io.Writer, o options) error {
	key, err := readAppKey(o)
	if err != nil {
		return err
	}
	token, err := linkserver.SignLinkToken(key, linkserver.LinkClaims{Audience: linkserver.AudienceAPI, AppUser: o.user, Expiry: time.Now().Add(linkserver.MaxTokenLifetime)})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// readAppKey reads the running demo's app key from its state folder.
func readAppKey(o options) ([]byte, error) {
	path := filepath.Join(o.state, appKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no app key at %s: start the demo first (`make run`)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read the app key: %w", err)
	}
	return []byte(strings.TrimSpace(string(key))), nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
