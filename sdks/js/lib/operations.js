'use strict';

/**
 * Every operation of the API this SDK calls, by HTTP method and path template. The resources
 * dispatch through this table (nothing else holds a path), and the repository's conformance
 * test compares it with the live OpenAPI schema: an operation missing here fails that test.
 * `name` is the method on a client: 'pets.list' is `client.pets.list()`.
 */
const OPERATIONS = Object.freeze([
  { name: 'auth.register', method: 'POST', path: '/api/v1/auth/register', auth: false },
  { name: 'pets.list', method: 'GET', path: '/api/v1/pets' },
  { name: 'pets.create', method: 'POST', path: '/api/v1/pets' },
  { name: 'pets.retrieve', method: 'GET', path: '/api/v1/pets/{id}' },
  { name: 'pets.replace', method: 'PUT', path: '/api/v1/pets/{id}' },
  { name: 'pets.update', method: 'PATCH', path: '/api/v1/pets/{id}' },
  { name: 'pets.delete', method: 'DELETE', path: '/api/v1/pets/{id}' },
  { name: 'pets.uploadImage', method: 'POST', path: '/api/v1/pets/{id}/image' },
  { name: 'analytics.retrieve', method: 'GET', path: '/api/v1/analytics' },
  { name: 'usage.retrieve', method: 'GET', path: '/api/v1/usage' },
  { name: 'keys.list', method: 'GET', path: '/api/v1/keys' },
  { name: 'keys.create', method: 'POST', path: '/api/v1/keys' },
  { name: 'keys.retrieve', method: 'GET', path: '/api/v1/keys/{id}' },
  { name: 'keys.update', method: 'PATCH', path: '/api/v1/keys/{id}' },
  { name: 'keys.revoke', method: 'DELETE', path: '/api/v1/keys/{id}' },
  { name: 'keys.rotate', method: 'POST', path: '/api/v1/keys/{id}/rotate' },
  { name: 'billing.subscribe', method: 'POST', path: '/api/v1/billing/subscribe' },
  { name: 'billing.cancel', method: 'POST', path: '/api/v1/billing/cancel' },
  { name: 'invoices.list', method: 'GET', path: '/api/v1/billing/invoices' },
  { name: 'billing.credits', method: 'GET', path: '/api/v1/billing/credits' },
  { name: 'billing.buyCredits', method: 'POST', path: '/api/v1/billing/credits' },
  { name: 'webhooks.list', method: 'GET', path: '/api/v1/webhooks' },
  { name: 'webhooks.create', method: 'POST', path: '/api/v1/webhooks' },
  { name: 'webhooks.delete', method: 'DELETE', path: '/api/v1/webhooks/{id}' },
  { name: 'pricing.quote', method: 'GET', path: '/api/v1/pricing/quote', auth: false },
  { name: 'thumbnails.download', method: 'GET', path: '/api/v1/thumbnails/{token}.jpg', auth: false },
].map((op) => Object.freeze({ auth: true, ...op })));

const BY_NAME = new Map(OPERATIONS.map((op) => [op.name, op]));

function operation(name) {
  const op = BY_NAME.get(name);
  if (!op) throw new Error(`unknown operation ${name}`);
  return op;
}

module.exports = { OPERATIONS, operation };
