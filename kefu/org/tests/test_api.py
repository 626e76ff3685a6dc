"""Org API: token sign-in with lock-out, org units and staff scoped to the user."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kefu.core.models import AuditLog
from kefu.org.models import Staff
from kefu.org.tests.apiclient import API, client_for, ids


def obtain(username: str, password: str) -> Any:
    return APIClient().post(f"{API}/auth/token/", {"username": username, "password": password}, format="json")


# ------------------------------------------------------------------ token


def test_token_obtain_and_use(world: Any) -> None:
    response = obtain("agent_a1", world.password)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token"] == Token.objects.get(user=world.agent_a1).key
    assert body["user"]["username"] == "agent_a1"
    assert body["user"]["roles"][0]["role"] == "agent"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert ids(client.get(f"{API}/customers/")) == {world.account_a1.customer_id}
    assert AuditLog.objects.filter(actor=world.agent_a1, action=AuditLog.Action.LOGIN).exists()
    # The same token comes back on the next sign-in.
    assert obtain("agent_a1", world.password).json()["token"] == body["token"]


def test_token_also_accepts_form_posts(world: Any) -> None:
    response = APIClient().post(f"{API}/auth/token/", {"username": "agent_a1", "password": world.password})
    assert response.status_code == 200


def test_bad_token_is_401(world: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(f"{API}/customers/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_wrong_password_is_counted(world: Any) -> None:
    response = obtain("agent_a1", "wrong-password")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert Staff.objects.get(pk=world.agent_a1.pk).failed_logins == 1
    assert AuditLog.objects.filter(actor=world.agent_a1, action=AuditLog.Action.LOGIN_FAILED).count() == 1
    # A correct sign-in resets the count.
    assert obtain("agent_a1", world.password).status_code == 200
    assert Staff.objects.get(pk=world.agent_a1.pk).failed_logins == 0


def test_unknown_user_gets_the_same_answer(world: Any) -> None:
    response = obtain("nobody", "whatever")
    assert response.status_code == 400
    assert response.json()["detail"] == obtain("agent_a1", "wrong").json()["detail"]


def test_lockout_after_too_many_failures(world: Any, settings: Any) -> None:
    settings.KEFU_LOGIN_MAX_FAILURES = 3
    assert obtain("agent_a1", "bad-1").status_code == 400
    assert obtain("agent_a1", "bad-2").status_code == 400
    locking = obtain("agent_a1", "bad-3")
    assert locking.status_code == 403
    assert locking.json()["code"] == "locked"
    # Locked: even the right password is refused, with a clear message.
    locked = obtain("agent_a1", world.password)
    assert locked.status_code == 403
    assert locked.json()["code"] == "locked"
    assert locked.json()["detail"]
    assert not Token.objects.filter(user=world.agent_a1).exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "agent_a1"}, {"username": ["a"], "password": "x"}, {"username": "u" * 500, "password": "x"},
     {"username": "agent_a1", "password": None}],
)
def test_token_bad_input_is_400(world: Any, body: dict[str, Any]) -> None:
    response = APIClient().post(f"{API}/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert Staff.objects.get(pk=world.agent_a1.pk).failed_logins == 0


def test_token_malformed_json_is_400(world: Any) -> None:
    response = APIClient().post(f"{API}/auth/token/", '{"username": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# ------------------------------------------------------------------ org units and staff

UNIT_SCOPE = {
    "agent_a1": {"county_a1"},
    "supervisor": {"city_a", "county_a1", "county_a2"},
    "outsider": {"county_b1"},
    "admin": {"province", "city_a", "county_a1", "county_a2", "city_b", "county_b1"},
}


@pytest.mark.parametrize("persona", sorted(UNIT_SCOPE))
def test_orgunit_scope(world: Any, persona: str) -> None:
    client = client_for(getattr(world, persona))
    expected = {getattr(world, name).pk for name in UNIT_SCOPE[persona]}
    assert ids(client.get(f"{API}/org-units/")) == expected
    for name in UNIT_SCOPE["admin"]:
        unit = getattr(world, name)
        assert client.get(f"{API}/org-units/{unit.pk}/").status_code == (200 if unit.pk in expected else 404)


@pytest.mark.parametrize("persona", sorted(UNIT_SCOPE))
def test_staff_scope(world: Any, persona: str) -> None:
    user = getattr(world, persona)
    units = {getattr(world, name).pk for name in UNIT_SCOPE[persona]}
    everyone = Staff.objects.all()
    expected = {s.pk for s in everyone if s.unit_id in units}
    client = client_for(user)
    assert ids(client.get(f"{API}/staff/")) == expected
    for staff in everyone:
        assert client.get(f"{API}/staff/{staff.pk}/").status_code == (200 if staff.pk in expected else 404)


def test_orgunit_filters_and_labels(world: Any) -> None:
    client = client_for(world.admin)
    assert ids(client.get(f"{API}/org-units/", {"parent": world.city_a.pk})) == {world.county_a1.pk,
                                                                                 world.county_a2.pk}
    # "gas" lists gas units and the units that serve both.
    assert ids(client.get(f"{API}/org-units/", {"utility": "gas"})) == {world.province.pk, world.city_b.pk,
                                                                        world.county_b1.pk}
    data = client.get(f"{API}/org-units/{world.county_a1.pk}/").json()
    assert data["parent"] == world.city_a.pk
    assert data["level"] == "county" and data["level_label"]
    assert data["region_class"] == "rural" and data["region_class_label"]
    outsider = client_for(world.outsider)
    assert "parent" in outsider.get(f"{API}/org-units/", {"parent": world.city_a.pk}).json()["errors"]
    assert "utility" in client.get(f"{API}/org-units/", {"utility": "water"}).json()["errors"]


def test_staff_filters_and_roles(world: Any) -> None:
    client = client_for(world.supervisor)
    assert ids(client.get(f"{API}/staff/", {"role": "agent"})) == {world.agent_a1.pk, world.agent_a2.pk}
    assert ids(client.get(f"{API}/staff/", {"unit": world.county_a1.pk})) == {
        world.agent_a1.pk, world.crew_a1.pk, world.manager_a1.pk}
    assert ids(client.get(f"{API}/staff/", {"role": "manager_full", "unit": world.city_a.pk})) == {
        world.manager_a1.pk}
    data = client.get(f"{API}/staff/{world.supervisor.pk}/").json()
    assert {r["role"] for r in data["roles"]} == {"director", "shift_leader"}
    assert all(r["label"] for r in data["roles"])
    assert data["unit"]["id"] == world.city_a.pk
    assert "password" not in data and "failed_logins" not in data
    assert "unit" in client.get(f"{API}/staff/", {"unit": world.county_b1.pk}).json()["errors"]
    assert "role" in client.get(f"{API}/staff/", {"role": "king"}).json()["errors"]


def test_org_endpoints_are_read_only(world: Any) -> None:
    client = client_for(world.admin)
    assert client.post(f"{API}/org-units/", {"name": "X"}, format="json").status_code == 405
    assert client.delete(f"{API}/staff/{world.agent_a1.pk}/").status_code == 405
