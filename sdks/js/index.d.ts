// Types of @petstore/sdk (CommonJS: `module.exports = PetStore`; the ESM entry's types are in
// index.d.mts). Field names are the API's own (snake_case), as on the wire.

declare class PetStore {
  constructor(options?: PetStore.ClientOptions);
  readonly apiKey: string | null;
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly maxRetryAfter: number;
  readonly timeout: number;
  /** The metadata of the last answer this client received. */
  readonly lastResponse: PetStore.ResponseInfo | null;

  readonly auth: PetStore.AuthResource;
  readonly pets: PetStore.PetsResource;
  readonly analytics: PetStore.AnalyticsResource;
  readonly usage: PetStore.UsageResource;
  readonly keys: PetStore.KeysResource;
  readonly billing: PetStore.BillingResource;
  readonly invoices: PetStore.InvoicesResource;
  readonly webhooks: PetStore.WebhooksResource;
  readonly pricing: PetStore.PricingResource;
  readonly thumbnails: PetStore.ThumbnailsResource;

  static readonly PetStore: typeof PetStore;
  static readonly default: typeof PetStore;
}

declare namespace PetStore {
  export interface ClientOptions {
    /** The API key (`ps_live_…`). Default: the PETSTORE_API_KEY environment variable. */
    apiKey?: string | null;
    /** Default: PETSTORE_BASE_URL, else https://api.petstore.example */
    baseUrl?: string;
    /** Retries after a 429, a 502/503/504 or a connection error. 0 turns retries off. Default 2. */
    maxRetries?: number;
    /** Seconds: a Retry-After longer than this is thrown at once instead of slept. Default 60. */
    maxRetryAfter?: number;
    /** Seconds: ceiling of the first backoff (doubled on each retry, full jitter). Default 0.5. */
    initialRetryDelay?: number;
    /** Seconds: ceiling of any backoff. Default 8. */
    maxRetryDelay?: number;
    /** Milliseconds per attempt. Default 30000. */
    timeout?: number;
    /** A fetch implementation. Default: the global fetch (Node 18+). */
    fetch?: typeof fetch;
    /** Called before each retry's wait (logging, metrics). */
    onRetry?: (event: RetryEvent) => void;
  }

  /** Options of a single call (the last argument of every method). */
  export interface RequestOptions {
    /** Sent as Idempotency-Key on a write. Default: a random UUID per call, kept across retries. */
    idempotencyKey?: string;
    maxRetries?: number;
    timeout?: number;
    signal?: AbortSignal;
    /** Overrides the client's key for this call. */
    apiKey?: string;
  }

  export interface RetryEvent {
    /** 1 for the first retry. */
    attempt: number;
    /** Seconds waited before the retry. */
    delay: number;
    reason: 'rate_limited' | 'unavailable' | 'connection_error' | 'timeout';
    status: number | null;
    error: Error;
    method: string;
    path: string;
    idempotencyKey: string | null;
  }

  export interface RateLimitInfo {
    limit: number | null;
    remaining: number | null;
    /** Seconds until a slot frees. */
    reset: number | null;
  }

  /** Metadata of the answer an object came from (`obj.lastResponse`, also `client.lastResponse`). */
  export interface ResponseInfo {
    status: number;
    headers: Headers;
    /** X-RateLimit-Limit / -Remaining / -Reset; null on unmetered answers. */
    rateLimit: RateLimitInfo | null;
    /** X-Usage-Cost: units this call cost. */
    usageCost: number | null;
    /** X-Quota-Remaining: units left in the period. */
    quotaRemaining: number | null;
    /** Retry-After in seconds. */
    retryAfter: number | null;
    /** The Idempotency-Key sent (writes only). */
    idempotencyKey: string | null;
  }

  export type WithResponse<T> = T & { readonly lastResponse: ResponseInfo };

  export type PetStatus = 'available' | 'pending' | 'sold';

