'use strict';

// The SDK against a live Pet Store server (the repository's pytest suite starts one and sets
// these variables; see tests/sdks/test_js.py). Without them these tests skip.
//   PETSTORE_BASE_URL            the server
//   PETSTORE_API_KEY             a Free customer's key (the guide's flow)
//   PETSTORE_TEST_PAID_KEY       a Business customer's key (every operation)
//   PETSTORE_TEST_EXHAUSTED_KEY  a Free customer whose monthly quota is used up
//   PETSTORE_TEST_NO_CREDITS_KEY a prepaid customer whose included units and credits are spent
//   PETSTORE_TEST_PROMOTION_CODE a promotion code: 10% off forever
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const PetStore = require('@petstore/sdk');
const { PNG, UUID } = require('./helpers');

const env = process.env;
const skip = env.PETSTORE_BASE_URL && env.PETSTORE_TEST_PAID_KEY ? false : 'no live server (PETSTORE_BASE_URL, PETSTORE_TEST_PAID_KEY)';
const email = (what) => `sdk-js-${what}-${randomUUID().slice(0, 8)}@example.com`;

async function freshFreeClient(options = {}) {
  const registration = await new PetStore().auth.register({ email: email('free') });
  assert.equal(registration.plan, 'free');
  return new PetStore({ apiKey: registration.api_key, ...options });
}

test("the guide's snippet runs as written", { skip }, async () => {
  const PetStore = require('@petstore/sdk');
  const client = new PetStore({ apiKey: process.env.PETSTORE_API_KEY });
  const pets = await client.pets.list();
  const newPet = await client.pets.create({ name: 'Buddy', status: 'available' });
  await client.pets.update(newPet.id, { status: 'sold' });

  assert.ok(Array.isArray(pets.results));
  assert.equal(newPet.name, 'Buddy');
  assert.equal((await client.pets.retrieve(newPet.id)).status, 'sold');
});

test('pets: create, list every page, retrieve, replace, update, image, delete', { skip }, async () => {
  const client = new PetStore({ apiKey: env.PETSTORE_TEST_PAID_KEY });
  const species = `axolotl-${randomUUID().slice(0, 6)}`;
  const created = [];
  for (let i = 0; i < 5; i += 1) {
    created.push(await client.pets.create({ name: `Axo ${i}`, species, tags: ['sdk'] }));
  }
  const first = created[0];
  assert.equal(first.lastResponse.status, 201);
  assert.equal(first.lastResponse.usageCost, 2);
  assert.match(first.lastResponse.idempotencyKey, UUID);
  assert.equal(first.lastResponse.rateLimit.limit, 1000);
  assert.equal(typeof first.lastResponse.quotaRemaining, 'number');

  const page = await client.pets.list({ species, limit: 2 });
  assert.equal(page.count, 5);
  assert.equal(page.results.length, 2);
  assert.ok(page.hasNextPage());
  assert.equal(page.lastResponse.usageCost, 1);
  assert.equal(page.lastResponse.idempotencyKey, null);
  const seen = [];
  for await (const pet of client.pets.listAll({ species, limit: 2 })) seen.push(pet.id);
  assert.deepEqual(seen, created.map((p) => p.id)); // three pages
  const last = await (await page.nextPage()).nextPage();
  assert.equal(last.results.length, 1);
  assert.equal(await last.nextPage(), null);

  assert.equal((await client.pets.retrieve(first.id)).name, 'Axo 0');
  const replaced = await client.pets.replace(first.id, { name: 'Rex', species: 'dog', status: 'pending', tags: [] });
  assert.deepEqual([replaced.name, replaced.species, replaced.status, replaced.tags], ['Rex', 'dog', 'pending', []]);
  const updated = await client.pets.update(first.id, { status: 'sold' });
  assert.deepEqual([updated.name, updated.status], ['Rex', 'sold']);

  const withImage = await client.pets.uploadImage(first.id, PNG);
  assert.equal(withImage.image.format, 'PNG');
  assert.match(withImage.thumbnail_url, /\.jpg$/);
  assert.equal(withImage.lastResponse.usageCost, 10);
  const jpeg = await new PetStore({ apiKey: null }).thumbnails.download(withImage.thumbnail_url); // no key
  assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  assert.equal(jpeg.lastResponse.headers.get('content-type'), 'image/jpeg');
  const forged = await client.thumbnails.download(`${env.PETSTORE_BASE_URL}/api/v1/thumbnails/forged.jpg`).catch((e) => e);
  assert.ok(forged instanceof PetStore.PermissionDeniedError, forged);
  assert.equal(forged.code, 'invalid_signature');

  const deleted = await client.pets.delete(first.id);
  assert.deepEqual({ ...deleted }, { id: first.id, deleted: true });
  assert.equal(deleted.lastResponse.status, 204);
  await assert.rejects(client.pets.retrieve(first.id), (err) => err instanceof PetStore.NotFoundError && err.status === 404);
});

