from django.apps import AppConfig


class PricingConfig(AppConfig):
    """What usage costs: the rating engine (pricing/engine/), the presets, the public quote API,
    the pricing page with its calculator and cost curves, the plan advice and the usage estimate.
    Knows no Stripe: billing maps its prices onto Stripe's."""

    name = "pricing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.navigation import page_register
        from pricing import caps  # noqa: F401  (its receivers: spend caps follow plan prices)

        page_register("upgrade", "pricing")
