from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from djstripe.urls import trailing_slash
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.page_urls import urlpatterns as accounts_pages
from accounts.urls import api_urlpatterns as accounts_api
from billing import admin_views
from billing.page_urls import urlpatterns as billing_pages
from billing.urls import api_urlpatterns as billing_api
from billing.views.stripe_webhook import StripeWebhookView
from metering.page_urls import urlpatterns as metering_pages
from metering.urls import api_urlpatterns as metering_api
from petstore import views
from petstore.urls_api import api_urlpatterns as petstore_api

api_v1 = [*accounts_api, *petstore_api, *metering_api, *billing_api]

urlpatterns = [
    path("", views.landing, name="landing"),
    path("docs/quickstart/", views.quickstart, name="docs-quickstart"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/metrics/", admin_views.metrics_page, name="admin-metrics"),
    path("admin/metrics.json", admin_views.metrics_json, name="admin-metrics-json"),
    path("admin/", admin.site.urls),
    # Ahead of dj-stripe's own view at the same URL: ours always verifies the signature against
    # the endpoint's stored secret (see billing/views/stripe_webhook.py for why).
    path(trailing_slash("stripe/webhook/<uuid:uuid>"), StripeWebhookView.as_view()),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    *accounts_pages,
    *metering_pages,
    *billing_pages,
]

if settings.METERING_BENCH_UNMETERED:
    # bench/metering.py only: the same pets view outside the metered prefix.
    from petstore.api import PetViewSet

    urlpatterns.append(
        path("bench/unmetered/pets", PetViewSet.as_view({"get": "list", "post": "create"}))
    )

handler400 = "petstore.views.bad_request"
handler403 = "petstore.views.permission_denied"
handler404 = "petstore.views.not_found"
handler500 = "petstore.views.server_error"
