'use strict';

/**
 * Verify the events Pet Store sends to your webhook endpoints.
 *
 * Each delivery is a POST whose JSON body is `{ id, type, created, data }`, with the header
 * `PetStore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with your
 * endpoint's secret>` (several v1 values may be sent). Verify the raw body (a Buffer or string,
 * before JSON parsing) and refuse timestamps further than `tolerance` seconds from now (5
 * minutes by default): that stops replays. Deduplicate events by `id`.
 *
 *   const event = PetStore.webhooks.constructEvent(rawBody, req.headers['petstore-signature'], secret);
 */
const { createHmac, timingSafeEqual } = require('node:crypto');

const SIGNATURE_HEADER = 'PetStore-Signature';
const DEFAULT_TOLERANCE = 300;

class WebhookSignatureError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

function toBuffer(payload) {
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  throw new TypeError('payload must be the raw body: a string, Buffer or Uint8Array');
}

/** The hex v1 signature of `payload` at `timestamp` (seconds) with `secret`. */
function computeSignature(payload, secret, timestamp) {
  return createHmac('sha256', secret)
    .update(`${timestamp}.`)
    .update(toBuffer(payload))
    .digest('hex');
}

/** Throws WebhookSignatureError unless `header` signs `payload` with `secret` in time. */
function verifySignature(payload, header, secret, { tolerance = DEFAULT_TOLERANCE, now } = {}) {
  if (!header) throw new WebhookSignatureError(`No ${SIGNATURE_HEADER} header.`);
  let timestamp = null;
  const signatures = [];
  for (const part of String(header).split(',')) {
    const index = part.indexOf('=');
    const key = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    if (index < 0 || !value) continue;
    if (key === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1') signatures.push(value);
  }
  if (timestamp === null || signatures.length === 0) {
    throw new WebhookSignatureError('The signature header has no t= or no v1= value.');
  }
  const current = now === undefined ? Date.now() / 1000 : now;
  if (tolerance > 0 && Math.abs(current - timestamp) > tolerance) {
    throw new WebhookSignatureError("The signature's timestamp is outside the tolerance.");
  }
  const expected = Buffer.from(computeSignature(payload, secret, timestamp), 'utf8');
  const matches = signatures.some((candidate) => {
    const given = Buffer.from(candidate, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookSignatureError('No signature matches the payload and secret.');
}

/** The event `{ id, type, created, data }` once its signature is verified. */
function constructEvent(payload, header, secret, options) {
  verifySignature(payload, header, secret, options);
  let event;
  try {
    event = JSON.parse(toBuffer(payload).toString('utf8'));
  } catch (error) {
    throw new WebhookSignatureError('The payload is not JSON.');
  }
  if (!event || typeof event !== 'object' || !['id', 'type', 'created', 'data'].every((k) => k in event)) {
    throw new WebhookSignatureError('The payload is not a Pet Store event.');
  }
  return event;
}

module.exports = {
  SIGNATURE_HEADER,
  DEFAULT_TOLERANCE,
  WebhookSignatureError,
  computeSignature,
  verifySignature,
  constructEvent,
};
