"""Sending email, in one place: a template renders the body (and, when asked, its HTML
alternative) and the subject, and the message goes to one address from DEFAULT_FROM_EMAIL.
(Password-reset emails are Django's own: its PasswordResetView sends them.)"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def email_send(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    subject: str | None = None,
    html: bool = False,
) -> None:
    """Send `<template>.txt` to `to` (with `<template>.html` as its HTML alternative when
    `html`). The subject is `subject`, else `<template>_subject.txt` rendered on one line."""
    if subject is None:
        subject = render_to_string(f"{template}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    if html:
        message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()


def email_staff(*, template: str, context: dict[str, Any]) -> int:
    """Send `<template>.txt` to each staff address (settings.ADMINS); returns how many."""
    addresses = [address for _name, address in settings.ADMINS]
    for address in addresses:
        email_send(to=address, template=template, context=context)
    return len(addresses)


def sales_email() -> str:
    """The address customers write to about plans and contracts: DEFAULT_FROM_EMAIL's."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
