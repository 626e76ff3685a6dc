"""Who a grid command acts as: a named staff member (their roles and scope), or the operator at the
server's command line, who may do everything (like a superuser) and is recorded as no one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from kefu.org.models import Staff


class CommandLineOperator:
    is_authenticated = True
    is_active = True
    is_superuser = True
    unit = None
    pk = None
    role_codes: tuple[str, ...] = ()


def command_actor(username: str | None) -> Any:
    if not username:
        return CommandLineOperator()
    staff = Staff.objects.filter(username=username, is_active=True).select_related("unit").first()
    if staff is None:
        raise CommandError(_("No active staff member %(name)s.") % {"name": username})
    return staff
