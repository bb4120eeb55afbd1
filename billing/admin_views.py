"""Operator console pages under /admin/ (business metrics)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse


@staff_member_required
def metrics_page(request):
    return JsonResponse({"error": "not_ready"}, status=503)


@staff_member_required
def metrics_json(request):
    return JsonResponse({"error": "not_ready"}, status=503)
