from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The customer-facing site around the apps' own pages: the landing page, the quick start,
    the error pages and the dashboard's home, which gathers what the other apps know about the
    customer. The top layer next to the console: it may read every app; none imports it."""

    name = "portal"

    def ready(self) -> None:
        from core.navigation import dashboard_tab_register, page_register

        page_register("dashboard", "dashboard")
        dashboard_tab_register(label="Overview", url_name="dashboard", order=10)
