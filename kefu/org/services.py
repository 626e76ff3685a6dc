"""Writes for org units, staff and login lock-out. One transaction each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from kefu.core.errors import ApplicationError, InvalidInput, PermissionDeniedError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record, history_record, snapshot
from kefu.org.choices import Capability, Role
from kefu.org.models import PATH_STEP, OrgUnit, Staff, StaffRole
from kefu.org.scope import require, unit_in_scope

UNIT_FIELDS = ("name", "code", "parent", "level", "utility", "region_class", "phone", "is_active")
STAFF_FIELDS = ("full_name", "phone", "extension", "unit", "email", "is_active")


def _unit_path(parent: OrgUnit | None, pk: int) -> str:
    return (parent.path if parent else "") + f"{pk:0{PATH_STEP}d}."


def _check_unit_input(*, name: str, code: str) -> None:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Name is required.")]
    elif len(name) > 100:
        errors["name"] = [_("Name is too long (at most %(n)d characters).") % {"n": 100}]
    if not code.strip():
        errors["code"] = [_("Code is required.")]
    elif len(code) > 32:
        errors["code"] = [_("Code is too long (at most %(n)d characters).") % {"n": 32}]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def orgunit_create(
    *,
    name: str,
    code: str,
    parent: OrgUnit | None,
    actor: Any | None,
    level: str = "station",
    utility: str = "power",
    region_class: str = "urban",
    phone: str = "",
) -> OrgUnit:
    if actor is not None:
        require(actor, Capability.ORG_ADMIN)
        if parent is None and not getattr(actor, "is_superuser", False):
            raise ApplicationError(_("Only a system administrator may create a top-level unit."), field="parent")
        if parent is not None and not unit_in_scope(actor, parent):
            raise ApplicationError(_("Unknown org unit."), field="parent")
    _check_unit_input(name=name, code=code)
    if OrgUnit.objects.filter(code=code).exists():
        raise InvalidInput({"code": [_("An org unit with code %(code)s already exists.") % {"code": code}]})
    unit = OrgUnit(
        name=name.strip(), code=code.strip(), parent=parent, path="", depth=(parent.depth + 1) if parent else 0,
        level=level, utility=utility, region_class=region_class, phone=phone,
    )
    try:
        unit.full_clean(exclude=["path"])
    except ValidationError as exc:
        raise InvalidInput({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError as exc:  # two people saving the same code at the same moment
        raise InvalidInput({"code": [_("An org unit with code %(code)s already exists.") % {"code": code}]}) from exc
    unit.path = _unit_path(parent, unit.pk)
    OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
    return unit


@transaction.atomic
def orgunit_update(*, unit: OrgUnit, actor: Any, **changes: Any) -> OrgUnit:
    """Update a unit; moving it under another parent rewrites the paths of its whole subtree."""
    require(actor, Capability.ORG_ADMIN)
    unknown = set(changes) - set(UNIT_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    if not unit_in_scope(actor, unit):
        raise ApplicationError(_("Unknown org unit."), field="unit")
    locked = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    before = snapshot(locked, UNIT_FIELDS)
    moving = "parent" in changes and (changes["parent"].pk if changes["parent"] else None) != locked.parent_id
    new_parent = changes["parent"] if moving else locked.parent
    if "code" in changes and OrgUnit.objects.filter(code=changes["code"]).exclude(pk=locked.pk).exists():
        raise InvalidInput({"code": [_("An org unit with code %(code)s already exists.") % {"code": changes["code"]}]})
    if moving:
        # Only a new parent must lie in the actor's scope: a city admin may rename their own city
        # even though the province above it is outside their scope.
        if new_parent is None and not getattr(actor, "is_superuser", False):
            raise InvalidInput({"parent": [_("Only a system administrator may create a top-level unit.")]})
        if new_parent is not None and new_parent.path.startswith(locked.path):
            raise InvalidInput({"parent": [_("A unit cannot be moved under itself or one of its own sub-units.")]})
        if new_parent is not None and not unit_in_scope(actor, new_parent):
            raise InvalidInput({"parent": [_("Unknown org unit.")]})
    for key, value in changes.items():
        setattr(locked, key, value)
    _check_unit_input(name=locked.name, code=locked.code)
    try:
        locked.full_clean(exclude=["path"])
    except ValidationError as exc:
        raise InvalidInput({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
    if moving:
        old_path = locked.path
        old_depth = locked.depth
        locked.path = _unit_path(new_parent, locked.pk)
        locked.depth = (new_parent.depth + 1) if new_parent else 0
        # One UPDATE for the whole subtree: swap the old prefix for the new one.
        OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=locked.pk).update(
            path=Concat(Value(locked.path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + (locked.depth - old_depth),
        )
    locked.save()
    history_record(instance=locked, before=before, after=snapshot(locked, UNIT_FIELDS), actor=actor)
    return locked


def _check_roles(roles: Iterable[str]) -> list[str]:
    valid = set(Role.values)
    roles = list(dict.fromkeys(roles))
    bad = [r for r in roles if r not in valid]
    if bad:
        raise InvalidInput({"roles": [_("Unknown role: %(role)s") % {"role": ", ".join(bad)}]})
    return roles


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str,
    unit: OrgUnit,
    roles: Iterable[str],
    actor: Any | None,
    full_name: str = "",
    phone: str = "",
    extension: str = "",
    email: str = "",
    validate: bool = True,
) -> Staff:
    if actor is not None:
        require(actor, Capability.ORG_ADMIN)
        if not unit_in_scope(actor, unit):
            raise InvalidInput({"unit": [_("Unknown org unit.")]})
    role_list = _check_roles(roles)
    errors: dict[str, list[str]] = {}
    if not username.strip():
        errors["username"] = [_("User name is required.")]
    elif len(username) > 150:
        errors["username"] = [_("User name is too long (at most %(n)d characters).") % {"n": 150}]
    elif Staff.objects.filter(username=username).exists():
        errors["username"] = [_("User name %(name)s is already taken.") % {"name": username}]
    if len(full_name) > 60:
        errors["full_name"] = [_("Full name is too long (at most %(n)d characters).") % {"n": 60}]
    staff = Staff(username=username.strip(), unit=unit, full_name=full_name, phone=phone,
                  extension=extension, email=email)
    if not errors:
        try:
            staff.full_clean(exclude=["password"], validate_unique=False)
        except ValidationError as exc:
            errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    if validate and not errors:
        try:
            validate_password(password, staff)
        except ValidationError as exc:
            errors["password"] = [str(m) for m in exc.messages]
    if errors:
        raise InvalidInput(errors)
    staff.set_password(password)
    try:
        with transaction.atomic():
            staff.save()
    except IntegrityError as exc:
        raise InvalidInput({"username": [_("User name %(name)s is already taken.") % {"name": username}]}) from exc
    StaffRole.objects.bulk_create([StaffRole(staff=staff, role=r) for r in role_list])
    return staff


def _check_staff_target(actor: Any, staff: Staff) -> None:
    """An administrator manages staff in their scope, but not a superuser nor a fellow
    administrator of their own unit (that would let one admin take over another's account)."""
    require(actor, Capability.ORG_ADMIN)
    if not unit_in_scope(actor, staff.unit):
        raise ApplicationError(_("Unknown staff member."), field="staff")
    if getattr(actor, "is_superuser", False) or staff.pk == getattr(actor, "pk", None):
        return
    peer_admin = staff.unit_id == getattr(actor, "unit_id", None) and staff.has_role(Role.ADMIN)
    if staff.is_superuser or peer_admin:
        raise PermissionDeniedError(
            _("Only a system administrator may change a system administrator or an administrator of your own unit.")
        )


def _revoke_tokens(staff: Staff) -> None:
    # API tokens must not outlive a password reset or a lock-out of a possibly stolen account.
    Token.objects.filter(user=staff).delete()


@transaction.atomic
def staff_update(*, staff: Staff, actor: Any, roles: Iterable[str] | None = None, **changes: Any) -> Staff:
    _check_staff_target(actor, staff)
    unknown = set(changes) - set(STAFF_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    if "unit" in changes and not unit_in_scope(actor, changes["unit"]):
        raise InvalidInput({"unit": [_("Unknown org unit.")]})
    before = snapshot(staff, STAFF_FIELDS)
    for key, value in changes.items():
        setattr(staff, key, value)
    try:
        staff.full_clean(exclude=["password", "username"], validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from exc
    # Only the changed columns: a lock-out or password written meanwhile must survive this save.
    if changes:
        staff.save(update_fields=list(changes))
    after = snapshot(staff, STAFF_FIELDS)
    if roles is not None:
        role_list = _check_roles(roles)
        before["roles"] = ",".join(sorted(staff.role_codes))
        StaffRole.objects.filter(staff=staff).exclude(role__in=role_list).delete()
        StaffRole.objects.bulk_create(
            [StaffRole(staff=staff, role=r) for r in role_list], ignore_conflicts=True
        )
        staff._role_codes = frozenset(role_list)
        after["roles"] = ",".join(sorted(role_list))
    history_record(instance=staff, before=before, after=after, actor=actor)
    return staff


@transaction.atomic
def staff_change_password(*, staff: Staff, old_password: str, new_password: str) -> Staff:
    if not staff.check_password(old_password):
        raise InvalidInput({"old_password": [_("The current password is wrong.")]})
    try:
        validate_password(new_password, staff)
    except ValidationError as exc:
        raise InvalidInput({"new_password": [str(m) for m in exc.messages]}) from exc
    staff.set_password(new_password)
    staff.save(update_fields=["password"])
    _revoke_tokens(staff)
    return staff


@transaction.atomic
def staff_set_password(*, staff: Staff, new_password: str, actor: Any) -> Staff:
    """An administrator sets a new password (forgotten password); it also lifts a lock-out."""
    _check_staff_target(actor, staff)
    try:
        validate_password(new_password, staff)
    except ValidationError as exc:
        raise InvalidInput({"new_password": [str(m) for m in exc.messages]}) from exc
    staff.set_password(new_password)
    staff.failed_logins = 0
    staff.locked_until = None
    staff.save(update_fields=["password", "failed_logins", "locked_until"])
    _revoke_tokens(staff)
    history_record(instance=staff, before={"password": "*"}, after={"password": "**"}, actor=actor,
                   reason="password reset")
    return staff


class LoginLocked(ApplicationError):
    code = "locked"
    status_code = 403

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(
            _("This account is locked after too many failed sign-ins. Try again after %(time)s, "
              "or ask an administrator to reset the password.")
            % {"time": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")}
        )
        self.until = until


class BadCredentials(ApplicationError):
    code = "invalid_credentials"


def login_authenticate(*, request: Any, username: str, password: str, ip: str | None = None) -> Staff:
    """Check a password under the lock-out rule; used by the sign-in page and the token endpoint.

    A locked account is refused before the password is checked, so guessing gains nothing. Not one
    transaction on purpose: a failed attempt must stay counted when the sign-in is refused.
    """
    known = Staff.objects.filter(username=username).first()
    if known is not None and (until := login_locked_until(staff=known)):
        raise LoginLocked(until)
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, Staff):
        failed = login_record_failure(username=username, ip=ip)
        if failed is not None and (until := login_locked_until(staff=failed)):
            raise LoginLocked(until)
        # Same words whether or not the user name exists: no hint for guessing names.
        raise BadCredentials(_("User name or password is wrong."))
    login_record_success(staff=user, ip=ip)
    return user


def login_locked_until(*, staff: Staff, now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or timezone.now()
    if staff.locked_until and staff.locked_until > now:
        return staff.locked_until
    return None


def login_record_failure(*, username: str, ip: str | None = None) -> Staff | None:
    """Count a failed password; lock the account after too many in a row. Unknown names are ignored."""
    now = timezone.now()
    with transaction.atomic():
        staff = Staff.objects.select_for_update().filter(username=username).first()
        if staff is None:
            return None
        staff.failed_logins = F("failed_logins") + 1
        staff.save(update_fields=["failed_logins"])
        staff.refresh_from_db(fields=["failed_logins", "locked_until"])
        audit_record(actor=staff, action=AuditLog.Action.LOGIN_FAILED, instance=staff, ip=ip)
        if staff.failed_logins >= settings.KEFU_LOGIN_MAX_FAILURES:
            staff.locked_until = now + dt.timedelta(minutes=settings.KEFU_LOGIN_LOCK_MINUTES)
            staff.failed_logins = 0
            staff.save(update_fields=["locked_until", "failed_logins"])
            _revoke_tokens(staff)
            audit_record(actor=staff, action=AuditLog.Action.LOCKED, instance=staff, ip=ip,
                         detail={"until": staff.locked_until.isoformat()})
    return staff


def login_record_success(*, staff: Staff, ip: str | None = None) -> None:
    Staff.objects.filter(pk=staff.pk).update(failed_logins=0, locked_until=None)
    audit_record(actor=staff, action=AuditLog.Action.LOGIN, instance=staff, ip=ip)
