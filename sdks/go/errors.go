package petstore

import (
	"fmt"
	"time"
)

// APIError is an error status from the API. Every typed error below wraps one, so
// errors.As(err, &apiErr) with apiErr *APIError matches them all.
type APIError struct {
	StatusCode int
	// Code is the API's "error" field, e.g. "rate_limit_exceeded".
	Code    string
	Message string
	// Body is the whole JSON answer.
	Body     map[string]interface{}
	Response *Response
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("petstore: %d %s: %s", e.StatusCode, e.Code, e.Message)
	}
	return fmt.Sprintf("petstore: %d: %s", e.StatusCode, e.Message)
}

// AuthenticationError is a 401: the key is missing, malformed, unknown or revoked.
type AuthenticationError struct{ *APIError }

func (e *AuthenticationError) Unwrap() error { return e.APIError }

// PermissionDeniedError is a 403.
type PermissionDeniedError struct{ *APIError }

func (e *PermissionDeniedError) Unwrap() error { return e.APIError }

// FeatureNotInPlanError is a 403 feature_not_in_plan: the plan lacks this endpoint.
type FeatureNotInPlanError struct {
	*PermissionDeniedError
	Feature    string
	Plan       string
	UpgradeURL string
}

func (e *FeatureNotInPlanError) Unwrap() error { return e.PermissionDeniedError }

// ValidationError is a 400 validation_error; Fields holds the messages by field (a list field
// may nest them by index).
type ValidationError struct {
	*APIError
	Fields map[string]interface{}
}

func (e *ValidationError) Unwrap() error { return e.APIError }

// NotFoundError is a 404.
type NotFoundError struct{ *APIError }

func (e *NotFoundError) Unwrap() error { return e.APIError }

// ConflictError is a 409: e.g. email_taken, or an Idempotency-Key reused with another body.
type ConflictError struct{ *APIError }

func (e *ConflictError) Unwrap() error { return e.APIError }

// RateLimitError is a 429 rate_limit_exceeded, returned once retries are used up or off.
type RateLimitError struct {
	*APIError
	// RetryAfter is how long to wait (the Retry-After header).
	RetryAfter time.Duration
	Limit      int
	Window     string
	UpgradeURL string
}

func (e *RateLimitError) Unwrap() error { return e.APIError }

// QuotaExceededError is a 429 quota_exceeded (the monthly quota of a hard-capped plan is used
// up) or key_cap_exceeded (a key's own monthly cap). It is never retried.
type QuotaExceededError struct {
	*APIError
	RetryAfter time.Duration
	Included   int
	Used       int
	PeriodEnd  string
	UpgradeURL string
}

func (e *QuotaExceededError) Unwrap() error { return e.APIError }

// CreditsExhaustedError is a 429 credits_exhausted: on a prepaid plan, the included units and
// the prepaid credits are spent. Balance is what is left (a decimal string, less than the call
// costs), BuyCreditsURL where to buy more (or Billing.BuyCredits). It unwraps to a
// *QuotaExceededError and is never retried.
type CreditsExhaustedError struct {
	*QuotaExceededError
	Balance       string
	BuyCreditsURL string
	Cost          int
}

func (e *CreditsExhaustedError) Unwrap() error { return e.QuotaExceededError }

// KeyCapExceededError is a 429 key_cap_exceeded: this key's own monthly cap (set by you,
// Keys.Update) is used up; your other keys keep working. It is not a rate limit: there is no
// Retry-After and it is never retried. errors.As with a *QuotaExceededError matches it too.
type KeyCapExceededError struct {
	*QuotaExceededError
	Cap   int
	KeyID int64
	Cost  int
}

func (e *KeyCapExceededError) Unwrap() error { return e.QuotaExceededError }

// ConnectionError means no answer came (after the retries): the connection failed, or no
// answer arrived within Options.Timeout (Timeout is then true).
type ConnectionError struct {
	Err     error
	Timeout bool
}

func (e *ConnectionError) Error() string {
	if e.Timeout {
		return "petstore: no answer in time: " + e.Err.Error()
	}
	return "petstore: connection failed: " + e.Err.Error()
}

func (e *ConnectionError) Unwrap() error { return e.Err }

func isQuotaCode(code string) bool {
	return code == "quota_exceeded" || code == "key_cap_exceeded" || code == "credits_exhausted"
}

func errorFromResponse(resp *Response, body map[string]interface{}) error {
	base := &APIError{StatusCode: resp.StatusCode, Body: body, Response: resp}
	base.Code = stringField(body, "error")
	base.Message = stringField(body, "message")
	if base.Message == "" {
		base.Message = fmt.Sprintf("the API answered HTTP %d", resp.StatusCode)
	}
	switch {
	case resp.StatusCode == 401:
		return &AuthenticationError{base}
	case resp.StatusCode == 403 && base.Code == "feature_not_in_plan":
		return &FeatureNotInPlanError{
			PermissionDeniedError: &PermissionDeniedError{base},
			Feature:               stringField(body, "feature"),
			Plan:                  stringField(body, "plan"),
			UpgradeURL:            stringField(body, "upgrade_url"),
		}
	case resp.StatusCode == 403:
		return &PermissionDeniedError{base}
	case resp.StatusCode == 404:
		return &NotFoundError{base}
	case resp.StatusCode == 409:
		return &ConflictError{base}
	case resp.StatusCode == 400 && base.Code == "validation_error":
		fields, _ := body["fields"].(map[string]interface{})
		return &ValidationError{APIError: base, Fields: fields}
	case resp.StatusCode == 429 && isQuotaCode(base.Code):
		quota := &QuotaExceededError{
			APIError:   base,
			RetryAfter: resp.RetryAfter,
			Included:   intField(body, "included"),
			Used:       intField(body, "used"),
			PeriodEnd:  stringField(body, "period_end"),
			UpgradeURL: stringField(body, "upgrade_url"),
		}
		if base.Code == "credits_exhausted" {
			return &CreditsExhaustedError{
				QuotaExceededError: quota,
				Balance:            stringField(body, "balance"),
				BuyCreditsURL:      stringField(body, "buy_credits_url"),
				Cost:               intField(body, "cost"),
			}
		}
		if base.Code == "key_cap_exceeded" {
			return &KeyCapExceededError{
				QuotaExceededError: quota,
				Cap:                intField(body, "cap"),
				KeyID:              int64(intField(body, "key_id")),
				Cost:               intField(body, "cost"),
			}
		}
		return quota
	case resp.StatusCode == 429:
		retryAfter := resp.RetryAfter
		if retryAfter == 0 {
			retryAfter = time.Duration(intField(body, "retry_after")) * time.Second
		}
		return &RateLimitError{
			APIError:   base,
			RetryAfter: retryAfter,
			Limit:      intField(body, "limit"),
			Window:     stringField(body, "window"),
			UpgradeURL: stringField(body, "upgrade_url"),
		}
	}
	return base
}

func stringField(body map[string]interface{}, name string) string {
	s, _ := body[name].(string)
	return s
}

func intField(body map[string]interface{}, name string) int {
	f, _ := body[name].(float64)
	return int(f)
}
