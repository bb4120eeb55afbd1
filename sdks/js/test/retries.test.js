'use strict';

// Retry timing, backoff, caps and Idempotency-Key reuse, against a local stub server (the only
// place a stub stands in for the API: a real server cannot be made to answer 503 on cue).
const test = require('node:test');
const assert = require('node:assert/strict');
const PetStore = require('@petstore/sdk');
const { startStub, closedPort, PNG, UUID } = require('./helpers');

const OK_PET = { status: 201, body: { id: 7, name: 'Buddy', status: 'available' } };

function clientFor(stub, options = {}) {
  const retries = [];
  const client = new PetStore({
    apiKey: 'ps_test_stub',
    baseUrl: stub.url,
    onRetry: (event) => retries.push(event),
    ...options,
  });
  return { client, retries };
}

test('a 429 is retried after its Retry-After, with the same Idempotency-Key', async (t) => {
  const stub = await startStub([
    { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'rate_limit_exceeded', message: 'slow down' } },
    OK_PET,
  ]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub);
  const pet = await client.pets.create({ name: 'Buddy' });
  assert.equal(pet.id, 7);
  assert.equal(stub.received.length, 2);
  assert.deepEqual(retries.map((r) => [r.reason, r.delay, r.status]), [['rate_limited', 1, 429]]);
  const [first, second] = stub.received;
  assert.match(first.headers['idempotency-key'], UUID);
  assert.equal(second.headers['idempotency-key'], first.headers['idempotency-key']);
  assert.equal(pet.lastResponse.idempotencyKey, first.headers['idempotency-key']);
  assert.ok(second.at - first.at >= 950, `retried after ${second.at - first.at} ms`);
  assert.deepEqual(JSON.parse(second.body), { name: 'Buddy' });
});

test('Retry-After as an HTTP date is honoured too', async (t) => {
  const when = new Date(Date.now() + 2000).toUTCString();
  const stub = await startStub([
    { status: 429, headers: { 'Retry-After': when }, body: { error: 'rate_limit_exceeded' } },
    { status: 200, body: { results: [] } },
  ]);
  t.after(stub.close);
  const delays = [];
  const client = new PetStore({ apiKey: 'k', baseUrl: stub.url, onRetry: (e) => delays.push(e.delay) });
  await client.keys.list();
  assert.equal(delays.length, 1);
  assert.ok(delays[0] > 0 && delays[0] <= 2, `delay ${delays[0]}`);
  assert.equal(PetStore.parseRetryAfter('garbage'), null);
  assert.equal(PetStore.parseRetryAfter('12'), 12);
});

test('a Retry-After beyond maxRetryAfter is thrown at once, not slept', async (t) => {
  const stub = await startStub([
    { status: 429, headers: { 'Retry-After': '120' }, body: { error: 'rate_limit_exceeded', retry_after: 120, limit: 10 } },
  ]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub, { maxRetryAfter: 30 });
  const err = await client.pets.list().catch((e) => e);
  assert.ok(err instanceof PetStore.RateLimitError);
  assert.equal(err.retryAfter, 120);
  assert.equal(err.limit, 10);
  assert.equal(stub.received.length, 1);
  assert.equal(retries.length, 0);
});

test('maxRetries: 0 turns retries off', async (t) => {
  const stub = await startStub([
    { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'rate_limit_exceeded', retry_after: 1 } },
  ]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub, { maxRetries: 0 });
  await assert.rejects(client.pets.create({ name: 'x' }), PetStore.RateLimitError);
  assert.equal(stub.received.length, 1);
  assert.equal(retries.length, 0);
  // and per call
  const { client: retrying } = clientFor(stub);
  await assert.rejects(retrying.pets.list({}, { maxRetries: 0 }), PetStore.RateLimitError);
  assert.equal(stub.received.length, 2);
});

test('503 is retried with exponential backoff and full jitter, one key throughout', async (t) => {
  const unavailable = { status: 503, body: { error: 'metering_unavailable', message: 'retry' } };
  const stub = await startStub([unavailable, unavailable, unavailable, OK_PET]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub, { maxRetries: 3, initialRetryDelay: 0.02, maxRetryDelay: 0.05 });
  const pet = await client.pets.update(7, { status: 'sold' });
  assert.equal(pet.id, 7);
  assert.equal(stub.received.length, 4);
  assert.deepEqual(retries.map((r) => r.attempt), [1, 2, 3]);
  retries.forEach((r, i) => {
    assert.equal(r.reason, 'unavailable');
    assert.ok(r.delay >= 0 && r.delay <= Math.min(0.05, 0.02 * 2 ** i), `retry ${i}: ${r.delay}`);
  });
  const keys = new Set(stub.received.map((r) => r.headers['idempotency-key']));
  assert.equal(keys.size, 1);
  assert.equal(stub.received[0].method, 'PATCH');
});

test('retries give up after maxRetries with the last error', async (t) => {
  const stub = await startStub([{ status: 503, body: { error: 'billing_unavailable', message: 'later' } }]);
  t.after(stub.close);
  const { client } = clientFor(stub, { maxRetries: 2, initialRetryDelay: 0.01 });
  const err = await client.billing.cancel().catch((e) => e);
  assert.ok(err instanceof PetStore.APIError);
  assert.equal(err.status, 503);
  assert.equal(err.code, 'billing_unavailable');
  assert.equal(stub.received.length, 3);
});

