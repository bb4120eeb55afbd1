from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsoleConfig(AppConfig):
    """The operator's console: the admin site (console/sites.py), business metrics
    (console/metrics/), and `seed_demo`. The top layer next to the portal: it may read every
    app; none imports it."""

    default = True
    name = "console"


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the console's site as the default site (INSTALLED_APPS lists
    this instead of "django.contrib.admin")."""

    default = False
    default_site = "console.sites.ConsoleAdminSite"
