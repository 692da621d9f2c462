package authserver

import "time"

// SignAccessTokenForTest signs arbitrary access token claims with p's key, so
// that tests can check the claim validation of Verify.
func SignAccessTokenForTest(p *Provider, issuer, sub, clientID, sid string, exp time.Time) (string, error) {
	return sign(p.key.atSigner, accessClaims{
		Issuer: issuer, Subject: sub, Audience: clientID, ClientID: clientID,
		Scope: ScopeOpenID, IssuedAt: p.cfg.now().Unix(), Expiry: exp.Unix(),
		JTI: randomString(idBytes), SID: sid,
	})
}