test('500, 400 and quota_exceeded are not retried', async (t) => {
  const stub = await startStub([
    { status: 500, body: { error: 'server_error', message: 'oops' } },
    { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'quota_exceeded', upgrade_url: 'u', included: 10 } },
    { status: 400, body: { error: 'validation_error', message: 'name: blank', fields: { name: ['blank'] } } },
  ]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub);
  const server = await client.pets.list().catch((e) => e);
  assert.equal(server.constructor, PetStore.APIError);
  assert.equal(server.status, 500);
  const quota = await client.pets.list().catch((e) => e);
  assert.ok(quota instanceof PetStore.QuotaExceededError);
  assert.equal(quota.upgradeUrl, 'u');
  const invalid = await client.pets.create({ name: '' }).catch((e) => e);
  assert.ok(invalid instanceof PetStore.ValidationError);
  assert.deepEqual(invalid.fields, { name: ['blank'] });
  assert.equal(stub.received.length, 3);
  assert.equal(retries.length, 0);
});

test('dropped connections are retried with backoff, then succeed', async (t) => {
  const stub = await startStub([{ destroy: true }, { destroy: true }, OK_PET]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub, { initialRetryDelay: 0.01 });
  const pet = await client.pets.create({ name: 'Buddy' });
  assert.equal(pet.id, 7);
  assert.deepEqual(retries.map((r) => r.reason), ['connection_error', 'connection_error']);
  assert.equal(new Set(stub.received.map((r) => r.headers['idempotency-key'])).size, 1);
});

test('a refused connection ends in APIConnectionError after the retries', async () => {
  const port = await closedPort();
  const retries = [];
  const client = new PetStore({
    apiKey: 'k',
    baseUrl: `http://127.0.0.1:${port}`,
    initialRetryDelay: 0.01,
    onRetry: (e) => retries.push(e),
  });
  const err = await client.pets.list().catch((e) => e);
  assert.ok(err instanceof PetStore.APIConnectionError);
  assert.ok(err.cause);
  assert.equal(retries.length, 2);
});

test('a slow answer times out, and the timeout is retried', async (t) => {
  const slow = { delayMs: 3000, status: 200, body: { results: [] } };
  const stub = await startStub([slow, { status: 200, body: { results: [] } }]);
  t.after(stub.close);
  const { client, retries } = clientFor(stub, { timeout: 500, initialRetryDelay: 0.01 });
  const page = await client.keys.list();
  assert.deepEqual(page.results, []);
  assert.deepEqual(retries.map((r) => r.reason), ['timeout']);

  const alwaysSlow = await startStub([slow]);
  t.after(alwaysSlow.close);
  const { client: once } = clientFor(alwaysSlow, { timeout: 500, maxRetries: 0 });
  await assert.rejects(once.usage.retrieve(), PetStore.APIConnectionTimeoutError);
  assert.equal(alwaysSlow.received.length, 1);
});

test('writes carry an Idempotency-Key (yours if given); reads do not', async (t) => {
  const stub = await startStub([{ status: 200, body: { id: 1 } }]);
  t.after(stub.close);
  const { client } = clientFor(stub);
  await client.pets.retrieve(1);
  await client.pets.create({ name: 'a' });
  await client.pets.replace(1, { name: 'b' });
  await client.pets.update(1, { name: 'c' });
  await client.pets.delete(1);
  await client.pets.create({ name: 'd' }, { idempotencyKey: 'order-42' });
  const seen = stub.received.map((r) => [r.method, r.headers['idempotency-key'] || null]);
  assert.equal(seen[0][1], null);
  for (const [method, key] of seen.slice(1, 5)) assert.match(key, UUID, method);
  assert.equal(new Set(seen.slice(1, 5).map(([, k]) => k)).size, 4, 'a new key per call');
  assert.deepEqual(seen[5], ['POST', 'order-42']);
  for (const r of stub.received) {
    assert.match(r.headers['user-agent'], /^petstore-sdk-js\/0\.2\.0 /);
    assert.equal(r.headers['x-api-key'], 'ps_test_stub');
  }
});

test('an image is sent as multipart, the same bytes on a retry', async (t) => {
  const stub = await startStub([{ status: 503, body: {} }, { status: 200, body: { id: 3, image: { format: 'PNG' } } }]);
  t.after(stub.close);
  const { client } = clientFor(stub, { initialRetryDelay: 0.01 });
  const pet = await client.pets.uploadImage(3, PNG, { filename: 'rex.png' });
  assert.equal(pet.image.format, 'PNG');
  const [first, second] = stub.received;
  assert.equal(first.url, '/api/v1/pets/3/image');
  assert.match(first.headers['content-type'], /^multipart\/form-data; boundary=/);
  assert.ok(first.body.includes('filename="rex.png"') && first.body.includes('Content-Type: image/png'));
  assert.equal(second.body, first.body);
  assert.equal(second.headers['content-type'], first.headers['content-type']);
  assert.equal(second.headers['idempotency-key'], first.headers['idempotency-key']);
});