  export interface Pet {
    id: number;
    name: string;
    species: string;
    status: PetStatus;
    tags: string[];
    thumbnail_url: string | null;
    created_at: string;
    updated_at: string;
  }

  export interface PetCreateParams {
    name: string;
    species?: string;
    status?: PetStatus;
    tags?: string[];
  }

  export type PetUpdateParams = Partial<PetCreateParams>;

  export interface PetListParams {
    limit?: number;
    offset?: number;
    status?: PetStatus;
    species?: string;
  }

  export interface ImageInfo {
    format: string;
    original_width: number;
    original_height: number;
    width: number;
    height: number;
  }

  export interface PetWithImage extends Pet {
    image: ImageInfo;
  }

  export interface UploadImageOptions extends RequestOptions {
    filename?: string;
    contentType?: string;
  }

  export interface Deleted {
    id: number;
    deleted: true;
  }

  export interface Registration {
    customer_id: number;
    api_key: string;
    plan: string;
  }

  export interface RegisterParams {
    email: string;
    name?: string;
  }

  export interface Analytics {
    total: number;
    by_status: Record<string, number>;
    by_species: Record<string, number>;
  }

  export interface UsageCounts {
    calls: number;
    units: number;
    errors: number;
    refused: number;
    refused_rate_limit: number;
    refused_quota: number;
    refused_feature: number;
    refused_key: number;
    refused_key_cap: number;
  }

  /** One key's usage this period (`Usage.by_key`). */
  export interface KeyUsage {
    key_id: number;
    name: string;
    prefix: string;
    active: boolean;
    calls: number;
    units: number;
    refused_key_cap: number;
    monthly_unit_cap: number | null;
    /** Dollars as a string ("25.00"). */
    monthly_spend_cap: string | null;
    /** The cap enforced, in units (the lower of the two). */
    cap_units: number | null;
  }

  export interface Usage {
    period: { start: string; end: string };
    plan: { slug: string; name: string; overage_policy: string };
    units_used: number;
    included_units: number | null;
    remaining_units: number | null;
    overage_units: number;
    calls: number;
    errors: number;
    refused: number;
    by_endpoint: Array<UsageCounts & { endpoint: string }>;
    by_day: Array<UsageCounts & { date: string }>;
    by_key: KeyUsage[];
    estimated_bill: Quote | null;
    forecast: Forecast;
  }

  /** The period projected from recent daily usage; null numbers with too little history. */
  export interface Forecast {
    /** How it is computed, or why there is none yet. */
    method: string;
    sufficient_history: boolean;
    daily_units: number | null;
    units_at_period_end: number | null;
    bill_at_period_end: Quote | null;
    /** ISO date-time; null when the quota holds (or there is none). */
    quota_exhausted_at: string | null;
  }

  export type WebhookEventType =
    | 'usage.threshold_reached'
    | 'usage.forecast_exceeds_quota'
    | 'usage.forecast_exceeds_spend'
    | 'quota.exhausted'
    | 'key.cap_reached'
    | 'plan.changed'
    | 'invoice.paid'
    | 'invoice.payment_failed';

  export interface WebhookEndpoint {
    id: number;
    url: string;
    events: WebhookEventType[];
    enabled: boolean;
    created_at: string;
    disabled_at: string | null;
    disabled_reason: string;
  }

  export interface NewWebhookEndpoint extends WebhookEndpoint {
    /** whsec_…: signs every delivery. Shown only once. */
    secret: string;
  }

  export interface WebhookCreateParams {
    url: string;
    events: WebhookEventType[];
  }

  /** What your endpoint receives (after constructEvent verified it). */
  export interface WebhookEvent<T = Record<string, any>> {
    id: string;
    type: WebhookEventType;
    /** Unix seconds. */
    created: number;
    data: T;
  }

  export interface VerifyOptions {
    /** Seconds a signature's timestamp may be away from now. Default 300. */
    tolerance?: number;
    /** Unix seconds (tests). Default: now. */
    now?: number;
  }

