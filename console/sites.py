"""The operator console: Django's admin site with the business's own pages.

It is Django's default admin site (console.apps.ConsoleAdminConfig), so every app registers its
models with `@admin.register` and never imports the console. The site adds the business metrics
(`/admin/metrics/`, `/admin/metrics.json`) and the ledger ↔ Stripe reconciliation
(`/admin/reconciliation/`, `/admin/reconciliation.json`), staff only through its own
`admin_view`, and sends the admin pages of models that moved to another app to their new address.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path
from django.views.generic import RedirectView

# Models whose app changed (old app label, model name → new app label): their admin pages
# answer at the new address, old bookmarks redirect there.
MOVED_MODELS = {("billing", "alertsettings"): "alerts", ("billing", "usagealert"): "alerts"}


class ConsoleAdminSite(admin.AdminSite):
    site_header = "Pet Store API — operator console"
    site_title = "Pet Store API console"
    index_title = "Operator console"
    index_template = "console/index.html"

    def staff_view(self, view, *, json: bool = False):
        """`admin_view` (staff only, never cached, CSRF-protected; anyone not logged in is sent
        to the log-in page), and a logged-in user who is not staff is refused (403; JSON for a
        JSON view) rather than shown the log-in form again."""
        protected = self.admin_view(view)

        def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.is_authenticated and not self.has_permission(request):
                if json:
                    return JsonResponse(
                        {"error": "forbidden", "message": "Staff only."}, status=403
                    )
                raise PermissionDenied
            return protected(request, *args, **kwargs)

        return inner

    def get_urls(self):
        from console import reconciliation_views, views

        moved = [
            re_path(
                rf"^{old_app}/{model}/(?P<rest>.*)$",
                RedirectView.as_view(url=f"/admin/{new_app}/{model}/%(rest)s", query_string=True),
            )
            for (old_app, model), new_app in MOVED_MODELS.items()
        ]
        return [
            path("metrics/", self.staff_view(views.metrics_page), name="metrics"),
            path(
                "metrics.json", self.staff_view(views.metrics_json, json=True), name="metrics_json"
            ),
            path(
                "reconciliation/",
                self.staff_view(reconciliation_views.reconciliation_page),
                name="reconciliation",
            ),
            path(
                "reconciliation.json",
                self.staff_view(reconciliation_views.reconciliation_json, json=True),
                name="reconciliation_json",
            ),
            *moved,
            *super().get_urls(),
        ]
