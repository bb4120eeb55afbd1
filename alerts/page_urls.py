"""HTML pages of this app (the dashboard's alerts and webhooks tabs); wired in petstore/urls.py."""

from django.urls import path

from alerts import views
from alerts.webhooks import views as webhook_views

urlpatterns: list = [
    path("dashboard/alerts/", views.alerts_page, name="dashboard-alerts"),
    path("dashboard/webhooks/", webhook_views.webhooks_page, name="dashboard-webhooks"),
    path(
        "dashboard/webhooks/<int:pk>/",
        webhook_views.webhook_endpoint_page,
        name="dashboard-webhook",
    ),
    path(
        "dashboard/webhooks/<int:pk>/delete/",
        webhook_views.webhook_endpoint_delete,
        name="dashboard-webhook-delete",
    ),
    path(
        "dashboard/webhooks/<int:pk>/enable/",
        webhook_views.webhook_endpoint_enable,
        name="dashboard-webhook-enable",
    ),
    path(
        "dashboard/webhooks/<int:pk>/deliveries/<int:delivery_id>/resend/",
        webhook_views.webhook_delivery_resend,
        name="dashboard-webhook-resend",
    ),
]
