package bank

import (
	"strconv"
	"strings"
)

// Profile is a user's profile as served by GET /users/{userId}.
type Profile struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	FirstName     string  `json:"firstName"`
	LastName      string  `json:"lastName"`
	Email         string  `json:"email"`
	Phone         string  `json:"phone"`
	Address       Address `json:"address"`
	InstitutionID string  `json:"institutionId"`
}

// Address is a user's postal address.
type Address struct {
	Address1   string `json:"address1"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
}

// areaCodes are the telephone area codes of the metros.
var areaCodes = [len(metros)]string{"512", "614", "303", "919", "417", "503"}

// Profile returns the profile of the user with the given id.
func (b *Bank) Profile(userID string) (Profile, bool) {
	u, ok := b.lookup(userID)
	if !ok {
		return Profile{}, false
	}
	me := &metros[u.metro]
	return Profile{
		ID:        u.id,
		Username:  b.Username(u.n),
		FirstName: u.first,
		LastName:  u.last,
		Email:     strings.ToLower(u.first+"."+u.last) + strconv.Itoa(u.n) + "@example.com",
		Phone:     "(" + areaCodes[u.metro] + ") 555-" + pad4(100+u.n%100),
		Address: Address{
			Address1:   strconv.Itoa(u.street%10000) + " " + streetNames[u.street/10000],
			City:       me.city,
			State:      me.state,
			PostalCode: me.zip,
		},
		InstitutionID: b.institution.ID,
	}, true
}
