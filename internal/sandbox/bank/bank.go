package bank

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Bank is a sandbox institution. Users' data is generated lazily on first
// access and cached; a Bank is safe for concurrent use.
type Bank struct {
	cfg         Config
	institution Institution
	routing     string
	users       sync.Map // user number -> *userSlot
}

// userSlot holds one user's data, generated once.
type userSlot struct {
	once sync.Once
	u    *user
}

// New validates cfg, fills its defaults and returns a Bank. It is cheap:
// nothing is generated until a user is first asked for.
func New(cfg Config) (*Bank, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Bank{
		cfg:         cfg,
		institution: Institution{ID: strings.ToLower(cfg.InstitutionID), Name: cfg.InstitutionName},
		routing:     routingNumber(cfg.Seed),
	}, nil
}

// Config returns the bank's configuration with defaults filled in.
func (b *Bank) Config() Config { return b.cfg }

// Institution returns the institution's id and name.
func (b *Bank) Institution() Institution { return b.institution }

// RoutingNumber returns the institution's ABA routing number.
func (b *Bank) RoutingNumber() string { return b.routing }

// UserCount returns the number of users.
func (b *Bank) UserCount() int { return b.cfg.Users }

// UserID returns user n's id (a UUID), or "" when n is not in 1..UserCount.
func (b *Bank) UserID(n int) string {
	if n < 1 || n > b.cfg.Users {
		return ""
	}
	return formatUUID(userUUID(b.cfg.Seed, n))
}

// UserNumber returns the number of the user with the given id.
func (b *Bank) UserNumber(userID string) (int, bool) {
	u, ok := parseUUID(userID)
	if !ok {
		return 0, false
	}
	n := userNumberHint(b.cfg.Seed, u)
	if n < 1 || n > b.cfg.Users || userUUID(b.cfg.Seed, n) != u {
		return 0, false
	}
	return n, true
}

// Username returns user n's login name, "user<N>", or "" when out of range.
func (b *Bank) Username(n int) string {
	if n < 1 || n > b.cfg.Users {
		return ""
	}
	return "user" + strconv.Itoa(n)
}

// UserNumberByUsername returns the number of the user with login name
// "user<N>".
func (b *Bank) UserNumberByUsername(username string) (int, bool) {
	digits, ok := strings.CutPrefix(username, "user")
	if !ok || digits == "" || digits[0] == '0' || len(digits) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > b.cfg.Users {
		return 0, false
	}
	return n, true
}

// lookup returns the generated data of the user with the given id.
func (b *Bank) lookup(userID string) (*user, bool) {
	n, ok := b.UserNumber(userID)
	if !ok {
		return nil, false
	}
	return b.user(n), true
}

// user returns user n's data, generating it on first use. Concurrent callers
// for the same user wait for one generation; other users are not blocked.
func (b *Bank) user(n int) *user {
	v, ok := b.users.Load(n)
	if !ok {
		v, _ = b.users.LoadOrStore(n, &userSlot{})
	}
	slot := v.(*userSlot)
	slot.once.Do(func() { slot.u = generateUser(b.cfg, n) })
	return slot.u
}

// routingNumber derives a valid ABA routing number from the seed.
func routingNumber(seed int64) string {
	h := hash5(uint64(seed), saltRouting, 0, 0, 0)
	d := make([]int, 9)
	d[0], d[1] = 1, int(h%3) // Federal Reserve districts 10-12
	h /= 3
	for i := 2; i < 8; i++ {
		d[i] = int(h % 10)
		h /= 10
	}
	sum := 3*(d[0]+d[3]+d[6]) + 7*(d[1]+d[4]+d[7]) + d[2] + d[5]
	d[8] = (10 - sum%10) % 10
	var sb strings.Builder
	for _, x := range d {
		sb.WriteByte(byte('0' + x))
	}
	return sb.String()
}

// errorf wraps a sentinel with context.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
