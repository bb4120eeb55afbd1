'use strict';

const { randomUUID } = require('node:crypto');
const errors = require('./errors');
const { OPERATIONS, operation } = require('./operations');
const { VERSION } = require('./version');
const resources = require('./resources');
const webhookSignature = require('./webhooks');

const DEFAULT_BASE_URL = 'https://api.petstore.example';
const USER_AGENT = `petstore-sdk-js/${VERSION} node/${process.versions.node}`;
const RETRY_STATUSES = new Set([502, 503, 504]);

const DEFAULTS = Object.freeze({
  maxRetries: 2,
  maxRetryAfter: 60, // seconds: a longer Retry-After is thrown at once rather than slept
  initialRetryDelay: 0.5, // seconds: the first backoff's ceiling, doubled on each retry
  maxRetryDelay: 8, // seconds: the backoff's ceiling
  timeout: 30000, // milliseconds, per attempt
});

/** `Retry-After` as seconds: delay-seconds or an HTTP date; null when absent or unreadable. */
function parseRetryAfter(value) {
  if (value == null || value === '') return null;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return null;
  return Math.max(0, (when - Date.now()) / 1000);
}

function headerNumber(headers, name) {
  const value = headers.get(name);
  if (value == null || value === '') return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

/** What every answer says besides its body: status, headers, rate limit, cost and quota. */
function responseInfo(response, idempotencyKey) {
  const headers = response.headers;
  return {
    status: response.status,
    headers,
    rateLimit: headers.has('x-ratelimit-limit')
      ? {
          limit: headerNumber(headers, 'x-ratelimit-limit'),
          remaining: headerNumber(headers, 'x-ratelimit-remaining'),
          reset: headerNumber(headers, 'x-ratelimit-reset'),
        }
      : null,
    usageCost: headerNumber(headers, 'x-usage-cost'),
    quotaRemaining: headerNumber(headers, 'x-quota-remaining'),
    retryAfter: parseRetryAfter(headers.get('retry-after')),
    idempotencyKey: idempotencyKey || null,
  };
}

function parseBody(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error: null, message: text.slice(0, 500) };
  }
}

