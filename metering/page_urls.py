"""HTML pages of this app (the portal); wired in petstore/urls.py."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
