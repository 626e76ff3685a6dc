"""Sign-in, lock-out, sign-out, password change and the home page, as a user sees them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from kefu.core.models import AuditLog
from kefu.customers.services import account_assign_manager
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


def _login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_page_renders_with_focus_on_user_name(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and "autofocus" in html


def test_login_ok_lands_on_home(client, world):
    response = _login(client, "agent_a1", world.password)
    assert response.status_code == 302 and response.url == reverse("home")
    home = client.get(reverse("home"))
    assert world.agent_a1.full_name in home.content.decode()
    assert AuditLog.objects.filter(actor=world.agent_a1, action=AuditLog.Action.LOGIN).exists()


def test_login_follows_safe_next_only(client, world):
    response = client.post(reverse("login") + "?next=/customers/", {"username": "agent_a1",
                                                                     "password": world.password})
    assert response.url == "/customers/"
    client.logout()
    response = client.post(reverse("login"), {"username": "agent_a1", "password": world.password,
                                              "next": "https://evil.example.com/"})
    assert response.url == reverse("home")


def test_wrong_password_shows_plain_error(client, world):
    response = _login(client, "agent_a1", "not-the-password")
    assert response.status_code == 400
    assert "User name or password is wrong." in response.content.decode()
    assert "_auth_user_id" not in client.session
    world.agent_a1.refresh_from_db()
    assert world.agent_a1.failed_logins == 1


def test_unknown_user_gets_the_same_error(client, world):
    response = _login(client, "nobody-here", "whatever")
    assert "User name or password is wrong." in response.content.decode()


def test_lockout_after_max_failures_refuses_right_password_until_time_passes(client, world):
    limit = settings.KEFU_LOGIN_MAX_FAILURES
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(limit - 1):
            assert "User name or password is wrong." in _login(client, "agent_a1", "bad").content.decode()
        last = _login(client, "agent_a1", "bad").content.decode()
        assert "locked" in last
        # The right password does not open a locked account, and the message says until when.
        response = _login(client, "agent_a1", world.password)
        html = response.content.decode()
        until = timezone.localtime(start + dt.timedelta(minutes=settings.KEFU_LOGIN_LOCK_MINUTES))
        assert "locked" in html and until.strftime("%Y-%m-%d %H:%M") in html
        assert "_auth_user_id" not in client.session
    with time_machine.travel(start + dt.timedelta(minutes=settings.KEFU_LOGIN_LOCK_MINUTES - 1), tick=False):
        assert "locked" in _login(client, "agent_a1", world.password).content.decode()
    with time_machine.travel(start + dt.timedelta(minutes=settings.KEFU_LOGIN_LOCK_MINUTES + 1), tick=False):
        response = _login(client, "agent_a1", world.password)
        assert response.status_code == 302
    staff = Staff.objects.get(pk=world.agent_a1.pk)
    assert staff.locked_until is None and staff.failed_logins == 0
    assert AuditLog.objects.filter(actor=staff, action=AuditLog.Action.LOCKED).count() == 1


def test_login_with_empty_or_oversized_input_is_a_form_error(client, world):
    assert _login(client, "", "").status_code == 400
    response = _login(client, "x" * 5000, "y" * 5000)
    assert response.status_code == 400
    assert client.post(reverse("login"), {"username": "a\x00b", "password": "p"}).status_code == 400


def test_logout_needs_post_and_ends_session(client, world):
    client.force_login(world.agent_a1)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_anonymous_home_redirects_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_password_change_ok_keeps_session(client, world):
    client.force_login(world.agent_a1)
    response = client.post(reverse("password-change"), {
        "old_password": world.password, "new_password": "Another-Strong-77", "new_password2": "Another-Strong-77"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200  # still signed in
    world.agent_a1.refresh_from_db()
    assert world.agent_a1.check_password("Another-Strong-77")


def test_password_change_shows_field_errors(client, world):
    client.force_login(world.agent_a1)
    url = reverse("password-change")
    html = client.post(url, {"old_password": "wrong", "new_password": "Another-Strong-77",
                             "new_password2": "Another-Strong-77"}).content.decode()
    assert "The current password is wrong." in html and 'data-field="old_password"' in html
    response = client.post(url, {"old_password": world.password, "new_password": "12345678",
                                 "new_password2": "12345678"})
    assert response.status_code == 400 and 'data-field="new_password"' in response.content.decode()
    html = client.post(url, {"old_password": world.password, "new_password": "Another-Strong-77",
                             "new_password2": "Different-Strong-77"}).content.decode()
    assert "The two new passwords differ." in html
    world.agent_a1.refresh_from_db()
    assert world.agent_a1.check_password(world.password)


def test_home_agent_gets_search_box_first(client, world):
    client.force_login(world.agent_a1)
    html = client.get(reverse("home")).content.decode()
    assert 'id="search-title"' in html and reverse("customers:search") in html
    assert reverse("customers:create") in html
    assert "Coming in a later release" in html


def test_home_crew_can_search_but_not_register(client, world):
    client.force_login(world.crew_a1)
    html = client.get(reverse("home")).content.decode()
    assert reverse("customers:search") in html
    assert reverse("customers:create") not in html
    assert "repair tasks" in html  # what their queue will be


def test_home_admin_sees_org_card(client, world):
    client.force_login(world.admin)
    html = client.get(reverse("home")).content.decode()
    assert "Organisation" in html
    assert 'id="search-title"' not in html  # not a desk role: search is a plain card


def test_home_director_sees_coverage(client, world):
    client.force_login(world.supervisor)
    html = client.get(reverse("home")).content.decode()
    assert "Open coverage" in html and reverse("customers:coverage") in html
    assert "Organisation" not in html  # not an administrator


def test_home_user_without_roles_is_told_so(client, world):
    nobody = make_staff("norole", unit=world.county_a1, roles=[])
    client.force_login(nobody)
    html = client.get(reverse("home")).content.decode()
    assert "You have no role yet" in html
    assert reverse("customers:search") not in html


def test_customer_manager_home_lists_their_portfolio(client, world):
    account_assign_manager(account=world.account_a1, manager=world.manager_a1, actor=world.admin)
    client.force_login(world.manager_a1)
    page = client.get(reverse("home")).content.decode()
    assert world.account_a1.number in page
    assert world.account_a2.number not in page
    assert "1 account in your care" in page
