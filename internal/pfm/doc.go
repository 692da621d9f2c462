// Package pfm holds pfmsync's domain types and sentinel errors: the
// vocabulary shared by the datastore, the sync jobs and the link server.
//
// It depends on the standard library only, so every other package may import
// it and it imports none of them.
package pfm
