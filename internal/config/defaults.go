package config

import "time"

// Defaults of the settings that other packages also apply when they are
// given a zero or partial configuration (internal/jobs builds its
// SyncConfig defaults from these), so that a default is stated once.
const (
	DefaultDatabaseMaxConns   = 10
	DefaultDatabaseTimeout    = 10 * time.Second
	DefaultLinkAddr           = "127.0.0.1:8081"
	DefaultConsentTTL         = 10 * time.Minute
	DefaultWorkerConcurrency  = 10
	DefaultAccountConcurrency = 8
	DefaultAccountReaders     = 2
	DefaultScheduleEvery      = 30 * time.Second
	DefaultScheduleBatch      = 1000
	DefaultBackfillDays       = 730
	DefaultBackfillWindowDays = 90
	DefaultOverlap            = time.Hour
	DefaultFetchOnScheduled   = false
	DefaultFetchOnInteractive = true
	DefaultFetchMaxWait       = 30 * time.Second
	DefaultJobTimeout         = 30 * time.Minute
	DefaultRescueAfter        = 45 * time.Minute
	DefaultRetryBase          = 10 * time.Second
	DefaultRetryMax           = time.Hour
	DefaultShutdownTimeout    = 30 * time.Second
	DefaultAuthFailures       = 3
	DefaultReconcileEvery     = 24 * time.Hour
	DefaultReconcileWindow    = 45 // days
	DefaultStalePendingDays   = 14
	DefaultSuspectPendingDays = 7
	DefaultIDTokenClockSkew   = 300 * time.Second
	DefaultMetricsAddr        = "127.0.0.1:9091"
	DefaultAdminAddr          = "127.0.0.1:8082"
	DefaultTraceSampleRatio   = 1.0
	DefaultSyncRunDays        = 90
)

// Day is the unit of the *_DAYS settings.
const Day = 24 * time.Hour
