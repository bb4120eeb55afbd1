"""HTML pages of this app (the portal); wired in petstore/urls.py."""

from django.urls import path

from billing import checkout_views, credits_views, trial_views, views

urlpatterns: list = [
    path("dashboard/billing/", views.billing_page, name="dashboard-billing"),
    path(
        "dashboard/billing/payment-method/",
        views.payment_method,
        name="dashboard-payment-method",
    ),
    path("dashboard/billing/plan/<slug:slug>/", views.plan_change, name="dashboard-plan-change"),
    path("dashboard/billing/cancel/", views.subscription_cancel, name="dashboard-cancel"),
    path("dashboard/billing/trial/<slug:slug>/", trial_views.trial_page, name="dashboard-trial"),
    # Stripe Checkout (subscribe, change the card) and the Stripe customer portal.
    path(
        "dashboard/billing/checkout/done/",
        checkout_views.checkout_done,
        name="dashboard-checkout-done",
    ),
    path(
        "dashboard/billing/checkout/<slug:slug>/",
        checkout_views.checkout_subscribe,
        name="dashboard-checkout",
    ),
    path("dashboard/billing/card/", checkout_views.card_change, name="dashboard-card"),
    path(
        "dashboard/billing/credits/<str:pack>/",
        credits_views.credits_buy,
        name="dashboard-credits-buy",
    ),
    path("dashboard/billing/portal/", checkout_views.portal, name="dashboard-portal"),
]
