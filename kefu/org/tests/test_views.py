"""Org unit and staff pages, seen from the personas in conftest.World."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse

from kefu.core.models import FieldChange
from kefu.org import tables
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import make_staff, make_unit

if TYPE_CHECKING:
    # Only for the annotations: at run time another conftest module may own the name "conftest".
    from conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    # Assertions read the English msgids; the Chinese translation comes later.
    settings.LANGUAGE_CODE = "en"


def login(client: Client, user: Staff) -> Client:
    client.force_login(user)
    return client


def unit_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "新建供电所", "code": "NEW1", "level": "station", "utility": "power",
        "region_class": "urban", "phone": "", "is_active": "on",
    }
    data.update(overrides)
    return data


def staff_form(home: OrgUnit, /, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "username": "new_agent", "full_name": "张三", "unit": home.pk, "roles": ["agent", "shift_leader"],
        "phone": "", "extension": "8101", "email": "", "password1": "Hotline-95598!", "password2": "Hotline-95598!",
    }
    data.update(overrides)
    return data


def field_errors(response: Any, field: str) -> list[str]:
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# ---- access ------------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_login(client: Client, world: World) -> None:
    response = client.get(reverse("org:unit-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "url",
    [
        lambda w: reverse("org:unit-create"),
        lambda w: reverse("org:unit-edit", args=[w.county_a1.pk]),
        lambda w: reverse("org:staff-create"),
        lambda w: reverse("org:staff-edit", args=[w.agent_a1.pk]),
    ],
    ids=["unit-create", "unit-edit", "staff-create", "staff-edit"],
)
def test_county_agent_gets_403_on_admin_pages(client: Client, world: World, url: Callable[[World], str]) -> None:
    login(client, world.agent_a1)
    get = client.get(url(world))
    post = client.post(url(world), unit_form(name="hijack", code="HJ"))
    assert get.status_code == 403
    assert "Administer org units and staff" in get.content.decode()
    assert post.status_code == 403
    assert not OrgUnit.objects.filter(code="HJ").exists()
    world.county_a1.refresh_from_db()
    assert world.county_a1.name == "县A1供电公司"


def test_county_agent_may_look_but_sees_no_admin_buttons(client: Client, world: World) -> None:
    login(client, world.agent_a1)
    response = client.get(reverse("org:unit-detail", args=[world.county_a1.pk]))
    assert response.status_code == 200
    assert reverse("org:unit-edit", args=[world.county_a1.pk]) not in response.content.decode()


def test_supervisor_sees_city_a_tree_but_not_city_b(client: Client, world: World) -> None:
    login(client, world.supervisor)
    page = client.get(reverse("org:unit-list")).content.decode()
    assert "县A1供电公司" in page and "县A2供电公司" in page and "城市A供电公司" in page
    assert "城市B燃气公司" not in page and "B1服务中心" not in page and "省公司" not in page
    assert client.get(reverse("org:unit-detail", args=[world.county_a1.pk])).status_code == 200
    assert client.get(reverse("org:unit-detail", args=[world.county_b1.pk])).status_code == 404
    assert client.get(reverse("org:unit-detail", args=[world.city_b.pk])).status_code == 404


def test_admin_of_city_a_cannot_touch_city_b_objects(client: Client, world: World) -> None:
    city_admin = make_staff("admin_ca", unit=world.city_a, roles=["admin"])
    login(client, city_admin)
    assert client.get(reverse("org:unit-edit", args=[world.county_b1.pk])).status_code == 404
    assert client.get(reverse("org:staff-edit", args=[world.outsider.pk])).status_code == 404
    # A parent id from outside the scope is refused on the form, not saved.
    response = client.post(reverse("org:unit-create"), unit_form(parent=world.city_b.pk))
    assert response.status_code == 200
    assert field_errors(response, "parent")
    assert not OrgUnit.objects.filter(code="NEW1").exists()


def test_city_admin_cannot_move_own_top_unit_to_top_level(client: Client, world: World) -> None:
    city_admin = make_staff("admin_ca", unit=world.city_a, roles=["admin"])
    login(client, city_admin)
    url = reverse("org:unit-edit", args=[world.city_a.pk])
    page = client.get(url)
    assert "parent" not in page.context["form"].fields  # the province must not even be offered
    assert "省公司" not in page.content.decode()
    response = client.post(url, unit_form(name="城市A新名", code="CA", parent=""))
    # orgunit_update currently refuses any edit of the actor's own top unit (it scope-checks the
    # unchanged parent); either way the unit must stay under the province.
    assert response.status_code in (200, 302)
    world.city_a.refresh_from_db()
    assert world.city_a.parent_id == world.province.pk and world.city_a.depth == 1


# ---- unit list and detail -----------------------------------------------------------------


def test_unit_list_indents_by_depth_and_counts_staff(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.get(reverse("org:unit-list"))
    rows = {r.unit.code: r for r in response.context["rows"]}
    assert [r.unit.code for r in response.context["rows"]] == ["P", "CA", "A1", "A2", "CB", "B1"]
    assert rows["P"].indent == "0.0" and rows["CA"].indent == "1.5" and rows["A1"].indent == "3.0"
    assert rows["A1"].unit.staff_count == 3  # agent, crew member and customer manager


def test_unit_list_filters_by_text_and_utility(client: Client, world: World) -> None:
    login(client, world.admin)
    by_text = client.get(reverse("org:unit-list"), {"q": "县A"})
    assert [r.unit.code for r in by_text.context["rows"]] == ["A1", "A2"]
    gas = client.get(reverse("org:unit-list"), {"utility": "gas"})
    assert [r.unit.code for r in gas.context["rows"]] == ["P", "CB", "B1"]  # "both" serves gas too
    bad = client.get(reverse("org:unit-list"), {"utility": "water"})
    assert bad.status_code == 200 and "No org units match." in bad.content.decode()


def test_unit_list_htmx_returns_only_the_table(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.get(reverse("org:unit-list"), {"q": "B1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="unit-table")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="unit-table">')
    assert "B1服务中心" in body and "<nav class=\"navbar" not in body


def test_unit_list_pages_by_path(client: Client, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "UNIT_PAGE_SIZE", 4)
    login(client, world.admin)
    first = client.get(reverse("org:unit-list"))
    assert [r.unit.code for r in first.context["rows"]] == ["P", "CA", "A1", "A2"]
    next_href = re.search(r'href="(\?after=[^"]+)" rel="next"|rel="next" href="(\?after=[^"]+)"',
                          first.content.decode())
    assert next_href is not None
    second = client.get(reverse("org:unit-list") + (next_href.group(1) or next_href.group(2)).replace("&amp;", "&"))
    assert [r.unit.code for r in second.context["rows"]] == ["CB", "B1"]
    assert second.context["page"].next_after is None


def test_unit_detail_shows_children_staff_and_coverage_card(client: Client, world: World) -> None:
    login(client, world.supervisor)
    response = client.get(reverse("org:unit-detail", args=[world.city_a.pk]))
    assert [r.unit.code for r in response.context["children"]] == ["A1", "A2"]
    assert [s.username for s in response.context["staff_page"].rows] == ["director_ca"]
    body = response.content.decode()
    assert "县A1供电公司" in body and "director_ca" in body
    # Coverage is customer data: the card only loads it from the customers app (tested there).
    assert "coverage" not in response.context
    coverage_url = f"{reverse('customers:coverage')}?unit={world.city_a.pk}"
    assert f'hx-get="{coverage_url}" hx-trigger="load"' in body
    # The staff pager swaps only its own table.
    fragment = client.get(response.request["PATH_INFO"], HTTP_HX_REQUEST="true", HTTP_HX_TARGET="unit-staff")
    assert fragment.content.decode().lstrip().startswith('<div id="unit-staff">')


def test_huge_or_odd_ids_are_404_not_500(client: Client, world: World) -> None:
    login(client, world.admin)
    assert client.get(f"/org/units/{10**30}/").status_code == 404
    assert client.get(reverse("org:unit-list"), {"after": "'; drop table"}).status_code == 200
    assert client.get(reverse("org:staff-list"), {"after": "9" * 40}).status_code == 200


# ---- unit create and edit -----------------------------------------------------------------


def test_admin_creates_a_unit_under_a_county(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:unit-create"), unit_form(parent=world.county_a1.pk, region_class="rural"))
    unit = OrgUnit.objects.get(code="NEW1")
    assert response.status_code == 302 and response["Location"] == reverse("org:unit-detail", args=[unit.pk])
    assert unit.parent == world.county_a1 and unit.depth == 3 and unit.path.startswith(world.county_a1.path)
    detail = client.get(response["Location"]).content.decode()
    assert "Org unit 新建供电所 created." in detail


def test_create_form_preselects_parent_from_unit_page(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.get(reverse("org:unit-create"), {"parent": world.city_b.pk})
    form = response.context["form"]
    assert form.initial["parent"] == world.city_b and form.initial["utility"] == "gas"


def test_duplicate_unit_code_is_named_on_the_code_field(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:unit-create"), unit_form(code="A1", parent=world.city_a.pk))
    assert response.status_code == 200
    assert field_errors(response, "code") == ["An org unit with code A1 already exists."]
    assert 'id="id_code"' in response.content.decode() and "is-invalid" in response.content.decode()
    assert OrgUnit.objects.filter(code="A1").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "长" * 101}, "name"),
        ({"code": "C" * 33}, "code"),
        ({"parent": 99999999}, "parent"),
        ({"parent": "abc"}, "parent"),
        ({"level": "planet"}, "level"),
        ({"name": "   "}, "name"),
    ],
    ids=["long-name", "long-code", "unknown-parent", "junk-parent", "bad-level", "blank-name"],
)
def test_bad_unit_input_is_shown_on_the_field(
    client: Client, world: World, overrides: dict[str, object], field: str
) -> None:
    login(client, world.admin)
    data = unit_form(parent=world.city_a.pk)
    data.update(overrides)
    response = client.post(reverse("org:unit-create"), data)
    assert response.status_code == 200
    assert field_errors(response, field)
    assert not OrgUnit.objects.filter(code="NEW1").exists()


def test_non_superuser_must_choose_a_parent(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:unit-create"), unit_form(parent=""))
    assert field_errors(response, "parent")
    assert not OrgUnit.objects.filter(code="NEW1").exists()


def test_moving_a_unit_rewrites_the_paths_below_it(client: Client, world: World) -> None:
    grandchild = make_unit("A1下属供电所", parent=world.county_a1, code="A1S")
    login(client, world.admin)
    response = client.post(
        reverse("org:unit-edit", args=[world.county_a1.pk]),
        unit_form(name="县A1供电公司", code="A1", level="county", region_class="rural", parent=world.city_b.pk),
    )
    assert response.status_code == 302
    world.county_a1.refresh_from_db()
    grandchild.refresh_from_db()
    assert world.county_a1.path.startswith(world.city_b.path)
    assert grandchild.path == world.county_a1.path + f"{grandchild.pk:06d}."
    assert grandchild.depth == 3
    # The supervisor of city A no longer sees the moved subtree.
    login(client, world.supervisor)
    assert client.get(reverse("org:unit-detail", args=[grandchild.pk])).status_code == 404
    assert FieldChange.objects.filter(model="org.orgunit", object_id=world.county_a1.pk, field="parent").exists()


def test_moving_a_unit_under_its_own_subtree_is_refused(client: Client, world: World) -> None:
    login(client, world.admin)
    old_path = world.city_a.path
    response = client.post(
        reverse("org:unit-edit", args=[world.city_a.pk]),
        unit_form(name="城市A供电公司", code="CA", level="city", parent=world.county_a1.pk),
    )
    assert response.status_code == 200
    assert field_errors(response, "parent") == ["A unit cannot be moved under itself or one of its own sub-units."]
    world.city_a.refresh_from_db()
    assert world.city_a.path == old_path and world.city_a.parent == world.province


def test_editing_a_unit_code_to_a_taken_one_saves_nothing(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(
        reverse("org:unit-edit", args=[world.county_a2.pk]),
        unit_form(name="改名", code="A1", level="county", parent=world.city_a.pk),
    )
    assert field_errors(response, "code") == ["An org unit with code A1 already exists."]
    world.county_a2.refresh_from_db()
    assert world.county_a2.name == "县A2供电公司" and world.county_a2.code == "A2"


# ---- staff --------------------------------------------------------------------------------


def test_admin_creates_staff_with_roles(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:staff-create"), staff_form(world.county_a2))
    assert response.status_code == 302
    staff = Staff.objects.get(username="new_agent")
    assert staff.unit == world.county_a2 and staff.role_codes == {"agent", "shift_leader"}
    assert staff.check_password("Hotline-95598!")
    listing = client.get(response["Location"]).content.decode()
    assert "Staff member 张三 created." in listing and "Shift leader" in listing
    assert Client().login(username="new_agent", password="Hotline-95598!")


def test_duplicate_username_is_named_on_the_username_field(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:staff-create"), staff_form(world.county_a2, username="agent_a1"))
    assert response.status_code == 200
    assert field_errors(response, "username") == ["User name agent_a1 is already taken."]
    assert Staff.objects.filter(username="agent_a1").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"roles": ["agent", "emperor"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"password2": "Something-else-1"}, "password2"),
        ({"password1": "123", "password2": "123"}, "password1"),
        ({"username": "u" * 151}, "username"),
        ({"username": "has space"}, "username"),
        ({"full_name": "名" * 61}, "full_name"),
        ({"extension": "1" * 17}, "extension"),
        ({"unit": 99999999}, "unit"),
    ],
    ids=["unknown-role", "no-role", "password-mismatch", "weak-password", "long-username", "bad-username",
         "long-name", "long-extension", "unknown-unit"],
)
def test_bad_staff_input_is_shown_on_the_field(
    client: Client, world: World, overrides: dict[str, object], field: str
) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:staff-create"), staff_form(world.county_a2, **overrides))
    assert response.status_code == 200
    assert field_errors(response, field)
    assert not Staff.objects.filter(username__in=["new_agent", "u" * 151, "has space"]).exists()


def test_admin_changes_roles_and_deactivates_staff(client: Client, world: World) -> None:
    login(client, world.admin)
    url = reverse("org:staff-edit", args=[world.agent_a1.pk])
    form = client.get(url).context["form"]
    assert form.initial["roles"] == ["agent"]
    response = client.post(url, {
        "full_name": "一号坐席", "unit": world.county_a1.pk, "roles": ["agent", "manager_part"],
        "extension": "8001", "phone": "", "email": "",  # is_active unticked: deactivate
    })
    assert response.status_code == 302
    staff = Staff.objects.get(pk=world.agent_a1.pk)
    assert not staff.is_active and staff.full_name == "一号坐席"
    assert staff.role_codes == {"agent", "manager_part"}
    assert not Client().login(username="agent_a1", password=world.password)
    listing = client.get(response["Location"]).content.decode()
    assert "Deactivated" in listing and "Customer manager (part-time)" in listing


def test_admin_cannot_lock_themselves_out(client: Client, world: World) -> None:
    login(client, world.admin)
    response = client.post(reverse("org:staff-edit", args=[world.admin.pk]), {
        "full_name": "管理员", "unit": world.province.pk, "roles": ["agent"], "phone": "", "extension": "",
        "email": "",
    })
    assert field_errors(response, "is_active") and field_errors(response, "roles")
    world.admin.refresh_from_db()
    assert world.admin.is_active and world.admin.role_codes == {"admin"}


def test_staff_list_filters_by_role_and_unit(client: Client, world: World) -> None:
    login(client, world.admin)
    managers = client.get(reverse("org:staff-list"), {"role": "manager_full"})
    assert [s.username for s in managers.context["page"].rows] == ["manager_a1"]
    city_a = client.get(reverse("org:staff-list"), {"unit": world.city_a.pk})
    assert {s.username for s in city_a.context["page"].rows} == {
        "director_ca", "agent_a1", "agent_a2", "crew_a1", "manager_a1"}
    text = client.get(reverse("org:staff-list"), {"q": "agent_"})
    assert {s.username for s in text.context["page"].rows} == {"agent_a1", "agent_a2", "agent_b1"}


def test_staff_list_is_scoped(client: Client, world: World) -> None:
    login(client, world.supervisor)
    names = {s.username for s in client.get(reverse("org:staff-list")).context["page"].rows}
    assert "agent_b1" not in names and "admin_p" not in names and "agent_a1" in names
    # Filtering by a unit outside the scope shows an error, not the other city's staff.
    response = client.get(reverse("org:staff-list"), {"unit": world.county_b1.pk})
    assert response.context["page"].rows == [] and "Unit (with sub-units)" in response.content.decode()


def test_staff_list_pages_with_a_next_link(client: Client, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "STAFF_PAGE_SIZE", 3)
    for i in range(4):
        make_staff(f"zz_extra{i}", unit=world.county_a2)
    login(client, world.admin)
    seen: list[str] = []
    url = reverse("org:staff-list") + "?role=agent"
    pages = 0
    while url:
        response = client.get(url)
        pages += 1
        rows = response.context["page"].rows
        assert len(rows) <= 3
        seen += [s.username for s in rows]
        match = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        url = reverse("org:staff-list") + match.group(1).replace("&amp;", "&") if match else ""
    expected = list(Staff.objects.filter(roles__role="agent").order_by("id").values_list("username", flat=True))
    assert seen == expected and len(seen) == 7 and pages == 3  # every agent once, in order, no gaps


# ---- Django admin -------------------------------------------------------------------------


def test_django_admin_is_read_only_and_masks_personal_data(client: Client, world: World) -> None:
    root = Staff.objects.create_superuser("root", "root@example.cn", "Root-Password-2026")
    login(client, root)
    units = client.get("/admin/org/orgunit/?q=县A")
    assert units.status_code == 200 and "县A1供电公司" in units.content.decode()
    assert client.get("/admin/org/orgunit/add/").status_code == 403  # writes go through the /org/ pages
    customer = world.account_a1.customer
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    assert customer.name in page and customer.id_number not in page and "13800001111" not in page
    staff_page = client.get(f"/admin/org/staff/{world.agent_a1.pk}/change/").content.decode()
    assert "agent_a1" in staff_page and "argon2" not in staff_page


# ---- password reset by an administrator ---------------------------------------------------


def test_admin_sets_a_new_password_and_lifts_the_lock(client: Client, world: World, settings: Any) -> None:
    settings.KEFU_LOGIN_MAX_FAILURES = 1
    assert Client().post(reverse("login"), {"username": "agent_a1", "password": "wrong"}).status_code == 400
    world.agent_a1.refresh_from_db()
    assert world.agent_a1.locked_until is not None
    login(client, world.admin)
    url = reverse("org:staff-password", args=[world.agent_a1.pk])
    assert "Locked after failed sign-ins" in client.get(url).content.decode()
    mismatch = client.post(url, {"new_password": "Fresh-Pass-2026", "new_password2": "Other-Pass-2026"})
    assert field_errors(mismatch, "new_password2")
    weak = client.post(url, {"new_password": "123", "new_password2": "123"})
    assert field_errors(weak, "new_password")
    response = client.post(url, {"new_password": "Fresh-Pass-2026", "new_password2": "Fresh-Pass-2026"})
    assert response.status_code == 302
    signed_in = Client().post(reverse("login"), {"username": "agent_a1", "password": "Fresh-Pass-2026"})
    assert signed_in.status_code == 302
    assert FieldChange.objects.filter(model="org.staff", object_id=world.agent_a1.pk, field="password").exists()


def test_only_admins_reset_passwords(client: Client, world: World) -> None:
    login(client, world.supervisor)
    url = reverse("org:staff-password", args=[world.agent_a1.pk])
    assert client.post(url, {"new_password": "Fresh-Pass-2026", "new_password2": "Fresh-Pass-2026"}).status_code == 403
    assert not Staff.objects.get(pk=world.agent_a1.pk).check_password("Fresh-Pass-2026")


@pytest.mark.parametrize("param", ["after=%C2%B2", "unit=%C2%B2"])
def test_unicode_digits_in_cursors_are_ignored_not_500(client: Client, world: World, param: str) -> None:
    login(client, world.admin)
    assert client.get(reverse("org:staff-list") + "?" + param).status_code == 200
