package petstore

import (
	"encoding/json"
	"time"
)

// PetStatus is a pet's status.
type PetStatus string

// The statuses a pet can have.
const (
	StatusAvailable PetStatus = "available"
	StatusPending   PetStatus = "pending"
	StatusSold      PetStatus = "sold"
)

// Pet is one of your pets.
type Pet struct {
	APIResource
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Species      string    `json:"species"`
	Status       PetStatus `json:"status"`
	Tags         []string  `json:"tags"`
	ThumbnailURL *string   `json:"thumbnail_url"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// ImageInfo describes an uploaded image.
type ImageInfo struct {
	Format         string `json:"format"`
	OriginalWidth  int    `json:"original_width"`
	OriginalHeight int    `json:"original_height"`
	Width          int    `json:"width"`
	Height         int    `json:"height"`
}

// PetWithImage is the answer to an image upload.
type PetWithImage struct {
	Pet
	Image ImageInfo `json:"image"`
}

// PetCreate is a new pet (also the whole pet of a Replace). Name is required.
type PetCreate struct {
	Name    string    `json:"name"`
	Species string    `json:"species,omitempty"`
	Status  PetStatus `json:"status,omitempty"`
	Tags    []string  `json:"tags,omitempty"`
}

// PetUpdate changes only the fields set: Name and Status when not empty, Species when not nil,
// Tags when not nil (an empty, non-nil slice clears them).
type PetUpdate struct {
	Name    string
	Species *string
	Status  PetStatus
	Tags    []string
}

// MarshalJSON sends only the fields set.
func (u PetUpdate) MarshalJSON() ([]byte, error) {
	fields := map[string]interface{}{}
	if u.Name != "" {
		fields["name"] = u.Name
	}
	if u.Species != nil {
		fields["species"] = *u.Species
	}
	if u.Status != "" {
		fields["status"] = u.Status
	}
	if u.Tags != nil {
		fields["tags"] = u.Tags
	}
	return json.Marshal(fields)
}

// String returns a pointer to s (for optional fields such as PetUpdate.Species).
func String(s string) *string { return &s }

// PetListParams filter and page a pet list; zero values are left out.
type PetListParams struct {
	Limit   int
	Offset  int
	Status  PetStatus
	Species string
}

// Deleted is the answer to a delete or a revoke.
type Deleted struct {
	APIResource
	ID      int64
	Deleted bool
}

// Thumbnail is a pet's JPEG thumbnail.
type Thumbnail struct {
	APIResource
	Content     []byte
	ContentType string
}

// Registration is a new account: its first key is shown only here.
type Registration struct {
	APIResource
	CustomerID int64  `json:"customer_id"`
	APIKey     string `json:"api_key"`
	Plan       string `json:"plan"`
}

// RegisterParams sign up.
type RegisterParams struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// Analytics counts your pets.
type Analytics struct {
	APIResource
	Total     int            `json:"total"`
	ByStatus  map[string]int `json:"by_status"`
	BySpecies map[string]int `json:"by_species"`
}

// UsageCounts are the counters of a usage row.
type UsageCounts struct {
	Calls            int64 `json:"calls"`
	Units            int64 `json:"units"`
	Errors           int64 `json:"errors"`
	Refused          int64 `json:"refused"`
	RefusedRateLimit int64 `json:"refused_rate_limit"`
	RefusedQuota     int64 `json:"refused_quota"`
	RefusedFeature   int64 `json:"refused_feature"`
	RefusedKey       int64 `json:"refused_key"`
	RefusedKeyCap    int64 `json:"refused_key_cap"`
}

// KeyUsage is one key's usage this period (Usage.ByKey).
type KeyUsage struct {
	KeyID           int64   `json:"key_id"`
	Name            string  `json:"name"`
	Prefix          string  `json:"prefix"`
	Active          bool    `json:"active"`
	Calls           int64   `json:"calls"`
	Units           int64   `json:"units"`
	RefusedKeyCap   int64   `json:"refused_key_cap"`
	MonthlyUnitCap  *int64  `json:"monthly_unit_cap"`
	MonthlySpendCap *string `json:"monthly_spend_cap"`
	// CapUnits is the cap enforced, in units (the lower of the two).
	CapUnits *int64 `json:"cap_units"`
}

// EndpointUsage is one endpoint's usage.
type EndpointUsage struct {
	UsageCounts
	Endpoint string `json:"endpoint"`
}

// DayUsage is one day's usage.
type DayUsage struct {
	UsageCounts
	Date string `json:"date"`
}

// Usage is the current billing period's usage.
type Usage struct {
	APIResource
	Period struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"period"`
	Plan struct {
		Slug          string `json:"slug"`
		Name          string `json:"name"`
		OveragePolicy string `json:"overage_policy"`
	} `json:"plan"`
	UnitsUsed      int64           `json:"units_used"`
	IncludedUnits  *int64          `json:"included_units"`
	RemainingUnits *int64          `json:"remaining_units"`
	OverageUnits   int64           `json:"overage_units"`
	Calls          int64           `json:"calls"`
	Errors         int64           `json:"errors"`
	Refused        int64           `json:"refused"`
	ByEndpoint     []EndpointUsage `json:"by_endpoint"`
	ByDay          []DayUsage      `json:"by_day"`
	ByKey          []KeyUsage      `json:"by_key"`
	EstimatedBill  *Quote          `json:"estimated_bill"`
	Forecast       *Forecast       `json:"forecast"`
}

