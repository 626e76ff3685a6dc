"""Who a grid command acts as: a named staff member (their roles and scope), or the operator at the
server's command line, who may do everything (like a superuser) and is recorded as no one; and how an
import command reports a refused file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from kefu.core.errors import ApplicationError, InvalidInput
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


@contextmanager
def file_refusals(name: str) -> Iterator[None]:
    """A missing file or a refused import as the command's error message (never a traceback)."""
    try:
        yield
    except FileNotFoundError as exc:
        raise CommandError(_("No such file: %(name)s") % {"name": name}) from exc
    except InvalidInput as exc:
        raise CommandError("; ".join(str(m) for msgs in exc.errors.values() for m in msgs)) from exc
    except ApplicationError as exc:
        raise CommandError(str(exc.message)) from exc
