package petstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
)

func idParam(id int64) map[string]string {
	return map[string]string{"id": strconv.FormatInt(id, 10)}
}

func deleted(id int64, resp *Response) *Deleted {
	d := &Deleted{ID: id, Deleted: true}
	d.LastResponse = resp
	return d
}

// AuthService signs up.
type AuthService struct{ client *Client }

// Register creates an account on the Free plan; its key is shown only in this answer.
func (s *AuthService) Register(ctx context.Context, params RegisterParams, opts ...RequestOption) (*Registration, error) {
	out := &Registration{}
	_, err := s.client.do(ctx, call{name: "auth.register", body: params, opts: opts}, out)
	return result(out, err)
}

// PetsService manages your pets.
type PetsService struct{ client *Client }

func (p *PetListParams) values() url.Values {
	q := url.Values{}
	if p == nil {
		return q
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.Species != "" {
		q.Set("species", p.Species)
	}
	return q
}

// List returns one page of your pets (params may be nil).
func (s *PetsService) List(ctx context.Context, params *PetListParams, opts ...RequestOption) (*Page[Pet], error) {
	return fetchPage[Pet](ctx, s.client, "pets.list", params.values(), opts)
}

// ListAll iterates over every pet, page after page.
func (s *PetsService) ListAll(ctx context.Context, params *PetListParams, opts ...RequestOption) *Iter[Pet] {
	return newIter(ctx, func() (*Page[Pet], error) { return s.List(ctx, params, opts...) })
}

// Create adds a pet.
func (s *PetsService) Create(ctx context.Context, params PetCreate, opts ...RequestOption) (*Pet, error) {
	out := &Pet{}
	_, err := s.client.do(ctx, call{name: "pets.create", body: params, opts: opts}, out)
	return result(out, err)
}

// Retrieve gets one pet.
func (s *PetsService) Retrieve(ctx context.Context, id int64, opts ...RequestOption) (*Pet, error) {
	out := &Pet{}
	_, err := s.client.do(ctx, call{name: "pets.retrieve", pathParams: idParam(id), opts: opts}, out)
	return result(out, err)
}

// Replace sends the whole pet (PUT).
func (s *PetsService) Replace(ctx context.Context, id int64, params PetCreate, opts ...RequestOption) (*Pet, error) {
	out := &Pet{}
	_, err := s.client.do(ctx, call{name: "pets.replace", pathParams: idParam(id), body: params, opts: opts}, out)
	return result(out, err)
}

// Update changes only the fields set (PATCH).
func (s *PetsService) Update(ctx context.Context, id int64, params PetUpdate, opts ...RequestOption) (*Pet, error) {
	out := &Pet{}
	_, err := s.client.do(ctx, call{name: "pets.update", pathParams: idParam(id), body: params, opts: opts}, out)
	return result(out, err)
}

// Delete removes a pet.
func (s *PetsService) Delete(ctx context.Context, id int64, opts ...RequestOption) (*Deleted, error) {
	resp, err := s.client.do(ctx, call{name: "pets.delete", pathParams: idParam(id), opts: opts}, nil)
	if err != nil {
		return nil, err
	}
	return deleted(id, resp), nil
}

// UploadImage sends an image (JPEG, PNG, GIF or WebP, at most 5 MB) that becomes the pet's
// thumbnail. The image is read whole first, so that a retry can send it again.
func (s *PetsService) UploadImage(ctx context.Context, id int64, filename string, image io.Reader, opts ...RequestOption) (*PetWithImage, error) {
	data, err := io.ReadAll(image)
	if err != nil {
		return nil, fmt.Errorf("petstore: reading the image: %w", err)
	}
	var buf bytes.Buffer
	form := multipart.NewWriter(&buf)
	part := textproto.MIMEHeader{}
	part.Set("Content-Disposition", fmt.Sprintf(`form-data; name="image"; filename=%q`, filename))
	part.Set("Content-Type", http.DetectContentType(data))
	w, err := form.CreatePart(part)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = form.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("petstore: building the upload: %w", err)
	}
	out := &PetWithImage{}
	c := call{name: "pets.uploadImage", pathParams: idParam(id), raw: buf.Bytes(), contentType: form.FormDataContentType(), opts: opts}
	_, err = s.client.do(ctx, c, out)
	return result(out, err)
}

// AnalyticsService reads analytics (paid plans).
type AnalyticsService struct{ client *Client }

