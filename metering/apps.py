from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.navigation import dashboard_tab_register
        from metering import receivers  # noqa: F401 - connects the cache invalidation receivers

        dashboard_tab_register(label="Usage", url_name="dashboard-usage", order=20)
