from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares and nothing of ours is below: the error family and the API's error
    answer, money formatting, billing periods, email, the chart style and the site's navigation
    (links between apps by role). An app so that its template tags load."""

    name = "core"
    verbose_name = "Core"
