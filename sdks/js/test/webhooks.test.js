'use strict';

// The webhook signature helper: what the server signs (PetStore-Signature, as Stripe signs)
// verifies; a tampered body, an old timestamp, a wrong secret or a malformed header does not;
// any of several v1 values may match (secret rotation).
const test = require('node:test');
const assert = require('node:assert/strict');
const { createHmac } = require('node:crypto');
const PetStore = require('@petstore/sdk');

const { webhooks, WebhookSignatureError } = PetStore;
const SECRET = `whsec_${'k'.repeat(43)}`;
const BODY = JSON.stringify({ id: 'evt_1', type: 'plan.changed', created: 1, data: { to_plan: 'pro' } });

// Signed here the way the server signs (alerts/webhooks/signing.py), independently of the SDK.
function header(body, secret = SECRET, t = Math.floor(Date.now() / 1000)) {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

test('a valid signature verifies and gives the event', () => {
  const event = webhooks.constructEvent(BODY, header(BODY), SECRET);
  assert.equal(event.id, 'evt_1');
  assert.deepEqual(event.data, { to_plan: 'pro' });
  webhooks.verifySignature(Buffer.from(BODY), header(BODY), SECRET); // a Buffer body too
});

test('a tampered body is refused', () => {
  const signed = header(BODY);
  assert.throws(() => webhooks.constructEvent(BODY.replace('pro', 'business'), signed, SECRET), WebhookSignatureError);
});

test('an old timestamp is refused, even correctly signed', () => {
  const old = Math.floor(Date.now() / 1000) - 301;
  const signed = header(BODY, SECRET, old);
  assert.throws(() => webhooks.verifySignature(BODY, signed, SECRET), /tolerance/);
  webhooks.verifySignature(BODY, signed, SECRET, { tolerance: 600 });
  webhooks.verifySignature(BODY, signed, SECRET, { now: old + 10 });
});

test('a wrong secret is refused', () => {
  assert.throws(() => webhooks.verifySignature(BODY, header(BODY), 'whsec_someone_else'), /No signature matches/);
});

test('any of several v1 values may match', () => {
  const t = Math.floor(Date.now() / 1000);
  const good = webhooks.computeSignature(BODY, SECRET, t);
  webhooks.verifySignature(BODY, `t=${t},v1=${'0'.repeat(64)},v1=${good}`, SECRET);
  assert.throws(() => webhooks.verifySignature(BODY, `t=${t},v1=${'0'.repeat(64)},v1=${'1'.repeat(64)}`, SECRET), WebhookSignatureError);
});

test('malformed headers are refused', () => {
  for (const bad of [undefined, null, '', 'v1=abc', 't=123', 't=abc,v1=def', 'garbage']) {
    assert.throws(() => webhooks.verifySignature(BODY, bad, SECRET), WebhookSignatureError, String(bad));
  }
});
