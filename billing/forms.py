"""Forms of the billing pages: payment method (test mode), plan change, usage alerts and the
pricing calculator's no-JavaScript fallback."""

from __future__ import annotations

import re

from django import forms

from billing.services import payment_method_ids_for_test_cards

CALCULATOR_MAX_CALLS = 10_000_000
_ASCII_NUMBER = re.compile(r"[0-9]+")  # the field's max_length bounds it


class PaymentMethodForm(forms.Form):
    """Stripe's test payment methods only (test mode: nothing real is ever charged)."""

    payment_method = forms.ChoiceField(
        choices=payment_method_ids_for_test_cards,
        initial="pm_card_visa",
        label="Test card",
        widget=forms.RadioSelect,
    )


class PlanChangeForm(forms.Form):
    """The card to pay a paid plan with: the default card on file ("") or a test card."""

    payment_method = forms.ChoiceField(required=False, label="Pay with", widget=forms.RadioSelect)

    def __init__(self, *args, card_on_file: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        on_file = (
            f"The card on file ({card_on_file})"
            if card_on_file
            else "My default card (set on the billing page)"
        )
        self.fields["payment_method"].choices = [
            ("", on_file),
            *payment_method_ids_for_test_cards(),
        ]
        self.fields["payment_method"].initial = "" if card_on_file else "pm_card_visa"


class AlertSettingsForm(forms.Form):
    thresholds = forms.CharField(
        max_length=100,
        label="Alert me at",
        help_text="Percentages of your included units, separated by commas, e.g. 50, 80, 100.",
    )
    email_enabled = forms.BooleanField(required=False, label="Email me when a threshold is crossed")

    def clean_thresholds(self) -> list[int]:
        raw = self.cleaned_data["thresholds"]
        parts = [part for part in re.split(r"[\s,;%]+", raw) if part]
        if not parts:
            raise forms.ValidationError("Give at least one threshold, e.g. 80.")
        # ASCII digits only: str.isdigit() also accepts "²" or "①", which int() refuses.
        if not all(_ASCII_NUMBER.fullmatch(part) for part in parts):
            raise forms.ValidationError("Use whole numbers, e.g. 50, 80, 100.")
        # The ranges (1-500 %, at most 5 of them) are the service's rules: it says what is wrong.
        return [int(part) for part in parts]


class CalculatorForm(forms.Form):
    plan = forms.ChoiceField(label="Plan", widget=forms.RadioSelect)
    calls = forms.IntegerField(
        min_value=0,
        max_value=CALCULATOR_MAX_CALLS,
        label="Calls per month",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
    )

    def __init__(self, *args, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(plan.slug, plan.name) for plan in plans]
