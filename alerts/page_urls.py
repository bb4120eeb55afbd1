"""HTML pages of this app (the dashboard's alerts tab); wired in petstore/urls.py."""

from django.urls import path

from alerts import views

urlpatterns: list = [
    path("dashboard/alerts/", views.alerts_page, name="dashboard-alerts"),
]
