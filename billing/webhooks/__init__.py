"""Stripe's webhooks, all in one place:

- `endpoint`: the webhook endpoint registered with Stripe for this site (`setup_stripe`);
- `view`: the signed view that receives the deliveries, ahead of dj-stripe's own;
- `receivers`: what each event does (dj-stripe calls them once per stored event).
"""
