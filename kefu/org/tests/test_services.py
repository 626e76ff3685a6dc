from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token

from kefu.core.errors import ApplicationError, InvalidInput, PermissionDeniedError
from kefu.core.models import AuditLog, FieldChange
from kefu.org.models import OrgUnit, Staff
from kefu.org.scope import for_user, has_capability
from kefu.org.services import (
    login_locked_until,
    login_record_failure,
    login_record_success,
    orgunit_create,
    orgunit_update,
    staff_change_password,
    staff_create,
    staff_set_password,
    staff_update,
)


def test_paths_make_subtree_queries_prefix_matches(world):
    assert world.county_a1.path.startswith(world.city_a.path)
    assert world.county_a1.depth == 2
    codes = set(OrgUnit.objects.subtree(world.city_a).values_list("code", flat=True))
    assert codes == {"CA", "A1", "A2"}


def test_moving_a_unit_moves_its_subtree(world):
    station = orgunit_create(name="供电所", code="S1", parent=world.county_a1, actor=world.admin)
    orgunit_update(unit=world.county_a1, actor=world.admin, parent=world.city_b)
    station.refresh_from_db()
    world.county_a1.refresh_from_db()
    assert station.path.startswith(world.city_b.path) and station.depth == 3
    assert set(OrgUnit.objects.subtree(world.city_a).values_list("code", flat=True)) == {"CA", "A2"}
    assert FieldChange.objects.filter(model="org.orgunit", object_id=world.county_a1.pk, field="parent").exists()


def test_cannot_move_under_own_subtree(world):
    with pytest.raises(InvalidInput) as info:
        orgunit_update(unit=world.city_a, actor=world.admin, parent=world.county_a1)
    assert "parent" in info.value.errors


def test_duplicate_code_and_unknown_parent(world):
    with pytest.raises(InvalidInput) as info:
        orgunit_create(name="x", code="A1", parent=world.city_a, actor=world.admin)
    assert "code" in info.value.errors
    with pytest.raises(ApplicationError):  # city A's director may not administer; and B is outside
        orgunit_create(name="x", code="NEW", parent=world.city_b, actor=world.supervisor)


def test_city_admin_cannot_create_outside_scope(world):
    city_admin = staff_create(username="ca_admin", password="x", unit=world.city_a, roles=["admin"],
                              actor=None, validate=False)
    with pytest.raises(ApplicationError):
        orgunit_create(name="x", code="NEW", parent=world.city_b, actor=city_admin)


def test_staff_roles_and_capabilities(world):
    staff = staff_create(username="clerk1", password="Strong-Pass-2026", unit=world.county_a1,
                         roles=["clerk", "collector"], actor=world.admin, full_name="柜台员")
    assert staff.role_codes == {"clerk", "collector"}
    assert has_capability(staff, "account.status") and not has_capability(staff, "org.admin")
    staff = staff_update(staff=staff, actor=world.admin, roles=["reader"])
    staff.refresh_from_db()
    assert set(staff.roles.values_list("role", flat=True)) == {"reader"}
    with pytest.raises(InvalidInput) as info:
        staff_update(staff=staff, actor=world.admin, roles=["wizard"])
    assert "roles" in info.value.errors
    with pytest.raises(PermissionDeniedError):
        staff_update(staff=staff, actor=world.agent_a1, full_name="x")


def test_staff_create_validates(world):
    with pytest.raises(InvalidInput) as info:
        staff_create(username="agent_a1", password="short", unit=world.county_a1, roles=["agent"], actor=world.admin)
    assert "username" in info.value.errors
    with pytest.raises(InvalidInput) as info:
        staff_create(username="new1", password="123", unit=world.county_a1, roles=["agent"], actor=world.admin)
    assert "password" in info.value.errors


def test_password_is_hashed_with_argon2(world):
    assert world.agent_a1.password.startswith("argon2")
    staff_change_password(staff=world.agent_a1, old_password=world.password, new_password="New-Secret-2026")
    assert world.agent_a1.check_password("New-Secret-2026")
    with pytest.raises(InvalidInput) as info:
        staff_change_password(staff=world.agent_a1, old_password="wrong", new_password="Another-2026!")
    assert "old_password" in info.value.errors


def test_lockout_after_repeated_failures_and_expiry(world, settings):
    settings.KEFU_LOGIN_MAX_FAILURES = 3
    settings.KEFU_LOGIN_LOCK_MINUTES = 15
    start = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            staff = login_record_failure(username="agent_a1")
        assert staff is not None
        assert login_locked_until(staff=staff) == start + dt.timedelta(minutes=15)
        assert AuditLog.objects.filter(action="locked", object_id=staff.pk).count() == 1
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert login_locked_until(staff=staff, now=timezone.now()) is None
        login_record_success(staff=staff)
    staff.refresh_from_db()
    assert staff.failed_logins == 0 and staff.locked_until is None
    assert login_record_failure(username="nobody") is None


