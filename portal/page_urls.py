"""The portal's pages: the landing page, the quick start and the dashboard's home; wired in
petstore/urls.py (which also names portal.views' error handlers)."""

from django.urls import path

from portal import dashboard, views

urlpatterns: list = [
    path("", views.landing, name="landing"),
    path("docs/quickstart/", views.quickstart, name="docs-quickstart"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
