package petstore

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Retry timing, backoff, caps and Idempotency-Key reuse, against a local stub server (the only
// place a stub stands in for the API: a real server cannot be made to answer 503 on cue).

const okPet = `{"id": 7, "name": "Buddy", "status": "available"}`

func stubClient(s *stub, opts Options, events *[]RetryEvent) *Client {
	opts.APIKey = "ps_test_stub"
	opts.BaseURL = s.URL
	opts.OnRetry = func(e RetryEvent) { *events = append(*events, e) }
	return New(opts)
}

func TestRateLimitedIsRetriedAfterRetryAfterWithTheSameKey(t *testing.T) {
	s := newStub(t,
		reply{status: 429, headers: map[string]string{"Retry-After": "1"}, body: `{"error": "rate_limit_exceeded", "message": "slow down"}`},
		reply{status: 201, body: okPet},
	)
	var events []RetryEvent
	pet, err := stubClient(s, Options{}, &events).Pets.Create(context.Background(), PetCreate{Name: "Buddy"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	if pet.ID != 7 || len(reqs) != 2 {
		t.Fatalf("pet %d after %d requests", pet.ID, len(reqs))
	}
	if len(events) != 1 || events[0].Reason != "rate_limited" || events[0].Delay != time.Second || events[0].StatusCode != 429 {
		t.Fatalf("retries: %+v", events)
	}
	key := reqs[0].header.Get("Idempotency-Key")
	if !uuidPattern.MatchString(key) || reqs[1].header.Get("Idempotency-Key") != key || pet.LastResponse.IdempotencyKey != key {
		t.Fatalf("keys %q %q %q", key, reqs[1].header.Get("Idempotency-Key"), pet.LastResponse.IdempotencyKey)
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond {
		t.Fatalf("retried after %v", gap)
	}
	if reqs[1].body != `{"name":"Buddy"}` {
		t.Fatalf("body %s", reqs[1].body)
	}
}

func TestRetryAfterAsAnHTTPDate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if d := ParseRetryAfter(now.Add(2*time.Second).Format(http.TimeFormat), now); d != 2*time.Second {
		t.Fatalf("date: %v", d)
	}
	if d := ParseRetryAfter("12", now); d != 12*time.Second {
		t.Fatalf("seconds: %v", d)
	}
	if d := ParseRetryAfter("garbage", now); d != 0 {
		t.Fatalf("garbage: %v", d)
	}
}

func TestRetryAfterBeyondTheCapIsReturnedAtOnce(t *testing.T) {
	s := newStub(t, reply{status: 429, headers: map[string]string{"Retry-After": "120"},
		body: `{"error": "rate_limit_exceeded", "retry_after": 120, "limit": 10, "upgrade_url": "u"}`})
	var events []RetryEvent
	_, err := stubClient(s, Options{MaxRetryAfter: 30 * time.Second}, &events).Pets.List(context.Background(), nil)
	var rle *RateLimitError
	if !errors.As(err, &rle) {
		t.Fatalf("want RateLimitError, got %v", err)
	}
	if rle.RetryAfter != 120*time.Second || rle.Limit != 10 || rle.UpgradeURL != "u" || rle.StatusCode != 429 {
		t.Fatalf("%+v", rle)
	}
	if n := len(s.requests()); n != 1 || len(events) != 0 {
		t.Fatalf("%d requests, %d retries", n, len(events))
	}
}

func TestRetriesCanBeTurnedOff(t *testing.T) {
	s := newStub(t, reply{status: 429, headers: map[string]string{"Retry-After": "1"}, body: `{"error": "rate_limit_exceeded"}`})
	var events []RetryEvent
	_, err := stubClient(s, Options{DisableRetries: true}, &events).Pets.Create(context.Background(), PetCreate{Name: "x"})
	var rle *RateLimitError
	if !errors.As(err, &rle) || rle.RetryAfter != time.Second {
		t.Fatalf("got %v", err)
	}
	// and per call
	_, err = stubClient(s, Options{}, &events).Pets.List(context.Background(), nil, WithMaxRetries(0))
	if !errors.As(err, &rle) || len(s.requests()) != 2 || len(events) != 0 {
		t.Fatalf("%v after %d requests, %d retries", err, len(s.requests()), len(events))
	}
}

func TestUnavailableIsRetriedWithBackoffAndJitter(t *testing.T) {
	unavailable := reply{status: 503, body: `{"error": "metering_unavailable", "message": "retry"}`}
	s := newStub(t, unavailable, unavailable, unavailable, reply{status: 200, body: okPet})
	var events []RetryEvent
	opts := Options{MaxRetries: 3, InitialRetryDelay: 20 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}
	pet, err := stubClient(s, opts, &events).Pets.Update(context.Background(), 7, PetUpdate{Status: StatusSold})
	if err != nil || pet.ID != 7 {
		t.Fatalf("%v %v", pet, err)
	}
	reqs := s.requests()
	if len(reqs) != 4 || len(events) != 3 {
		t.Fatalf("%d requests, %d retries", len(reqs), len(events))
	}
	for i, e := range events {
		ceiling := 20 * time.Millisecond << uint(i)
		if ceiling > 50*time.Millisecond {
			ceiling = 50 * time.Millisecond
		}
		if e.Attempt != i+1 || e.Reason != "unavailable" || e.Delay < 0 || e.Delay > ceiling {
			t.Fatalf("retry %d: %+v (ceiling %v)", i, e, ceiling)
		}
	}
	for _, r := range reqs {
		if r.method != "PATCH" || r.header.Get("Idempotency-Key") != reqs[0].header.Get("Idempotency-Key") || r.body != `{"status":"sold"}` {
			t.Fatalf("%+v", r)
		}
	}
}

func TestRetriesGiveUpWithTheLastError(t *testing.T) {
	s := newStub(t, reply{status: 503, body: `{"error": "billing_unavailable", "message": "later"}`})
	var events []RetryEvent
	_, err := stubClient(s, Options{InitialRetryDelay: time.Millisecond}, &events).Billing.Cancel(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "billing_unavailable" {
		t.Fatalf("got %v", err)
	}
	if len(s.requests()) != 3 {
		t.Fatalf("%d requests", len(s.requests()))
	}
}

func TestServerErrorsQuotaAndValidationAreNotRetried(t *testing.T) {
	s := newStub(t,
		reply{status: 500, body: `{"error": "server_error", "message": "oops"}`},
		reply{status: 429, headers: map[string]string{"Retry-After": "1"}, body: `{"error": "quota_exceeded", "upgrade_url": "u", "included": 10}`},
		reply{status: 400, body: `{"error": "validation_error", "message": "name: blank", "fields": {"name": ["blank"]}}`},
	)
	var events []RetryEvent
	client := stubClient(s, Options{}, &events)
	ctx := context.Background()
	_, err := client.Pets.List(ctx, nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("500: %v", err)
	}
	_, err = client.Pets.List(ctx, nil)
	var quota *QuotaExceededError
	if !errors.As(err, &quota) || quota.UpgradeURL != "u" || quota.Included != 10 {
		t.Fatalf("quota: %v", err)
	}
	_, err = client.Pets.Create(ctx, PetCreate{})
	var invalid *ValidationError
	if !errors.As(err, &invalid) || invalid.Fields["name"] == nil {
		t.Fatalf("validation: %v", err)
	}
	if len(s.requests()) != 3 || len(events) != 0 {
		t.Fatalf("%d requests, %d retries", len(s.requests()), len(events))
	}
}

func TestDroppedConnectionsAreRetried(t *testing.T) {
	s := newStub(t, reply{drop: true}, reply{drop: true}, reply{status: 201, body: okPet})
	var events []RetryEvent
	pet, err := stubClient(s, Options{InitialRetryDelay: 10 * time.Millisecond}, &events).Pets.Create(context.Background(), PetCreate{Name: "Buddy"})
	if err != nil || pet.ID != 7 {
		t.Fatalf("%v %v", pet, err)
	}
	if len(events) != 2 || events[0].Reason != "connection_error" || events[1].Reason != "connection_error" {
		t.Fatalf("%+v", events)
	}
	keys := map[string]bool{}
	for _, r := range s.requests() {
		keys[r.header.Get("Idempotency-Key")] = true
	}
	if len(keys) != 1 {
		t.Fatalf("keys %v", keys)
	}
}

func TestARefusedConnectionEndsInConnectionError(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	var events []RetryEvent
	client := New(Options{APIKey: "k", BaseURL: "http://" + addr, InitialRetryDelay: 10 * time.Millisecond,
		OnRetry: func(e RetryEvent) { events = append(events, e) }})
	_, err = client.Pets.List(context.Background(), nil)
	var connErr *ConnectionError
	if !errors.As(err, &connErr) || connErr.Timeout || len(events) != 2 {
		t.Fatalf("%v after %d retries", err, len(events))
	}
}

func TestASlowAnswerTimesOutAndIsRetried(t *testing.T) {
	slow := reply{delay: 3 * time.Second, status: 200, body: `{"results": []}`}
	s := newStub(t, slow, reply{status: 200, body: `{"results": []}`})
	var events []RetryEvent
	page, err := stubClient(s, Options{Timeout: 500 * time.Millisecond, InitialRetryDelay: time.Millisecond}, &events).Keys.List(context.Background())
	if err != nil || len(page.Results) != 0 || len(events) != 1 || events[0].Reason != "timeout" {
		t.Fatalf("%v %v %+v", page, err, events)
	}
	always := newStub(t, slow)
	_, err = stubClient(always, Options{Timeout: 500 * time.Millisecond, DisableRetries: true}, &events).Usage.Retrieve(context.Background())
	var connErr *ConnectionError
	if !errors.As(err, &connErr) || !connErr.Timeout {
		t.Fatalf("got %v", err)
	}
}

func TestAContextCancelStopsTheRetries(t *testing.T) {
	s := newStub(t, reply{status: 503, body: `{}`})
	ctx, cancel := context.WithCancel(context.Background())
	client := New(Options{APIKey: "k", BaseURL: s.URL, InitialRetryDelay: time.Hour, MaxRetryDelay: time.Hour,
		OnRetry: func(RetryEvent) { cancel() }})
	_, err := client.Pets.List(ctx, nil)
	if !errors.Is(err, context.Canceled) || len(s.requests()) != 1 {
		t.Fatalf("%v after %d requests", err, len(s.requests()))
	}
}

func TestWritesCarryAnIdempotencyKeyReadsDoNot(t *testing.T) {
	s := newStub(t, reply{status: 200, body: `{"id": 1}`})
	var events []RetryEvent
	client := stubClient(s, Options{}, &events)
	ctx := context.Background()
	steps := []func() error{
		func() error { _, err := client.Pets.Retrieve(ctx, 1); return err },
		func() error { _, err := client.Pets.Create(ctx, PetCreate{Name: "a"}); return err },
		func() error { _, err := client.Pets.Replace(ctx, 1, PetCreate{Name: "b"}); return err },
		func() error { _, err := client.Pets.Update(ctx, 1, PetUpdate{Name: "c"}); return err },
		func() error { _, err := client.Pets.Delete(ctx, 1); return err },
		func() error {
			_, err := client.Pets.Create(ctx, PetCreate{Name: "d"}, WithIdempotencyKey("order-42"))
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	reqs := s.requests()
	if reqs[0].header.Get("Idempotency-Key") != "" {
		t.Fatal("a GET sent an Idempotency-Key")
	}
	seen := map[string]bool{}
	for _, r := range reqs[1:5] {
		key := r.header.Get("Idempotency-Key")
		if !uuidPattern.MatchString(key) || seen[key] {
			t.Fatalf("%s key %q", r.method, key)
		}
		seen[key] = true
	}
	if reqs[5].header.Get("Idempotency-Key") != "order-42" {
		t.Fatalf("own key: %q", reqs[5].header.Get("Idempotency-Key"))
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.header.Get("User-Agent"), "petstore-sdk-go/"+Version+" ") || r.header.Get("X-API-Key") != "ps_test_stub" {
			t.Fatalf("headers %v", r.header)
		}
	}
}

func TestTheImageIsSentAsMultipartAndResentOnRetry(t *testing.T) {
	s := newStub(t, reply{status: 503, body: `{}`}, reply{status: 200, body: `{"id": 3, "image": {"format": "PNG"}}`})
	var events []RetryEvent
	pet, err := stubClient(s, Options{InitialRetryDelay: time.Millisecond}, &events).Pets.UploadImage(context.Background(), 3, "rex.png", strings.NewReader(string(pngImage)))
	if err != nil || pet.Image.Format != "PNG" {
		t.Fatalf("%v %v", pet, err)
	}
	reqs := s.requests()
	for _, r := range reqs {
		if r.path != "/api/v1/pets/3/image" || !strings.HasPrefix(r.header.Get("Content-Type"), "multipart/form-data; boundary=") ||
			!strings.Contains(r.body, `filename="rex.png"`) || !strings.Contains(r.body, string(pngImage)) {
			t.Fatalf("%+v", r)
		}
	}
	if reqs[0].body != reqs[1].body {
		t.Fatal("the retry sent another body")
	}
}

func TestErrorsMatchWithErrorsAs(t *testing.T) {
	body := map[string]interface{}{}
	_ = json.Unmarshal([]byte(`{"error": "feature_not_in_plan", "message": "m", "upgrade_url": "u", "feature": "analytics"}`), &body)
	err := errorFromResponse(&Response{StatusCode: 403}, body)
	var gated *FeatureNotInPlanError
	var denied *PermissionDeniedError
	var apiErr *APIError
	if !errors.As(err, &gated) || !errors.As(err, &denied) || !errors.As(err, &apiErr) {
		t.Fatalf("%T", err)
	}
	if gated.UpgradeURL != "u" || gated.Feature != "analytics" || apiErr.Code != "feature_not_in_plan" || gated.StatusCode != 403 {
		t.Fatalf("%+v", gated)
	}
	if !strings.Contains(err.Error(), "403 feature_not_in_plan: m") {
		t.Fatal(err.Error())
	}
}
