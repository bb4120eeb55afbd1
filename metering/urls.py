from django.urls import path

from metering import api

api_urlpatterns = [
    path("usage", api.UsageApi.as_view(), name="api-usage"),
]
