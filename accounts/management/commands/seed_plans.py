from django.core.management.base import BaseCommand

from accounts.demo_plans import seed_plans
from accounts.models import Plan


class Command(BaseCommand):
    help = "Create the demo plan catalogue (Free, Pro, Business, Enterprise). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Reset existing demo plans to the catalogue's values.",
        )

    def handle(self, *args, overwrite=False, **options):
        created, updated = seed_plans(Plan, overwrite=overwrite)
        self.stdout.write(
            f"plans: {created} created, {updated} reset, {Plan.objects.count()} in the catalogue"
        )
