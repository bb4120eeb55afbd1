from django.core.management.base import BaseCommand

from pricing.presets import PRESETS, preset_load


class Command(BaseCommand):
    help = (
        "Load a pricing preset into the plan catalogue. Idempotent: plans are matched by slug, "
        "plans outside the preset are deactivated (never deleted), Free always stays."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(PRESETS), help="The preset to load.")

    def handle(self, *args, name: str, **options):
        self.stdout.write(f"{name}: {PRESETS[name].description}")
        result = preset_load(name=name)
        for label, slugs in (
            ("created", result.created),
            ("updated", result.updated),
            ("unchanged", result.unchanged),
            ("deactivated", result.deactivated),
        ):
            self.stdout.write(f"  {label}: {', '.join(slugs) if slugs else '-'}")
