package pfm

// Account types (Banno's accountType) whose amounts and balances the bank
// reports inverted.
const (
	AccountTypeDebt         = "Debt"
	AccountTypeLineOfCredit = "Line of Credit"
)

// IsLiability reports whether the bank reports amounts and balances of an
// account of type accountType (Banno's accountType, as sent) inverted: for
// Debt and Line of Credit accounts a positive balance is money the user
// owes and a positive transaction amount (a purchase) raises it. Every
// other type, unknown ones included, follows the deposit convention.
//
// This is pfmsync's one sign rule; the datastore's generated column
// accounts.is_liability (migration 000011), on which the reporting views'
// signed balances rest, applies the same list.
func IsLiability(accountType string) bool {
	return accountType == AccountTypeDebt || accountType == AccountTypeLineOfCredit
}

// UserSign is the factor, +1 or -1, that turns an amount or a balance as
// the bank reports it for an account of type accountType into the user's
// perspective: money in and assets positive, money out and debts negative,
// for every account type. Callers multiply (or negate) their exact decimal
// by it; the stored transactions.signed_amount is amount × UserSign.
func UserSign(accountType string) int {
	if IsLiability(accountType) {
		return -1
	}
	return 1
}
