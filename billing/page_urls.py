"""HTML pages of this app (the portal); wired in petstore/urls.py."""

from django.urls import path

from billing import views

urlpatterns: list = [
    path("dashboard/billing/", views.billing_page, name="dashboard-billing"),
    path(
        "dashboard/billing/payment-method/",
        views.payment_method,
        name="dashboard-payment-method",
    ),
    path("dashboard/billing/plan/<slug:slug>/", views.plan_change, name="dashboard-plan-change"),
    path("dashboard/billing/cancel/", views.subscription_cancel, name="dashboard-cancel"),
]
