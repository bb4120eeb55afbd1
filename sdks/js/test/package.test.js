'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const PetStore = require('@petstore/sdk');
const { startStub } = require('./helpers');

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('CommonJS require and ESM import give the same classes', async () => {
  assert.equal(typeof PetStore, 'function');
  assert.equal(PetStore.PetStore, PetStore);
  const esm = await import('@petstore/sdk');
  assert.equal(esm.default, PetStore);
  assert.equal(esm.PetStore, PetStore);
  assert.equal(esm.RateLimitError, PetStore.RateLimitError);
  assert.equal(esm.OPERATIONS, PetStore.OPERATIONS);
});

test('no runtime dependencies: only node: built-ins and its own files are required', () => {
  assert.equal(pkg.dependencies, undefined);
  for (const name of fs.readdirSync(path.join(ROOT, 'lib'))) {
    const source = fs.readFileSync(path.join(ROOT, 'lib', name), 'utf8');
    for (const [, spec] of source.matchAll(/require\('([^']+)'\)/g)) {
      assert.ok(spec.startsWith('node:') || spec.startsWith('./'), `${name} requires ${spec}`);
    }
  }
});

test('the version and User-Agent follow package.json', () => {
  assert.equal(PetStore.VERSION, pkg.version);
  assert.match(PetStore.USER_AGENT, new RegExp(`^petstore-sdk-js/${pkg.version.replace(/\./g, '\\.')} node/`));
});

test('every operation of the table is a method of the client', () => {
  const client = new PetStore({ apiKey: 'k' });
  const names = new Set();
  const routes = new Set();
  for (const op of PetStore.OPERATIONS) {
    const [resource, method] = op.name.split('.');
    assert.equal(typeof client[resource][method], 'function', op.name);
    assert.ok(!names.has(op.name), `duplicate ${op.name}`);
    assert.ok(!routes.has(`${op.method} ${op.path}`), `duplicate ${op.method} ${op.path}`);
    names.add(op.name);
    routes.add(`${op.method} ${op.path}`);
  }
});

test('base URL: the option, else PETSTORE_BASE_URL, else production', () => {
  const saved = process.env.PETSTORE_BASE_URL;
  try {
    process.env.PETSTORE_BASE_URL = 'http://127.0.0.1:9/';
    assert.equal(new PetStore({ apiKey: 'k' }).baseUrl, 'http://127.0.0.1:9');
    assert.equal(new PetStore({ apiKey: 'k', baseUrl: 'http://x.test/' }).baseUrl, 'http://x.test');
    delete process.env.PETSTORE_BASE_URL;
    assert.equal(new PetStore({ apiKey: 'k' }).baseUrl, 'https://api.petstore.example');
  } finally {
    if (saved === undefined) delete process.env.PETSTORE_BASE_URL;
    else process.env.PETSTORE_BASE_URL = saved;
  }
});

test('the key comes from the option, else PETSTORE_API_KEY; without one, keyed calls refuse', async (t) => {
  const stub = await startStub([{ status: 200, body: { plan: 'pro', total: '49.00' } }]);
  t.after(stub.close);
  const saved = process.env.PETSTORE_API_KEY;
  try {
    process.env.PETSTORE_API_KEY = 'ps_live_fromenv';
    assert.equal(new PetStore().apiKey, 'ps_live_fromenv');
    delete process.env.PETSTORE_API_KEY;
    const client = new PetStore({ baseUrl: stub.url });
    await assert.rejects(client.pets.list(), (err) => err instanceof PetStore.AuthenticationError && err.code === 'missing_api_key');
    assert.equal(stub.received.length, 0);
    const quote = await client.pricing.quote({ plan: 'pro', calls: 10 }); // public: no key needed
    assert.equal(quote.total, '49.00');
    assert.equal(stub.received[0].url, '/api/v1/pricing/quote?plan=pro&calls=10');
    assert.equal(stub.received[0].headers['x-api-key'], undefined);
  } finally {
    if (saved === undefined) delete process.env.PETSTORE_API_KEY;
    else process.env.PETSTORE_API_KEY = saved;
  }
});

test('errors form one family', () => {
  const init = { status: 429, code: 'rate_limit_exceeded', body: { retry_after: 3, upgrade_url: 'u' } };
  const err = new PetStore.RateLimitError(init);
  assert.ok(err instanceof PetStore.APIError && err instanceof PetStore.PetStoreError && err instanceof Error);
  assert.equal(err.name, 'RateLimitError');
  assert.equal(err.retryAfter, 3);
  assert.ok(new PetStore.FeatureNotInPlanError({ status: 403, body: {} }) instanceof PetStore.PermissionDeniedError);
  assert.ok(new PetStore.APIConnectionTimeoutError('t') instanceof PetStore.APIConnectionError);
});
