-- Findings of `worker probe-institution`: what one institution's Consumer
-- API does where Banno's documentation is silent, one row per probe run.

CREATE TABLE institution_probes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_id   bigint NOT NULL REFERENCES institutions (id) ON DELETE CASCADE,
    link_id          uuid REFERENCES links (id) ON DELETE SET NULL,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL,
    requests         integer NOT NULL CHECK (requests >= 0),
    matched_profiles text[] NOT NULL DEFAULT '{}',
    findings         jsonb NOT NULL,
    evidence         jsonb NOT NULL DEFAULT '{}',
    CHECK (finished_at >= started_at)
);

CREATE INDEX institution_probes_institution_idx ON institution_probes (institution_id, finished_at DESC);

COMMENT ON TABLE institution_probes IS 'One row per run of worker probe-institution: the measured behaviour of an institution in the documented gaps (docs/bank-behaviours.md).';
COMMENT ON COLUMN institution_probes.link_id IS 'The link whose consent the probe used; NULL once that link is erased.';
COMMENT ON COLUMN institution_probes.requests IS 'Requests the probe made (token refresh included).';
COMMENT ON COLUMN institution_probes.matched_profiles IS 'Names of the sandbox behaviour profiles consistent with the findings.';
COMMENT ON COLUMN institution_probes.findings IS 'The findings as JSON (probe.Findings): one value per behaviour, "unknown" when not measured.';
COMMENT ON COLUMN institution_probes.evidence IS 'What the next run compares against: SHA-256 digests of the sampled transaction ids and contents with their lastUpdated, never ids, amounts or names.';
