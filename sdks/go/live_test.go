package petstore

// The SDK against a live Pet Store server (the repository's pytest suite starts one and sets
// these variables; see tests/sdks/test_go.py). Without them these tests skip.
//
//	PETSTORE_BASE_URL            the server
//	PETSTORE_API_KEY             a Free customer's key (the guide's flow)
//	PETSTORE_TEST_PAID_KEY       a Business customer's key (every operation)
//	PETSTORE_TEST_EXHAUSTED_KEY  a Free customer whose monthly quota is used up
//	PETSTORE_TEST_NO_CREDITS_KEY a prepaid customer whose included units and credits are spent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func live(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("PETSTORE_BASE_URL") == "" || os.Getenv("PETSTORE_TEST_PAID_KEY") == "" {
		t.Skip("no live server (PETSTORE_BASE_URL, PETSTORE_TEST_PAID_KEY)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func email(what string) string {
	return fmt.Sprintf("sdk-go-%s-%s@example.com", what, newUUID()[:8])
}

func freshFree(ctx context.Context, t *testing.T, opts Options) *Client {
	t.Helper()
	reg, err := New(Options{}).Auth.Register(ctx, RegisterParams{Email: email("free")})
	if err != nil || reg.Plan != "free" {
		t.Fatalf("register: %v %v", reg, err)
	}
	opts.APIKey = reg.APIKey
	return New(opts)
}