// Forecast projects the period from recent daily usage; Method says how (or why there is none
// yet, when the numbers are nil).
type Forecast struct {
	Method            string     `json:"method"`
	SufficientHistory bool       `json:"sufficient_history"`
	DailyUnits        *float64   `json:"daily_units"`
	UnitsAtPeriodEnd  *int64     `json:"units_at_period_end"`
	BillAtPeriodEnd   *Quote     `json:"bill_at_period_end"`
	QuotaExhaustedAt  *time.Time `json:"quota_exhausted_at"`
}

// WebhookEndpoint is one of your outbound webhook endpoints.
type WebhookEndpoint struct {
	APIResource
	ID             int64      `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
}

// NewWebhookEndpoint is a created endpoint: Secret signs its deliveries, shown only here.
type NewWebhookEndpoint struct {
	WebhookEndpoint
	Secret string `json:"secret"`
}

// WebhookCreateParams: the URL events are POSTed to, and the event types it receives.
type WebhookCreateParams struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// APIKey is one of your keys (the key itself is shown only when created).
type APIKey struct {
	APIResource
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Active     bool       `json:"active"`
	// MonthlyUnitCap is the units this key may use per period (nil: no cap).
	MonthlyUnitCap *int64 `json:"monthly_unit_cap"`
	// MonthlySpendCap is the dollars this key may spend per period, "25.00" (nil: no cap).
	MonthlySpendCap *string `json:"monthly_spend_cap"`
	// SpendCapUnits is the spend cap in units at the plan's prices.
	SpendCapUnits *int64 `json:"spend_cap_units"`
	// UnitsUsed is the billable units this key used this period.
	UnitsUsed int64 `json:"units_used"`
}

// KeyUpdateParams sets a key's own monthly caps: a field left nil is kept; Remove… sends null,
// which removes that cap. MonthlySpendCap is dollars as a string ("25.00"), on plans that bill
// overage.
type KeyUpdateParams struct {
	MonthlyUnitCap        *int64
	MonthlySpendCap       *string
	RemoveMonthlyUnitCap  bool
	RemoveMonthlySpendCap bool
}

// MarshalJSON sends only the caps given, and null for those removed.
func (p KeyUpdateParams) MarshalJSON() ([]byte, error) {
	body := map[string]interface{}{}
	if p.RemoveMonthlyUnitCap {
		body["monthly_unit_cap"] = nil
	} else if p.MonthlyUnitCap != nil {
		body["monthly_unit_cap"] = *p.MonthlyUnitCap
	}
	if p.RemoveMonthlySpendCap {
		body["monthly_spend_cap"] = nil
	} else if p.MonthlySpendCap != nil {
		body["monthly_spend_cap"] = *p.MonthlySpendCap
	}
	return json.Marshal(body)
}

// NewAPIKey is a created or rotated key: Key is shown only in this answer.
type NewAPIKey struct {
	APIKey
	Key string `json:"api_key"`
}

// KeyCreateParams name a new key.
type KeyCreateParams struct {
	Name string `json:"name,omitempty"`
}

// KeyRotateParams: GraceHours the old key keeps working (0 to 168; 0 revokes it now).
type KeyRotateParams struct {
	GraceHours int `json:"grace_hours"`
}

// PaymentMethod is a card on file.
type PaymentMethod struct {
	ID       string `json:"id"`
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

// Subscription is a paid plan's subscription.
type Subscription struct {
	Plan              string         `json:"plan"`
	PlanName          string         `json:"plan_name"`
	Status            string         `json:"status"`
	CurrentPeriodEnd  *time.Time     `json:"current_period_end"`
	CancelAtPeriodEnd bool           `json:"cancel_at_period_end"`
	PaymentMethod     *PaymentMethod `json:"payment_method"`
	SubscriptionID    string         `json:"subscription_id"`
	// TrialEnd is when the free trial ends (Status "trialing"); nil otherwise.
	TrialEnd *time.Time `json:"trial_end"`
}

// SubscribeParams choose a plan; PaymentMethod is a Stripe payment method id (test mode:
// pm_card_visa), needed for the first paid plan unless one is on file. Trial starts the plan's
// free trial without a card (once per customer: a ConflictError trial_already_used);
// PromotionCode's discount applies to the subscription (400 promotion_code_invalid).
type SubscribeParams struct {
	Plan          string `json:"plan"`
	PaymentMethod string `json:"payment_method,omitempty"`
	Trial         bool   `json:"trial,omitempty"`
	PromotionCode string `json:"promotion_code,omitempty"`
}

// SubscribeResult is the plan after a subscribe.
type SubscribeResult struct {
	APIResource
	Plan         string        `json:"plan"`
	Subscription *Subscription `json:"subscription"`
}

// CancelResult is the subscription after a cancel.
type CancelResult struct {
	APIResource
	Subscription *Subscription `json:"subscription"`
}

// Credits is your prepaid credits. Amounts are decimal strings in dollars ("12.50").
type Credits struct {
	APIResource
	Currency       string `json:"currency"`
	Balance        string `json:"balance"`
	PeriodBalance  string `json:"period_balance"`
	UsedThisPeriod string `json:"used_this_period"`
	Prepaid        bool   `json:"prepaid"`
	// AllowanceUnits is a prepaid plan's cap for the period (nil: no limit, or not prepaid).
	AllowanceUnits *int64   `json:"allowance_units"`
	RunsOutOn      *string  `json:"runs_out_on"`
	ForecastMethod string   `json:"forecast_method"`
	DailyUnits     *float64 `json:"daily_units"`
	BurnDown       []struct {
		Date    string `json:"date"`
		Units   int64  `json:"units"`
		Balance string `json:"balance"`
	} `json:"burn_down"`
	Grants []struct {
		Kind                string    `json:"kind"`
		Amount              string    `json:"amount"`
		Period              string    `json:"period"`
		Created             time.Time `json:"created"`
		StripeCreditGrantID string    `json:"stripe_credit_grant_id"`
	} `json:"grants"`
	Packs []CreditPack `json:"packs"`
}

// CreditPack is a pack of credits on sale.
type CreditPack struct {
	Pack   string `json:"pack"`
	Amount string `json:"amount"`
}

// CreditsPurchase is a pack to pay for on Stripe's page (CheckoutURL).
type CreditsPurchase struct {
	APIResource
	Pack        string `json:"pack"`
	Amount      string `json:"amount"`
	CheckoutURL string `json:"checkout_url"`
	SessionID   string `json:"session_id"`
}

// Invoice is one of your invoices. Amounts are decimal strings in dollars ("49.00").
type Invoice struct {
	ID               string     `json:"id"`
	Number           string     `json:"number"`
	Status           string     `json:"status"`
	Total            string     `json:"total"`
	AmountDue        string     `json:"amount_due"`
	AmountPaid       string     `json:"amount_paid"`
	Currency         string     `json:"currency"`
	PeriodStart      *time.Time `json:"period_start"`
	PeriodEnd        *time.Time `json:"period_end"`
	Created          *time.Time `json:"created"`
	HostedInvoiceURL string     `json:"hosted_invoice_url"`
}

// QuoteLine is one line of a quote. Amounts are decimal strings in dollars.
type QuoteLine struct {
	Description string  `json:"description"`
	Quantity    int64   `json:"quantity"`
	UnitPrice   *string `json:"unit_price"`
	Amount      *string `json:"amount"`
	Kind        string  `json:"kind"`
}

// Quote prices a monthly usage on a plan. Total is nil for custom pricing.
type Quote struct {
	APIResource
	Plan       string      `json:"plan"`
	PlanName   string      `json:"plan_name"`
	Currency   string      `json:"currency"`
	Total      *string     `json:"total"`
	Lines      []QuoteLine `json:"lines"`
	Custom     bool        `json:"custom"`
	Capped     bool        `json:"capped"`
	Suggestion *struct {
		Plan     string `json:"plan"`
		PlanName string `json:"plan_name"`
		Total    string `json:"total"`
	} `json:"suggestion"`
	// Discount is the promotion code's (a "discount" line takes it off); nil without a code.
	Discount *QuoteDiscount `json:"discount"`
	// TrialDays is the plan's free trial in days (0: none).
	TrialDays int `json:"trial_days"`
}

// QuoteDiscount is a promotion code's discount: PercentOff or AmountOff (dollars).
type QuoteDiscount struct {
	Code             string  `json:"code"`
	PercentOff       *string `json:"percent_off"`
	AmountOff        *string `json:"amount_off"`
	Duration         string  `json:"duration"`
	DurationInMonths *int    `json:"duration_in_months"`
	Description      string  `json:"description"`
}

// QuoteParams: Plan and Calls (or Read, Write and Image counts); nil counts are left out.
// PromotionCode, when set, prices its discount too.
type QuoteParams struct {
	Plan          string
	Calls         *int64
	Read          *int64
	Write         *int64
	Image         *int64
	PromotionCode string
}

// Int64 returns a pointer to n (for optional counts such as QuoteParams.Calls).
func Int64(n int64) *int64 { return &n }
