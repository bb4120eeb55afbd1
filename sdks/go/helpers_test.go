package petstore

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"
)

// reply is one scripted answer of the stub: a status, headers and a body; or a dropped
// connection; or an answer after a delay.
type reply struct {
	status  int
	headers map[string]string
	body    string
	drop    bool
	delay   time.Duration
}

type received struct {
	method, path, query, body string
	header                    http.Header
	at                        time.Time
}

// stub is a local HTTP server for retry tests (never the API itself): it answers each request
// with the next scripted reply (repeating the last) and records what it received.
type stub struct {
	*httptest.Server
	mu       sync.Mutex
	replies  []reply
	received []received
}

func newStub(t *testing.T, replies ...reply) *stub {
	t.Helper()
	s := &stub{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.received = append(s.received, received{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone(), time.Now()})
		next := s.replies[0]
		if len(s.replies) > 1 {
			s.replies = s.replies[1:]
		}
		s.mu.Unlock()
		if next.drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if next.delay > 0 {
			select {
			case <-time.After(next.delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range next.headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		if next.status == 0 {
			next.status = 200
		}
		w.WriteHeader(next.status)
		_, _ = io.WriteString(w, next.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stub) requests() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// pngImage is a 2×2 PNG (the API turns it into a JPEG thumbnail).
var pngImage, _ = base64.StdEncoding.DecodeString(
	"iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGM8UaHBwMDAxMDAwMDAAAARqgFsecZ2JgAAAABJRU5ErkJggg==")
