"""HTML pages of this app (the portal); wired in petstore/urls.py."""

from django.urls import path

from metering import views

urlpatterns: list = [
    path("dashboard/usage/", views.usage_page, name="dashboard-usage"),
    path("dashboard/usage/panel/", views.usage_panel, name="dashboard-usage-panel"),
    path("dashboard/first-call/", views.first_call_status, name="dashboard-first-call"),
]