// Retrieve counts your pets by status and species.
func (s *AnalyticsService) Retrieve(ctx context.Context, opts ...RequestOption) (*Analytics, error) {
	out := &Analytics{}
	_, err := s.client.do(ctx, call{name: "analytics.retrieve", opts: opts}, out)
	return result(out, err)
}

// UsageService reads your usage.
type UsageService struct{ client *Client }

// Retrieve returns the current period's usage, exact to the last request.
func (s *UsageService) Retrieve(ctx context.Context, opts ...RequestOption) (*Usage, error) {
	out := &Usage{}
	_, err := s.client.do(ctx, call{name: "usage.retrieve", opts: opts}, out)
	return result(out, err)
}

// KeysService manages your API keys.
type KeysService struct{ client *Client }

// List returns your keys (one page).
func (s *KeysService) List(ctx context.Context, opts ...RequestOption) (*Page[APIKey], error) {
	return fetchPage[APIKey](ctx, s.client, "keys.list", nil, opts)
}

// ListAll iterates over your keys.
func (s *KeysService) ListAll(ctx context.Context, opts ...RequestOption) *Iter[APIKey] {
	return newIter(ctx, func() (*Page[APIKey], error) { return s.List(ctx, opts...) })
}

// Create makes a key; NewAPIKey.Key is shown only in this answer.
func (s *KeysService) Create(ctx context.Context, params KeyCreateParams, opts ...RequestOption) (*NewAPIKey, error) {
	out := &NewAPIKey{}
	_, err := s.client.do(ctx, call{name: "keys.create", body: params, opts: opts}, out)
	return result(out, err)
}

// Retrieve returns a key, with its caps and this period's UnitsUsed.
func (s *KeysService) Retrieve(ctx context.Context, id int64, opts ...RequestOption) (*APIKey, error) {
	out := &APIKey{}
	_, err := s.client.do(ctx, call{name: "keys.retrieve", pathParams: idParam(id), opts: opts}, out)
	return result(out, err)
}

// Update sets or removes a key's own monthly caps (see KeyUpdateParams). Past its cap the key
// gets a *KeyCapExceededError; your other keys keep working.
func (s *KeysService) Update(ctx context.Context, id int64, params KeyUpdateParams, opts ...RequestOption) (*APIKey, error) {
	out := &APIKey{}
	_, err := s.client.do(ctx, call{name: "keys.update", pathParams: idParam(id), body: params, opts: opts}, out)
	return result(out, err)
}

// Revoke disables a key at once.
func (s *KeysService) Revoke(ctx context.Context, id int64, opts ...RequestOption) (*Deleted, error) {
	resp, err := s.client.do(ctx, call{name: "keys.revoke", pathParams: idParam(id), opts: opts}, nil)
	if err != nil {
		return nil, err
	}
	return deleted(id, resp), nil
}

// Rotate replaces a key with a new one; the old one works for GraceHours more.
func (s *KeysService) Rotate(ctx context.Context, id int64, params KeyRotateParams, opts ...RequestOption) (*NewAPIKey, error) {
	out := &NewAPIKey{}
	_, err := s.client.do(ctx, call{name: "keys.rotate", pathParams: idParam(id), body: params, opts: opts}, out)
	return result(out, err)
}

// WebhooksService manages your outbound webhook endpoints (plans with the Webhooks feature).
// Verify what they receive with ConstructWebhookEvent.
type WebhooksService struct{ client *Client }

// List returns your webhook endpoints (one page).
func (s *WebhooksService) List(ctx context.Context, opts ...RequestOption) (*Page[WebhookEndpoint], error) {
	return fetchPage[WebhookEndpoint](ctx, s.client, "webhooks.list", nil, opts)
}

// ListAll iterates over your webhook endpoints.
func (s *WebhooksService) ListAll(ctx context.Context, opts ...RequestOption) *Iter[WebhookEndpoint] {
	return newIter(ctx, func() (*Page[WebhookEndpoint], error) { return s.List(ctx, opts...) })
}

// Create adds an endpoint; NewWebhookEndpoint.Secret (whsec_…) is shown only in this answer.
func (s *WebhooksService) Create(ctx context.Context, params WebhookCreateParams, opts ...RequestOption) (*NewWebhookEndpoint, error) {
	out := &NewWebhookEndpoint{}
	_, err := s.client.do(ctx, call{name: "webhooks.create", body: params, opts: opts}, out)
	return result(out, err)
}

