"""The project's URLconf: every app's API under /api/v1/ and every app's pages."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from djstripe.urls import trailing_slash
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.page_urls import urlpatterns as accounts_pages
from accounts.urls import api_urlpatterns as accounts_api
from alerts.page_urls import urlpatterns as alerts_pages
from alerts.urls import api_urlpatterns as alerts_api
from billing.page_urls import urlpatterns as billing_pages
from billing.urls import api_urlpatterns as billing_api
from billing.webhooks.thin import ThinEventView
from billing.webhooks.view import StripeWebhookView
from metering.page_urls import urlpatterns as metering_pages
from metering.urls import api_urlpatterns as metering_api
from petstore.urls_api import api_urlpatterns as petstore_api
from portal.page_urls import urlpatterns as portal_pages
from pricing.page_urls import urlpatterns as pricing_pages
from pricing.urls import api_urlpatterns as pricing_api

api_v1 = [
    *accounts_api,
    *petstore_api,
    *metering_api,
    *pricing_api,
    *billing_api,
    *alerts_api,
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The operator console (console/sites.py), with /admin/metrics/ and /admin/metrics.json.
    path("admin/", admin.site.urls),
    # Ahead of dj-stripe's own view at the same URL: ours always verifies the signature against
    # the endpoint's stored secret (see billing/webhooks/view.py for why).
    path(trailing_slash("stripe/webhook/<uuid:uuid>"), StripeWebhookView.as_view()),
    # Stripe's v2 thin events (meter errors), signed with the event destination's own secret.
    path("stripe/events/<uuid:uuid>/", ThinEventView.as_view(), name="stripe-thin-events"),
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    *portal_pages,
    *accounts_pages,
    *metering_pages,
    *pricing_pages,
    *billing_pages,
    *alerts_pages,
]

if settings.METERING_BENCH_UNMETERED:
    # bench/metering.py only: the same pets view outside the metered prefix, and as the peer
    # (djangorestframework-api-key + DRF's ScopedRateThrottle) would serve it.
    from petstore.api import PetViewSet
    from petstore.bench_peer import PeerPetViewSet

    urlpatterns += [
        path("bench/unmetered/pets", PetViewSet.as_view({"get": "list", "post": "create"})),
        path("bench/peer/pets", PeerPetViewSet.as_view({"get": "list"})),
    ]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
