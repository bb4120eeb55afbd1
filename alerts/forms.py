"""The alerts page's form."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms

_ASCII_NUMBER = re.compile(r"[0-9]+")  # the field's max_length bounds it


class AlertSettingsForm(forms.Form):
    thresholds = forms.CharField(
        max_length=100,
        label="Alert me at",
        help_text="Percentages of your included units, separated by commas, e.g. 50, 80, 100.",
    )
    email_enabled = forms.BooleanField(
        required=False, label="Email me when a threshold is crossed or a forecast warns"
    )
    forecast_enabled = forms.BooleanField(
        required=False,
        label="Warn me ahead when the forecast passes my quota or spend threshold",
    )
    spend_threshold = forms.DecimalField(
        required=False,
        label="Spend threshold (USD)",
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000"),
        max_digits=12,
        decimal_places=2,
        help_text="Warn me when this month's bill, at the current rate, will pass this amount. "
        "Leave empty for no spend warning.",
    )

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
