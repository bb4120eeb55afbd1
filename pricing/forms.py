"""The pricing calculator's no-JavaScript fallback (a GET form on the pricing page)."""

from __future__ import annotations

from django import forms

CALCULATOR_MAX_CALLS = 10_000_000


class CalculatorForm(forms.Form):
    plan = forms.ChoiceField(label="Plan", widget=forms.RadioSelect)
    calls = forms.IntegerField(
        min_value=0,
        max_value=CALCULATOR_MAX_CALLS,
        label="Calls per month",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
    )
    promotion_code = forms.CharField(
        required=False,
        max_length=40,
        label="Promotion code",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Optional"}),
    )

    def __init__(self, *args, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(plan.slug, plan.name) for plan in plans]
