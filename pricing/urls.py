from django.urls import path

from pricing import api

api_urlpatterns = [
    path("pricing/quote", api.PricingQuoteApi.as_view(), name="api-pricing-quote"),
]
