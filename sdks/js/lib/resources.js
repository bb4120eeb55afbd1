'use strict';

const { randomUUID } = require('node:crypto');

/** Gives a returned object its answer's metadata, without making it part of the data. */
function withResponse(value, info) {
  Object.defineProperty(value, 'lastResponse', { value: info, enumerable: false, configurable: true });
  return value;
}

/**
 * One page of a list. `results` holds its items; `nextPage()` fetches the following page (null
 * after the last). Lists without pages (keys, invoices) are one page with `next` null.
 */
class Page {
  constructor(client, name, query, options, data, info) {
    const body = data || {};
    this.results = Array.isArray(body.results) ? body.results : [];
    this.count = typeof body.count === 'number' ? body.count : this.results.length;
    this.next = body.next || null;
    this.previous = body.previous || null;
    Object.defineProperty(this, '_fetch', {
      value: { client, name, query, options },
      enumerable: false,
    });
    withResponse(this, info);
  }

  hasNextPage() {
    return this.next !== null;
  }

  /** The next page, asked of the client's own base URL with the `next` link's parameters. */
  async nextPage() {
    if (!this.next) return null;
    const { client, name, options } = this._fetch;
    const query = Object.fromEntries(new URL(this.next).searchParams);
    return fetchPage(client, name, query, options);
  }

  /** Every item from this page on, fetching the following pages as it goes. */
  async *[Symbol.asyncIterator]() {
    let page = this;
    while (page) {
      yield* page.results;
      page = await page.nextPage();
    }
  }
}

async function fetchPage(client, name, query, options) {
  const { data, info } = await client.request(name, { query, options });
  return new Page(client, name, query, options, data, info);
}

async function* iterateAll(client, name, query, options) {
  yield* await fetchPage(client, name, query, options);
}

async function call(client, name, args) {
  const { data, info } = await client.request(name, args);
  return withResponse(data && typeof data === 'object' ? data : {}, info);
}

async function remove(client, name, id, options) {
  const { info } = await client.request(name, { params: { id }, options });
  return withResponse({ id, deleted: true }, info);
}

const IMAGE_TYPES = [
  { magic: [0x89, 0x50, 0x4e, 0x47], type: 'image/png', ext: 'png' },
  { magic: [0xff, 0xd8, 0xff], type: 'image/jpeg', ext: 'jpg' },
  { magic: [0x47, 0x49, 0x46, 0x38], type: 'image/gif', ext: 'gif' },
  { magic: [0x52, 0x49, 0x46, 0x46], type: 'image/webp', ext: 'webp' },
];

/**
 * The multipart body of an image upload and its Content-Type. Encoded once, with one boundary,
 * so that every retry sends the very same bytes (a server that honours Idempotency-Key compares
 * them): a FormData would get a new boundary on each attempt.
 */
