from django.urls import path

from accounts import api

api_urlpatterns = [
    path("auth/register", api.RegisterApi.as_view(), name="api-register"),
    path("keys", api.KeyListCreateApi.as_view(), name="api-keys"),
    path("keys/<int:pk>", api.KeyDetailApi.as_view(), name="api-key-revoke"),
    path("keys/<int:pk>/rotate", api.KeyRotateApi.as_view(), name="api-key-rotate"),
]
