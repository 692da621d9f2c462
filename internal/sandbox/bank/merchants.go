package bank

// Expense categories served in enrichments.expenseCategory.
const (
	catClothing       = "clothing"
	catDiningOut      = "diningout"
	catEducation      = "education"
	catEntertainment  = "entertainment"
	catFees           = "fees"
	catGroceries      = "groceries"
	catHealth         = "health"
	catHome           = "home"
	catIncome         = "income"
	catPayment        = "payment"
	catPersonal       = "personal"
	catSavings        = "savings"
	catTransfer       = "transfer"
	catTransportation = "transportation"
	catTravel         = "travel"
	catUtilities      = "utilities"
)

// Merchant flags.
const (
	mfTip       uint8 = 1 << iota // final amount adds a tip to the authorisation
	mfFuel                        // authorised as a fixed pre-auth, settles at the pump amount
	mfOnline                      // card-not-present: located at its headquarters
	mfRecurring                   // billed monthly at a fixed amount
	mfBiller                      // paid by ACH debit from checking
)

// metro is a home area; national chains are located in the user's metro.
type metro struct {
	city, state, zip string
	latE6, lonE6     int64
}

var metros = [...]metro{
	{"Austin", "TX", "78701", 30267200, -97743100},
	{"Columbus", "OH", "43215", 39961200, -82998800},
	{"Denver", "CO", "80202", 39739200, -104990300},
	{"Raleigh", "NC", "27601", 35779600, -78638200},
	{"Springfield", "MO", "65806", 37209000, -93292300},
	{"Portland", "OR", "97204", 45515200, -122678400},
}

// merchant is one row of the merchant table. Amounts are in cents.
type merchant struct {
	name     string // display name
	desc     string // descriptor as the card network writes it
	slug     string
	category string
	url      string
	min, max int64
	flags    uint8
	metro    int8  // -1: national; otherwise the only metro it serves
	loc      metro // headquarters, for online merchants
}

func national(name, desc, slug, cat, url string, min, max int64, flags uint8) merchant {
	return merchant{name: name, desc: desc, slug: slug, category: cat, url: url, min: min, max: max, flags: flags, metro: -1}
}

func online(name, desc, slug, cat, url string, min, max int64, flags uint8, loc metro) merchant {
	m := national(name, desc, slug, cat, url, min, max, flags|mfOnline)
	m.loc = loc
	return m
}

func local(metroIdx int8, name, desc, slug, cat, url string, min, max int64, flags uint8) merchant {
	m := national(name, desc, slug, cat, url, min, max, flags)
	m.metro = metroIdx
	return m
}

