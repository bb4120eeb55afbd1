from django.urls import path

from billing import api

api_urlpatterns: list = [
    path("pricing/quote", api.PricingQuoteApi.as_view(), name="api-pricing-quote"),
]
