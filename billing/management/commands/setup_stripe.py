from django.conf import settings
from django.core.management.base import BaseCommand

from billing.stripe_catalog import stripe_catalog_sync
from billing.webhooks.endpoint import webhook_endpoint_ensure
from billing.webhooks.thin import event_destination_ensure


class Command(BaseCommand):
    help = (
        "Prepare Stripe for this site: the plan catalogue (products, prices, meters) and the "
        "webhook endpoint and the meter-error event destination delivering to SITE_URL. "
        "Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.SITE_URL)

    def handle(self, *args, base_url, **options):
        result = stripe_catalog_sync()
        self.stdout.write(
            f"stripe catalogue: {result.prices_created} price(s) created, "
            f"{result.unchanged} unchanged, {result.prices_archived} archived"
        )
        endpoint = webhook_endpoint_ensure(base_url=base_url)
        self.stdout.write(f"stripe webhooks deliver to {endpoint.url}")
        destination = event_destination_ensure(base_url=base_url)
        self.stdout.write(f"stripe meter errors (thin events) deliver to {destination.url}")
