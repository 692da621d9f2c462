package store

// What the package's external tests reach of its internals.
var (
	UpsertTransactionsSQL  = upsertTransactionsSQL
	UpsertTransactionsArgs = upsertTransactionsArgs
	UseRecordsCodec        = useRecordsCodec
)

// PageRecords is pageRecords for tests.
type PageRecords = pageRecords

// IsRecordsCodec reports whether c is the codec UseRecordsCodec installs,
// and whether it wraps another one.
func IsRecordsCodec(c any) (is, nested bool) {
	rc, is := c.(recordsCodec)
	if !is {
		return false, false
	}
	_, nested = rc.Codec.(recordsCodec)
	return true, nested
}
