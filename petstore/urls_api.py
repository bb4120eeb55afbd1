from django.urls import path
from rest_framework.routers import SimpleRouter

from petstore import api

router = SimpleRouter(trailing_slash="", use_regex_path=False)
router.register("pets", api.PetViewSet, basename="api-pets")

api_urlpatterns = [
    *router.urls,
    path("analytics", api.AnalyticsApi.as_view(), name="api-analytics"),
    path("thumbnails/<str:token>.jpg", api.ThumbnailApi.as_view(), name="api-thumbnail"),
]
