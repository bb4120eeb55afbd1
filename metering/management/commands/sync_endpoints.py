from django.core.management.base import BaseCommand

from metering.services import endpoints_sync


class Command(BaseCommand):
    help = (
        "Add every metered API route to the endpoint table (weight 1) so that its cost can "
        "be edited in the admin. Existing rows are left as they are."
    )

    def handle(self, *args, **options):
        created = endpoints_sync()
        for endpoint in created:
            self.stdout.write(f"added {endpoint.label} (weight {endpoint.weight})")
        self.stdout.write(f"{len(created)} endpoint(s) added")
