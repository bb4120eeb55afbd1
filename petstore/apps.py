from django.apps import AppConfig


class PetstoreConfig(AppConfig):
    name = "petstore"
    verbose_name = "Pet Store API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from petstore import checks  # noqa: F401 - registers the system checks
