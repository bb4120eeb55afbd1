"""Forms of the billing pages: payment method (test mode) and plan change."""

from __future__ import annotations

from django import forms

from billing.services import payment_method_ids_for_test_cards


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
    promotion_code = forms.CharField(
        required=False,
        max_length=40,
        label="Promotion code",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

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