  export class WebhookSignatureError extends Error {}

  export interface WebhookSignatureHelpers {
    readonly SIGNATURE_HEADER: string;
    readonly DEFAULT_TOLERANCE: number;
    readonly WebhookSignatureError: typeof WebhookSignatureError;
    computeSignature(payload: string | Uint8Array, secret: string, timestamp: number): string;
    /** Throws WebhookSignatureError unless the header signs the raw body in time. */
    verifySignature(
      payload: string | Uint8Array,
      header: string | null | undefined,
      secret: string,
      options?: VerifyOptions,
    ): void;
    /** The verified event; throws WebhookSignatureError. */
    constructEvent<T = Record<string, any>>(
      payload: string | Uint8Array,
      header: string | null | undefined,
      secret: string,
      options?: VerifyOptions,
    ): WebhookEvent<T>;
  }

  export const webhooks: WebhookSignatureHelpers;

  export interface ApiKey {
    id: number;
    name: string;
    prefix: string;
    created_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
    expires_at: string | null;
    active: boolean;
    /** Units this key may use per period; null: no cap. */
    monthly_unit_cap: number | null;
    /** Dollars this key may spend per period, as a string ("25.00"); null: no cap. */
    monthly_spend_cap: string | null;
    /** The spend cap in units at the plan's prices. */
    spend_cap_units: number | null;
    /** Billable units this key used this period. */
    units_used: number;
  }

  export interface NewApiKey extends ApiKey {
    /** Shown only once. */
    api_key: string;
  }

  export interface KeyCreateParams {
    name?: string;
  }

  export interface KeyUpdateParams {
    /** Units per period (a positive integer); null removes the cap. */
    monthly_unit_cap?: number | null;
    /** Dollars per period as a string ("25.00"; plans that bill overage); null removes it. */
    monthly_spend_cap?: string | null;
  }

  export interface KeyRotateParams {
    /** Hours the old key keeps working (0 to 168; 0 revokes it now). */
    grace_hours?: number;
  }

  export interface PaymentMethod {
    id: string;
    brand: string;
    last4: string;
    exp_month: number;
    exp_year: number;
  }

  export interface Subscription {
    plan: string;
    plan_name: string;
    status: string;
    current_period_end: string | null;
    cancel_at_period_end: boolean;
    payment_method: PaymentMethod | null;
    subscription_id: string;
    /** ISO date-time the free trial ends (status "trialing"); else null. */
    trial_end: string | null;
  }

  export interface SubscribeParams {
    plan: string;
    /** A Stripe payment method id (test mode: pm_card_visa). */
    payment_method?: string;
    /** Start the plan's free trial: no card needed, once per customer (409 trial_already_used). */
    trial?: boolean;
    /** A promotion code: its discount applies to the subscription (400 promotion_code_invalid). */
    promotion_code?: string;
  }

  export interface SubscribeResult {
    plan: string;
    subscription: Subscription | null;
  }

  export interface CancelResult {
    subscription: Subscription;
  }

  /** Your prepaid credits. Money is a decimal string in dollars, e.g. "12.50". */
  export interface Credits {
    currency: string;
    balance: string;
    period_balance: string;
    used_this_period: string;
    prepaid: boolean;
    allowance_units: number | null;
    runs_out_on: string | null;
    forecast_method: string;
    daily_units: number | null;
    burn_down: { date: string; units: number; balance: string }[];
    grants: {
      kind: 'purchase' | 'monthly' | 'applied';
      amount: string;
      period: string;
      created: string;
      stripe_credit_grant_id: string;
    }[];
    packs: { pack: string; amount: string }[];
  }

  export interface CreditsPurchase {
    pack: string;
    amount: string;
    /** Stripe's hosted payment page: the credits are granted once it is paid. */
    checkout_url: string;
    session_id: string;
  }

