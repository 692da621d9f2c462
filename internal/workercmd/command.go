package workercmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/google/uuid"
)

// Usage is the worker's usage text, printed by -h, --help and help.
const Usage = `usage: worker                     run the sync worker until interrupted
       worker migrate              apply pending database migrations and exit
       worker links [-json]        list every link: status, last success, next sync
       worker sync-now LINK_ID     queue a sync of one link now
       worker resync LINK_ID       forget a link's sync progress and queue a full re-sync
       worker disable LINK_ID      stop syncing a link
       worker enable LINK_ID       resume syncing a disabled link
       worker erase-user [-json] APP_USER_REF
                                   revoke every grant of an app user at the bank and
                                   delete every row of theirs; prints what was deleted
       worker export-user [-format json|zip] APP_USER_REF
                                   write everything held about an app user to stdout
       worker probe-institution [-json] LINK_ID
                                   measure, read-only, how the link's institution behaves
                                   where the API documentation is silent; stores and
                                   prints the findings and the settings that fit
       worker help                 print this text

Configuration comes from PFMSYNC_* environment variables (docs/operations.md).
`

// Names of the commands.
const (
	Serve   = ""
	Migrate = "migrate"
	Links   = "links"
	SyncNow = "sync-now"
	Resync  = "resync"
	Disable = "disable"
	Enable  = "enable"
	// EraseUser and ExportUser act on one app user.
	EraseUser  = "erase-user"
	ExportUser = "export-user"
	// ProbeInstitution probes the institution of one link.
	ProbeInstitution = "probe-institution"
)

// maxAppUserRef is the longest app user reference links accept.
const maxAppUserRef = 200

// linkCommands take one LINK_ID argument.
var linkCommands = []string{SyncNow, Resync, Disable, Enable}

// ErrHelp is returned by Parse when usage was asked for (-h, -help,
// --help or help, anywhere on the line): print Usage and succeed.
var ErrHelp = errors.New("help requested")

// ErrUsage marks a command line Parse rejects.
var ErrUsage = errors.New("usage error")

// Command is one parsed command line.
type Command struct {
	// Name is the command; Serve ("") runs the worker.
	Name string
	// LinkID is the canonical id of the link a link command acts on.
	LinkID string
	// AppUserRef is the app user erase-user and export-user act on.
	AppUserRef string
	// JSON makes links, erase-user and probe-institution print JSON
	// instead of a table.
	JSON bool
	// Format is export-user's format: json (default) or zip.
	Format string
}

// OneShot reports whether the command runs once and exits (everything
// but Serve).
func (c Command) OneShot() bool { return c.Name != Serve }

// Parse reads the worker's arguments (without the program name). Its
// errors are one line, wrap ErrUsage, and never read the configuration.
func Parse(args []string) (Command, error) {
	if slices.ContainsFunc(args, isHelp) {
		return Command{}, ErrHelp
	}
	if len(args) == 0 {
		return Command{Name: Serve}, nil
	}
	name, rest := args[0], args[1:]
	switch {
	case name == Migrate:
		return Command{Name: name}, noArgs(name, rest)
	case name == Links:
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		asJSON := fs.Bool("json", false, "print JSON")
		if err := fs.Parse(rest); err != nil {
			return Command{}, usageErr("links: %v", err)
		}
		return Command{Name: name, JSON: *asJSON}, noArgs(name, fs.Args())
	case name == EraseUser || name == ExportUser:
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		asJSON, format := new(bool), new(string)
		if name == EraseUser {
			fs.BoolVar(asJSON, "json", false, "print JSON")
		} else {
			fs.StringVar(format, "format", "json", "json or zip")
		}
		if err := fs.Parse(rest); err != nil {
			return Command{}, usageErr("%s: %v", name, err)
		}
		if name == ExportUser && *format != "json" && *format != "zip" {
			return Command{}, usageErr("export-user: -format must be json or zip, not %q", *format)
		}
		if fs.NArg() != 1 {
			return Command{}, usageErr("%s takes one APP_USER_REF", name)
		}
		ref := fs.Arg(0)
		if ref == "" || len(ref) > maxAppUserRef {
			return Command{}, usageErr("%s: the app user reference must be 1 to %d bytes", name, maxAppUserRef)
		}
		return Command{Name: name, AppUserRef: ref, JSON: *asJSON, Format: *format}, nil
	case name == ProbeInstitution:
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		asJSON := fs.Bool("json", false, "print JSON")
		if err := fs.Parse(rest); err != nil {
			return Command{}, usageErr("%s: %v", name, err)
		}
		if fs.NArg() != 1 {
			return Command{}, usageErr("%s takes one LINK_ID", name)
		}
		id, err := ParseLinkID(fs.Arg(0))
		if err != nil {
			return Command{}, err
		}
		return Command{Name: name, LinkID: id, JSON: *asJSON}, nil
	case slices.Contains(linkCommands, name):
		if len(rest) != 1 {
			return Command{}, usageErr("%s takes one LINK_ID", name)
		}
		id, err := ParseLinkID(rest[0])
		if err != nil {
			return Command{}, err
		}
		return Command{Name: name, LinkID: id}, nil
	default:
		return Command{}, usageErr("unknown command %q (run worker -h for the list)", name)
	}
}

// ParseLinkID checks that s is a link id (a UUID) and returns its
// canonical form.
func ParseLinkID(s string) (string, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return "", usageErr("%q is not a link id", s)
	}
	return id.String(), nil
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

func noArgs(name string, rest []string) error {
	if len(rest) > 0 {
		return usageErr("%s takes no arguments, got %q", name, rest)
	}
	return nil
}

// usageError is a rejected command line: its message is for the operator,
// and it matches ErrUsage.
type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == ErrUsage }

func usageErr(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}
