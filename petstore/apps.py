from django.apps import AppConfig


class PetstoreConfig(AppConfig):
    name = "petstore"
    verbose_name = "Pet Store API"
    default_auto_field = "django.db.models.BigAutoField"
