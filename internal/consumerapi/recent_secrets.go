package consumerapi

import (
	"container/list"
	"hash/maphash"
	"net/url"
	"sync"
	"time"
)

// A provider may echo in a later error a secret it was sent in an earlier
// call: the consent's code or verifier, an ID token, an access or refresh
// token that has since been replaced. So every Client remembers the secrets
// it handled recently and its redactor removes them as well as the current
// call's.
//
// The memory keeps no secret in clear: for each form of a secret (raw,
// URL-encoded for a query and for a path) it keeps the form's length, a
// keyed 64-bit hash of it (hash/maphash, seeded per Client) and its last 8
// bytes, which index it. Finding the remembered secrets in a text is then one
// map probe per byte of text plus a hash of the candidate on a probe hit, so
// the cost does not grow with the number of entries.
//
// Memory is bounded: at most maxRecentSecrets entries (the oldest is evicted
// first) of a few hundred bytes each, whatever the secret's length, and an
// entry older than maxRecentSecretAge (since it was last handled) is dropped.
// The memory is never logged nor exported.

// Bounds of a Client's memory of recent secrets.
const (
	// maxRecentSecrets bounds the entries: about 1.6 MB at most
	// (BenchmarkRedactWithFullMemory reports the bytes per entry).
	maxRecentSecrets = 4096
	// maxRecentSecretAge drops an entry not handled again for this long.
	maxRecentSecretAge = 24 * time.Hour
	// minRecentSecretLen keeps short values out of the memory: no code,
	// verifier or token is that short, and the current call's redactor
	// still matches shorter ones.
	minRecentSecretLen = 16
)

// secretWindow is the length of the index key: the last bytes of a form.
const secretWindow = 8

// recentSecrets is a Client's bounded, concurrency-safe memory of the
// secrets it handled recently.
type recentSecrets struct {
	max    int
	maxAge time.Duration
	now    func() time.Time
	seed   maphash.Seed

	mu     sync.RWMutex
	order  list.List                // of *recentEntry, least recently handled first
	byHash map[uint64]*list.Element // the raw secret's hash → its entry
	index  map[uint64][]secretForm  // a form's last 8 bytes → the forms ending so
}

// recentEntry is one remembered secret.
type recentEntry struct {
	hash  uint64
	added time.Time
	forms []secretForm
}

// secretForm is one form of a remembered secret, without its value.
type secretForm struct {
	tail  uint64
	n     int
	hash  uint64
	entry *recentEntry
}

// newRecentSecrets returns an empty memory of at most max entries, each kept
// at most maxAge after it was last handled.
func newRecentSecrets(max int, maxAge time.Duration, now func() time.Time) *recentSecrets {
	return &recentSecrets{
		max: max, maxAge: maxAge, now: now, seed: maphash.MakeSeed(),
		byHash: make(map[uint64]*list.Element),
		index:  make(map[uint64][]secretForm),
	}
}

// remember records secrets as handled now. Values shorter than
// minRecentSecretLen are ignored.
func (m *recentSecrets) remember(secrets ...Secret) {
	if m == nil {
		return
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range secrets {
		v := s.Reveal()
		if len(v) < minRecentSecretLen {
			continue
		}
		h := maphash.String(m.seed, v)
		if el, ok := m.byHash[h]; ok {
			el.Value.(*recentEntry).added = now
			m.order.MoveToBack(el)
			continue
		}
		e := &recentEntry{hash: h, added: now}
		for _, f := range secretForms(v) {
			form := secretForm{tail: tailKey(f, len(f)), n: len(f), hash: maphash.String(m.seed, f), entry: e}
			e.forms = append(e.forms, form)
			m.index[form.tail] = append(m.index[form.tail], form)
		}
		m.byHash[h] = m.order.PushBack(e)
	}
	m.prune(now)
}

// secretForms returns the distinct forms of v a provider may echo: raw, and
// escaped for a query and for a path.
func secretForms(v string) []string {
	forms := []string{v}
	for _, f := range []string{url.QueryEscape(v), url.PathEscape(v)} {
		if f != forms[0] && (len(forms) == 1 || f != forms[1]) {
			forms = append(forms, f)
		}
	}
	return forms
}

// prune evicts the oldest entries beyond the bound and every entry older
// than maxAge. The caller holds the write lock.
func (m *recentSecrets) prune(now time.Time) {
	for el := m.order.Front(); el != nil; el = m.order.Front() {
		e := el.Value.(*recentEntry)
		if m.order.Len() <= m.max && now.Sub(e.added) <= m.maxAge {
			return
		}
		m.order.Remove(el)
		delete(m.byHash, e.hash)
		for _, f := range e.forms {
			m.unindex(f)
		}
	}
}

// unindex removes one form from the index.
func (m *recentSecrets) unindex(f secretForm) {
	forms := m.index[f.tail]
	for i, g := range forms {
		if g.entry == f.entry && g.n == f.n && g.hash == f.hash {
			forms = append(forms[:i], forms[i+1:]...)
			break
		}
	}
	if len(forms) == 0 {
		delete(m.index, f.tail)
		return
	}
	m.index[f.tail] = forms
}

// len returns the number of entries.
func (m *recentSecrets) len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.order.Len()
}

// find appends to spans the byte ranges of s that hold a remembered secret
// (in any of its forms) not older than maxAge.
func (m *recentSecrets) find(s string, spans []span) []span {
	if m == nil || len(s) < minRecentSecretLen {
		return spans
	}
	cutoff := m.now().Add(-m.maxAge)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.index) == 0 {
		return spans
	}
	for end := secretWindow; end <= len(s); end++ {
		forms, ok := m.index[tailKey(s, end)]
		if !ok {
			continue
		}
		for _, f := range forms {
			start := end - f.n
			if start < 0 || f.entry.added.Before(cutoff) || maphash.String(m.seed, s[start:end]) != f.hash {
				continue
			}
			spans = append(spans, span{start, end})
		}
	}
	return spans
}

// tailKey reads the secretWindow bytes of s that end at end as a number.
// The caller ensures end >= secretWindow.
func tailKey(s string, end int) uint64 {
	b := s[end-secretWindow : end]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
