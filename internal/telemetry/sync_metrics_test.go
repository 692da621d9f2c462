package telemetry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

var _ jobs.Metrics = (*SyncMetrics)(nil)

func TestSyncMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.tel.SyncMetrics()

	m.SyncFinished("garden", pfm.OutcomeSuccess, "", 2*time.Second, store.SyncRun{Added: 5, Modified: 2, Removed: 1})
	m.SyncFinished("garden", pfm.OutcomeSuccess, "", time.Second, store.SyncRun{Added: 1})
	m.SyncFinished("garden", pfm.OutcomeSnoozed, "rate_limited", time.Second, store.SyncRun{})
	m.SyncFinished("garden", pfm.OutcomeFailed, "token_unreadable", time.Millisecond, store.SyncRun{})
	m.SyncFinished("oak", pfm.OutcomeReauthRequired, "consent_revoked", time.Millisecond, store.SyncRun{})
	m.SlotWaitSnoozed("oak")
	m.SecondReaderStarted("oak")
	m.SecondReaderStarted("oak")
	m.LinksScheduled(3, 2, 1, 40*time.Millisecond)

	garden := keyInstitution.String("garden")
	require.EqualValues(t, 2, b.counter(t, "pfmsync.syncs", garden, keyOutcome.String("success"), keyErrorClass.String("")))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.syncs", garden, keyOutcome.String("snoozed"), keyErrorClass.String("rate_limited")))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.syncs", keyInstitution.String("oak"), keyOutcome.String("reauth_required"), keyErrorClass.String("consent_revoked")))
	n, sum := b.histogramCount(t, "pfmsync.sync.duration", garden, keyOutcome.String("success"))
	require.EqualValues(t, 2, n)
	require.InDelta(t, 3, sum, 1e-9)

	require.EqualValues(t, 6, b.counter(t, "pfmsync.transactions", garden, keyChange.String("added")))
	require.EqualValues(t, 2, b.counter(t, "pfmsync.transactions", garden, keyChange.String("modified")))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.transactions", garden, keyChange.String("removed")))

	require.EqualValues(t, 1, b.counter(t, "pfmsync.rate_limit.snoozes", garden))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.slot_wait.snoozes", keyInstitution.String("oak")))
	require.EqualValues(t, 2, b.counter(t, "pfmsync.sync.second_readers", keyInstitution.String("oak")))
	// A token the key ring cannot open is a refresh failure; invalid_grant
	// is counted at the bank transport, not here.
	require.EqualValues(t, 1, b.counter(t, "pfmsync.token_refresh.failures", garden, keyErrorClass.String("token_unreadable")))
	require.Zero(t, b.counter(t, "pfmsync.token_refresh.failures", keyInstitution.String("oak"), keyErrorClass.String("consent_revoked")))

	require.EqualValues(t, 3, b.counter(t, "pfmsync.schedule.links", keyResult.String("claimed")))
	require.EqualValues(t, 2, b.counter(t, "pfmsync.schedule.links", keyResult.String("inserted")))
	require.EqualValues(t, 1, b.counter(t, "pfmsync.schedule.links", keyResult.String("skipped")))
	n, _ = b.histogramCount(t, "pfmsync.schedule.duration")
	require.EqualValues(t, 1, n)
}

// TestSyncVocabularyLabels holds the domain's outcomes and error classes
// to the exact label values dashboards and alerts are written against.
func TestSyncVocabularyLabels(t *testing.T) {
	t.Parallel()
	outcomes := map[pfm.SyncOutcome]string{
		pfm.OutcomeSuccess: "success", pfm.OutcomePartial: "partial", pfm.OutcomeSnoozed: "snoozed",
		pfm.OutcomeFailed: "failed", pfm.OutcomeReauthRequired: "reauth_required", pfm.OutcomeSkipped: "skipped",
	}
	classes := map[pfm.ErrorClass]string{
		pfm.ClassUnauthorized: "unauthorized", pfm.ClassForbidden: "forbidden", pfm.ClassNotFound: "not_found",
		pfm.ClassRateLimited: "rate_limited", pfm.ClassTransient: "transient", pfm.ClassPermanent: "permanent",
		pfm.ClassConsentRevoked: "consent_revoked", pfm.ClassCanceled: "canceled", pfm.ClassRepeatedPage: "repeated_page",
		pfm.ClassMalformed: "malformed", pfm.ClassQuarantined: "quarantined", pfm.ClassTokenUnreadable: "token_unreadable",
		pfm.ClassInstitutionNotConfigured: "institution_not_configured", pfm.ClassLinkGone: "link_gone",
		pfm.ClassJobDiscarded: "job_discarded", pfm.ClassInternal: "internal", pfm.ClassUnknown: "unknown",
	}
	require.ElementsMatch(t, pfm.SyncOutcomes(), keys(outcomes), "every outcome has its label here")
	require.ElementsMatch(t, pfm.ErrorClasses(), keys(classes), "every error class has its label here")

	b := setup(t)
	m := b.tel.SyncMetrics()
	inst := keyInstitution.String("garden")
	for o, label := range outcomes {
		for c, classLabel := range classes {
			m.SyncFinished("garden", o, c, time.Second, store.SyncRun{})
			require.EqualValues(t, 1, b.counter(t, "pfmsync.syncs", inst, keyOutcome.String(label), keyErrorClass.String(classLabel)),
				"outcome %s, class %s", label, classLabel)
		}
		n, _ := b.histogramCount(t, "pfmsync.sync.duration", inst, keyOutcome.String(label))
		require.EqualValues(t, len(classes), n, "outcome %s", label)
	}
	m.SyncFinished("garden", pfm.OutcomeSuccess, "", time.Second, store.SyncRun{})
	require.EqualValues(t, 1, b.counter(t, "pfmsync.syncs", inst, keyOutcome.String("success"), keyErrorClass.String("")), "no class: an empty label")
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