// merchants is the merchant table. Indexes into it are stored in records, so
// its order is part of the data: append only.
var merchants = [...]merchant{
	// groceries
	national("Whole Foods Market", "WHOLEFDS", "whole-foods-market", catGroceries, "https://www.wholefoodsmarket.com", 1500, 18000, 0),
	national("Kroger", "KROGER", "kroger", catGroceries, "https://www.kroger.com", 1200, 16000, 0),
	national("Trader Joe's", "TRADER JOE S", "trader-joes", catGroceries, "https://www.traderjoes.com", 1500, 12000, 0),
	national("ALDI", "ALDI", "aldi", catGroceries, "https://www.aldi.us", 1000, 9000, 0),
	national("Costco Wholesale", "COSTCO WHSE", "costco", catGroceries, "https://www.costco.com", 4000, 40000, 0),
	national("Walmart Supercenter", "WM SUPERCENTER", "walmart", catGroceries, "https://www.walmart.com", 800, 25000, 0),
	// dining out
	national("Starbucks", "STARBUCKS STORE", "starbucks", catDiningOut, "https://www.starbucks.com", 400, 1500, 0),
	national("Chipotle Mexican Grill", "CHIPOTLE", "chipotle", catDiningOut, "https://www.chipotle.com", 900, 3500, 0),
	national("McDonald's", "MCDONALD'S F", "mcdonalds", catDiningOut, "https://www.mcdonalds.com", 500, 2000, 0),
	national("Panera Bread", "PANERA BREAD", "panera-bread", catDiningOut, "https://www.panerabread.com", 900, 3000, 0),
	national("Domino's", "DOMINO'S", "dominos", catDiningOut, "https://www.dominos.com", 1200, 4500, mfTip),
	national("Olive Garden", "OLIVE GARDEN", "olive-garden", catDiningOut, "https://www.olivegarden.com", 3000, 14000, mfTip),
	national("Chick-fil-A", "CHICK-FIL-A", "chick-fil-a", catDiningOut, "https://www.chick-fil-a.com", 700, 3000, 0),
	// transportation
	national("Shell", "SHELL OIL", "shell", catTransportation, "https://www.shell.us", 2500, 8500, mfFuel),
	national("ExxonMobil", "EXXONMOBIL", "exxonmobil", catTransportation, "https://www.exxon.com", 2500, 8500, mfFuel),
	national("BP", "BP", "bp", catTransportation, "https://www.bp.com", 2500, 8000, mfFuel),
	online("Uber", "UBER TRIP", "uber", catTransportation, "https://www.uber.com", 800, 6500, 0, metro{"San Francisco", "CA", "94158", 37770400, -122387500}),
	online("Lyft", "LYFT RIDE", "lyft", catTransportation, "https://www.lyft.com", 800, 6000, 0, metro{"San Francisco", "CA", "94107", 37772300, -122393700}),
	// utilities and telecom
	online("Verizon Wireless", "VZWRLSS APOCC VISB", "verizon", catUtilities, "https://www.verizon.com", 5500, 18000, mfRecurring, metro{"Basking Ridge", "NJ", "07920", 40706200, -74549300}),
	online("Xfinity", "COMCAST XFINITY", "xfinity", catUtilities, "https://www.xfinity.com", 6000, 16000, mfRecurring, metro{"Philadelphia", "PA", "19103", 39954700, -75168100}),
	online("AT&T", "ATT BILL PAYMENT", "att", catUtilities, "https://www.att.com", 5000, 15000, mfRecurring, metro{"Dallas", "TX", "75202", 32779100, -96808400}),
	online("Spectrum", "SPECTRUM", "spectrum", catUtilities, "https://www.spectrum.com", 5000, 13000, mfRecurring, metro{"Stamford", "CT", "06901", 41053400, -73538700}),
	// entertainment
	online("Netflix", "NETFLIX.COM", "netflix", catEntertainment, "https://www.netflix.com", 1549, 2299, mfRecurring, metro{"Los Gatos", "CA", "95032", 37235800, -121962400}),
	online("Spotify", "SPOTIFY USA", "spotify", catEntertainment, "https://www.spotify.com", 1199, 1999, mfRecurring, metro{"New York", "NY", "10007", 40712800, -74006000}),
	national("AMC Theatres", "AMC", "amc-theatres", catEntertainment, "https://www.amctheatres.com", 1200, 7000, 0),
	online("Ticketmaster", "TICKETMASTER", "ticketmaster", catEntertainment, "https://www.ticketmaster.com", 4000, 32000, 0, metro{"Beverly Hills", "CA", "90210", 34073600, -118400400}),
	online("Steam", "STEAMGAMES.COM", "steam", catEntertainment, "https://store.steampowered.com", 500, 7000, 0, metro{"Bellevue", "WA", "98004", 47610100, -122200700}),
	// health
	national("CVS Pharmacy", "CVS/PHARMACY", "cvs", catHealth, "https://www.cvs.com", 500, 9000, 0),
	national("Walgreens", "WALGREENS", "walgreens", catHealth, "https://www.walgreens.com", 500, 8000, 0),
	national("Planet Fitness", "PLANET FITNESS", "planet-fitness", catHealth, "https://www.planetfitness.com", 1000, 2499, mfRecurring),
	// home
	national("The Home Depot", "THE HOME DEPOT", "home-depot", catHome, "https://www.homedepot.com", 1000, 45000, 0),
	national("Lowe's", "LOWES", "lowes", catHome, "https://www.lowes.com", 1000, 40000, 0),
	national("IKEA", "IKEA", "ikea", catHome, "https://www.ikea.com", 2000, 70000, 0),
	national("Target", "TARGET", "target", catHome, "https://www.target.com", 1000, 20000, 0),
	online("Wayfair", "WAYFAIR", "wayfair", catHome, "https://www.wayfair.com", 4000, 80000, 0, metro{"Boston", "MA", "02116", 42349300, -71074500}),
	// clothing
	national("Old Navy", "OLD NAVY", "old-navy", catClothing, "https://oldnavy.gap.com", 1500, 12000, 0),
	national("TJ Maxx", "TJMAXX", "tj-maxx", catClothing, "https://tjmaxx.tjx.com", 1500, 15000, 0),
	national("Nordstrom", "NORDSTROM", "nordstrom", catClothing, "https://www.nordstrom.com", 4000, 40000, 0),
	online("Nike", "NIKE.COM", "nike", catClothing, "https://www.nike.com", 4000, 22000, 0, metro{"Beaverton", "OR", "97005", 45487100, -122803700}),
	// travel
	online("Delta Air Lines", "DELTA AIR", "delta", catTravel, "https://www.delta.com", 15000, 75000, 0, metro{"Atlanta", "GA", "30320", 33640700, -84427700}),
	national("Southwest Airlines", "SOUTHWES", "southwest", catTravel, "https://www.southwest.com", 10000, 55000, 0),
	national("Marriott", "MARRIOTT", "marriott", catTravel, "https://www.marriott.com", 12000, 60000, 0),
	online("Airbnb", "AIRBNB", "airbnb", catTravel, "https://www.airbnb.com", 15000, 90000, 0, metro{"San Francisco", "CA", "94103", 37771800, -122405500}),
	national("Hertz", "HERTZ RENT-A-CAR", "hertz", catTravel, "https://www.hertz.com", 8000, 45000, 0),
	// education
	online("Coursera", "COURSERA", "coursera", catEducation, "https://www.coursera.org", 3900, 7900, 0, metro{"Mountain View", "CA", "94041", 37389400, -122081900}),
	national("Barnes & Noble", "BARNES & NOBLE", "barnes-noble", catEducation, "https://www.barnesandnoble.com", 1000, 8000, 0),
	online("Chegg", "CHEGG ORDER", "chegg", catEducation, "https://www.chegg.com", 1495, 1995, 0, metro{"Santa Clara", "CA", "95054", 37354100, -121955200}),
	// personal
	online("Amazon", "AMAZON MKTPL", "amazon", catPersonal, "https://www.amazon.com", 800, 25000, 0, metro{"Seattle", "WA", "98109", 47622300, -122336500}),
	national("Great Clips", "GREAT CLIPS", "great-clips", catPersonal, "https://www.greatclips.com", 1800, 4500, mfTip),
	national("Sephora", "SEPHORA", "sephora", catPersonal, "https://www.sephora.com", 2000, 15000, 0),
	national("Ulta Beauty", "ULTA", "ulta", catPersonal, "https://www.ulta.com", 1500, 12000, 0),
	online("Apple", "APPLE.COM/BILL", "apple", catPersonal, "https://www.apple.com", 99, 3000, 0, metro{"Cupertino", "CA", "95014", 37323000, -122032200}),
	// Austin
	local(0, "H-E-B", "H-E-B", "heb", catGroceries, "https://www.heb.com", 1200, 20000, 0),
	local(0, "Torchy's Tacos", "TORCHYS TACOS", "torchys-tacos", catDiningOut, "https://torchystacos.com", 1000, 4500, mfTip),
	local(0, "Austin Energy", "AUSTIN ENERGY", "austin-energy", catUtilities, "https://austinenergy.com", 6000, 24000, mfBiller),
	local(0, "Alamo Drafthouse", "ALAMO DRAFTHOUSE", "alamo-drafthouse", catEntertainment, "https://drafthouse.com", 1500, 6000, mfTip),
	// Columbus
	local(1, "Giant Eagle", "GIANT EAGLE", "giant-eagle", catGroceries, "https://www.gianteagle.com", 1200, 18000, 0),
	local(1, "Hot Chicken Takeover", "HOT CHICKEN TAKEOVER", "hot-chicken-takeover", catDiningOut, "https://hotchickentakeover.com", 1100, 4000, mfTip),
	local(1, "AEP Ohio", "AEP OHIO", "aep-ohio", catUtilities, "https://www.aepohio.com", 6000, 22000, mfBiller),
	local(1, "Columbus Zoo and Aquarium", "COLUMBUS ZOO", "columbus-zoo", catEntertainment, "https://www.columbuszoo.org", 2000, 9000, 0),
	// Denver
	local(2, "King Soopers", "KING SOOPERS", "king-soopers", catGroceries, "https://www.kingsoopers.com", 1200, 18000, 0),
	local(2, "Snooze A.M. Eatery", "SNOOZE AM EATERY", "snooze", catDiningOut, "https://www.snoozeeatery.com", 1500, 6000, mfTip),
	local(2, "Xcel Energy", "XCEL ENERGY", "xcel-energy", catUtilities, "https://www.xcelenergy.com", 5000, 20000, mfBiller),
	local(2, "Denver Museum of Nature & Science", "DMNS", "dmns", catEntertainment, "https://www.dmns.org", 2000, 8000, 0),
	// Raleigh
	local(3, "Harris Teeter", "HARRIS TEETER", "harris-teeter", catGroceries, "https://www.harristeeter.com", 1200, 18000, 0),
	local(3, "Cook Out", "COOK OUT", "cook-out", catDiningOut, "https://cookout.com", 600, 2500, 0),
	local(3, "Duke Energy", "DUKE ENERGY", "duke-energy", catUtilities, "https://www.duke-energy.com", 6000, 23000, mfBiller),
	local(3, "Marbles Kids Museum", "MARBLES KIDS MUSEUM", "marbles", catEntertainment, "https://www.marbleskidsmuseum.org", 1500, 6000, 0),
	// Springfield
	local(4, "Hy-Vee", "HY-VEE", "hy-vee", catGroceries, "https://www.hy-vee.com", 1200, 17000, 0),
	local(4, "Gailey's Breakfast Cafe", "GAILEYS BREAKFAST", "gaileys", catDiningOut, "https://gaileysbreakfastcafe.com", 1200, 4500, mfTip),
	local(4, "City Utilities of Springfield", "CITY UTILITIES SPFD", "city-utilities", catUtilities, "https://www.cityutilities.net", 5000, 21000, mfBiller),
	local(4, "Springfield Cardinals", "SPRINGFIELD CARDINALS", "springfield-cardinals", catEntertainment, "https://www.milb.com/springfield", 1500, 9000, 0),
	// Portland
	local(5, "New Seasons Market", "NEW SEASONS MARKET", "new-seasons", catGroceries, "https://www.newseasonsmarket.com", 1200, 18000, 0),
	local(5, "Blue Star Donuts", "BLUE STAR DONUTS", "blue-star-donuts", catDiningOut, "https://www.bluestardonuts.com", 500, 2500, 0),
	local(5, "Portland General Electric", "PORTLAND GENERAL ELEC", "pge", catUtilities, "https://portlandgeneral.com", 5000, 20000, mfBiller),
	local(5, "Powell's Books", "POWELLS BOOKS", "powells-books", catEducation, "https://www.powells.com", 1000, 9000, 0),
}

