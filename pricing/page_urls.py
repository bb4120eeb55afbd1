"""HTML pages of this app; wired in petstore/urls.py."""

from django.urls import path

from pricing import views

urlpatterns: list = [
    path("pricing/", views.pricing_page, name="pricing"),
]
