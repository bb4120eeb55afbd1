import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a staff superuser if there is none, printing its credentials once."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@petstore.local")

    def handle(self, *args, email, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("staff user: already there (credentials were printed on first run)")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=email, email=email, password=password)
        self.stdout.write(
            self.style.SUCCESS(
                f"staff user created: {email} / {password}  (shown once; log in at /admin/)"
            )
        )
