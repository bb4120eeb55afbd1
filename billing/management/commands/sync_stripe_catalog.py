from django.core.management.base import BaseCommand

from billing.stripe_catalog import stripe_catalog_sync


class Command(BaseCommand):
    help = (
        "Create or update Stripe Products, Prices and Billing Meters for every plan. "
        "Idempotent: a second run creates nothing."
    )

    def handle(self, *args, **options):
        result = stripe_catalog_sync()
        for line in result.lines:
            self.stdout.write(line)
        self.stdout.write(
            f"stripe catalogue: {result.products_created} product(s) and "
            f"{result.prices_created} price(s) created, {result.prices_archived} archived, "
            f"{result.unchanged} unchanged"
        )
