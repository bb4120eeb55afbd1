"""HTML pages of this app (the portal); wired in petstore/urls.py."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import LogoutView
from django.urls import path, reverse_lazy

from accounts import views

urlpatterns: list = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_view, name="login"),
    # POST only (Django's LogoutView): a link or an <img> cannot log anyone out.
    path("logout/", LogoutView.as_view(), name="logout"),
    # Forgotten password, or a first password for accounts made through the API.
    path("login/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "login/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path(
        "login/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "login/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_done.html"
        ),
        name="password_reset_complete",
    ),
    path("dashboard/keys/", views.keys_page, name="dashboard-keys"),
    path("dashboard/keys/<int:pk>/revoke/", views.key_revoke, name="dashboard-key-revoke"),
    path("dashboard/keys/<int:pk>/rotate/", views.key_rotate, name="dashboard-key-rotate"),
    path("dashboard/keys/<int:pk>/caps/", views.key_caps, name="dashboard-key-caps"),
]
