from django.urls import path

from billing import api, credits_api

api_urlpatterns: list = [
    path("billing/subscribe", api.SubscribeApi.as_view(), name="api-billing-subscribe"),
    path("billing/cancel", api.CancelApi.as_view(), name="api-billing-cancel"),
    path("billing/invoices", api.InvoicesApi.as_view(), name="api-billing-invoices"),
    path("billing/credits", credits_api.CreditsApi.as_view(), name="api-billing-credits"),
]
