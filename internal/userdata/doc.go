// Package userdata is one app user's data as a whole: erasing it (every
// grant revoked at the bank, then every row of the user deleted in one
// transaction) and exporting it (a JSON bundle, or a zip of that bundle and
// one CSV file per table) for data-access requests. The link API and the
// worker's operator commands both use it. The SQL stays in package store.
package userdata