async function imageUpload(image, filename, contentType) {
  let bytes;
  if (typeof Blob !== 'undefined' && image instanceof Blob) bytes = new Uint8Array(await image.arrayBuffer());
  else if (image instanceof ArrayBuffer) bytes = new Uint8Array(image);
  else if (ArrayBuffer.isView(image)) bytes = new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  else throw new TypeError('image must be a Buffer, Uint8Array, ArrayBuffer or Blob');
  const known = IMAGE_TYPES.find((t) => t.magic.every((b, i) => bytes[i] === b));
  const type = contentType || (typeof Blob !== 'undefined' && image instanceof Blob && image.type) || (known ? known.type : 'application/octet-stream');
  const name = String(filename || `image.${known ? known.ext : 'bin'}`).replace(/"/g, '%22').replace(/[\r\n]/g, '');
  const boundary = `petstore-${randomUUID()}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

class Resource {
  constructor(client) {
    Object.defineProperty(this, '_client', { value: client, enumerable: false });
  }
}

class Auth extends Resource {
  /** Sign up with an email: `{ customer_id, api_key, plan }`. The key is shown only once. */
  register(params, options) {
    return call(this._client, 'auth.register', { body: params, options });
  }
}

class Pets extends Resource {
  /** One page of your pets (`limit`, `offset`, `status`, `species`). */
  list(params, options) {
    return fetchPage(this._client, 'pets.list', { ...(params || {}) }, options);
  }

  /** Every pet, page after page: `for await (const pet of client.pets.listAll())`. */
  listAll(params, options) {
    return iterateAll(this._client, 'pets.list', { ...(params || {}) }, options);
  }

  create(params, options) {
    return call(this._client, 'pets.create', { body: params, options });
  }

  retrieve(id, options) {
    return call(this._client, 'pets.retrieve', { params: { id }, options });
  }

  /** PUT: sends the whole pet (`name` required). */
  replace(id, params, options) {
    return call(this._client, 'pets.replace', { params: { id }, body: params, options });
  }

  /** PATCH: changes only the fields given. */
  update(id, params, options) {
    return call(this._client, 'pets.update', { params: { id }, body: params, options });
  }

  delete(id, options) {
    return remove(this._client, 'pets.delete', id, options);
  }

  /** Uploads an image (Buffer, Uint8Array, ArrayBuffer or Blob; JPEG, PNG, GIF or WebP). */
  async uploadImage(id, image, options = {}) {
    const { filename, contentType, ...requestOptions } = options;
    const multipart = await imageUpload(image, filename, contentType);
    return call(this._client, 'pets.uploadImage', { params: { id }, multipart, options: requestOptions });
  }
}

class Analytics extends Resource {
  retrieve(options) {
    return call(this._client, 'analytics.retrieve', { options });
  }
}

class Usage extends Resource {
  retrieve(options) {
    return call(this._client, 'usage.retrieve', { options });
  }
}

class Keys extends Resource {
  list(options) {
    return fetchPage(this._client, 'keys.list', {}, options);
  }

  listAll(options) {
    return iterateAll(this._client, 'keys.list', {}, options);
  }

  /** A new key; its `api_key` is shown only in this answer. */
  create(params, options) {
    return call(this._client, 'keys.create', { body: params || {}, options });
  }

  /** A key, with its caps and this period's `units_used`. */
  retrieve(id, options) {
    return call(this._client, 'keys.retrieve', { params: { id }, options });
  }

  /**
   * Set a key's own monthly caps: `monthly_unit_cap` (units) and `monthly_spend_cap` (dollars as
   * a string, "25.00"; plans that bill overage). `null` removes a cap; one left out is kept. Past
   * its cap the key gets a KeyCapExceededError; your other keys keep working.
   */
  update(id, params, options) {
    return call(this._client, 'keys.update', { params: { id }, body: params || {}, options });
  }

  revoke(id, options) {
    return remove(this._client, 'keys.revoke', id, options);
  }

  /** A new key replaces this one; the old one keeps working for `grace_hours` (0: revoked now). */
  rotate(id, params, options) {
    return call(this._client, 'keys.rotate', { params: { id }, body: params || {}, options });
  }
}

class Billing extends Resource {
  /**
   * Subscribe to a plan, or change plan (prorated): `{ plan, payment_method, trial,
   * promotion_code }`. `trial: true` starts the plan's free trial without a card.
   */
  subscribe(params, options) {
    return call(this._client, 'billing.subscribe', { body: params, options });
  }

  /** Cancel the subscription at the end of the period. */
  cancel(options) {
    return call(this._client, 'billing.cancel', { options });
  }

  /** Your prepaid credits: balance, ledger, burn-down by day and run-out forecast. */
  credits(options) {
    return call(this._client, 'billing.credits', { options });
  }

  /**
   * Buy a credit pack (`credits().packs`, e.g. '50'): the Stripe Checkout page to pay on
   * (`checkout_url`); the credits are granted once it is paid.
   */
  buyCredits(pack, options) {
    return call(this._client, 'billing.buyCredits', { body: { pack }, options });
  }
}

class Invoices extends Resource {
  list(options) {
    return fetchPage(this._client, 'invoices.list', {}, options);
  }

  listAll(options) {
    return iterateAll(this._client, 'invoices.list', {}, options);
  }
}

/** Your outbound webhook endpoints (plans with the Webhooks feature). */
class Webhooks extends Resource {
  list(options) {
    return fetchPage(this._client, 'webhooks.list', {}, options);
  }

  listAll(options) {
    return iterateAll(this._client, 'webhooks.list', {}, options);
  }

  /** A new endpoint `{ url, events }`; its signing `secret` (whsec_…) is shown only in this answer. */
  create(params, options) {
    return call(this._client, 'webhooks.create', { body: params, options });
  }

  delete(id, options) {
    return remove(this._client, 'webhooks.delete', id, options);
  }
}

class Pricing extends Resource {
  /** The pricing calculator: `{ plan, calls }` (or `read`, `write`, `image` counts). Public. */
  quote(params, options) {
    return call(this._client, 'pricing.quote', { query: params, options });
  }
}

class Thumbnails extends Resource {
  /**
   * The JPEG behind a pet's `thumbnail_url` (a Buffer). Give the URL (or its token): it is
   * signed, expires after an hour and needs no key. Asked of the client's own base URL.
   */
  download(thumbnailUrl, options) {
    const match = /(?:^|\/thumbnails\/)([^/?#]+?)(?:\.jpg)?(?:[?#].*)?$/.exec(String(thumbnailUrl || ''));
    if (!match) throw new TypeError('download needs a pet\'s thumbnail_url');
    return call(this._client, 'thumbnails.download', { params: { token: decodeURIComponent(match[1]) }, binary: true, options });
  }
}

module.exports = {
  Page, Auth, Pets, Analytics, Usage, Keys, Billing, Invoices, Webhooks, Pricing, Thumbnails, withResponse,
};
