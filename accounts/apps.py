from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.navigation import dashboard_tab_register, page_register

        page_register("keys", "dashboard-keys")  # linked from keys' cap notices (alerts)
        dashboard_tab_register(
            label="API keys",
            url_name="dashboard-keys",
            order=30,
            also_current=("dashboard-key-revoke", "dashboard-key-rotate", "dashboard-key-caps"),
        )
