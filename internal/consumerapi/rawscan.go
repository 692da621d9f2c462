package consumerapi

import "bytes"

// topLevelValue returns the raw value stored under key in the top-level
// object of body, which must already be valid JSON; raw is nil when the
// key is absent. ok is false when matching could be ambiguous (a key
// with escapes, or a key equal to key but for case, which encoding/json
// would also match): callers then decode the value with encoding/json.
func topLevelValue(body []byte, key string) (raw []byte, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case '}':
			return raw, true
		case ',':
			i++
			continue
		case '"':
		default:
			return nil, false
		}
		end := skipString(body, i)
		if end < 0 {
			return nil, false
		}
		k := body[i+1 : end-1]
		if bytes.IndexByte(k, '\\') >= 0 {
			return nil, false
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipSpace(body, i+1)
		matches := string(k) == key
		if !matches && bytes.EqualFold(k, []byte(key)) {
			return nil, false
		}
		start := i
		if i = skipValue(body, i); i < 0 {
			return nil, false
		}
		if matches {
			if raw != nil {
				return nil, false // duplicate key
			}
			raw = body[start:i]
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				j := skipString(b, i)
				if j < 0 {
					return -1
				}
				i = j - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}
