package jobs

import (
	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
)

// errorClassOfKind is the one translation of the Consumer API client's
// error kinds into the domain's error classes. Every kind the client
// defines has an entry (a test holds it to that).
var errorClassOfKind = map[consumerapi.ErrorKind]pfm.ErrorClass{
	consumerapi.KindUnknown:        pfm.ClassInternal,
	consumerapi.KindUnauthorized:   pfm.ClassUnauthorized,
	consumerapi.KindForbidden:      pfm.ClassForbidden,
	consumerapi.KindNotFound:       pfm.ClassNotFound,
	consumerapi.KindRateLimited:    pfm.ClassRateLimited,
	consumerapi.KindTransient:      pfm.ClassTransient,
	consumerapi.KindPermanent:      pfm.ClassPermanent,
	consumerapi.KindConsentRevoked: pfm.ClassConsentRevoked,
	consumerapi.KindCanceled:       pfm.ClassCanceled,
}

// ErrorClassOf classifies an error from the Consumer API client (an error
// the client cannot classify is internal).
func ErrorClassOf(err error) pfm.ErrorClass {
	if c, ok := errorClassOfKind[consumerapi.Classify(err)]; ok {
		return c
	}
	return pfm.ClassInternal
}
