"""The one email helper: templates render the subject, the body and its HTML alternative."""

from __future__ import annotations

from django.core import mail

from core.email import email_send, sales_email


def _templates(settings, tmp_path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    settings.TEMPLATES = [
        {"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [tmp_path]}
    ]


def test_subject_and_body_come_from_templates(settings, tmp_path):
    _templates(
        settings,
        tmp_path,
        {"x/notice_subject.txt": "About {{ name }}\n", "x/notice.txt": "Hello {{ name }}."},
    )
    email_send(to="dev@example.com", template="x/notice", context={"name": "Rex"})
    (message,) = mail.outbox
    assert (message.subject, message.body) == ("About Rex", "Hello Rex.")
    assert message.to == ["dev@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.alternatives == []


def test_a_given_subject_and_an_html_alternative(settings, tmp_path):
    _templates(settings, tmp_path, {"x/alert.txt": "plain", "x/alert.html": "<p>rich</p>"})
    email_send(
        to="dev@example.com",
        template="x/alert",
        context={},
        subject="[Pet Store API] Hi",
        html=True,
    )
    (message,) = mail.outbox
    assert message.subject == "[Pet Store API] Hi"
    assert (message.body, message.alternatives[0][0]) == ("plain", "<p>rich</p>")


def test_sales_email_is_the_from_address(settings):
    settings.DEFAULT_FROM_EMAIL = "Pet Store API <billing@petstore.local>"
    assert sales_email() == "billing@petstore.local"