// purchaseCategories are the categories of discretionary card and debit
// purchases with their relative weights.
var purchaseCategories = [...]struct {
	name   string
	weight int
}{
	{catGroceries, 22},
	{catDiningOut, 26},
	{catTransportation, 14},
	{catEntertainment, 6},
	{catHealth, 6},
	{catHome, 8},
	{catClothing, 6},
	{catTravel, 2},
	{catEducation, 1},
	{catPersonal, 9},
}

// merchantIndex lists, per metro and purchase category, the merchants a user
// of that metro buys from; plus the recurring merchants and each metro's
// utility biller.
type merchantIndex struct {
	byCategory [len(metros)][len(purchaseCategories)][]int16
	recurring  []int16
	biller     [len(metros)]int16
}

// merchantIdx is derived from the merchant table once; it is read-only.
var merchantIdx = buildMerchantIndex()

func buildMerchantIndex() *merchantIndex {
	x := &merchantIndex{}
	for i, m := range merchants {
		if m.flags&mfRecurring != 0 {
			x.recurring = append(x.recurring, int16(i))
			continue
		}
		if m.flags&mfBiller != 0 {
			x.biller[m.metro] = int16(i)
			continue
		}
		for c, pc := range purchaseCategories {
			if pc.name != m.category {
				continue
			}
			for mi := range metros {
				if m.metro < 0 || int(m.metro) == mi {
					x.byCategory[mi][c] = append(x.byCategory[mi][c], int16(i))
				}
			}
		}
	}
	return x
}

