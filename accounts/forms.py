"""Forms of the account pages: sign-up, log-in and API keys."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.password_validation import validate_password

from accounts.services import normalize_email

# Choices of the rotation grace period (hours the old key keeps working), at most the service's 7
# days.
ROTATION_GRACE_CHOICES = [
    (0, "Revoke the old key now"),
    (1, "Keep the old key working for 1 hour"),
    (24, "Keep the old key working for 24 hours"),
    (168, "Keep the old key working for 7 days"),
]


class SignupForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not a common password and not all digits.",
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def clean(self):
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            # The user does not exist yet; a transient one lets the similarity check compare the
            # password with the email.
            candidate = get_user_model()(username=email, email=email)
            try:
                validate_password(password, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class KeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=60,
        required=False,
        label="Key name",
        help_text="What it is for, e.g. “production server” or “CI”.",
        widget=forms.TextInput(attrs={"placeholder": "production server"}),
    )


class KeyCapsForm(forms.Form):
    """A key's own monthly caps; an empty field removes that cap."""

    monthly_unit_cap = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**15,
        label="Monthly unit cap",
        help_text="Usage units this key may use each month. Empty: no cap.",
    )
    monthly_spend_cap = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        label="Monthly spend cap (USD)",
        help_text="What this key may spend each month at your plan's prices. Empty: no cap.",
    )

    def __init__(self, *args, spend_cap_allowed: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not spend_cap_allowed:
            del self.fields["monthly_spend_cap"]


class KeyRotateForm(forms.Form):
    grace_hours = forms.TypedChoiceField(
        choices=ROTATION_GRACE_CHOICES,
        coerce=int,
        initial=0,
        label="The old key",
        widget=forms.RadioSelect,
    )


class PasswordSetOrResetForm(PasswordResetForm):
    """Django's reset form, also for accounts made through the API (no password yet): they
    set their first password the same way, by a link sent to their email."""

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (user for user in users if user.email.lower() == email.lower())
