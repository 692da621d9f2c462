package config

// Variables lists every environment variable Load reads by name (besides
// the client-secret variables institutions name). Deployment files are
// checked against it.
func Variables() []string {
	return []string{
		EnvDatabaseURL, EnvDatabaseURLAlt, EnvDatabaseMaxConns, EnvMigrate, EnvDatabaseTimeout,
		EnvLogLevel, EnvLogFormat,
		EnvInstitutions, EnvInstitutionsFile, EnvTokenKeys, EnvTokenKeysFile,
		EnvLinkAddr, EnvPublicURL, EnvAppKey, EnvReturnURLs, EnvConsentTTL,
		EnvWorkerConcurrency, EnvScheduleEvery, EnvScheduleBatch, EnvBackfillDays, EnvBackfillWindowDays,
		EnvOverlap, EnvFetchOnScheduled, EnvFetchOnInteractive, EnvFetchMaxWait, EnvJobTimeout,
		EnvRescueAfter, EnvRetryBase, EnvRetryMax, EnvShutdownTimeout,
		EnvMetricsAddr, EnvPprof, EnvAdminAddr, EnvAdminToken, EnvOTLPEndpoint, EnvTraceSampleRatio,
	}
}
