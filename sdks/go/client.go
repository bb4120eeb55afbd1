// Package petstore is a client for the Pet Store API: typed errors, retries with backoff,
// idempotency keys on writes, pagination, and each answer's rate-limit, cost and quota headers.
//
//	client := petstore.New(petstore.Options{APIKey: os.Getenv("PETSTORE_API_KEY")})
//	pets, err := client.Pets.List(ctx, nil)
package petstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version of this SDK, sent in the User-Agent.
const Version = "0.2.0"

// DefaultBaseURL is the production API, used when neither Options.BaseURL nor
// PETSTORE_BASE_URL is set.
const DefaultBaseURL = "https://api.petstore.example"

// UserAgent is sent with every request.
var UserAgent = "petstore-sdk-go/" + Version + " " + runtime.Version()

// Defaults of the Options left at their zero value.
const (
	DefaultMaxRetries        = 2
	DefaultMaxRetryAfter     = 60 * time.Second
	DefaultInitialRetryDelay = 500 * time.Millisecond
	DefaultMaxRetryDelay     = 8 * time.Second
	DefaultTimeout           = 30 * time.Second
)

// Options configure a Client. Zero values take the defaults above.
type Options struct {
	// APIKey (ps_live_…). Default: the PETSTORE_API_KEY environment variable.
	APIKey string
	// BaseURL. Default: PETSTORE_BASE_URL, else DefaultBaseURL.
	BaseURL string
	// MaxRetries after a 429, a 502/503/504 or a connection error. Default 2.
	MaxRetries int
	// DisableRetries makes every call a single attempt.
	DisableRetries bool
	// MaxRetryAfter: a longer Retry-After is returned at once as a RateLimitError, not slept.
	MaxRetryAfter time.Duration
	// InitialRetryDelay is the first backoff's ceiling, doubled on each retry (full jitter).
	InitialRetryDelay time.Duration
	// MaxRetryDelay is the ceiling of any backoff.
	MaxRetryDelay time.Duration
	// Timeout per attempt.
	Timeout time.Duration
	// HTTPClient to send requests with. Default: a new http.Client.
	HTTPClient *http.Client
	// OnRetry is called before each retry's wait (logging, metrics).
	OnRetry func(RetryEvent)
}

// RetryEvent describes a retry about to happen.
type RetryEvent struct {
	Attempt int // 1 for the first retry
	Delay   time.Duration
	// Reason is "rate_limited", "unavailable", "connection_error" or "timeout".
	Reason         string
	StatusCode     int // 0 when no answer came
	Err            error
	Method         string
	Path           string
	IdempotencyKey string
}

// RateLimit holds the X-RateLimit-* headers.
type RateLimit struct {
	Limit     int
	Remaining int
	Reset     time.Duration // until a slot frees
}

// Response is what an answer said besides its body.
type Response struct {
	StatusCode int
	Header     http.Header
	// RateLimit is nil on unmetered answers.
	RateLimit *RateLimit
	// UsageCost (X-Usage-Cost) is the units this call cost; nil when not sent.
	UsageCost *int
	// QuotaRemaining (X-Quota-Remaining) is the units left in the period; nil when not sent.
	QuotaRemaining *int
	// RetryAfter is the Retry-After header (0 when absent).
	RetryAfter time.Duration
	// IdempotencyKey is the key sent with a write ("" for reads).
	IdempotencyKey string
}

// APIResource is embedded in every result: LastResponse holds its answer's metadata.
type APIResource struct {
	LastResponse *Response `json:"-"`
}

func (r *APIResource) setResponse(resp *Response) { r.LastResponse = resp }

type withResponse interface{ setResponse(*Response) }

// RequestOption changes one call.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
	maxRetries     *int
	apiKey         string
}

// WithIdempotencyKey sends this Idempotency-Key instead of a random one (writes only).
func WithIdempotencyKey(key string) RequestOption {
	return func(c *requestConfig) { c.idempotencyKey = key }
}

// WithMaxRetries overrides the client's retries for this call (0: a single attempt).
func WithMaxRetries(n int) RequestOption {
	return func(c *requestConfig) { c.maxRetries = &n }
}

// WithAPIKey uses another key for this call.
func WithAPIKey(key string) RequestOption {
	return func(c *requestConfig) { c.apiKey = key }
}

// Client calls the API. It is safe for concurrent use.
type Client struct {
	Auth       *AuthService
	Pets       *PetsService
	Analytics  *AnalyticsService
	Usage      *UsageService
	Keys       *KeysService
	Billing    *BillingService
	Invoices   *InvoicesService
	Webhooks   *WebhooksService
	Pricing    *PricingService
	Thumbnails *ThumbnailsService

	apiKey            string
	baseURL           string
	maxRetries        int
	maxRetryAfter     time.Duration
	initialRetryDelay time.Duration
	maxRetryDelay     time.Duration
	timeout           time.Duration
	http              *http.Client
	onRetry           func(RetryEvent)

	randMu sync.Mutex
	rand   *mathrand.Rand
}

