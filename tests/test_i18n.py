"""Chinese first: the catalogue is complete and pages switch between Chinese and English."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polib
from django.conf import settings
from django.test import Client
from django.urls import reverse

if TYPE_CHECKING:
    from conftest import World

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_string_has_a_chinese_translation() -> None:
    po = polib.pofile(str(CATALOGUE))
    missing = [e.msgid for e in po.untranslated_entries()] + [e.msgid for e in po.fuzzy_entries()]
    assert not missing, f"translate these in {CATALOGUE}: {missing[:20]}"


def test_pages_are_chinese_by_default_and_switch_to_english(world: World) -> None:
    client = Client()
    client.force_login(world.agent_a1)
    page = client.get(reverse("customers:search")).content.decode()
    assert "退出登录" in page and "Log out" not in page
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("customers:search")})
    assert response.status_code == 302
    page = client.get(reverse("customers:search")).content.decode()
    assert "Log out" in page and "退出登录" not in page


def test_service_errors_follow_the_language(world: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.admin)
    url = reverse("api-account-change-status", args=[world.account_a1.pk])
    english = client.post(url, {"to_status": "gas_on"}, content_type="application/json").json()["detail"]
    assert "cannot go from" in english
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.admin)
    chinese = client.post(url, {"to_status": "gas_on"}, content_type="application/json").json()["detail"]
    assert world.account_a1.number in chinese and "cannot" not in chinese
