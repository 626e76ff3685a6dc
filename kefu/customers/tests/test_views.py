"""Customer pages as users meet them: search, card, reveal, registration, edits and scope."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.core.models import AuditLog, FieldChange
from kefu.customers.forms import CustomerRegisterForm
from kefu.customers.models import Account, AccountEvent, Contact, Customer
from kefu.customers.services import ContactInput, account_assign_manager, customer_register
from kefu.customers.tests.factories import make_account, valid_resident_id
from kefu.org.tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


def _search(client, q: str, **extra):
    return client.get(reverse("customers:search"), {"q": q, **extra})


def _detail_url(account: Account) -> str:
    return reverse("customers:detail", args=[account.customer_id])


# --- search -------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["13800001111", "138 0000 1111", "+86 138-0000-1111", "008613800001111",
                                      "(138)0000-1111"])
def test_search_by_phone_in_any_spelling(client, world, spelling):
    client.force_login(world.agent_a1)
    response = _search(client, spelling)
    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html and _detail_url(world.account_a1) in html
    assert "138****1111" in html and "13800001111" not in html.replace(spelling, "")  # masked in the table


def test_search_by_account_number(client, world):
    client.force_login(world.agent_a1)
    html = _search(client, world.account_a1.number).content.decode()
    assert "王小明" in html and "Account number" in html


def test_search_by_name_prefix_and_id_shows_masked_id(client, world):
    client.force_login(world.agent_a1)
    html = _search(client, "王小").content.decode()
    customer = world.account_a1.customer
    assert "王小明" in html
    assert customer.id_number not in html
    assert customer.id_number[:4] in html and customer.id_number[-4:] in html


def test_search_by_address_word(client, world):
    customer_register(
        actor=None, unit=world.county_a1,
        customer={"kind": "person", "name": "钱塘", "id_type": "resident_id", "id_number": valid_resident_id(777)},
        premise={"province": "浙江省", "city": "杭州市", "district": "拱墅区", "street": "莫干山路", "room": "502"},
        account={"utility": "power", "customer_class": "p_pub_residential"},
        contacts=[ContactInput(name="钱塘", phone="13912340000")],
    )
    client.force_login(world.agent_a1)
    html = _search(client, "莫干山路").content.decode()
    assert "钱塘" in html and "Address" in html and "王小明" not in html


def test_search_htmx_returns_only_the_table(client, world):
    client.force_login(world.agent_a1)
    response = client.get(reverse("customers:search"), {"q": "王小"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "results-table" in html and "王小明" in html
    assert "HX-Request" in response["Vary"]


def test_search_page_without_query_has_focused_box_and_no_rows(client, world):
    client.force_login(world.agent_a1)
    html = client.get(reverse("customers:search")).content.decode()
    assert 'id="q"' in html and "autofocus" in html
    assert "results-table" not in html


def test_search_pages_with_keyset_next_link(client, world):
    for _ in range(23):
        make_account(unit=world.county_a1, name="测试客户")
    client.force_login(world.agent_a1)
    first = _search(client, "测试")
    rows = first.context["rows"]
    assert len(rows) == 20 and "Next page" in first.content.decode()
    after = rows[-1].customer.pk
    second = _search(client, "测试", after=after)
    assert len(second.context["rows"]) == 3
    assert all(r.customer.pk > after for r in second.context["rows"])
    assert "Next page" not in second.content.decode() and "First page" in second.content.decode()


def test_search_and_card_query_counts_do_not_grow_with_rows(client, world, django_assert_max_num_queries):
    for _ in range(20):
        make_account(unit=world.county_a1, name="批量客户")
    client.force_login(world.agent_a1)
    with django_assert_max_num_queries(9):
        assert len(_search(client, "批量").context["rows"]) == 20
    with django_assert_max_num_queries(12):
        client.get(_detail_url(world.account_a1))


def test_search_bad_input_is_refused_politely(client, world):
    client.force_login(world.agent_a1)
    assert _search(client, "x" * 500).status_code == 400
    assert _search(client, "王", after="abc").status_code == 400
    assert _search(client, "王", after="99999999999999999999999999").status_code == 400
    assert _search(client, "a\x00b").status_code == 400


def test_search_stays_in_scope(client, world):
    client.force_login(world.agent_a1)
    assert "李大华" not in _search(client, "13800002222").content.decode()  # peer county A2
    assert "赵燃气" not in _search(client, world.account_b1.number).content.decode()  # other city


def test_search_needs_login(client, world):
    response = _search(client, "王")
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- card and reveal ----------------------------------------------------------------------------

def test_card_shows_customer_accounts_and_masked_data(client, world):
    client.force_login(world.agent_a1)
    response = client.get(_detail_url(world.account_a1))
    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html and world.account_a1.number in html
    assert "Active" in html and "text-bg-success" in html  # status badge with its colour
    assert "浙江省杭州市西湖区文三路学院社区" in html and "Urban" in html
    assert "138****1111" in html and "13800001111" not in html
    assert world.account_a1.customer.id_number not in html
    assert "Account opened" in html  # account history


def test_card_out_of_scope_is_404(client, world):
    client.force_login(world.agent_a1)
    assert client.get(_detail_url(world.account_a2)).status_code == 404
    assert client.get(_detail_url(world.account_b1)).status_code == 404
    assert client.get("/customers/999999999999999999999/").status_code == 404


def test_supervisor_sees_both_counties(client, world):
    client.force_login(world.supervisor)
    assert client.get(_detail_url(world.account_a1)).status_code == 200
    assert client.get(_detail_url(world.account_a2)).status_code == 200
    assert client.get(_detail_url(world.account_b1)).status_code == 404


def test_reveal_shows_full_numbers_and_is_audited(client, world):
    client.force_login(world.agent_a1)
    customer = world.account_a1.customer
    response = client.post(reverse("customers:reveal", args=[customer.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "13800001111" in html and customer.id_number in html and "<html" not in html
    row = AuditLog.objects.get(action=AuditLog.Action.VIEW_PERSONAL)
    assert row.actor == world.agent_a1 and row.object_id == customer.pk and row.model == "customers.customer"
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


def test_reveal_without_js_returns_the_whole_card(client, world):
    client.force_login(world.agent_a1)
    response = client.post(reverse("customers:reveal", args=[world.account_a1.customer_id]))
    html = response.content.decode()
    assert "<html" in html and "13800001111" in html and world.account_a1.number in html


def test_reveal_refused_for_crew_and_not_audited(client, world):
    client.force_login(world.crew_a1)
    url = reverse("customers:reveal", args=[world.account_a1.customer_id])
    card = client.get(_detail_url(world.account_a1)).content.decode()
    assert "Show full numbers" not in card
    response = client.post(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 403 and "does not allow" in html and "13800001111" not in html
    assert client.post(url).status_code == 403
    assert not AuditLog.objects.filter(action=AuditLog.Action.VIEW_PERSONAL).exists()


def test_reveal_out_of_scope_is_404_and_get_not_allowed(client, world):
    client.force_login(world.agent_a1)
    assert client.post(reverse("customers:reveal", args=[world.account_a2.customer_id])).status_code == 404
    assert client.get(reverse("customers:reveal", args=[world.account_a1.customer_id])).status_code == 405


# --- registration -------------------------------------------------------------------------------

def _register_data(world, **over):
    data = {
        "unit": world.county_a1.pk, "kind": "person", "name": "孙新户", "id_type": "resident_id",
        "id_number": valid_resident_id(4242), "note": "",
        "province": "浙江省", "city": "杭州市", "district": "余杭区", "street": "五常街道", "community": "",
        "building": "3", "entrance": "2", "room": "801", "detail": "", "region_class": "urban",
        "utility": "power", "customer_class": "p_pub_residential", "importance": "normal", "account_number": "",
        "contact0_name": "孙新户", "contact0_phone": "139 1234 5678", "contact0_relation": "self",
        "contact1_name": "", "contact1_phone": "", "contact1_relation": "family",
    }
    data.update(over)
    return data


def test_register_customer_creates_everything(client, world):
    client.force_login(world.agent_a1)
    response = client.post(reverse("customers:create"), _register_data(world, contact1_name="孙妻",
                                                                       contact1_phone="0571-87654321"))
    customer = Customer.objects.get(name="孙新户")
    assert response.status_code == 302 and response.url == reverse("customers:detail", args=[customer.pk])
    page = client.get(response.url).content.decode()
    account = customer.accounts.get()
    assert "Customer registered" in page and account.number in page
    assert Contact.objects.filter(customer=customer).count() == 2
    assert "浙江省杭州市余杭区五常街道3栋2单元801室" in page


@pytest.mark.parametrize(("override", "field", "message"), [
    ({"contact0_phone": "12345"}, "contact0_phone", "Phone number"),
    ({"id_number": "330106198001011234"}, "id_number", "ID number"),
    ({"contact1_name": "孙妻", "contact1_phone": "abc"}, "contact1_phone", "Phone number"),
    ({"city": ""}, "city", "required"),
    ({"customer_class": "g_residential"}, "customer_class", "does not belong"),
])
def test_register_errors_land_on_their_field_and_save_nothing(client, world, override, field, message):
    client.force_login(world.agent_a1)
    before = (Customer.objects.count(), Account.objects.count(), Contact.objects.count())
    response = client.post(reverse("customers:create"), _register_data(world, **override))
    html = response.content.decode()
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert f'data-field="{field}"' in html and "Nothing was saved" in html
    assert (Customer.objects.count(), Account.objects.count(), Contact.objects.count()) == before


def test_register_duplicate_account_number(client, world):
    client.force_login(world.agent_a1)
    before = Customer.objects.count()
    response = client.post(reverse("customers:create"), _register_data(world, account_number=world.account_a1.number))
    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["account_number"])
    assert Customer.objects.count() == before


def test_register_unit_picker_is_limited_to_scope(client, world):
    client.force_login(world.agent_a1)
    form = client.get(reverse("customers:create")).context["form"]
    assert list(form.fields["unit"].queryset) == [world.county_a1]
    response = client.post(reverse("customers:create"), _register_data(world, unit=world.county_a2.pk))
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert not Customer.objects.filter(name="孙新户").exists()


def test_register_garbage_post_is_400(client, world):
    client.force_login(world.agent_a1)
    assert client.post(reverse("customers:create"), {}).status_code == 400
    junk = {k: "x" * 5000 for k in _register_data(world)}
    assert client.post(reverse("customers:create"), junk).status_code == 400


def test_register_refused_for_crew(client, world):
    client.force_login(world.crew_a1)
    assert client.get(reverse("customers:create")).status_code == 403
    assert client.post(reverse("customers:create"), _register_data(world)).status_code == 403


# --- edit ---------------------------------------------------------------------------------------

def test_edit_customer_keeps_id_unless_given_and_records_history(client, world):
    client.force_login(world.agent_a1)
    customer = world.account_a1.customer
    url = reverse("customers:edit", args=[customer.pk])
    page = client.get(url).content.decode()
    assert customer.id_number not in page  # editing is not a way round masking
    response = client.post(url, {"kind": "person", "name": "王晓明", "id_type": "resident_id", "id_number": "",
                                 "unit": world.county_a1.pk, "note": "改名", "version": customer.version})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "王晓明" and customer.id_number == world.account_a1.customer.id_number
    card = client.get(response.url).content.decode()
    assert "王小明" in card and "王晓明" in card  # before and after in the change history


def test_edit_with_stale_version_shows_conflict(client, world):
    client.force_login(world.agent_a1)
    customer = world.account_a1.customer
    response = client.post(reverse("customers:edit", args=[customer.pk]), {
        "kind": "person", "name": "别人改过", "id_type": "resident_id", "unit": world.county_a1.pk,
        "version": customer.version - 1})
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "王小明"


def test_edit_out_of_scope_is_404(client, world):
    client.force_login(world.agent_a1)
    assert client.get(reverse("customers:edit", args=[world.account_a2.customer_id])).status_code == 404


# --- account status and manager -----------------------------------------------------------------

def test_status_change_legal(client, world):
    client.force_login(world.manager_a1)
    url = reverse("customers:account-status", args=[world.account_a1.pk])
    page = client.get(url)
    assert [v for v, _label in page.context["form"].fields["to_status"].widget.choices] == ["closed", "suspended"]
    response = client.post(url, {"to_status": "suspended", "reason": "客户申请报停", "current": "active"},
                           follow=True)
    html = response.content.decode()
    assert "is now “Suspended”" in html
    world.account_a1.refresh_from_db()
    assert world.account_a1.status == "suspended"
    assert AccountEvent.objects.filter(account=world.account_a1, to_status="suspended",
                                       reason="客户申请报停").exists()


def test_status_change_illegal_shows_reason(client, world):
    client.force_login(world.manager_a1)
    url = reverse("customers:account-status", args=[world.account_a1.pk])
    response = client.post(url, {"to_status": "gas_on", "current": "active"})
    assert response.status_code == 409
    assert "cannot go from" in response.content.decode()
    world.account_a1.refresh_from_db()
    assert world.account_a1.status == "active"


def test_status_change_on_stale_page_is_a_conflict(client, world):
    client.force_login(world.manager_a1)
    url = reverse("customers:account-status", args=[world.account_a1.pk])
    response = client.post(url, {"to_status": "closed", "current": "suspended"})
    assert response.status_code == 409 and "changed by someone else" in response.content.decode()
    world.account_a1.refresh_from_db()
    assert world.account_a1.status == "active"


def test_status_change_needs_capability_and_scope(client, world):
    client.force_login(world.agent_a1)  # agents may not change account status
    assert client.get(reverse("customers:account-status", args=[world.account_a1.pk])).status_code == 403
    client.force_login(world.manager_a1)
    assert client.get(reverse("customers:account-status", args=[world.account_a2.pk])).status_code == 404
    response = client.post(reverse("customers:account-status", args=[world.account_a1.pk]),
                           {"to_status": "x" * 300, "current": "active"})
    assert response.status_code == 400


def test_assign_manager(client, world):
    client.force_login(world.supervisor)
    url = reverse("customers:account-manager", args=[world.account_a1.pk])
    form = client.get(url).context["form"]
    assert list(form.fields["manager"].queryset) == [world.manager_a1]
    response = client.post(url, {"manager": world.manager_a1.pk, "reason": "划分片区"}, follow=True)
    html = response.content.decode()
    assert "is now the customer manager" in html
    world.account_a1.refresh_from_db()
    assert world.account_a1.manager == world.manager_a1
    assert world.manager_a1.display_name() in html


def test_assign_manager_refuses_non_manager_and_agents(client, world):
    client.force_login(world.supervisor)
    url = reverse("customers:account-manager", args=[world.account_a1.pk])
    response = client.post(url, {"manager": world.agent_a1.pk})
    assert response.status_code == 400 and "manager" in response.context["form"].errors
    client.force_login(world.agent_a1)
    assert client.get(url).status_code == 403
    world.account_a1.refresh_from_db()
    assert world.account_a1.manager is None


# --- contacts -----------------------------------------------------------------------------------

def test_add_contact(client, world):
    client.force_login(world.agent_a1)
    url = reverse("customers:contact-add", args=[world.account_a1.customer_id])
    bad = client.post(url, {"name": "王妻", "phone": "999", "relation": "family"})
    assert bad.status_code == 400 and "phone" in bad.context["form"].errors
    response = client.post(url, {"name": "王妻", "phone": "138-0000-9999", "relation": "family"}, follow=True)
    html = response.content.decode()
    assert "Contact added." in html and "王妻" in html and "138****9999" in html
    assert Contact.objects.filter(customer_id=world.account_a1.customer_id).count() == 2


def test_add_contact_out_of_scope_is_404(client, world):
    client.force_login(world.agent_a1)
    url = reverse("customers:contact-add", args=[world.account_b1.customer_id])
    assert client.post(url, {"name": "x", "phone": "13800004444", "relation": "self"}).status_code == 404


@pytest.mark.parametrize(("key", "field"), [
    ("customer.name", "name"), ("customer.unit", "unit"), ("premise.city", "city"), ("premise.unit", "unit"),
    ("contacts.0.phone", "contact0_phone"), ("contacts.1.name", "contact1_name"),
    ("account.number", "account_number"), ("account.customer_class", "customer_class"), ("other", None),
])
def test_service_error_keys_map_to_form_fields(key, field):
    assert CustomerRegisterForm.field_for(key) == field


# --- customer-manager coverage ------------------------------------------------------------------

def _coverage(client, **params):
    return client.get(reverse("customers:coverage"), params)


def _lines(response):
    return {line.unit.code: line for line in response.context["lines"]}


def test_coverage_counts_accounts_with_a_manager(client, world):
    client.force_login(world.supervisor)
    before = _lines(_coverage(client))
    assert before["CA"].accounts == 2 and before["CA"].managed == 0 and before["CA"].percent == "0.0"
    account_assign_manager(account=world.account_a1, manager=world.manager_a1, actor=world.admin)
    response = _coverage(client)
    lines = _lines(response)
    assert set(lines) == {"CA", "A1", "A2"}  # scoped: no city B, no province
    assert (lines["A1"].accounts, lines["A1"].managed, lines["A1"].percent) == (1, 1, "100.0")
    assert (lines["CA"].accounts, lines["CA"].managed, lines["CA"].percent) == (2, 1, "50.0")
    assert lines["A1"].bar_class == "bg-success" and lines["CA"].bar_class == "bg-danger"
    body = response.content.decode()
    assert "50.0%" in body and 'style="width: 100.0%"' in body
    assert "<html" in body and response.context["unit"] is None


def test_coverage_needs_org_view(client, world):
    nobody = make_staff("no_roles", unit=world.county_a1, roles=[])
    client.force_login(nobody)
    assert _coverage(client).status_code == 403
    assert client.get(reverse("org:unit-list")).status_code == 403


def test_coverage_for_one_unit_shows_it_and_its_children(client, world):
    client.force_login(world.admin)
    everything = _lines(_coverage(client))
    assert {"P", "CA", "A1", "A2", "CB", "B1"} <= set(everything)
    response = _coverage(client, unit=world.city_a.pk)
    assert response.status_code == 200 and response.context["unit"] == world.city_a
    lines = _lines(response)
    assert set(lines) == {"CA", "A1", "A2"}  # the unit and its children, not its parent or city B
    assert lines["CA"].accounts == 2 and lines["CA"].indent == "0.0" and lines["A1"].indent == "1.5"
    assert "城市A供电公司" in response.content.decode()


@pytest.mark.parametrize("raw", ["999999", "abc", "-1"])
def test_coverage_for_an_unknown_unit_is_404(client, world, raw):
    client.force_login(world.supervisor)
    assert _coverage(client, unit=raw).status_code == 404


def test_coverage_for_a_unit_out_of_scope_is_404(client, world):
    client.force_login(world.supervisor)
    assert _coverage(client, unit=world.city_b.pk).status_code == 404
    assert _coverage(client, unit=world.province.pk).status_code == 404  # above the user's own unit


def test_coverage_htmx_request_gets_only_the_table(client, world):
    client.force_login(world.supervisor)
    response = client.get(reverse("customers:coverage"), {"unit": world.city_a.pk}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("<table") and "<html" not in body and "<nav" not in body
    assert "县A1供电公司" in body and "城市B燃气公司" not in body
    assert "HX-Request" in response["Vary"]


def test_account_class_and_importance_edit_keeps_history(client, world):
    client.force_login(world.agent_a1)
    url = reverse("customers:account-edit", args=[world.account_a1.pk])
    form = client.get(url).context["form"]
    assert {v for v, _ in form.fields["customer_class"].choices} == {
        "p_key_important", "p_key_large", "p_key_focus", "p_ded_industrial", "p_ded_institution",
        "p_pub_nonresidential", "p_pub_residential"}
    bad = client.post(url, {"customer_class": "g_residential", "importance": "normal"})
    assert bad.status_code == 400 and "customer_class" in bad.context["form"].errors
    response = client.post(url, {"customer_class": "p_key_important", "importance": "grade1"})
    assert response.status_code == 302
    world.account_a1.refresh_from_db()
    assert (world.account_a1.customer_class, world.account_a1.importance) == ("p_key_important", "grade1")
    event = world.account_a1.events.get(kind="updated")
    assert event.data["importance"] == ["normal", "grade1"] and event.actor == world.agent_a1
    client.force_login(world.crew_a1)
    assert client.post(url, {"customer_class": "p_pub_residential", "importance": "normal"}).status_code == 403


def test_premise_edit_recomposes_the_address_and_returns_to_the_card(client, world):
    client.force_login(world.agent_a1)
    premise = world.account_a1.premise
    url = reverse("customers:premise-edit", args=[premise.pk]) + f"?customer={world.account_a1.customer_id}"
    data = {"province": "浙江省", "city": "杭州市", "district": "拱墅区", "street": "湖墅南路", "community": "",
            "building": "8", "entrance": "1", "room": "1201", "detail": "", "region_class": "urban"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[world.account_a1.customer_id])
    premise.refresh_from_db()
    assert premise.address == "浙江省杭州市拱墅区湖墅南路8栋1单元1201室"
    assert client.post(url, {**data, "city": ""}).status_code == 400
    assert client.get(reverse("customers:premise-edit", args=[premise.pk]) + "?customer=junk").status_code == 200
    client.force_login(world.agent_a2)
    assert client.get(url).status_code == 404


def test_contact_edit_keeps_phone_when_blank_and_remove_keeps_history(client, world):
    customer = world.account_a1.customer
    contact = customer.contacts.get()
    client.force_login(world.agent_a1)
    url = reverse("customers:contact-edit", args=[contact.pk])
    page = client.get(url).content.decode()
    assert "13800001111" not in page and "138****1111" in page
    data = {"name": "王小明", "phone": "", "relation": "self", "is_primary": "on", "note": "白天联系"}
    assert client.post(url, data).status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "+8613800001111" and contact.note == "白天联系"
    assert client.post(url, {**data, "phone": "12345"}).status_code == 400
    assert client.post(url, {**data, "phone": "139 0000 2222"}).status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "+8613900002222"
    assert client.post(reverse("customers:contact-remove", args=[contact.pk])).status_code == 302
    assert not customer.contacts.exists()
    card = client.get(reverse("customers:detail", args=[customer.pk]))
    assert any(c.object_id == contact.pk for c in card.context["card"].changes)
    assert FieldChange.objects.filter(model="customers.contact", object_id=contact.pk, reason="removed").exists()
    client.force_login(world.agent_a2)
    assert client.get(url).status_code == 404
