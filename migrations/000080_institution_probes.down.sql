DROP TABLE IF EXISTS institution_probes;