test('analytics, usage and the pricing quote', { skip }, async () => {
  const client = new PetStore({ apiKey: env.PETSTORE_TEST_PAID_KEY });
  const analytics = await client.analytics.retrieve();
  assert.equal(typeof analytics.total, 'number');
  assert.deepEqual(Object.keys(analytics.by_status).sort(), ['available', 'pending', 'sold']);
  assert.equal(analytics.lastResponse.usageCost, 5);
  const usage = await client.usage.retrieve();
  assert.equal(usage.plan.slug, 'business');
  assert.ok(usage.units_used > 0);
  assert.equal(typeof usage.forecast.method, 'string');
  const quote = await new PetStore({ apiKey: null }).pricing.quote({ plan: 'pro', calls: 60000 });
  assert.equal(quote.total, '59.00');
  assert.equal(quote.currency, 'usd');
});

test('keys: list, create, rotate, revoke', { skip }, async () => {
  const client = new PetStore({ apiKey: env.PETSTORE_TEST_PAID_KEY });
  const before = await client.keys.list();
  assert.ok(before.results.length >= 1);
  assert.equal(before.next, null);
  const key = await client.keys.create({ name: 'sdk-js' });
  assert.match(key.api_key, /^ps_(live|test)_/);
  const capped = await client.keys.update(key.id, { monthly_unit_cap: 5000, monthly_spend_cap: '25.00' });
  assert.deepEqual([capped.monthly_unit_cap, capped.monthly_spend_cap, capped.spend_cap_units], [5000, '25.00', 25004]);
  const kept = await client.keys.update(key.id, { monthly_spend_cap: null });
  assert.deepEqual([kept.monthly_unit_cap, kept.monthly_spend_cap], [5000, null]);
  const fetched = await client.keys.retrieve(key.id);
  assert.deepEqual([fetched.name, fetched.monthly_unit_cap, fetched.units_used], ['sdk-js', 5000, 0]);
  const usage = await client.usage.retrieve();
  assert.equal(usage.by_key.find((row) => row.key_id === key.id).monthly_unit_cap, 5000);
  const rotated = await client.keys.rotate(key.id, { grace_hours: 0 });
  assert.notEqual(rotated.id, key.id);
  const listed = [];
  for await (const k of client.keys.listAll()) listed.push(k);
  assert.equal(listed.find((k) => k.id === key.id).active, false);
  const revoked = await client.keys.revoke(rotated.id);
  assert.equal(revoked.deleted, true);
  await assert.rejects(new PetStore({ apiKey: rotated.api_key, maxRetries: 0 }).pets.list(), PetStore.AuthenticationError);
});

test('webhooks: create (secret shown once), list, delete', { skip }, async () => {
  const client = new PetStore({ apiKey: env.PETSTORE_TEST_PAID_KEY });
  const endpoint = await client.webhooks.create({ url: `${env.PETSTORE_BASE_URL}/hooks/js`, events: ['plan.changed', 'invoice.paid'] });
  assert.equal(endpoint.lastResponse.status, 201);
  assert.match(endpoint.secret, /^whsec_/);
  assert.deepEqual(endpoint.events, ['plan.changed', 'invoice.paid']);
  const listed = [];
  for await (const e of client.webhooks.listAll()) listed.push(e);
  assert.ok(listed.some((e) => e.id === endpoint.id && e.enabled && !('secret' in e)));
  const deleted = await client.webhooks.delete(endpoint.id);
  assert.equal(deleted.deleted, true);
  const after = await client.webhooks.list();
  assert.ok(!after.results.some((e) => e.id === endpoint.id));
  const free = await freshFreeClient({ maxRetries: 0 });
  await assert.rejects(free.webhooks.list(), PetStore.FeatureNotInPlanError);
});