  export interface Invoice {
    id: string;
    number: string;
    status: string;
    /** Money is a decimal string in dollars, e.g. "49.00". */
    total: string;
    amount_due: string;
    amount_paid: string;
    currency: string;
    period_start: string | null;
    period_end: string | null;
    created: string | null;
    hosted_invoice_url: string;
  }

  export interface QuoteLine {
    description: string;
    quantity: number;
    unit_price: string | null;
    amount: string | null;
    kind: 'base' | 'included' | 'usage' | 'tier' | 'flat_fee' | 'cap' | 'custom' | 'discount' | 'trial';
  }

  export interface Quote {
    plan: string;
    plan_name: string;
    currency: string;
    total: string | null;
    lines: QuoteLine[];
    custom: boolean;
    capped: boolean;
    suggestion: { plan: string; plan_name: string; total: string } | null;
    /** The promotion code's discount (a `discount` line takes it off); null without a code. */
    discount: QuoteDiscount | null;
    /** The plan's free trial in days (0: none). */
    trial_days: number;
  }

  export interface QuoteDiscount {
    code: string;
    percent_off: string | null;
    amount_off: string | null;
    duration: 'once' | 'repeating' | 'forever';
    duration_in_months: number | null;
    description: string;
  }

  export interface QuoteParams {
    plan: string;
    calls?: number;
    read?: number;
    write?: number;
    image?: number;
    /** Price the discount of this promotion code too. */
    promotion_code?: string;
  }

  export class Page<T> implements AsyncIterable<T> {
    readonly results: T[];
    readonly count: number;
    readonly next: string | null;
    readonly previous: string | null;
    readonly lastResponse: ResponseInfo;
    hasNextPage(): boolean;
    nextPage(): Promise<Page<T> | null>;
    /** Every item from this page on, fetching the following pages. */
    [Symbol.asyncIterator](): AsyncIterator<T>;
  }

  export interface AuthResource {
    register(params: RegisterParams, options?: RequestOptions): Promise<WithResponse<Registration>>;
  }

  export interface PetsResource {
    list(params?: PetListParams, options?: RequestOptions): Promise<Page<Pet>>;
    listAll(params?: PetListParams, options?: RequestOptions): AsyncIterableIterator<Pet>;
    create(params: PetCreateParams, options?: RequestOptions): Promise<WithResponse<Pet>>;
    retrieve(id: number, options?: RequestOptions): Promise<WithResponse<Pet>>;
    replace(id: number, params: PetCreateParams, options?: RequestOptions): Promise<WithResponse<Pet>>;
    update(id: number, params: PetUpdateParams, options?: RequestOptions): Promise<WithResponse<Pet>>;
    delete(id: number, options?: RequestOptions): Promise<WithResponse<Deleted>>;
    uploadImage(
      id: number,
      image: Uint8Array | ArrayBuffer | Blob,
      options?: UploadImageOptions,
    ): Promise<WithResponse<PetWithImage>>;
  }

  export interface AnalyticsResource {
    retrieve(options?: RequestOptions): Promise<WithResponse<Analytics>>;
  }

  export interface UsageResource {
    retrieve(options?: RequestOptions): Promise<WithResponse<Usage>>;
  }

  export interface KeysResource {
    list(options?: RequestOptions): Promise<Page<ApiKey>>;
    listAll(options?: RequestOptions): AsyncIterableIterator<ApiKey>;
    create(params?: KeyCreateParams, options?: RequestOptions): Promise<WithResponse<NewApiKey>>;
    retrieve(id: number, options?: RequestOptions): Promise<WithResponse<ApiKey>>;
    update(id: number, params: KeyUpdateParams, options?: RequestOptions): Promise<WithResponse<ApiKey>>;
    revoke(id: number, options?: RequestOptions): Promise<WithResponse<Deleted>>;
    rotate(id: number, params?: KeyRotateParams, options?: RequestOptions): Promise<WithResponse<NewApiKey>>;
  }

