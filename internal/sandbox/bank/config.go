package bank

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Defaults applied by [New] to zero-valued [Config] fields.
const (
	DefaultHistoryDays     = 730
	DefaultFutureDays      = 365
	DefaultDensity         = 1.0
	DefaultInstitutionName = "Sandbox Community Bank"
)

// FixedStart is a fixed clock start for reproducible data: tests and
// benchmarks that compare generated values pass it as Config.Start.
var FixedStart = time.Date(2026, time.January, 15, 12, 0, 0, 0, time.UTC)

// DefaultStart returns the clock's initial instant when Config.Start is
// zero: the wall clock's current hour (UTC), so that "the last 30 days" of a
// freshly started sandbox are the real last 30 days. Flooring to the hour
// keeps the data the same for every bank built within that hour; pass an
// explicit Start (such as [FixedStart]) for data that never changes.
func DefaultStart() time.Time { return time.Now().UTC().Truncate(time.Hour) }

// Limits enforced by [New].
const (
	MaxUsers      = 10_000_000
	MaxDays       = 20 * 366
	MaxDensity    = 200.0
	minDensityVal = 0.001
)

// ErrInvalidConfig is returned (wrapped) by [New] for an unusable Config.
var ErrInvalidConfig = errors.New("invalid bank config")

// Config describes a sandbox institution. Everything the bank serves is a
// pure function of the Config, the user and the clock instant asked for.
type Config struct {
	// Seed drives every random choice.
	Seed int64
	// Users is the number of users, numbered 1..Users with usernames "user<N>".
	Users int
	// Start is the clock's initial instant; zero means [DefaultStart], the
	// current hour.
	Start time.Time
	// HistoryDays is how much history precedes Start; zero means 730.
	HistoryDays int
	// FutureDays is how much timeline is generated after Start, revealed as
	// the clock advances; zero means 365.
	FutureDays int
	// Density scales transaction counts: 1.0 is roughly 40-80 card and
	// checking transactions a month per user; zero means 1.0.
	Density float64
	// InstitutionID is the institution's UUID; zero means derived from Seed.
	InstitutionID string
	// InstitutionName is the institution's display name; zero means
	// "Sandbox Community Bank".
	InstitutionName string
}

// withDefaults returns cfg with zero fields replaced by their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart()
	}
	cfg.Start = time.UnixMilli(floorMillis(cfg.Start)).UTC()
	if cfg.HistoryDays == 0 {
		cfg.HistoryDays = DefaultHistoryDays
	}
	if cfg.FutureDays == 0 {
		cfg.FutureDays = DefaultFutureDays
	}
	if cfg.Density == 0 {
		cfg.Density = DefaultDensity
	}
	if cfg.InstitutionID == "" {
		cfg.InstitutionID = formatUUID(uuidFrom(uint64(cfg.Seed), saltInstitution, 0, 0, 0))
	}
	if cfg.InstitutionName == "" {
		cfg.InstitutionName = DefaultInstitutionName
	}
	return cfg
}

// validate reports the first problem of a defaulted Config.
func (cfg Config) validate() error {
	switch {
	case cfg.Users < 1:
		return fmt.Errorf("%w: Users must be at least 1, got %d", ErrInvalidConfig, cfg.Users)
	case cfg.Users > MaxUsers:
		return fmt.Errorf("%w: Users must be at most %d, got %d", ErrInvalidConfig, MaxUsers, cfg.Users)
	case cfg.HistoryDays < 0 || cfg.HistoryDays > MaxDays:
		return fmt.Errorf("%w: HistoryDays must be in 0..%d, got %d", ErrInvalidConfig, MaxDays, cfg.HistoryDays)
	case cfg.FutureDays < 0 || cfg.FutureDays > MaxDays:
		return fmt.Errorf("%w: FutureDays must be in 0..%d, got %d", ErrInvalidConfig, MaxDays, cfg.FutureDays)
	case math.IsNaN(cfg.Density) || cfg.Density < minDensityVal || cfg.Density > MaxDensity:
		return fmt.Errorf("%w: Density must be in %g..%g, got %g", ErrInvalidConfig, minDensityVal, MaxDensity, cfg.Density)
	case cfg.Start.AddDate(0, 0, -cfg.HistoryDays).Year() < 1971 || cfg.Start.Year() > 9000:
		return fmt.Errorf("%w: Start %s minus %d history days is out of range (1971..9000)",
			ErrInvalidConfig, cfg.Start.Format(time.RFC3339), cfg.HistoryDays)
	case !validUUID(cfg.InstitutionID):
		return fmt.Errorf("%w: InstitutionID %q is not a UUID", ErrInvalidConfig, cfg.InstitutionID)
	case strings.TrimSpace(cfg.InstitutionName) == "":
		return fmt.Errorf("%w: InstitutionName is blank", ErrInvalidConfig)
	}
	return nil
}

// densityMilli is Density in thousandths, the integer form used by the
// generator so that results never depend on floating-point details.
func (cfg Config) densityMilli() int64 {
	return int64(math.Round(cfg.Density * 1000))
}
