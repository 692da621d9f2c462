package tokenseal

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// Environment variables that configure the key ring. The config package
// reads them; [LoadKeyRing] takes their values.
const (
	// EnvKeys holds the key ring inline: "v2:<base64>,v1:<base64>".
	EnvKeys = "PFMSYNC_TOKEN_KEYS"
	// EnvKeysFile names a file holding the same entries.
	EnvKeysFile = "PFMSYNC_TOKEN_KEYS_FILE"
)

// maxKeyFileSize bounds what LoadKeyRingFile reads.
const maxKeyFileSize = 1 << 20

// GenerateKey returns a new random 256-bit key, standard base64 with padding,
// ready to be written after "id:" in PFMSYNC_TOKEN_KEYS. It is equivalent to
// `head -c 32 /dev/urandom | base64`.
func GenerateKey() string {
	k := make([]byte, dataKeySize)
	_, _ = rand.Read(k) // never fails; see crypto/rand.Read
	s := base64.StdEncoding.EncodeToString(k)
	clear(k)
	return s
}

// LoadKeyRing builds the key ring from configuration: spec is the value of
// PFMSYNC_TOKEN_KEYS ([ParseKeyRing]) and path that of PFMSYNC_TOKEN_KEYS_FILE
// ([LoadKeyRingFile]). Exactly one must be set.
func LoadKeyRing(spec, path string) (*KeyRing, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec != "" && path != "":
		return nil, fmt.Errorf("tokenseal: both %s and %s are set; set one", EnvKeys, EnvKeysFile)
	case spec != "":
		r, err := parseSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("tokenseal: %s: %w", EnvKeys, err)
		}
		return r, nil
	case path != "":
		return LoadKeyRingFile(path)
	default:
		return nil, fmt.Errorf("tokenseal: no token keys: set %s or %s (see docs/tokenseal.md)", EnvKeys, EnvKeysFile)
	}
}

// ParseKeyRing parses the PFMSYNC_TOKEN_KEYS form: comma-separated entries
// "id:key", where id is a key id ([ValidKeyID]) and key is 32 bytes in
// standard or URL-safe base64, with or without padding. The first entry is
// the current key. Spaces around entries and empty entries are ignored.
//
// Errors name the entry's position and key id but never the key text.
func ParseKeyRing(spec string) (*KeyRing, error) {
	r, err := parseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("tokenseal: %w", err)
	}
	return r, nil
}

// parseSpec parses the PFMSYNC_TOKEN_KEYS form; its errors have no prefix.
func parseSpec(spec string) (*KeyRing, error) {
	var entries []entry
	for i, text := range strings.Split(spec, ",") {
		entries = append(entries, entry{where: fmt.Sprintf("entry %d", i+1), text: text})
	}
	return parseEntries(entries)
}

// LoadKeyRingFile reads a key ring from a file holding the entries of
// [ParseKeyRing], one or more per line; "#" starts a comment that runs to the
// end of the line, and blank lines are ignored. The first key is current.
//
// On Unix systems it refuses a file that group or others may write (whoever
// can replace it chooses the key future tokens are sealed under). A file that
// group or others may read is accepted, because container secret mounts are
// commonly 0444 or 0644, but it is reported by [KeyRing.Warnings]; 0400 or
// 0600 is recommended.
func LoadKeyRingFile(path string) (*KeyRing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenseal: key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tokenseal: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("tokenseal: key file %s is not a regular file", path)
	}
	var warnings []string
	if runtime.GOOS != "windows" {
		perm := info.Mode().Perm()
		if perm&0o022 != 0 {
			return nil, fmt.Errorf("tokenseal: key file %s is writable by group or others (mode %04o); chmod 600 it", path, perm)
		}
		if perm&0o044 != 0 {
			warnings = append(warnings, fmt.Sprintf("key file %s is readable by group or others (mode %04o); 0400 or 0600 is recommended", path, perm))
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("tokenseal: read key file %s: %w", path, err)
	}
	defer clear(data)
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("tokenseal: key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	var entries []entry
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line, _, _ = strings.Cut(line, "#")
		for _, text := range strings.Split(line, ",") {
			entries = append(entries, entry{where: fmt.Sprintf("line %d", n), text: text})
		}
	}
	r, err := parseEntries(entries)
	if err != nil {
		return nil, fmt.Errorf("tokenseal: key file %s: %w", path, err)
	}
	r.warnings = warnings
	return r, nil
}

// entry is one "id:key" entry and where it was found, for errors.
type entry struct {
	where string
	text  string
}

// parseEntries parses "id:key" entries in order, the first being current;
// empty entries are skipped.
func parseEntries(entries []entry) (*KeyRing, error) {
	var ids []string
	keys := make(map[string][]byte)
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	for _, e := range entries {
		e.text = strings.TrimSpace(e.text)
		if e.text == "" {
			continue
		}
		id, text, ok := strings.Cut(e.text, ":")
		if !ok {
			return nil, fmt.Errorf("%s has no ':' between key id and key; the form is id:base64key", e.where)
		}
		id, text = strings.TrimSpace(id), strings.TrimSpace(text)
		if id == "" {
			return nil, fmt.Errorf("%s has an empty key id; the form is id:base64key", e.where)
		}
		if !ValidKeyID(id) {
			// The id is not echoed: a malformed entry may have the key first.
			return nil, fmt.Errorf("%s: key id is not valid: want 1 to 64 of A-Z a-z 0-9 . _ -", e.where)
		}
		if k, err := decodeKey(id); err == nil && len(k) == dataKeySize {
			clear(k)
			return nil, fmt.Errorf("%s: the key id looks like a base64 key; the form is id:base64key", e.where)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("%s: key id %q appears more than once", e.where, id)
		}
		if text == "" {
			return nil, fmt.Errorf("%s: key %q is empty", e.where, id)
		}
		k, err := decodeKey(text)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q is not valid base64 (standard or URL-safe)", e.where, id)
		}
		if len(k) != dataKeySize {
			clear(k)
			return nil, fmt.Errorf("%s: key %q decodes to %d bytes, want %d (AES-256); make one with `head -c 32 /dev/urandom | base64`", e.where, id, len(k), dataKeySize)
		}
		ids = append(ids, id)
		keys[id] = k
	}
	if len(ids) == 0 {
		return nil, errors.New("no keys; the form is id:base64key[,id:base64key...], current key first")
	}
	return newKeyRing(ids, func(id string) ([]byte, bool) {
		k, ok := keys[id]
		return k, ok
	})
}

// decodeKey decodes standard or URL-safe base64, padded or not. Its errors
// never contain the input.
func decodeKey(text string) ([]byte, error) {
	url := strings.ContainsAny(text, "-_")
	padded := strings.HasSuffix(text, "=")
	var enc *base64.Encoding
	switch {
	case url && padded:
		enc = base64.URLEncoding
	case url:
		enc = base64.RawURLEncoding
	case padded:
		enc = base64.StdEncoding
	default:
		enc = base64.RawStdEncoding
	}
	k, err := enc.Strict().DecodeString(text)
	if err != nil {
		clear(k)
		return nil, errors.New("not valid base64")
	}
	return k, nil
}
