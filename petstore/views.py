from django.http import JsonResponse
from django.shortcuts import render


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "not_found", "message": f"No route for {request.path}."}, status=404
        )
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": "server_error",
                "message": "Something went wrong on our side; it was logged.",
            },
            status=500,
        )
    return render(request, "500.html", status=500)


def landing(request):
    return render(request, "landing.html")