// must[T](t)(call()) is call's value, or the test fails with its error.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestLiveGuideFlow(t *testing.T) {
	ctx := live(t)
	client := New(Options{APIKey: os.Getenv("PETSTORE_API_KEY")})
	pets, err := client.Pets.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	newPet, err := client.Pets.Create(ctx, PetCreate{Name: "Buddy", Status: "available"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Pets.Update(ctx, newPet.ID, PetUpdate{Status: StatusSold}); err != nil {
		t.Fatal(err)
	}
	if pets.Results == nil || newPet.Name != "Buddy" {
		t.Fatalf("%+v %+v", pets, newPet)
	}
	if got := must[*Pet](t)(client.Pets.Retrieve(ctx, newPet.ID)); got.Status != StatusSold {
		t.Fatalf("status %s", got.Status)
	}
}

func TestLivePets(t *testing.T) {
	ctx := live(t)
	client := New(Options{APIKey: os.Getenv("PETSTORE_TEST_PAID_KEY")})
	species := "axolotl-" + newUUID()[:6]
	var created []*Pet
	for i := 0; i < 5; i++ {
		created = append(created, must[*Pet](t)(client.Pets.Create(ctx, PetCreate{Name: fmt.Sprintf("Axo %d", i), Species: species, Tags: []string{"sdk"}})))
	}
	first := created[0]
	r := first.LastResponse
	if r.StatusCode != 201 || r.UsageCost == nil || *r.UsageCost != 2 || !uuidPattern.MatchString(r.IdempotencyKey) ||
		r.RateLimit == nil || r.RateLimit.Limit != 1000 || r.QuotaRemaining == nil {
		t.Fatalf("create response %+v", r)
	}

	page := must[*Page[Pet]](t)(client.Pets.List(ctx, &PetListParams{Species: species, Limit: 2}))
	if page.Count != 5 || len(page.Results) != 2 || !page.HasNextPage() || *page.LastResponse.UsageCost != 1 || page.LastResponse.IdempotencyKey != "" {
		t.Fatalf("page %+v", page)
	}
	var seen, want []int64
	it := client.Pets.ListAll(ctx, &PetListParams{Species: species, Limit: 2})
	for it.Next() {
		seen = append(seen, it.Current().ID)
	}
	for _, p := range created {
		want = append(want, p.ID)
	}
	if it.Err() != nil || !reflect.DeepEqual(seen, want) {
		t.Fatalf("all pages: %v %v (want %v)", seen, it.Err(), want)
	}
	second := must[*Page[Pet]](t)(page.NextPage(ctx))
	last := must[*Page[Pet]](t)(second.NextPage(ctx))
	if len(last.Results) != 1 || last.HasNextPage() {
		t.Fatalf("last page %+v", last)
	}
	if end, err := last.NextPage(ctx); end != nil || err != nil {
		t.Fatalf("after the last page: %v %v", end, err)
	}

	if got := must[*Pet](t)(client.Pets.Retrieve(ctx, first.ID)); got.Name != "Axo 0" {
		t.Fatal(got.Name)
	}
	replaced := must[*Pet](t)(client.Pets.Replace(ctx, first.ID, PetCreate{Name: "Rex", Species: "dog", Status: StatusPending}))
	if replaced.Name != "Rex" || replaced.Species != "dog" || replaced.Status != StatusPending {
		t.Fatalf("%+v", replaced)
	}
	updated := must[*Pet](t)(client.Pets.Update(ctx, first.ID, PetUpdate{Status: StatusSold, Tags: []string{}}))
	if updated.Name != "Rex" || updated.Status != StatusSold || len(updated.Tags) != 0 {
		t.Fatalf("%+v", updated)
	}
	withImage := must[*PetWithImage](t)(client.Pets.UploadImage(ctx, first.ID, "rex.png", bytes.NewReader(pngImage)))
	if withImage.Image.Format != "PNG" || withImage.ThumbnailURL == nil || !strings.HasSuffix(*withImage.ThumbnailURL, ".jpg") ||
		*withImage.LastResponse.UsageCost != 10 {
		t.Fatalf("%+v", withImage)
	}
	jpeg := must[*Thumbnail](t)(New(Options{}).Thumbnails.Download(ctx, *withImage.ThumbnailURL)) // no key
	if !bytes.HasPrefix(jpeg.Content, []byte{0xff, 0xd8, 0xff}) || jpeg.ContentType != "image/jpeg" || jpeg.LastResponse.StatusCode != 200 {
		t.Fatalf("thumbnail %q %d bytes", jpeg.ContentType, len(jpeg.Content))
	}
	_, err := client.Thumbnails.Download(ctx, os.Getenv("PETSTORE_BASE_URL")+"/api/v1/thumbnails/forged.jpg")
	var denied *PermissionDeniedError
	if !errors.As(err, &denied) || denied.Code != "invalid_signature" {
		t.Fatalf("forged thumbnail URL: %v", err)
	}
	gone := must[*Deleted](t)(client.Pets.Delete(ctx, first.ID))
	if !gone.Deleted || gone.ID != first.ID || gone.LastResponse.StatusCode != 204 {
		t.Fatalf("%+v", gone)
	}
	_, err = client.Pets.Retrieve(ctx, first.ID)
	var notFound *NotFoundError
	if !errors.As(err, &notFound) || notFound.StatusCode != 404 {
		t.Fatalf("got %v", err)
	}
}

func TestLiveAnalyticsUsageQuote(t *testing.T) {
	ctx := live(t)
	client := New(Options{APIKey: os.Getenv("PETSTORE_TEST_PAID_KEY")})
	analytics := must[*Analytics](t)(client.Analytics.Retrieve(ctx))
	if len(analytics.ByStatus) != 3 || *analytics.LastResponse.UsageCost != 5 {
		t.Fatalf("%+v", analytics)
	}
	usage := must[*Usage](t)(client.Usage.Retrieve(ctx))
	if usage.Plan.Slug != "business" || usage.UnitsUsed <= 0 {
		t.Fatalf("%+v", usage)
	}
	if usage.Forecast == nil || usage.Forecast.Method == "" {
		t.Fatalf("no forecast: %+v", usage.Forecast)
	}
	quote := must[*Quote](t)(New(Options{}).Pricing.Quote(ctx, QuoteParams{Plan: "pro", Calls: Int64(60000)}))
	if quote.Total == nil || *quote.Total != "59.00" || quote.Currency != "usd" {
		t.Fatalf("%+v", quote)
	}
}

func TestLiveKeys(t *testing.T) {
	ctx := live(t)
	client := New(Options{APIKey: os.Getenv("PETSTORE_TEST_PAID_KEY")})
	before := must[*Page[APIKey]](t)(client.Keys.List(ctx))
	if len(before.Results) < 1 || before.HasNextPage() {
		t.Fatalf("%+v", before)
	}
	key := must[*NewAPIKey](t)(client.Keys.Create(ctx, KeyCreateParams{Name: "sdk-go"}))
	if !strings.HasPrefix(key.Key, "ps_") {
		t.Fatal(key.Key)
	}
	capped := must[*APIKey](t)(client.Keys.Update(ctx, key.ID, KeyUpdateParams{MonthlyUnitCap: Int64(5000), MonthlySpendCap: String("25.00")}))
	if *capped.MonthlyUnitCap != 5000 || *capped.MonthlySpendCap != "25.00" || *capped.SpendCapUnits != 25004 {
		t.Fatalf("caps %+v", capped)
	}
	kept := must[*APIKey](t)(client.Keys.Update(ctx, key.ID, KeyUpdateParams{RemoveMonthlySpendCap: true}))
	if *kept.MonthlyUnitCap != 5000 || kept.MonthlySpendCap != nil {
		t.Fatalf("kept %+v", kept)
	}
	fetched := must[*APIKey](t)(client.Keys.Retrieve(ctx, key.ID))
	if fetched.Name != "sdk-go" || *fetched.MonthlyUnitCap != 5000 || fetched.UnitsUsed != 0 {
		t.Fatalf("fetched %+v", fetched)
	}
	usage := must[*Usage](t)(client.Usage.Retrieve(ctx))
	byKey := false
	for _, row := range usage.ByKey {
		byKey = byKey || (row.KeyID == key.ID && *row.MonthlyUnitCap == 5000)
	}
	if !byKey {
		t.Fatalf("by_key %+v", usage.ByKey)
	}
	rotated := must[*NewAPIKey](t)(client.Keys.Rotate(ctx, key.ID, KeyRotateParams{GraceHours: 0}))
	if rotated.ID == key.ID {
		t.Fatal("rotation kept the id")
	}
	it := client.Keys.ListAll(ctx)
	found := false
	for it.Next() {
		if it.Current().ID == key.ID {
			found = !it.Current().Active
		}
	}
	if it.Err() != nil || !found {
		t.Fatalf("the rotated key is not listed inactive (%v)", it.Err())
	}
	if gone := must[*Deleted](t)(client.Keys.Revoke(ctx, rotated.ID)); !gone.Deleted {
		t.Fatal("not revoked")
	}
	_, err := New(Options{APIKey: rotated.Key, DisableRetries: true}).Pets.List(ctx, nil)
	var authErr *AuthenticationError
	if !errors.As(err, &authErr) {
		t.Fatalf("got %v", err)
	}
}

func TestLiveRegisterSubscribeInvoicesCancel(t *testing.T) {
	ctx := live(t)
	reg := must[*Registration](t)(New(Options{}).Auth.Register(ctx, RegisterParams{Email: email("billing")}))
	client := New(Options{APIKey: reg.APIKey})
	sub := must[*SubscribeResult](t)(client.Billing.Subscribe(ctx, SubscribeParams{Plan: "pro", PaymentMethod: "pm_card_visa"}))
	if sub.Plan != "pro" || sub.Subscription.Status != "active" || sub.Subscription.PaymentMethod.Last4 != "4242" {
		t.Fatalf("%+v", sub)
	}
	var invoices []Invoice
	it := client.Invoices.ListAll(ctx)
	for it.Next() {
		invoices = append(invoices, it.Current())
	}
	if it.Err() != nil || len(invoices) != 1 || invoices[0].Status != "paid" {
		t.Fatalf("%+v %v", invoices, it.Err())
	}
	if page := must[*Page[Invoice]](t)(client.Invoices.List(ctx)); len(page.Results) != 1 {
		t.Fatalf("%+v", page)
	}
	canceled := must[*CancelResult](t)(client.Billing.Cancel(ctx))
	if !canceled.Subscription.CancelAtPeriodEnd {
		t.Fatalf("%+v", canceled.Subscription)
	}
	credits := must[*Credits](t)(client.Billing.Credits(ctx))
	if credits.Balance != "0.00" || len(credits.Packs) != 3 || credits.Packs[1].Pack != "50" {
		t.Fatalf("%+v", credits)
	}
	purchase := must[*CreditsPurchase](t)(client.Billing.BuyCredits(ctx, "50"))
	if purchase.Amount != "50.00" || !strings.Contains(purchase.CheckoutURL, "/c/pay/cs_test_") {
		t.Fatalf("%+v", purchase)
	}
}

func TestLiveTrialWithAPromotionCodeAndItsQuote(t *testing.T) {
	ctx := live(t)
	code := os.Getenv("PETSTORE_TEST_PROMOTION_CODE")
	reg := must[*Registration](t)(New(Options{}).Auth.Register(ctx, RegisterParams{Email: email("trial")}))
	client := New(Options{APIKey: reg.APIKey})
	sub := must[*SubscribeResult](t)(client.Billing.Subscribe(ctx, SubscribeParams{Plan: "pro", Trial: true, PromotionCode: code}))
	if sub.Subscription.Status != "trialing" || sub.Subscription.TrialEnd == nil || sub.Subscription.PaymentMethod != nil {
		t.Fatalf("%+v", sub.Subscription)
	}
	_, err := client.Billing.Subscribe(ctx, SubscribeParams{Plan: "pro", Trial: true})
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Code != "trial_already_used" {
		t.Fatalf("second trial: %v", err)
	}
	quote := must[*Quote](t)(New(Options{}).Pricing.Quote(ctx, QuoteParams{Plan: "pro", Calls: Int64(60000), PromotionCode: code}))
	last := quote.Lines[len(quote.Lines)-1]
	if *quote.Total != "53.10" || last.Kind != "discount" || quote.Discount == nil || *quote.Discount.PercentOff != "10" || quote.TrialDays != 14 {
		t.Fatalf("%+v", quote)
	}
	_, err = New(Options{}).Pricing.Quote(ctx, QuoteParams{Plan: "pro", PromotionCode: "NOPE"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "promotion_code_invalid" {
		t.Fatalf("unknown code: %v", err)
	}
}

func TestLiveRefusalsAreTypedErrors(t *testing.T) {
	ctx := live(t)
	_, err := New(Options{APIKey: "ps_live_not_a_real_key"}).Pets.List(ctx, nil)
	var authErr *AuthenticationError
	if !errors.As(err, &authErr) || authErr.StatusCode != 401 || authErr.Code != "invalid_api_key" {
		t.Fatalf("bad key: %v", err)
	}

	var freeRetries []RetryEvent
	free := freshFree(ctx, t, Options{OnRetry: func(e RetryEvent) { freeRetries = append(freeRetries, e) }})
	_, err = free.Analytics.Retrieve(ctx)
	var gated *FeatureNotInPlanError
	if !errors.As(err, &gated) || gated.StatusCode != 403 || !strings.HasSuffix(gated.UpgradeURL, "/pricing/") || gated.Feature != "analytics" {
		t.Fatalf("analytics on Free: %v", err)
	}

	_, err = free.Pets.Create(ctx, PetCreate{Name: ""})
	var invalid *ValidationError
	if !errors.As(err, &invalid) || invalid.Fields["name"] == nil {
		t.Fatalf("blank name: %v", err)
	}

	taken := email("taken")
	must[*Registration](t)(New(Options{}).Auth.Register(ctx, RegisterParams{Email: taken}))
	_, err = New(Options{}).Auth.Register(ctx, RegisterParams{Email: taken})
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Code != "email_taken" {
		t.Fatalf("email taken: %v", err)
	}

	_, err = free.Billing.Subscribe(ctx, SubscribeParams{Plan: "pro"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "payment_method_required" {
		t.Fatalf("no card: %v", err)
	}

	var retries []RetryEvent
	exhausted := New(Options{APIKey: os.Getenv("PETSTORE_TEST_EXHAUSTED_KEY"), OnRetry: func(e RetryEvent) { retries = append(retries, e) }})
	_, err = exhausted.Pets.List(ctx, nil)
	var quota *QuotaExceededError
	if !errors.As(err, &quota) || !strings.HasSuffix(quota.UpgradeURL, "/pricing/") || *quota.Response.QuotaRemaining != 0 || len(retries) != 0 {
		t.Fatalf("used-up quota: %v (%d retries)", err, len(retries))
	}

	spent := New(Options{APIKey: os.Getenv("PETSTORE_TEST_NO_CREDITS_KEY"), OnRetry: func(e RetryEvent) { retries = append(retries, e) }})
	_, err = spent.Pets.List(ctx, nil)
	var credits *CreditsExhaustedError
	if !errors.As(err, &credits) || credits.Code != "credits_exhausted" || credits.Balance != "0.00" ||
		!strings.HasSuffix(credits.BuyCreditsURL, "/dashboard/billing/#credits") || len(retries) != 0 {
		t.Fatalf("spent credits: %v (%d retries)", err, len(retries))
	}
	var asQuota *QuotaExceededError
	if !errors.As(err, &asQuota) {
		t.Fatalf("credits_exhausted is a QuotaExceededError too: %v", err)
	}

	own := must[*Page[APIKey]](t)(free.Keys.List(ctx)).Results[0]
	must[*APIKey](t)(free.Keys.Update(ctx, own.ID, KeyUpdateParams{MonthlyUnitCap: Int64(1)}))
	must[*Page[Pet]](t)(free.Pets.List(ctx, nil))
	freeRetries = nil
	_, err = free.Pets.List(ctx, nil)
	var keyCap *KeyCapExceededError
	if !errors.As(err, &keyCap) || keyCap.StatusCode != 429 || keyCap.Code != "key_cap_exceeded" || keyCap.Cap != 1 || keyCap.Used != 1 || keyCap.KeyID != own.ID || keyCap.PeriodEnd == "" || len(freeRetries) != 0 {
		t.Fatalf("key cap: %v (%d retries)", err, len(freeRetries))
	}
	if !errors.As(err, &asQuota) {
		t.Fatal("a key cap is a QuotaExceededError too")
	}
	must[*APIKey](t)(free.Keys.Update(ctx, own.ID, KeyUpdateParams{RemoveMonthlyUnitCap: true}))
	must[*Page[Pet]](t)(free.Pets.List(ctx, nil))
}

func TestLiveCreateRetriedWithItsIdempotencyKey(t *testing.T) {
	ctx := live(t)
	client := freshFree(ctx, t, Options{})
	key := newUUID()
	first := must[*Pet](t)(client.Pets.Create(ctx, PetCreate{Name: "Buddy"}, WithIdempotencyKey(key)))
	retried := must[*Pet](t)(client.Pets.Create(ctx, PetCreate{Name: "Buddy"}, WithIdempotencyKey(key)))
	if retried.ID != first.ID || *first.LastResponse.UsageCost != 2 || first.LastResponse.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first %+v, retried %+v", first.LastResponse, retried.LastResponse)
	}
	r := retried.LastResponse
	if r.Header.Get("Idempotent-Replayed") != "true" || *r.UsageCost != 0 || r.IdempotencyKey != key {
		t.Fatalf("replay %+v", r)
	}
	_, err := client.Pets.Create(ctx, PetCreate{Name: "Max"}, WithIdempotencyKey(key))
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Code != "idempotency_key_reused" {
		t.Fatalf("same key, another body: %v", err)
	}

	if page := must[*Page[Pet]](t)(client.Pets.List(ctx, nil)); page.Count != 1 {
		t.Fatalf("%d pets", page.Count)
	}
	usage := must[*Usage](t)(client.Usage.Retrieve(ctx))
	billed := map[string]EndpointUsage{}
	for _, row := range usage.ByEndpoint {
		billed[row.Endpoint] = row
	}
	// One create (2 units) and one list (1 unit): the replay cost nothing.
	if row := billed["POST /api/v1/pets"]; row.Calls != 1 || row.Units != 2 || usage.UnitsUsed != 3 {
		t.Fatalf("billed %+v, %d units in all", row, usage.UnitsUsed)
	}
}

func TestLiveFreeCustomerPastItsRateLimit(t *testing.T) {
	ctx := live(t)
	free := freshFree(ctx, t, Options{DisableRetries: true})
	var refusal *RateLimitError
	for i := 0; i < 11 && refusal == nil; i++ {
		_, err := free.Pets.List(ctx, nil)
		if err != nil && !errors.As(err, &refusal) {
			t.Fatal(err)
		}
	}
	if refusal == nil {
		t.Fatal("11 calls in a minute were all served")
	}
	if refusal.StatusCode != 429 || refusal.Limit != 10 || refusal.RetryAfter <= 0 || refusal.RetryAfter > time.Minute ||
		!strings.HasSuffix(refusal.UpgradeURL, "/pricing/") || refusal.Response.RateLimit.Remaining != 0 {
		t.Fatalf("%+v", refusal)
	}
	// With retries on, a wait longer than MaxRetryAfter is not slept: returned at once.
	var retries []RetryEvent
	capped := New(Options{APIKey: free.apiKey, MaxRetryAfter: 500 * time.Millisecond, OnRetry: func(e RetryEvent) { retries = append(retries, e) }})
	_, err := capped.Pets.List(ctx, nil)
	if !errors.As(err, &refusal) || len(retries) != 0 {
		t.Fatalf("%v after %d retries", err, len(retries))
	}
}

func TestLiveWebhooks(t *testing.T) {
	ctx := live(t)
	client := New(Options{APIKey: os.Getenv("PETSTORE_TEST_PAID_KEY")})
	endpoint := must[*NewWebhookEndpoint](t)(client.Webhooks.Create(ctx, WebhookCreateParams{
		URL:    os.Getenv("PETSTORE_BASE_URL") + "/hooks/go",
		Events: []string{"plan.changed", "quota.exhausted"},
	}))
	if !strings.HasPrefix(endpoint.Secret, "whsec_") || !reflect.DeepEqual(endpoint.Events, []string{"quota.exhausted", "plan.changed"}) {
		t.Fatalf("%+v", endpoint)
	}
	it := client.Webhooks.ListAll(ctx)
	found := false
	for it.Next() {
		found = found || (it.Current().ID == endpoint.ID && it.Current().Enabled)
	}
	if it.Err() != nil || !found {
		t.Fatalf("not listed (%v)", it.Err())
	}
	if gone := must[*Deleted](t)(client.Webhooks.Delete(ctx, endpoint.ID)); !gone.Deleted {
		t.Fatal("not deleted")
	}
	page := must[*Page[WebhookEndpoint]](t)(client.Webhooks.List(ctx))
	for _, e := range page.Results {
		if e.ID == endpoint.ID {
			t.Fatal("still listed")
		}
	}
	free := freshFree(ctx, t, Options{DisableRetries: true})
	_, err := free.Webhooks.List(ctx)
	var featureErr *FeatureNotInPlanError
	if !errors.As(err, &featureErr) {
		t.Fatalf("got %v", err)
	}
}