def test_for_user_scopes_staff_lists(world):
    visible = set(for_user(Staff.objects.all(), world.supervisor).values_list("username", flat=True))
    assert "agent_a1" in visible and "agent_a2" in visible and "agent_b1" not in visible
    assert "admin_p" not in visible


def test_city_admin_may_rename_own_city_but_not_lift_it_to_the_top(world):
    city_admin = staff_create(username="ca_admin2", password="x", unit=world.city_a, roles=["admin"],
                              actor=None, validate=False)
    renamed = orgunit_update(unit=world.city_a, actor=city_admin, name="城市A供电公司（新）", parent=world.province)
    assert renamed.name == "城市A供电公司（新）" and renamed.path == world.city_a.path
    with pytest.raises(InvalidInput) as info:
        orgunit_update(unit=world.county_a1, actor=city_admin, parent=None)
    assert "parent" in info.value.errors


def test_update_without_a_move_leaves_the_subtree_alone(world):
    station = orgunit_create(name="供电所", code="S2", parent=world.county_a1, actor=world.admin)
    orgunit_update(unit=world.county_a1, actor=world.admin, parent=world.city_a, phone="0571-1234")
    station.refresh_from_db()
    assert station.path.startswith(world.county_a1.path)
    changed = FieldChange.objects.filter(model="org.orgunit", object_id=world.county_a1.pk)
    assert list(changed.values_list("field", "new_value")) == [("phone", "0571-1234")]


def test_admin_password_reset_lifts_the_lock(world, settings):
    settings.KEFU_LOGIN_MAX_FAILURES = 1
    login_record_failure(username="agent_a1")
    world.agent_a1.refresh_from_db()
    assert login_locked_until(staff=world.agent_a1) is not None
    staff_set_password(staff=world.agent_a1, new_password="Reset-Pass-2026", actor=world.admin)
    world.agent_a1.refresh_from_db()
    assert login_locked_until(staff=world.agent_a1) is None
    assert world.agent_a1.check_password("Reset-Pass-2026")
    with pytest.raises(PermissionDeniedError):
        staff_set_password(staff=world.agent_a2, new_password="Reset-Pass-2026", actor=world.agent_a1)


def test_an_admin_cannot_take_over_a_superuser_or_a_peer_admin(world):
    root_user = staff_create(username="root", password="x", unit=world.province, roles=[], actor=None, validate=False)
    root_user.is_superuser = True
    root_user.save()
    peer = staff_create(username="admin_p2", password="x", unit=world.province, roles=["admin"], actor=None,
                        validate=False)
    for target in (root_user, peer):
        with pytest.raises(PermissionDeniedError):
            staff_set_password(staff=target, new_password="Taken-Over-2026", actor=world.admin)
        with pytest.raises(PermissionDeniedError):
            staff_update(staff=target, actor=world.admin, is_active=False)
    # A superuser may; and an admin still manages ordinary staff and themselves.
    staff_set_password(staff=peer, new_password="Reset-By-Root-2026", actor=root_user)
    staff_update(staff=world.admin, actor=world.admin, full_name="省管理员")


def test_password_reset_and_lockout_revoke_api_tokens(world, settings):
    Token.objects.create(user=world.agent_a1)
    staff_set_password(staff=world.agent_a1, new_password="Reset-Pass-2026", actor=world.admin)
    assert not Token.objects.filter(user=world.agent_a1).exists()
    Token.objects.create(user=world.agent_a2)
    settings.KEFU_LOGIN_MAX_FAILURES = 1
    login_record_failure(username="agent_a2")
    assert not Token.objects.filter(user=world.agent_a2).exists()


def test_staff_update_keeps_a_lock_written_meanwhile(world, settings):
    stale = Staff.objects.get(pk=world.agent_a1.pk)
    settings.KEFU_LOGIN_MAX_FAILURES = 1
    login_record_failure(username="agent_a1")
    staff_update(staff=stale, actor=world.admin, full_name="新名字")
    world.agent_a1.refresh_from_db()
    assert world.agent_a1.locked_until is not None and world.agent_a1.full_name == "新名字"


def test_oversized_email_is_a_field_error(world):
    with pytest.raises(InvalidInput) as info:
        staff_update(staff=world.agent_a1, actor=world.admin, email="a" * 250 + "@x.cn")
    assert "email" in info.value.errors