// New returns a Client.
func New(opts Options) *Client {
	c := &Client{
		apiKey:            opts.APIKey,
		baseURL:           opts.BaseURL,
		maxRetries:        opts.MaxRetries,
		maxRetryAfter:     opts.MaxRetryAfter,
		initialRetryDelay: opts.InitialRetryDelay,
		maxRetryDelay:     opts.MaxRetryDelay,
		timeout:           opts.Timeout,
		http:              opts.HTTPClient,
		onRetry:           opts.OnRetry,
		rand:              mathrand.New(mathrand.NewSource(time.Now().UnixNano())),
	}
	if c.apiKey == "" {
		c.apiKey = os.Getenv("PETSTORE_API_KEY")
	}
	if c.baseURL == "" {
		c.baseURL = os.Getenv("PETSTORE_BASE_URL")
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if c.maxRetries == 0 {
		c.maxRetries = DefaultMaxRetries
	}
	if opts.DisableRetries {
		c.maxRetries = 0
	}
	if c.maxRetryAfter == 0 {
		c.maxRetryAfter = DefaultMaxRetryAfter
	}
	if c.initialRetryDelay == 0 {
		c.initialRetryDelay = DefaultInitialRetryDelay
	}
	if c.maxRetryDelay == 0 {
		c.maxRetryDelay = DefaultMaxRetryDelay
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	c.Auth = &AuthService{c}
	c.Pets = &PetsService{c}
	c.Analytics = &AnalyticsService{c}
	c.Usage = &UsageService{c}
	c.Keys = &KeysService{c}
	c.Billing = &BillingService{c}
	c.Invoices = &InvoicesService{c}
	c.Webhooks = &WebhooksService{c}
	c.Pricing = &PricingService{c}
	c.Thumbnails = &ThumbnailsService{c}
	return c
}

// BaseURL is the API the client calls.
func (c *Client) BaseURL() string { return c.baseURL }

type call struct {
	name        string
	pathParams  map[string]string
	query       url.Values
	body        interface{} // sent as JSON
	raw         []byte      // sent as is, with contentType (multipart)
	contentType string
	opts        []RequestOption
	binary      bool // the answer is not JSON: out must be a *Thumbnail
}

// do calls one operation of the table and decodes its JSON answer into out (when not nil).
// Writes carry an Idempotency-Key (the caller's, or a random UUID) kept on every retry.
func (c *Client) do(ctx context.Context, req call, out interface{}) (*Response, error) {
	cfg := requestConfig{}
	for _, opt := range req.opts {
		opt(&cfg)
	}
	op := operation(req.name)
	path := op.Path
	for name, value := range req.pathParams {
		path = strings.Replace(path, "{"+name+"}", url.PathEscape(value), 1)
	}
	target := c.baseURL + path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	header := http.Header{}
	header.Set("Accept", "application/json")
	header.Set("User-Agent", UserAgent)
	if op.Auth {
		key := cfg.apiKey
		if key == "" {
			key = c.apiKey
		}
		if key == "" {
			return nil, &AuthenticationError{&APIError{
				Code:    "missing_api_key",
				Message: "no API key: set Options.APIKey or PETSTORE_API_KEY",
			}}
		}
		header.Set("X-API-Key", key)
	}
	idempotencyKey := ""
	if op.HTTPMethod != http.MethodGet {
		idempotencyKey = cfg.idempotencyKey
		if idempotencyKey == "" {
			idempotencyKey = newUUID()
		}
		header.Set("Idempotency-Key", idempotencyKey)
	}
	var payload []byte
	switch {
	case req.raw != nil:
		payload = req.raw
		header.Set("Content-Type", req.contentType)
	case req.body != nil:
		encoded, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("petstore: encoding the request: %w", err)
		}
		payload = encoded
		header.Set("Content-Type", "application/json")
	}
	maxRetries := c.maxRetries
	if cfg.maxRetries != nil {
		maxRetries = *cfg.maxRetries
	}

	for attempt := 0; ; attempt++ {
		resp, data, err := c.send(ctx, op.HTTPMethod, target, header, payload)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt >= maxRetries {
				return nil, err
			}
			reason := "connection_error"
			var connErr *ConnectionError
			if errors.As(err, &connErr) && connErr.Timeout {
				reason = "timeout"
			}
			event := RetryEvent{Reason: reason, Err: err}
			if werr := c.wait(ctx, c.backoff(attempt), attempt, op, path, idempotencyKey, event); werr != nil {
				return nil, werr
			}
			continue
		}
		resp.IdempotencyKey = idempotencyKey
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if t, ok := out.(*Thumbnail); ok && req.binary {
				t.Content, t.ContentType = data, resp.Header.Get("Content-Type")
			} else if out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return resp, fmt.Errorf("petstore: decoding the answer of %s %s: %w", op.HTTPMethod, path, err)
				}
			}
			if r, ok := out.(withResponse); ok {
				r.setResponse(resp)
			}
			return resp, nil
		}
		var body map[string]interface{}
		if json.Unmarshal(data, &body) != nil {
			body = map[string]interface{}{"message": truncate(string(data), 500)}
		}
		apiErr := errorFromResponse(resp, body)
		delay, retry := c.retryDelay(resp, body, attempt)
		if !retry || attempt >= maxRetries {
			return resp, apiErr
		}
		reason := "unavailable"
		if resp.StatusCode == http.StatusTooManyRequests {
			reason = "rate_limited"
		}
		event := RetryEvent{Reason: reason, StatusCode: resp.StatusCode, Err: apiErr}
		if werr := c.wait(ctx, delay, attempt, op, path, idempotencyKey, event); werr != nil {
			return resp, werr
		}
	}
}