  export interface BillingResource {
    subscribe(params: SubscribeParams, options?: RequestOptions): Promise<WithResponse<SubscribeResult>>;
    cancel(options?: RequestOptions): Promise<WithResponse<CancelResult>>;
    credits(options?: RequestOptions): Promise<WithResponse<Credits>>;
    buyCredits(pack: string, options?: RequestOptions): Promise<WithResponse<CreditsPurchase>>;
  }

  export interface InvoicesResource {
    list(options?: RequestOptions): Promise<Page<Invoice>>;
    listAll(options?: RequestOptions): AsyncIterableIterator<Invoice>;
  }

  export interface WebhooksResource {
    list(options?: RequestOptions): Promise<Page<WebhookEndpoint>>;
    listAll(options?: RequestOptions): AsyncIterableIterator<WebhookEndpoint>;
    create(params: WebhookCreateParams, options?: RequestOptions): Promise<WithResponse<NewWebhookEndpoint>>;
    delete(id: number, options?: RequestOptions): Promise<WithResponse<Deleted>>;
  }

  export interface PricingResource {
    quote(params: QuoteParams, options?: RequestOptions): Promise<WithResponse<Quote>>;
  }

  export interface ThumbnailsResource {
    /** The JPEG behind a pet's signed `thumbnail_url` (or its token); no key needed. */
    download(thumbnailUrl: string, options?: RequestOptions): Promise<WithResponse<Uint8Array>>;
  }

  export interface Operation {
    /** The client method: 'pets.list' is client.pets.list(). */
    readonly name: string;
    readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    readonly path: string;
    readonly auth: boolean;
  }

  export class PetStoreError extends Error {}

  export interface APIErrorInit {
    status: number;
    code?: string | null;
    message?: string;
    body?: unknown;
    headers?: Headers | null;
    lastResponse?: ResponseInfo | null;
    retryAfter?: number | null;
  }

  export class APIError extends PetStoreError {
    constructor(init: APIErrorInit);
    readonly status: number;
    /** The API's `error` code, e.g. 'rate_limit_exceeded'. */
    readonly code: string | null;
    readonly body: any;
    readonly headers: Headers | null;
    readonly lastResponse: ResponseInfo | null;
  }
  export class AuthenticationError extends APIError {}
  export class PermissionDeniedError extends APIError {}
  export class FeatureNotInPlanError extends PermissionDeniedError {
    readonly feature: string | null;
    readonly plan: string | null;
    readonly upgradeUrl: string | null;
  }
  export class ValidationError extends APIError {
    /** Messages by field, as the API sends them (a list field may nest them by index). */
    readonly fields: Record<string, any>;
  }
  export class NotFoundError extends APIError {}
  export class ConflictError extends APIError {}
  export class RateLimitError extends APIError {
    /** Seconds to wait. */
    readonly retryAfter: number | null;
    readonly limit: number | null;
    readonly window: string | null;
    readonly upgradeUrl: string | null;
  }
  export class QuotaExceededError extends APIError {
    readonly retryAfter: number | null;
    readonly included: number | null;
    readonly used: number | null;
    readonly periodEnd: string | null;
    readonly upgradeUrl: string | null;
  }
  export class CreditsExhaustedError extends QuotaExceededError {
    /** Credits left, a decimal string in dollars. */
    readonly balance: string | null;
    readonly buyCreditsUrl: string | null;
    readonly cost: number | null;
  }
  /** 429 key_cap_exceeded: this key's own monthly cap is used up. Never retried. */
  export class KeyCapExceededError extends QuotaExceededError {
    readonly cap: number | null;
    readonly keyId: number | null;
    readonly cost: number | null;
  }
  export class APIConnectionError extends PetStoreError {
    constructor(message: string, options?: { cause?: unknown });
  }
  export class APIConnectionTimeoutError extends APIConnectionError {}
  export const VERSION: string;
  export const DEFAULT_BASE_URL: string;
  export const USER_AGENT: string;
  export const OPERATIONS: readonly Operation[];
  export function parseRetryAfter(value: string | null | undefined): number | null;
}

export = PetStore;