function sleep(seconds) {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

class TimeoutSignal extends Error {}

class PetStore {
  /**
   * @param {object} [options] see index.d.ts (ClientOptions)
   */
  constructor(options = {}) {
    const env = typeof process !== 'undefined' ? process.env : {};
    this.apiKey = options.apiKey != null ? options.apiKey : env.PETSTORE_API_KEY || null;
    this.baseUrl = String(options.baseUrl || env.PETSTORE_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, '');
    for (const name of Object.keys(DEFAULTS)) {
      const value = options[name] != null ? Number(options[name]) : DEFAULTS[name];
      if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number >= 0`);
      this[name] = value;
    }
    this.fetch = options.fetch || globalThis.fetch;
    if (typeof this.fetch !== 'function') {
      throw new errors.PetStoreError('No fetch: use Node 18 or later, or pass the `fetch` option.');
    }
    this.onRetry = options.onRetry || null;
    this.lastResponse = null;

    this.auth = new resources.Auth(this);
    this.pets = new resources.Pets(this);
    this.analytics = new resources.Analytics(this);
    this.usage = new resources.Usage(this);
    this.keys = new resources.Keys(this);
    this.billing = new resources.Billing(this);
    this.invoices = new resources.Invoices(this);
    this.webhooks = new resources.Webhooks(this);
    this.pricing = new resources.Pricing(this);
    this.thumbnails = new resources.Thumbnails(this);
  }

  /**
   * Calls one operation of the table. Returns `{ data, info }`; throws an APIError subclass for
   * an error status and APIConnectionError when no answer came. Writes carry an Idempotency-Key
   * (the caller's, or a random UUID) that stays the same on every retry of this call.
   */
  async request(name, { params, query, body, multipart, binary = false, options = {} } = {}) {
    const op = operation(name);
    const path = op.path.replace(/\{(\w+)\}/g, (_, key) => {
      const value = params ? params[key] : undefined;
      if (value === undefined || value === null || value === '') {
        throw new TypeError(`${name} needs ${key}`);
      }
      return encodeURIComponent(String(value));
    });
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query || {})) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
    }
    const headers = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (op.auth) {
      const apiKey = options.apiKey || this.apiKey;
      if (!apiKey) {
        throw new errors.AuthenticationError({
          status: 0,
          code: 'missing_api_key',
          message: 'No API key: pass { apiKey } to new PetStore() or set PETSTORE_API_KEY.',
        });
      }
      headers['X-API-Key'] = apiKey;
    }
    const isWrite = op.method !== 'GET';
    const idempotencyKey = isWrite ? options.idempotencyKey || randomUUID() : null;
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    let payload;
    if (multipart !== undefined) {
      payload = multipart.body; // encoded once: every retry sends the same bytes
      headers['Content-Type'] = multipart.contentType;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const maxRetries = options.maxRetries != null ? options.maxRetries : this.maxRetries;
    const timeout = options.timeout != null ? options.timeout : this.timeout;

    for (let attempt = 0; ; attempt += 1) {
      let response;
      let bytes;
      try {
        ({ response, bytes } = await this._send(url, { method: op.method, headers, body: payload }, timeout, options.signal));
      } catch (err) {
        if (options.signal && options.signal.aborted) throw err;
        const timedOut = err instanceof TimeoutSignal;
        const failure = timedOut
          ? new errors.APIConnectionTimeoutError(`No answer from ${url.origin} within ${timeout} ms.`)
          : new errors.APIConnectionError(`Could not reach ${url.origin}: ${err.message}`, { cause: err });
        if (attempt >= maxRetries) throw failure;
        await this._wait(this._backoff(attempt), {
          attempt: attempt + 1,
          reason: timedOut ? 'timeout' : 'connection_error',
          status: null,
          error: failure,
          method: op.method,
          path,
          idempotencyKey,
        });
        continue;
      }
      const info = responseInfo(response, idempotencyKey);
      this.lastResponse = info;
      if (response.ok && binary) return { data: bytes, info };
      const data = parseBody(bytes.toString('utf8'));
      if (response.ok) return { data, info };
      const error = errors.errorFromResponse({
        status: response.status,
        body: data,
        headers: response.headers,
        lastResponse: info,
        retryAfter: info.retryAfter,
      });
      const delay = attempt < maxRetries ? this._retryDelay(response.status, error, info.retryAfter, attempt) : null;
      if (delay === null) throw error;
      await this._wait(delay, {
        attempt: attempt + 1,
        reason: response.status === 429 ? 'rate_limited' : 'unavailable',
        status: response.status,
        error,
        method: op.method,
        path,
        idempotencyKey,
      });
    }
  }

  async _send(url, init, timeout, signal) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const forward = () => controller.abort();
    if (signal) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener('abort', forward, { once: true });
    }
    try {
      const response = await this.fetch(url.toString(), { ...init, signal: controller.signal });
      const bytes = Buffer.from(await response.arrayBuffer());
      return { response, bytes };
    } catch (err) {
      if (timedOut) throw new TimeoutSignal('timeout');
      throw err;
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', forward);
    }
  }

  /** Seconds to wait before retrying this answer, or null when it is not retried. */
  _retryDelay(status, error, retryAfter, attempt) {
    if (status === 429) {
      if (errors.QUOTA_CODES.has(error.code)) return null;
    } else if (!RETRY_STATUSES.has(status)) {
      return null;
    }
    if (retryAfter === null) return this._backoff(attempt);
    return retryAfter <= this.maxRetryAfter ? retryAfter : null;
  }

  /** Exponential backoff with full jitter: uniform in [0, min(max, initial × 2^attempt)]. */
  _backoff(attempt) {
    return Math.random() * Math.min(this.maxRetryDelay, this.initialRetryDelay * 2 ** attempt);
  }

  async _wait(delay, event) {
    if (this.onRetry) this.onRetry({ ...event, delay });
    await sleep(delay);
  }
}

PetStore.PetStore = PetStore;
PetStore.default = PetStore;
PetStore.VERSION = VERSION;
PetStore.DEFAULT_BASE_URL = DEFAULT_BASE_URL;
PetStore.USER_AGENT = USER_AGENT;
PetStore.OPERATIONS = OPERATIONS;
PetStore.Page = resources.Page;
PetStore.parseRetryAfter = parseRetryAfter;
// Verifying what your webhook endpoint receives: PetStore.webhooks.constructEvent(...).
PetStore.webhooks = webhookSignature;
PetStore.WebhookSignatureError = webhookSignature.WebhookSignatureError;
for (const [name, value] of Object.entries(errors)) {
  if (name !== 'errorFromResponse' && name !== 'QUOTA_CODES') PetStore[name] = value;
}

module.exports = PetStore;
