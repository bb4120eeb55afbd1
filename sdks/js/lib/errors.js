'use strict';

/** Base of every error this SDK throws. */
class PetStoreError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The API answered with an error status. `status` is the HTTP status, `code` the API's
 * `error` field (e.g. 'rate_limit_exceeded'), `body` the whole JSON answer.
 */
class APIError extends PetStoreError {
  constructor({ status, code, message, body, headers, lastResponse }) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || null;
    this.body = body == null ? null : body;
    this.headers = headers || null;
    this.lastResponse = lastResponse || null;
  }
}

/** 401: the key is missing, malformed, unknown or revoked. */
class AuthenticationError extends APIError {}

/** 403: the key may not do this. */
class PermissionDeniedError extends APIError {}

/** 403 `feature_not_in_plan`: the plan lacks this endpoint; `upgradeUrl` says where to upgrade. */
class FeatureNotInPlanError extends PermissionDeniedError {
  constructor(init) {
    super(init);
    const body = init.body || {};
    this.feature = body.feature || null;
    this.plan = body.plan || null;
    this.upgradeUrl = body.upgrade_url || null;
  }
}

/** 400 `validation_error`: `fields` maps each field to its messages. */
class ValidationError extends APIError {
  constructor(init) {
    super(init);
    this.fields = (init.body && init.body.fields) || {};
  }
}

/** 404. */
class NotFoundError extends APIError {}

/** 409: e.g. `email_taken`, or an Idempotency-Key reused with another body. */
class ConflictError extends APIError {}

/**
 * 429 `rate_limit_exceeded`: `retryAfter` is the seconds to wait (from `Retry-After`), `limit`
 * the requests allowed per `window`. Thrown once retries are used up or turned off.
 */
class RateLimitError extends APIError {
  constructor(init) {
    super(init);
    const body = init.body || {};
    this.retryAfter = init.retryAfter != null ? init.retryAfter : body.retry_after != null ? body.retry_after : null;
    this.limit = body.limit != null ? body.limit : null;
    this.window = body.window || null;
    this.upgradeUrl = body.upgrade_url || null;
  }
}

/**
 * 429 `quota_exceeded` (the monthly quota of a hard-capped plan is used up) or
 * `key_cap_exceeded` (the key's own monthly cap): waiting minutes does not help, so never retried.
 */
class QuotaExceededError extends APIError {
  constructor(init) {
    super(init);
    const body = init.body || {};
    this.retryAfter = init.retryAfter != null ? init.retryAfter : null;
    this.included = body.included != null ? body.included : null;
    this.used = body.used != null ? body.used : null;
    this.periodEnd = body.period_end || null;
    this.upgradeUrl = body.upgrade_url || null;
  }
}

/**
 * 429 `credits_exhausted`: on a prepaid plan, the included units and the prepaid credits are
 * spent. `balance` is what is left (a decimal string, less than the call costs), `buyCreditsUrl`
 * where to buy more (or `client.billing.buyCredits(pack)`). Never retried.
 */
class CreditsExhaustedError extends QuotaExceededError {
  constructor(init) {
    super(init);
    const body = init.body || {};
    this.balance = body.balance != null ? body.balance : null;
    this.buyCreditsUrl = body.buy_credits_url || null;
    this.cost = body.cost != null ? body.cost : null;
  }
}

/**
 * 429 `key_cap_exceeded`: this key's own monthly cap (set by you, `keys.update`) is used up; your
 * other keys keep working. Not a rate limit: no Retry-After, never retried; it lasts until
 * `periodEnd` or until you raise the cap.
 */
class KeyCapExceededError extends QuotaExceededError {
  constructor(init) {
    super(init);
    const body = init.body || {};
    this.cap = body.cap != null ? body.cap : null;
    this.keyId = body.key_id != null ? body.key_id : null;
    this.cost = body.cost != null ? body.cost : null;
  }
}

/** No answer: the connection failed (after the retries). `cause` is the underlying error. */
class APIConnectionError extends PetStoreError {
  constructor(message, { cause } = {}) {
    super(message);
    if (cause !== undefined) this.cause = cause;
  }
}

/** No answer within the `timeout` (after the retries). */
class APIConnectionTimeoutError extends APIConnectionError {}

const QUOTA_CODES = new Set(['quota_exceeded', 'key_cap_exceeded', 'credits_exhausted']);

function errorFromResponse({ status, body, headers, lastResponse, retryAfter }) {
  const code = body && typeof body === 'object' ? body.error || null : null;
  const message =
    body && typeof body === 'object' && body.message
      ? body.message
      : `The API answered HTTP ${status}${code ? ` (${code})` : ''}.`;
  const init = { status, code, message, body, headers, lastResponse, retryAfter };
  if (status === 401) return new AuthenticationError(init);
  if (status === 403) {
    return code === 'feature_not_in_plan' ? new FeatureNotInPlanError(init) : new PermissionDeniedError(init);
  }
  if (status === 404) return new NotFoundError(init);
  if (status === 409) return new ConflictError(init);
  if (status === 400 && code === 'validation_error') return new ValidationError(init);
  if (status === 429) {
    if (code === 'credits_exhausted') return new CreditsExhaustedError(init);
    if (code === 'key_cap_exceeded') return new KeyCapExceededError(init);
    return QUOTA_CODES.has(code) ? new QuotaExceededError(init) : new RateLimitError(init);
  }
  return new APIError(init);
}

module.exports = {
  PetStoreError,
  APIError,
  AuthenticationError,
  PermissionDeniedError,
  FeatureNotInPlanError,
  ValidationError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  QuotaExceededError,
  CreditsExhaustedError,
  KeyCapExceededError,
  APIConnectionError,
  APIConnectionTimeoutError,
  errorFromResponse,
  QUOTA_CODES,
};