test('register, subscribe with a test card, list invoices, cancel', { skip }, async () => {
  const registration = await new PetStore().auth.register({ email: email('billing') });
  assert.match(registration.api_key, /^ps_/);
  const client = new PetStore({ apiKey: registration.api_key });
  const subscribed = await client.billing.subscribe({ plan: 'pro', payment_method: 'pm_card_visa' });
  assert.equal(subscribed.plan, 'pro');
  assert.equal(subscribed.subscription.status, 'active');
  assert.equal(subscribed.subscription.payment_method.last4, '4242');
  const invoices = [];
  for await (const invoice of client.invoices.listAll()) invoices.push(invoice);
  assert.equal(invoices.length, 1);
  assert.equal(invoices[0].status, 'paid');
  assert.equal((await client.invoices.list()).results.length, 1);
  const canceled = await client.billing.cancel();
  assert.equal(canceled.subscription.cancel_at_period_end, true);
  const credits = await client.billing.credits();
  assert.equal(credits.balance, '0.00');
  assert.deepEqual(credits.packs.map((p) => p.pack), ['10', '50', '200']);
  const purchase = await client.billing.buyCredits('50');
  assert.equal(purchase.amount, '50.00');
  assert.match(purchase.checkout_url, /\/c\/pay\/cs_test_/);
});

test('a free trial with a promotion code, and the quote of the code', { skip }, async () => {
  const code = env.PETSTORE_TEST_PROMOTION_CODE;
  const client = await freshFreeClient();
  const trial = await client.billing.subscribe({ plan: 'pro', trial: true, promotion_code: code });
  assert.equal(trial.subscription.status, 'trialing');
  assert.ok(trial.subscription.trial_end);
  assert.equal(trial.subscription.payment_method, null);
  const again = await client.billing.subscribe({ plan: 'pro', trial: true }).catch((e) => e);
  assert.ok(again instanceof PetStore.ConflictError);
  assert.equal(again.code, 'trial_already_used');
  const quote = await new PetStore({ apiKey: null }).pricing.quote({ plan: 'pro', calls: 60000, promotion_code: code });
  assert.equal(quote.total, '53.10');
  assert.equal(quote.lines[quote.lines.length - 1].kind, 'discount');
  assert.equal(quote.discount.percent_off, '10');
  assert.equal(quote.trial_days, 14);
  const unknown = await new PetStore({ apiKey: null }).pricing.quote({ plan: 'pro', promotion_code: 'NOPE' }).catch((e) => e);
  assert.deepEqual([unknown.status, unknown.code], [400, 'promotion_code_invalid']);
});

