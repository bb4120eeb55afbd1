from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """What a customer is told about its account: usage-threshold alerts, forecast and quota
    notices (settings, each recorded once per period, emails), and outbound webhooks to the
    customer's own endpoints (signed, retried, logged)."""

    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alerts.webhooks import receivers  # noqa: F401 (connects to core.events)
        from core.navigation import dashboard_tab_register, page_register

        dashboard_tab_register(label="Alerts", url_name="dashboard-alerts", order=50)
        dashboard_tab_register(
            label="Webhooks",
            url_name="dashboard-webhooks",
            order=55,
            also_current=("dashboard-webhook",),
        )
        page_register("webhooks", "dashboard-webhooks")
