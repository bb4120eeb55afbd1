// Type-checked (never run) by test/types.test.js: the ESM entry's types in use.
import PetStore, { RateLimitError, FeatureNotInPlanError, ValidationError, WebhookSignatureError, webhooks, type Pet, type Page, type WebhookEvent } from '@petstore/sdk';

async function main(): Promise<void> {
  const client = new PetStore({ apiKey: 'ps_live_x', baseUrl: 'http://127.0.0.1:8000', maxRetries: 0 });
  const page: Page<Pet> = await client.pets.list({ limit: 2, status: 'available' });
  const first: Pet | undefined = page.results[0];
  const remaining: number | null = page.lastResponse.rateLimit?.remaining ?? null;
  for await (const pet of client.pets.listAll({ species: 'dog' })) {
    const name: string = pet.name;
    void name;
  }
  const created = await client.pets.create({ name: 'Buddy', status: 'available', tags: ['good'] });
  const cost: number | null = created.lastResponse.usageCost;
  await client.pets.update(created.id, { status: 'sold' });
  await client.pets.replace(created.id, { name: 'Rex' });
  const withImage = await client.pets.uploadImage(created.id, new Uint8Array([1, 2]), { filename: 'a.png' });
  const width: number = withImage.image.width;
  const jpeg = await client.thumbnails.download(withImage.thumbnail_url ?? '');
  const jpegBytes: Uint8Array = jpeg;
  const jpegStatus: number = jpeg.lastResponse.status;
  const deleted = await client.pets.delete(created.id);
  const gone: true = deleted.deleted;
  const quote = await client.pricing.quote({ plan: 'pro', calls: 1000 });
  const total: string | null = quote.total;
  const usage = await client.usage.retrieve();
  const used: number = usage.units_used;
  const exhaustedAt: string | null = usage.forecast.quota_exhausted_at;
  const hook = await client.webhooks.create({ url: 'https://example.com/hooks', events: ['invoice.paid'] });
  const secret: string = hook.secret;
  for await (const endpoint of client.webhooks.listAll()) {
    const enabled: boolean = endpoint.enabled;
    void enabled;
  }
  await client.webhooks.delete(hook.id);
  try {
    const event: WebhookEvent<{ invoice: string }> = webhooks.constructEvent<{ invoice: string }>('{}', 't=1,v1=x', secret, { tolerance: 300 });
    const invoice: string = event.data.invoice;
    void invoice;
  } catch (err) {
    if (err instanceof WebhookSignatureError) void err.message;
  }
  const key = await client.keys.create({ name: 'ci' });
  const raw: string = key.api_key;
  const capped = await client.keys.update(key.id, { monthly_unit_cap: 5000, monthly_spend_cap: '25.00' });
  const cap: number | null = capped.monthly_unit_cap;
  const units: number = (await client.keys.retrieve(key.id)).units_used;
  void cap;
  void units;
  await client.keys.rotate(key.id, { grace_hours: 1 });
  await client.keys.revoke(key.id);
  const sub = await client.billing.subscribe({ plan: 'pro', payment_method: 'pm_card_visa' });
  const status: string | undefined = sub.subscription?.status;
  for await (const invoice of client.invoices.listAll()) {
    const amount: string = invoice.total;
    void amount;
  }
  const reg = await client.auth.register({ email: 'a@example.com' });
  const id: number = reg.customer_id;
  try {
    await client.analytics.retrieve();
  } catch (err) {
    if (err instanceof RateLimitError) {
      const wait: number | null = err.retryAfter;
      void wait;
    } else if (err instanceof FeatureNotInPlanError) {
      const url: string | null = err.upgradeUrl;
      void url;
    } else if (err instanceof ValidationError) {
      const fields: Record<string, unknown> = err.fields;
      void fields;
    }
  }
  void [first, remaining, cost, width, jpegBytes, jpegStatus, gone, total, used, raw, status, id, exhaustedAt];
}

void main;
