package petstore

// Verifying the events Pet Store sends to your webhook endpoints.
//
// Each delivery is a POST whose JSON body is {"id", "type", "created", "data"}, with the header
// PetStore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with your
// endpoint's secret> (several v1 values may be sent). Verify the raw body before parsing it and
// refuse timestamps further than the tolerance from now (5 minutes by default): that stops
// replays. Deduplicate events by ID: a retry carries the same one.
//
//	body, _ := io.ReadAll(r.Body)
//	event, err := petstore.ConstructWebhookEvent(body, r.Header.Get(petstore.WebhookSignatureHeader), secret, 0)
//	if err != nil { w.WriteHeader(http.StatusBadRequest); return }

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// WebhookSignatureHeader is the header that carries a delivery's signature.
const WebhookSignatureHeader = "PetStore-Signature"

// DefaultWebhookTolerance is how far a signature's timestamp may be from now.
const DefaultWebhookTolerance = 5 * time.Minute

// ErrWebhookSignature is wrapped by every verification failure (errors.Is).
var ErrWebhookSignature = errors.New("petstore: invalid webhook signature")

// WebhookEvent is what your endpoint receives.
type WebhookEvent struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Created int64           `json:"created"`
	Data    json.RawMessage `json:"data"`
}

func signatureError(reason string) error {
	return &webhookSignatureError{reason}
}

type webhookSignatureError struct{ reason string }

func (e *webhookSignatureError) Error() string { return ErrWebhookSignature.Error() + ": " + e.reason }
func (e *webhookSignatureError) Unwrap() error { return ErrWebhookSignature }

// ComputeWebhookSignature is the hex v1 signature of payload at timestamp with secret.
func ComputeWebhookSignature(payload []byte, secret string, timestamp int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhookSignature returns nil if header signs payload with secret within tolerance of
// now (tolerance 0: DefaultWebhookTolerance; negative: no time check).
func VerifyWebhookSignature(payload []byte, header, secret string, tolerance time.Duration) error {
	return verifyWebhookSignatureAt(payload, header, secret, tolerance, time.Now())
}

func verifyWebhookSignatureAt(payload []byte, header, secret string, tolerance time.Duration, now time.Time) error {
	if header == "" {
		return signatureError("no " + WebhookSignatureHeader + " header")
	}
	if tolerance == 0 {
		tolerance = DefaultWebhookTolerance
	}
	timestamp := int64(-1)
	var signatures []string
	for _, part := range strings.Split(header, ",") {
		key, value, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found || value == "" {
			continue
		}
		switch key {
		case "t":
			if t, err := strconv.ParseInt(value, 10, 64); err == nil && t >= 0 {
				timestamp = t
			}
		case "v1":
			signatures = append(signatures, value)
		}
	}
	if timestamp < 0 || len(signatures) == 0 {
		return signatureError("the header has no t= or no v1= value")
	}
	if tolerance > 0 {
		age := math.Abs(float64(now.Unix() - timestamp))
		if age > tolerance.Seconds() {
			return signatureError("the timestamp is outside the tolerance")
		}
	}
	expected := []byte(ComputeWebhookSignature(payload, secret, timestamp))
	for _, candidate := range signatures {
		if hmac.Equal(expected, []byte(candidate)) {
			return nil
		}
	}
	return signatureError("no signature matches the payload and secret")
}

// ConstructWebhookEvent verifies the signature, then parses the event.
func ConstructWebhookEvent(payload []byte, header, secret string, tolerance time.Duration) (*WebhookEvent, error) {
	if err := VerifyWebhookSignature(payload, header, secret, tolerance); err != nil {
		return nil, err
	}
	event := &WebhookEvent{}
	if err := json.Unmarshal(payload, event); err != nil || event.ID == "" || event.Type == "" {
		return nil, signatureError("the payload is not a Pet Store event")
	}
	return event, nil
}
