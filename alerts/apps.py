from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """What a customer is told about its usage: usage-threshold alerts (settings, crossings
    recorded once per period, emails), with room for forecasts, per-key cap notices and outbound
    webhooks."""

    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.navigation import dashboard_tab_register

        dashboard_tab_register(label="Alerts", url_name="dashboard-alerts", order=50)