func (c *Client) send(ctx context.Context, method, target string, header http.Header, payload []byte) (*Response, []byte, error) {
	attemptCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload) // a fresh reader per attempt: retries resend the same bytes
	}
	httpReq, err := http.NewRequestWithContext(attemptCtx, method, target, body)
	if err != nil {
		return nil, nil, fmt.Errorf("petstore: building the request: %w", err)
	}
	httpReq.Header = header.Clone()
	httpResp, err := c.http.Do(httpReq)
	if err != nil {
		return nil, nil, &ConnectionError{Err: err, Timeout: errors.Is(attemptCtx.Err(), context.DeadlineExceeded)}
	}
	defer httpResp.Body.Close()
	data, err := io.ReadAll(httpResp.Body)
	if err != nil {
		return nil, nil, &ConnectionError{Err: err, Timeout: errors.Is(attemptCtx.Err(), context.DeadlineExceeded)}
	}
	return responseInfo(httpResp), data, nil
}

// retryDelay says whether an error answer is retried, and after how long.
func (c *Client) retryDelay(resp *Response, body map[string]interface{}, attempt int) (time.Duration, bool) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		if isQuotaCode(stringField(body, "error")) {
			return 0, false
		}
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return 0, false
	}
	if resp.Header.Get("Retry-After") == "" {
		return c.backoff(attempt), true
	}
	if resp.RetryAfter > c.maxRetryAfter {
		return 0, false
	}
	return resp.RetryAfter, true
}

// backoff is exponential with full jitter: uniform in [0, min(max, initial × 2^attempt)].
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.maxRetryDelay
	if attempt < 30 {
		if d := c.initialRetryDelay << uint(attempt); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	c.randMu.Lock()
	defer c.randMu.Unlock()
	return time.Duration(c.rand.Int63n(int64(ceiling) + 1))
}

func (c *Client) wait(ctx context.Context, delay time.Duration, attempt int, op Operation, path, key string, event RetryEvent) error {
	event.Attempt = attempt + 1
	event.Delay = delay
	event.Method = op.HTTPMethod
	event.Path = path
	event.IdempotencyKey = key
	if c.onRetry != nil {
		c.onRetry(event)
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func responseInfo(r *http.Response) *Response {
	resp := &Response{StatusCode: r.StatusCode, Header: r.Header}
	if limit, ok := headerInt(r.Header, "X-RateLimit-Limit"); ok {
		remaining, _ := headerInt(r.Header, "X-RateLimit-Remaining")
		reset, _ := headerInt(r.Header, "X-RateLimit-Reset")
		resp.RateLimit = &RateLimit{Limit: limit, Remaining: remaining, Reset: time.Duration(reset) * time.Second}
	}
	if cost, ok := headerInt(r.Header, "X-Usage-Cost"); ok {
		resp.UsageCost = &cost
	}
	if quota, ok := headerInt(r.Header, "X-Quota-Remaining"); ok {
		resp.QuotaRemaining = &quota
	}
	resp.RetryAfter = ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
	return resp
}

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date (0 if unreadable).
func ParseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.ParseFloat(value, 64); err == nil && seconds >= 0 {
		return time.Duration(seconds * float64(time.Second))
	}
	if when, err := http.ParseTime(value); err == nil {
		if d := when.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func headerInt(h http.Header, name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	return n, err == nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("petstore: no randomness for an idempotency key: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
