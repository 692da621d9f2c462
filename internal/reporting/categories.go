package reporting

import (
	"strings"
	"unicode"
)

// categoryNames are the display names of the expense categories the bank's
// enrichment assigns (lower-case keys, as reporting.transactions.category
// holds them). Categories are an open list: others get a readable name
// from CategoryDisplayName.
var categoryNames = map[string]string{
	"clothing":       "Clothing",
	"diningout":      "Dining out",
	"education":      "Education",
	"entertainment":  "Entertainment",
	"fees":           "Fees",
	"gifts":          "Gifts",
	"groceries":      "Groceries",
	"health":         "Health",
	"home":           "Home",
	"income":         "Income",
	"not enriched":   "Not enriched",
	"payment":        "Payments",
	"personal":       "Personal",
	"savings":        "Savings",
	"transfer":       "Transfers",
	"transportation": "Transportation",
	"travel":         "Travel",
	"uncategorized":  "Uncategorized",
	"utilities":      "Utilities",
}

// CategoryDisplayName returns the name to show for a category: the known
// display name, else the category with its first letter upper-cased.
func CategoryDisplayName(category string) string {
	if n, ok := categoryNames[strings.ToLower(strings.TrimSpace(category))]; ok {
		return n
	}
	c := strings.TrimSpace(category)
	if c == "" {
		return "Uncategorized"
	}
	r := []rune(c)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
