from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.stripe_api import configure
        from billing.webhooks import receivers  # noqa: F401 - connects the Stripe handlers
        from core.navigation import dashboard_tab_register, page_register

        configure()
        page_register("plans", "dashboard-billing")
        page_register("plan-change", "dashboard-plan-change")
        page_register("trial", "dashboard-trial")
        dashboard_tab_register(
            label="Plan & billing",
            url_name="dashboard-billing",
            order=40,
            also_current=("dashboard-plan-change", "dashboard-cancel", "dashboard-trial"),
        )
