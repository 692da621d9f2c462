package bank

// Salts separate the hash streams used for different kinds of identifiers.
const (
	saltInstitution uint64 = 0x1a5f_0001 + iota
	saltUser
	saltUserNumber
	saltAccount
	saltTransaction
	saltReplacement
	saltRNG
	saltMerchant
	saltRouting
)

// mix64 is the splitmix64 finaliser: a fast, well-distributed bijection.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash5 hashes five words into one.
func hash5(a, b, c, d, e uint64) uint64 {
	h := mix64(a ^ 0x9e3779b97f4a7c15)
	h = mix64(h ^ b + 0x632be59bd9b4e019)
	h = mix64(h ^ c + 0x85157af5a1e2f3c7)
	h = mix64(h ^ d + 0x2545f4914f6cdd1d)
	h = mix64(h ^ e + 0x6a09e667f3bcc909)
	return h
}

// uuid is a 128-bit identifier.
type uuid [16]byte

// uuidFrom derives a version-4-layout UUID from the given inputs.
func uuidFrom(seed, salt, a, b, c uint64) uuid {
	hi := hash5(seed, salt, a, b, c)
	lo := hash5(seed, salt, a, b, c^0xffff_ffff_ffff_ffff)
	var u uuid
	for i := 0; i < 8; i++ {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

const hexDigits = "0123456789abcdef"

// appendUUID appends the canonical lowercase text form of u.
func appendUUID(b []byte, u uuid) []byte {
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0x0f])
	}
	return b
}

// formatUUID returns the canonical lowercase text form of u.
func formatUUID(u uuid) string {
	var buf [36]byte
	return string(appendUUID(buf[:0], u))
}

// parseUUID parses the canonical text form (either case).
func parseUUID(s string) (uuid, bool) {
	var u uuid
	if len(s) != 36 {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, ok1 := hexVal(s[i])
		lo, ok2 := hexVal(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validUUID reports whether s is a UUID in canonical text form.
func validUUID(s string) bool {
	_, ok := parseUUID(s)
	return ok
}

// userUUID derives user n's id. Its last four bytes carry n masked by the
// seed, so that [Bank.UserNumber] is a parse and one comparison.
func userUUID(seed int64, n int) uuid {
	u := uuidFrom(uint64(seed), saltUser, uint64(n), 0, 0)
	m := uint32(n) ^ uint32(hash5(uint64(seed), saltUserNumber, 0, 0, 0))
	u[12], u[13], u[14], u[15] = byte(m>>24), byte(m>>16), byte(m>>8), byte(m)
	return u
}

// userNumberHint recovers the user number encoded in u (unverified).
func userNumberHint(seed int64, u uuid) int {
	m := uint32(u[12])<<24 | uint32(u[13])<<16 | uint32(u[14])<<8 | uint32(u[15])
	return int(m ^ uint32(hash5(uint64(seed), saltUserNumber, 0, 0, 0)))
}