test('refusals become typed errors', { skip }, async () => {
  const bad = new PetStore({ apiKey: 'ps_live_not_a_real_key' });
  await assert.rejects(bad.pets.list(), (err) => err instanceof PetStore.AuthenticationError && err.status === 401 && err.code === 'invalid_api_key');

  const free = await freshFreeClient();
  const gated = await free.analytics.retrieve().catch((e) => e);
  assert.ok(gated instanceof PetStore.FeatureNotInPlanError, gated);
  assert.equal(gated.status, 403);
  assert.match(gated.upgradeUrl, /\/pricing\/$/);
  assert.equal(gated.feature, 'analytics');

  const invalid = await free.pets.create({ name: '' }).catch((e) => e);
  assert.ok(invalid instanceof PetStore.ValidationError);
  assert.ok(invalid.fields.name.length > 0);

  const taken = email('taken');
  await new PetStore().auth.register({ email: taken });
  const conflict = await new PetStore().auth.register({ email: taken }).catch((e) => e);
  assert.ok(conflict instanceof PetStore.ConflictError);
  assert.equal(conflict.code, 'email_taken');

  const noCard = await free.billing.subscribe({ plan: 'pro' }).catch((e) => e);
  assert.equal(noCard.constructor, PetStore.APIError);
  assert.deepEqual([noCard.status, noCard.code], [400, 'payment_method_required']);

  const retries = [];
  const exhausted = new PetStore({ apiKey: env.PETSTORE_TEST_EXHAUSTED_KEY, onRetry: (e) => retries.push(e) });
  const quota = await exhausted.pets.list().catch((e) => e);
  assert.ok(quota instanceof PetStore.QuotaExceededError, quota);
  assert.match(quota.upgradeUrl, /\/pricing\/$/);
  assert.equal(quota.lastResponse.quotaRemaining, 0);
  assert.equal(retries.length, 0, 'a used-up quota is not retried');

  const spent = new PetStore({ apiKey: env.PETSTORE_TEST_NO_CREDITS_KEY, onRetry: (e) => retries.push(e) });
  const credits = await spent.pets.list().catch((e) => e);
  assert.ok(credits instanceof PetStore.CreditsExhaustedError, credits);
  assert.ok(credits instanceof PetStore.QuotaExceededError);
  assert.equal(credits.code, 'credits_exhausted');
  assert.equal(credits.balance, '0.00');
  assert.match(credits.buyCreditsUrl, /\/dashboard\/billing\/#credits$/);
  assert.equal(retries.length, 0, 'spent credits are not retried');

  const [ownKey] = (await free.keys.list()).results;
  await free.keys.update(ownKey.id, { monthly_unit_cap: 1 });
  const capped = new PetStore({ apiKey: free.apiKey, onRetry: (e) => retries.push(e) });
  await capped.pets.list();
  const keyCap = await capped.pets.list().catch((e) => e);
  assert.ok(keyCap instanceof PetStore.KeyCapExceededError, keyCap);
  assert.ok(keyCap instanceof PetStore.QuotaExceededError);
  assert.deepEqual([keyCap.status, keyCap.code, keyCap.cap, keyCap.used, keyCap.keyId], [429, 'key_cap_exceeded', 1, 1, ownKey.id]);
  assert.ok(keyCap.periodEnd);
  assert.equal(retries.length, 0, 'a key cap is not a rate limit: never retried');
  await free.keys.update(ownKey.id, { monthly_unit_cap: null });
  assert.equal((await capped.pets.list()).lastResponse.status, 200);
});

test('a create retried with its Idempotency-Key makes one pet and one charge', { skip }, async () => {
  const client = await freshFreeClient();
  const idempotencyKey = randomUUID();
  const first = await client.pets.create({ name: 'Buddy' }, { idempotencyKey });
  const retried = await client.pets.create({ name: 'Buddy' }, { idempotencyKey });
  assert.equal(retried.id, first.id);
  assert.equal(first.lastResponse.usageCost, 2);
  assert.equal(first.lastResponse.headers.get('idempotent-replayed'), null);
  assert.equal(retried.lastResponse.headers.get('idempotent-replayed'), 'true');
  assert.equal(retried.lastResponse.usageCost, 0);
  assert.equal(retried.lastResponse.idempotencyKey, idempotencyKey);
  const reused = await client.pets.create({ name: 'Max' }, { idempotencyKey }).catch((e) => e);
  assert.ok(reused instanceof PetStore.ConflictError, reused);
  assert.equal(reused.code, 'idempotency_key_reused');

  assert.equal((await client.pets.list()).count, 1);
  const usage = await client.usage.retrieve();
  const row = usage.by_endpoint.find((r) => r.endpoint === 'POST /api/v1/pets');
  assert.deepEqual([row.calls, row.units, usage.units_used], [1, 2, 3]); // the create, and a list
});

test("a Free customer past its 10 calls a minute gets RateLimitError with retryAfter", { skip }, async () => {
  const free = await freshFreeClient({ maxRetries: 0 });
  let refusal = null;
  for (let i = 0; i < 11 && !refusal; i += 1) {
    refusal = await free.pets.list().then(() => null, (e) => e);
  }
  assert.ok(refusal instanceof PetStore.RateLimitError, refusal);
  assert.equal(refusal.status, 429);
  assert.equal(refusal.limit, 10);
  assert.ok(refusal.retryAfter > 0 && refusal.retryAfter <= 60, `retryAfter ${refusal.retryAfter}`);
  assert.match(refusal.upgradeUrl, /\/pricing\/$/);
  assert.equal(refusal.lastResponse.rateLimit.remaining, 0);

  // With retries on, a wait longer than maxRetryAfter is not slept: thrown at once.
  const retries = [];
  const capped = new PetStore({ apiKey: free.apiKey, maxRetryAfter: 0.5, onRetry: (e) => retries.push(e) });
  await assert.rejects(capped.pets.list(), PetStore.RateLimitError);
  assert.equal(retries.length, 0);
});
