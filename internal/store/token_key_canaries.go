package store

import "context"

// AddTokenKeyCanary stores the canary of a token key id unless one is
// already stored, and reports whether this call stored it. The caller
// seals it; a canary is never replaced.
func (s *Store) AddTokenKeyCanary(ctx context.Context, keyID string, sealed []byte) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		INSERT INTO token_key_canaries (key_id, sealed) VALUES ($1, $2)
		ON CONFLICT (key_id) DO NOTHING`, keyID, sealed)
	if err != nil {
		return false, translate(err, "store the canary of token key %s", keyID)
	}
	return tag.RowsAffected() == 1, nil
}

// TokenKeyCanary returns the sealed canary of a token key id (pfm.ErrNotFound
// when none is stored).
func (s *Store) TokenKeyCanary(ctx context.Context, keyID string) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT sealed FROM token_key_canaries WHERE key_id = $1`, keyID).Scan(&sealed)
	if err != nil {
		return nil, translate(err, "read the canary of token key %s", keyID)
	}
	return sealed, nil
}
