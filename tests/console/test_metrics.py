"""Business metrics on hand-built histories: every expected figure is worked out in the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts import services as account_services
from accounts.models import Customer, Plan, PlanChange
from console import metrics
from core.periods import month_period
from tests.factories import CustomerFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    """'2025-06-02 10:00:00' (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def customer(email: str, created: str, *changes: tuple[str, str], first_call=None) -> Customer:
    """A customer signed up at `created` on the first plan of `changes`, then moved along them
    by the plan-change service: ("2025-04-05", "pro") means a change to Pro at that instant."""
    plans = {plan.slug: plan for plan in Plan.objects.all()}
    c = CustomerFactory(
        email=email,
        plan=plans[changes[0][1]],
        created_at=at(created),
        first_call_at=at(first_call) if isinstance(first_call, str) else first_call,
    )
    for when, slug in changes[1:]:
        account_services.customer_change_plan(
            customer=c, plan=plans[slug], reason="test", when=at(when)
        )
    return c


def usage(c: Customer, hour: str, units: int, endpoint: str = "GET /api/v1/pets") -> None:
    UsageRecordFactory(customer=c, endpoint=endpoint, hour=at(hour), calls=units)


JUNE = month_period(2025, 6)


@pytest.fixture
def june_history():
    # Paying at the start of June: A (Pro), B (Business), C (Pro), D (Pro): MRR 346.
    a = customer("a@x.io", "2025-03-10 09:00", ("", "free"), ("2025-04-05 00:00", "pro"))
    b = customer("b@x.io", "2025-02-01 09:00", ("", "free"), ("2025-03-01 00:00", "business"))
    b_down = ("2025-06-10 12:00", "pro")  # contraction 150
    c = customer("c@x.io", "2025-01-15 09:00", ("", "free"), ("2025-02-01 00:00", "pro"))
    d = customer("d@x.io", "2025-04-01 09:00", ("", "free"), ("2025-05-01 00:00", "pro"))
    for who, (when, slug) in (
        (b, b_down),
        (c, ("2025-06-20 00:00", "free")),  # churn 49
        (d, ("2025-06-05 00:00", "business")),  # expansion 150
    ):
        account_services.customer_change_plan(
            customer=who, plan=Plan.objects.get(slug=slug), when=at(when)
        )
    # Not paying at the start: E converts, F does not, G churned back in May.
    e = customer("e@x.io", "2025-05-20 09:00", ("", "free"), ("2025-06-15 00:00", "pro"))
    customer("f@x.io", "2025-05-25 09:00", ("", "free"))
    customer("g@x.io", "2025-01-01 09:00", ("", "free"), ("2025-01-02 00:00", "pro"),
             ("2025-05-10 00:00", "free"))  # fmt: skip
    # June sign-ups: first calls after 60 s, 120 s, 300 s and 1 h; L's comes in July; M never.
    customer("h@x.io", "2025-06-02 10:00", ("", "free"), first_call="2025-06-02 10:01")
    customer("i@x.io", "2025-06-03 10:00", ("", "free"), ("2025-06-10 00:00", "pro"),
             ("2025-06-25 00:00", "free"), first_call="2025-06-03 10:02")  # fmt: skip
    customer("j@x.io", "2025-06-04 10:00", ("", "free"), first_call="2025-06-04 10:05")
    k = customer("k@x.io", "2025-06-05 10:00", ("", "free"), ("2025-06-06 00:00", "pro"),
                 first_call="2025-06-05 11:00")  # fmt: skip
    customer("l@x.io", "2025-06-28 10:00", ("", "free"), first_call="2025-07-02 08:00")
    customer("m@x.io", "2025-06-29 10:00", ("", "free"))
    # After June: neither counted.
    customer("n@x.io", "2025-07-03 10:00", ("", "free"), first_call="2025-07-03 10:01")
    account_services.customer_change_plan(
        customer=a, plan=Plan.objects.get(slug="business"), when=at("2025-07-10 00:00")
    )
    # Usage: A 60,000 units in June on Pro (10,000 over: $10), D 510,000 on Business ($10),
    # K 1,000 (included), C's usage does not count (free at the end); outside June ignored.
    usage(a, "2025-06-03 00:00", 35_000)
    usage(a, "2025-06-30 23:00", 25_000, "POST /api/v1/pets")
    usage(a, "2025-05-31 23:00", 100_000)
    usage(a, "2025-07-01 00:00", 100_000)
    usage(d, "2025-06-12 00:00", 510_000)
    usage(k, "2025-06-07 00:00", 1_000)
    usage(c, "2025-06-07 00:00", 5_000)
    return {"a": a, "e": e, "k": k}


def test_every_figure_of_a_hand_built_month(june_history):
    figures = metrics.compute_month_metrics(JUNE, now=at("2026-01-15 00:00"))
    expected = {
        "month": "2025-06",
        "live": False,
        # 6 sign-ups (H I J K L M); 4 made a first call in June (L's was in July).
        "signups": 6,
        "activated": 4,
        "activation_rate": 0.6667,
        # 60, 120, 300, 3600 s: median 120 + 0.5 × 180; p90 at rank 2.7: 300 + 0.7 × 3300.
        "ttfc_median_seconds": 210.0,
        "ttfc_p90_seconds": 2610.0,
        # Not paying at the start (E F G) + sign-ups (H I J K L M) = 9; E and K pay at the end.
        "conversion_base": 9,
        "converted": 2,
        "conversion_rate": 0.2222,
        # End: A 49 + B 49 + D 199 + E 49 + K 49; start: A 49 + B 199 + C 49 + D 49.
        "mrr": "395.00",
        "mrr_start": "346.00",
        "paid_customers": 5,
        "paid_customers_start": 4,
        "usage_revenue": "20.00",
        "arpa": "79.00",
        # Changes in June: E, I and K free → Pro (3 × 49); D Pro → Business (+150);
        # B Business → Pro (−150); C and I Pro → Free (2 × 49).
        "mrr_new": "147.00",
        "mrr_expansion": "150.00",
        "mrr_contraction": "150.00",
        "mrr_churned": "98.00",
        "new_paid_customers": 3,
        "churned_paid_customers": 2,
        "cohort": {
            "customers": 4,
            "mrr_start": "346.00",
            "expansion": "150.00",
            "contraction": "150.00",
            "churned_customers": 1,
            "churned_mrr": "49.00",
        },
        # Cohort A B C D: C churned (1 of 4; 49 of 346 MRR).
        "logo_churn_rate": 0.25,
        "revenue_churn_rate": 0.1416,
        # 79 / (49 / 346) = 557.836…
        "ltv": "557.84",
        # (346 + 150 − 150 − 49) / 346 = 297 / 346
        "nrr": 0.8584,
        # Nobody paid at the start of 2024-07: undefined.
        "nrr_12m": None,
    }
    assert {k: figures[k] for k in expected} == expected
    # The movement adds up: start + new + expansion − contraction − churned = end.
    assert Decimal("346") + 147 + 150 - 150 - 98 == Decimal(figures["mrr"])
    assert figures["health"] == {
        "activation_rate": True,
        "ttfc_median_seconds": True,
        "conversion_rate": True,
        "logo_churn_rate": False,
        "revenue_churn_rate": False,
        "nrr": False,
        "nrr_12m": None,
    }


def test_trailing_twelve_months_retention_and_custom_plans():
    # Paying at 2025-01-01: P 49, Q 49, R 199 (297). At 2026-01-01: P 199, Q 0, R 49 (248).
    customer("p@x.io", "2024-12-01 00:00", ("", "free"), ("2024-12-15 00:00", "pro"),
             ("2025-06-01 00:00", "business"))  # fmt: skip
    customer("q@x.io", "2024-10-01 00:00", ("", "free"), ("2024-11-01 00:00", "pro"),
             ("2025-03-01 00:00", "free"))  # fmt: skip
    customer("r@x.io", "2024-09-01 00:00", ("", "free"), ("2024-10-01 00:00", "business"),
             ("2025-08-01 00:00", "pro"))  # fmt: skip
    customer("s@x.io", "2025-01-20 00:00", ("", "free"), ("2025-02-01 00:00", "pro"))
    # T moves to Enterprise (custom price: paid, MRR 0) in December.
    customer("t@x.io", "2025-11-01 00:00", ("", "free"), ("2025-12-10 00:00", "enterprise"))
    figures = metrics.compute_month_metrics(month_period(2025, 12), now=at("2026-03-01 00:00"))
    assert figures["nrr_12m"] == 0.835  # 248 / 297 = 0.83501…
    # December: P 199, R 49, S 49 paying at the start and at the end, unchanged.
    assert figures["nrr"] == 1.0
    assert figures["mrr_start"] == figures["mrr"] == "297.00"
    assert (figures["logo_churn_rate"], figures["revenue_churn_rate"]) == (0.0, 0.0)
    assert figures["ltv"] is None  # no churn: LTV is undefined
    # Q (free since March) and T were not paying on Dec 1; T now is (Enterprise): 1 of 2.
    assert (figures["conversion_base"], figures["converted"]) == (2, 1)
    assert figures["conversion_rate"] == 0.5
    assert (figures["new_paid_customers"], figures["mrr_new"]) == (1, "0.00")
    assert figures["paid_customers"] == 4
    assert figures["arpa"] == "74.25"  # 297 / 4
    assert figures["signups"] == 0
    assert figures["activation_rate"] is None
    assert figures["ttfc_median_seconds"] is None


def test_a_customer_without_history_counts_on_its_current_plan():
    c = customer("legacy@x.io", "2025-01-01 00:00", ("", "pro"))
    PlanChange.objects.filter(customer=c).delete()
    figures = metrics.compute_month_metrics(month_period(2025, 3), now=at("2025-06-01 00:00"))
    assert (figures["mrr_start"], figures["mrr"], figures["paid_customers"]) == (
        "49.00",
        "49.00",
        1,
    )


def test_the_live_month_shows_a_sign_up_and_a_first_call_at_once(admin_client):
    before = admin_client.get("/admin/metrics.json").json()
    assert before["live"] is True
    c, _ = account_services.customer_register(email="new@x.io")
    after = admin_client.get("/admin/metrics.json").json()
    assert (after["signups"], after["activated"]) == (before["signups"] + 1, before["activated"])
    account_services.customer_record_first_call(
        customer_id=c.pk, when=c.created_at + timedelta(seconds=90)
    )
    latest = admin_client.get("/admin/metrics.json").json()
    assert latest["activated"] == before["activated"] + 1
    assert latest["ttfc_median_seconds"] == 90.0
    assert latest["month"] == datetime.now(UTC).strftime("%Y-%m")


def test_closed_months_are_cached_and_the_cache_can_be_cleared(june_history):
    now = at("2026-01-15 00:00")
    first = metrics.month_metrics(JUNE, now=now)
    customer("late@x.io", "2025-06-10 00:00", ("", "free"))
    assert metrics.month_metrics(JUNE, now=now)["signups"] == first["signups"]
    metrics.metrics_cache_clear([JUNE])
    assert metrics.month_metrics(JUNE, now=now)["signups"] == first["signups"] + 1


# --- the views -------------------------------------------------------------------------------


JSON_FIELDS = {
    "month",
    "signups",
    "activated",
    "activation_rate",
    "ttfc_median_seconds",
    "ttfc_p90_seconds",
    "conversion_rate",
    "mrr",
    "usage_revenue",
    "mrr_new",
    "mrr_expansion",
    "mrr_contraction",
    "mrr_churned",
    "logo_churn_rate",
    "revenue_churn_rate",
    "ltv",
    "nrr",
}


@pytest.mark.parametrize("path", ["/admin/metrics/", "/admin/metrics.json"])
def test_anonymous_visitors_are_sent_to_the_admin_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("path", ["/admin/metrics/", "/admin/metrics.json"])
def test_signed_in_customers_who_are_not_staff_are_refused(client, django_user_model, path):
    user = django_user_model.objects.create_user(username="dev", password="pw-123456789")
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 403
    if path.endswith(".json"):
        assert response.json()["error"] == "forbidden"


def test_the_json_of_a_month(admin_client, june_history):
    response = admin_client.get("/admin/metrics.json?month=2025-06")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= JSON_FIELDS
    assert (body["month"], body["signups"], body["mrr"], body["nrr"]) == (
        "2025-06",
        6,
        "395.00",
        0.8584,
    )


@pytest.mark.parametrize("month", ["2025-13", "june", "2025-6-01", "", "9999-01", "1999-12"])
def test_a_bad_month_is_a_400(admin_client, month):
    response = admin_client.get("/admin/metrics.json", {"month": month})
    if month == "":  # empty means the default (current month)
        assert response.status_code == 200
        return
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_parameter"
    assert body["message"]


def test_the_page_shows_figures_targets_trend_and_recent_changes(admin_client, june_history):
    response = admin_client.get("/admin/metrics/?month=2025-06")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Business metrics" in html
    assert 'id="site-name"' in html  # the admin's look (base_site.html)
    assert "66.7%" in html and "&gt; 40%" in html  # activation against its target
    assert "status-ok" in html and "status-bad" in html
    charts = html.split('<div class="chart">')[1:]
    assert len(charts) == 6  # the trend charts, SVG rendered on the server
    assert all("pygal-chart" in chart for chart in charts)
    svgs = "".join(chart.split("</svg>", 1)[0] for chart in charts)
    assert "<script" not in svgs  # static SVG: no chart JavaScript, nothing from a CDN
    assert "c@x.io" in html and "−$49.00" in html  # C's churn among the recent changes
    assert "$395.00" in html


def test_the_page_reports_a_bad_month(admin_client):
    response = admin_client.get("/admin/metrics/?month=nope")
    assert response.status_code == 400
    assert "month must look like" in response.content.decode()


def test_the_admin_index_links_to_the_metrics(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert 'href="/admin/metrics/"' in response.content.decode()


def test_trials_count_apart_from_mrr_and_their_conversion_is_new_mrr():
    """Three June trials of Pro: P converts (a card), Q ends unpaid, R is still trialing."""
    pro, free = Plan.objects.get(slug="pro"), Plan.objects.get(slug="free")
    p = customer("p@x.io", "2025-06-01 09:00", ("", "free"))
    q = customer("q@x.io", "2025-06-01 09:00", ("", "free"))
    r = customer("r@x.io", "2025-06-01 09:00", ("", "free"))
    for who, when in ((p, "2025-06-02 00:00"), (q, "2025-06-03 00:00"), (r, "2025-06-25 00:00")):
        account_services.customer_change_plan(customer=who, plan=pro, reason="trial", when=at(when))
    account_services.trial_convert(customer=p, when=at("2025-06-16 00:00"))
    assert account_services.trial_convert(customer=p) is None  # once
    account_services.customer_change_plan(
        customer=q, plan=free, reason="stripe", when=at("2025-06-17 00:00")
    )
    assert PlanChange.objects.get(customer=q, to_plan=free, from_plan=pro).reason == "trial_ended"
    usage(r, "2025-06-26 10:00", 90_000)  # a trial's usage is not billed

    june = metrics.compute_month_metrics(JUNE, now=at("2025-07-01 01:00"))
    assert june["mrr"] == "49.00"  # P only: the trials bring none
    assert june["paid_customers"] == 1 and june["mrr_new"] == "49.00"
    assert june["new_paid_customers"] == 1 and june["churned_paid_customers"] == 0
    assert june["mrr_churned"] == "0.00" and june["usage_revenue"] == "0.00"
    assert june["converted"] == 1 and june["conversion_base"] == 3
    assert june["trials_started"] == 3 and june["trialing_customers"] == 1
    assert june["trials_converted"] == 1 and june["trials_ended_unpaid"] == 1
    assert june["trial_conversion_rate"] == 0.5
    # On June 10: P and Q trialing, not paying yet.
    mid = metrics.compute_month_metrics(JUNE, now=at("2025-06-10 00:00"))
    assert mid["paid_customers"] == 0 and mid["mrr"] == "0.00" and mid["trialing_customers"] == 2