// logoURL returns the logo served for a merchant slug.
func logoURL(slug string) string {
	return "https://static.sandboxbank.example/logos/" + slug + ".png"
}

// merchantPhone returns the merchant's customer-service number.
func merchantPhone(i int) string {
	return "800-555-" + pad4(100+i)
}

// pad4 formats a non-negative n with at least four digits.
func pad4(n int) string {
	var b [12]byte
	s := len(b)
	for n > 0 || s > len(b)-4 {
		s--
		b[s] = byte('0' + n%10)
		n /= 10
	}
	return string(b[s:])
}

// Names and counterparties used for profiles, payroll and rent.
var (
	firstNames = [...]string{
		"Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "William",
		"Mia", "Benjamin", "Charlotte", "Lucas", "Amelia", "Henry", "Harper", "Alexander", "Evelyn", "Daniel",
		"Abigail", "Michael", "Emily", "Mateo", "Ella", "Jackson", "Elizabeth", "Sebastian", "Camila", "Aiden",
		"Priya", "Wei", "Fatima", "Diego", "Aisha", "Kenji", "Maria", "Jose", "Grace", "Samuel",
	}
	lastNames = [...]string{
		"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
		"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
		"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Patel", "Kim", "Chen",
	}
	employers = [...]struct{ name, desc string }{
		{"Acme Logistics", "ACME LOGISTICS"},
		{"Blue Ridge Health", "BLUE RIDGE HEALTH"},
		{"Summit Software", "SUMMIT SOFTWARE IN"},
		{"Lakeside School District", "LAKESIDE SCHOOL DI"},
		{"Northwind Traders", "NORTHWIND TRADERS"},
		{"Cedar Manufacturing", "CEDAR MFG CO"},
		{"Prairie State University", "PRAIRIE STATE UNIV"},
		{"Riverbend Hospital", "RIVERBEND HOSPITAL"},
		{"Granite Insurance", "GRANITE INS GRP"},
		{"Harbor Freightways", "HARBOR FREIGHTWAYS"},
	}
	landlords = [...]struct{ name, desc string }{
		{"Riverside Apartments", "RIVERSIDE APTS"},
		{"Oak Park Residences", "OAK PARK RESIDENCE"},
		{"Greystar Property", "GREYSTAR PROP MGMT"},
		{"Maple Court Homes", "MAPLE COURT HOMES"},
		{"Parkview Lofts", "PARKVIEW LOFTS LLC"},
		{"Cornerstone Realty", "CORNERSTONE RLTY"},
	}
	atmStreets = [...]string{"100 MAIN ST", "2200 S LAMAR", "455 BROADWAY", "18 MARKET SQ", "1201 OAK AVE", "77 W 5TH ST"}
)