// Delete removes an endpoint and its delivery log.
func (s *WebhooksService) Delete(ctx context.Context, id int64, opts ...RequestOption) (*Deleted, error) {
	resp, err := s.client.do(ctx, call{name: "webhooks.delete", pathParams: idParam(id), opts: opts}, nil)
	if err != nil {
		return nil, err
	}
	return deleted(id, resp), nil
}

// BillingService changes your subscription.
type BillingService struct{ client *Client }

// Subscribe moves you to a plan (prorated).
func (s *BillingService) Subscribe(ctx context.Context, params SubscribeParams, opts ...RequestOption) (*SubscribeResult, error) {
	out := &SubscribeResult{}
	_, err := s.client.do(ctx, call{name: "billing.subscribe", body: params, opts: opts}, out)
	return result(out, err)
}

// Cancel ends the subscription at the end of the period.
func (s *BillingService) Cancel(ctx context.Context, opts ...RequestOption) (*CancelResult, error) {
	out := &CancelResult{}
	_, err := s.client.do(ctx, call{name: "billing.cancel", opts: opts}, out)
	return result(out, err)
}

// Credits returns your prepaid credits: balance, ledger, burn-down by day and run-out forecast.
func (s *BillingService) Credits(ctx context.Context, opts ...RequestOption) (*Credits, error) {
	out := &Credits{}
	_, err := s.client.do(ctx, call{name: "billing.credits", opts: opts}, out)
	return result(out, err)
}

// BuyCredits starts buying a credit pack (Credits.Packs, e.g. "50"): the answer's CheckoutURL is
// Stripe's page to pay on; the credits are granted once it is paid.
func (s *BillingService) BuyCredits(ctx context.Context, pack string, opts ...RequestOption) (*CreditsPurchase, error) {
	out := &CreditsPurchase{}
	body := struct {
		Pack string `json:"pack"`
	}{pack}
	_, err := s.client.do(ctx, call{name: "billing.buyCredits", body: body, opts: opts}, out)
	return result(out, err)
}

// InvoicesService lists your invoices.
type InvoicesService struct{ client *Client }

// List returns your invoices (one page).
func (s *InvoicesService) List(ctx context.Context, opts ...RequestOption) (*Page[Invoice], error) {
	return fetchPage[Invoice](ctx, s.client, "invoices.list", nil, opts)
}

// ListAll iterates over your invoices.
func (s *InvoicesService) ListAll(ctx context.Context, opts ...RequestOption) *Iter[Invoice] {
	return newIter(ctx, func() (*Page[Invoice], error) { return s.List(ctx, opts...) })
}

// PricingService prices usage (public: no key needed).
type PricingService struct{ client *Client }

// Quote prices a monthly usage on a plan, line by line.
func (s *PricingService) Quote(ctx context.Context, params QuoteParams, opts ...RequestOption) (*Quote, error) {
	q := url.Values{}
	q.Set("plan", params.Plan)
	for name, n := range map[string]*int64{"calls": params.Calls, "read": params.Read, "write": params.Write, "image": params.Image} {
		if n != nil {
			q.Set(name, strconv.FormatInt(*n, 10))
		}
	}
	if params.PromotionCode != "" {
		q.Set("promotion_code", params.PromotionCode)
	}
	out := &Quote{}
	_, err := s.client.do(ctx, call{name: "pricing.quote", query: q, opts: opts}, out)
	return result(out, err)
}

// ThumbnailsService fetches pets' thumbnails.
type ThumbnailsService struct{ client *Client }

var thumbnailToken = regexp.MustCompile(`(?:^|/thumbnails/)([^/?#]+?)(?:\.jpg)?(?:[?#].*)?$`)

// Download fetches the JPEG behind a pet's signed ThumbnailURL (or its token): no key needed,
// valid for an hour. It is asked of the client's own base URL.
func (s *ThumbnailsService) Download(ctx context.Context, thumbnailURL string, opts ...RequestOption) (*Thumbnail, error) {
	m := thumbnailToken.FindStringSubmatch(thumbnailURL)
	if m == nil {
		return nil, fmt.Errorf("petstore: %q is not a thumbnail URL", thumbnailURL)
	}
	token, err := url.PathUnescape(m[1])
	if err != nil {
		return nil, fmt.Errorf("petstore: %q is not a thumbnail URL: %w", thumbnailURL, err)
	}
	out := &Thumbnail{}
	c := call{name: "thumbnails.download", pathParams: map[string]string{"token": token}, binary: true, opts: opts}
	_, err = s.client.do(ctx, c, out)
	return result(out, err)
}

func result[T any](out *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return out, nil
}
