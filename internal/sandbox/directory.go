package sandbox

import (
	"crypto/subtle"
	"strconv"
	"strings"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// DemoPassword is every demo user's password. Demo users are user1 … userN.
const DemoPassword = "sandbox"

// directory lets the OpenID provider log in the bank's demo users.
type directory struct{ bank *bank.Bank }

// Username returns the login name of user n.
func Username(n int) string { return "user" + strconv.Itoa(n) }

func (d directory) Authenticate(username, password string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(username)), "user")
	if !ok {
		return "", false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > d.bank.UserCount() || strconv.Itoa(n) != rest {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(password), []byte(DemoPassword)) != 1 {
		return "", false
	}
	return d.bank.UserID(n), true
}

func (d directory) Claims(sub string) (authserver.UserClaims, bool) {
	p, ok := d.bank.Profile(sub)
	if !ok {
		return authserver.UserClaims{}, false
	}
	return authserver.UserClaims{
		Name:       p.FirstName + " " + p.LastName,
		GivenName:  p.FirstName,
		FamilyName: p.LastName,
		Email:      p.Email,
	}, true
}
