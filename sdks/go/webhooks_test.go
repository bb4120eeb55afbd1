package petstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The webhook signature helper: what the server signs verifies; a tampered body, an old
// timestamp, a wrong secret or a malformed header does not; any of several v1 values may match.

var (
	hookSecret = "whsec_" + strings.Repeat("k", 43)
	hookBody   = []byte(`{"id":"evt_1","type":"plan.changed","created":1,"data":{"to_plan":"pro"}}`)
)

// Signed here the way the server signs (alerts/webhooks/signing.py), independently of the SDK.
func serverHeader(body []byte, secret string, t int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(fmt.Sprintf("%d.%s", t, body)))
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(mac.Sum(nil)))
}

func TestWebhookValidSignature(t *testing.T) {
	event, err := ConstructWebhookEvent(hookBody, serverHeader(hookBody, hookSecret, time.Now().Unix()), hookSecret, 0)
	if err != nil || event.ID != "evt_1" || event.Type != "plan.changed" || string(event.Data) != `{"to_plan":"pro"}` {
		t.Fatalf("%+v %v", event, err)
	}
}

func TestWebhookTamperedBody(t *testing.T) {
	header := serverHeader(hookBody, hookSecret, time.Now().Unix())
	tampered := []byte(strings.Replace(string(hookBody), "pro", "business", 1))
	if err := VerifyWebhookSignature(tampered, header, hookSecret, 0); !errors.Is(err, ErrWebhookSignature) {
		t.Fatalf("got %v", err)
	}
}

func TestWebhookOldTimestamp(t *testing.T) {
	old := time.Now().Unix() - 301
	header := serverHeader(hookBody, hookSecret, old)
	err := VerifyWebhookSignature(hookBody, header, hookSecret, 0)
	if !errors.Is(err, ErrWebhookSignature) || !strings.Contains(err.Error(), "tolerance") {
		t.Fatalf("got %v", err)
	}
	if err := VerifyWebhookSignature(hookBody, header, hookSecret, 10*time.Minute); err != nil {
		t.Fatalf("a wider tolerance: %v", err)
	}
	if err := verifyWebhookSignatureAt(hookBody, header, hookSecret, 0, time.Unix(old+10, 0)); err != nil {
		t.Fatalf("at its time: %v", err)
	}
}

func TestWebhookWrongSecret(t *testing.T) {
	header := serverHeader(hookBody, hookSecret, time.Now().Unix())
	err := VerifyWebhookSignature(hookBody, header, "whsec_someone_else", 0)
	if !errors.Is(err, ErrWebhookSignature) || !strings.Contains(err.Error(), "no signature matches") {
		t.Fatalf("got %v", err)
	}
}

func TestWebhookSeveralV1Values(t *testing.T) {
	now := time.Now().Unix()
	good := ComputeWebhookSignature(hookBody, hookSecret, now)
	zeros, ones := strings.Repeat("0", 64), strings.Repeat("1", 64)
	if err := VerifyWebhookSignature(hookBody, fmt.Sprintf("t=%d,v1=%s,v1=%s", now, zeros, good), hookSecret, 0); err != nil {
		t.Fatal(err)
	}
	if err := VerifyWebhookSignature(hookBody, fmt.Sprintf("t=%d,v1=%s,v1=%s", now, zeros, ones), hookSecret, 0); err == nil {
		t.Fatal("no v1 matches, yet verified")
	}
}

func TestWebhookMalformedHeaders(t *testing.T) {
	for _, header := range []string{"", "v1=abc", "t=123", "t=abc,v1=def", "garbage"} {
		if err := VerifyWebhookSignature(hookBody, header, hookSecret, 0); !errors.Is(err, ErrWebhookSignature) {
			t.Fatalf("%q: got %v", header, err)
		}
	}
}
