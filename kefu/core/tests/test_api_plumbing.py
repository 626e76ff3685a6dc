"""Shared API plumbing: one error format, keyset pagination, schema and offline docs."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from kefu.core.api import flatten_errors
from kefu.customers.tests.factories import make_account
from kefu.org.tests.apiclient import API, client_for


def test_flatten_errors_gives_dotted_keys() -> None:
    nested = {"customer": {"name": ["too long"]}, "contacts": [{}, {"phone": ["bad"]}],
              "account": {"non_field_errors": ["expected an object"]}, "unit": ["unknown"]}
    assert flatten_errors(nested) == {"customer.name": ["too long"], "contacts.1.phone": ["bad"],
                                      "account": ["expected an object"], "unit": ["unknown"]}


def test_keyset_pagination_walks_every_row_once(world: Any) -> None:
    for _ in range(4):
        make_account(unit=world.county_a1)
    client = client_for(world.agent_a1)
    seen: list[int] = []
    url: str | None = f"{API}/accounts/?page_size=2"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 2
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 5


def _cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["garbage", _cursor("p=abc"), _cursor(f"p={10**40}"), _cursor("p=1.5"), _cursor("r=1&p=x"), "x" * 5001,
     _cursor("p=" + "9" * 5000), _cursor("p=²")],
)
def test_bad_cursor_is_400(world: Any, cursor: str) -> None:
    response = client_for(world.agent_a1).get(f"{API}/customers/?{urlencode({'cursor': cursor})}")
    assert response.status_code == 400, response.content
    assert "cursor" in response.json()["errors"]


@pytest.mark.parametrize("cursor", ["%%%", _cursor("o=99999999"), _cursor("")])
def test_harmless_cursors_still_answer(world: Any, cursor: str) -> None:
    # Junk that decodes to nothing means "first page"; a huge offset is capped by DRF: never a 500.
    response = client_for(world.agent_a1).get(f"{API}/customers/?{urlencode({'cursor': cursor})}")
    assert response.status_code == 200


def test_good_cursor_from_next_link_works(world: Any) -> None:
    make_account(unit=world.county_a1)
    client = client_for(world.agent_a1)
    first = client.get(f"{API}/customers/?page_size=1").json()
    cursor = parse_qs(urlparse(first["next"]).query)["cursor"][0]
    second = client.get(f"{API}/customers/", {"cursor": cursor, "page_size": 1}).json()
    assert second["results"][0]["id"] > first["results"][0]["id"]


@pytest.mark.parametrize("page_size", ["abc", "-1", "0", str(10**30)])
def test_odd_page_sizes_fall_back(world: Any, page_size: str) -> None:
    assert client_for(world.agent_a1).get(f"{API}/customers/", {"page_size": page_size}).status_code == 200


@pytest.mark.parametrize("path", ["customers/abc/", "customers/99999999999999999999999/", "accounts/-1/",
                                  "customers/999999999999999999/", "staff/1e3/"])
def test_odd_ids_in_urls_are_404(world: Any, path: str) -> None:
    response = client_for(world.admin).get(f"{API}/{path}")
    assert response.status_code == 404
    assert response.status_code != 500


def test_malformed_json_is_400(world: Any) -> None:
    response = client_for(world.agent_a1).post(f"{API}/customers/", '{"unit": 1,', content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error" and body["detail"]


def test_json_array_body_is_400(world: Any) -> None:
    response = client_for(world.agent_a1).post(f"{API}/customers/", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_form_body_is_415(world: Any) -> None:
    response = client_for(world.agent_a1).post(f"{API}/customers/", {"unit": "1"})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_nul_and_huge_strings_are_400(world: Any) -> None:
    client = client_for(world.agent_a1)
    customer = world.account_a1.customer
    for name in ("a\x00b", "名" * 100_000):
        response = client.patch(f"{API}/customers/{customer.pk}/", {"version": 1, "name": name}, format="json")
        assert response.status_code == 400
        assert "name" in response.json()["errors"]
    response = client.get(f"{API}/customers/", {"q": "q" * 10_000})
    assert response.status_code == 400 and "q" in response.json()["errors"]


def test_error_body_shape(world: Any) -> None:
    response = client_for(world.agent_a1).post(f"{API}/accounts/{world.account_a1.pk}/status/",
                                               {"to_status": "suspended"}, format="json")
    assert response.status_code == 403  # agents may not change status: the service says so
    assert set(response.json()) == {"code", "detail"}
    response = client_for(world.admin).post(f"{API}/accounts/{world.account_a1.pk}/status/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "detail", "errors"}
    assert body["detail"].startswith("to_status: ")


def test_schema_endpoint_is_valid_openapi(world: Any) -> None:
    response = APIClient().get(f"{API}/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ("/api/v1/customers/", "/api/v1/customers/lookup/", "/api/v1/accounts/{id}/status/",
                 "/api/v1/accounts/{id}/manager/", "/api/v1/premises/", "/api/v1/contacts/{id}/",
                 "/api/v1/org-units/", "/api/v1/staff/", "/api/v1/auth/token/"):
        assert path in paths, path
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_schema_generates_without_warnings(tmp_path: Any) -> None:
    # Same as `kefu spectacular --validate --fail-on-warn`: raises on any warning or invalid schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").stat().st_size > 1000


def test_docs_page_uses_no_external_assets(world: Any) -> None:
    response = APIClient().get(f"{API}/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    lowered = html.lower()
    assert "cdn" not in lowered and "jsdelivr" not in lowered and "unpkg" not in lowered
    bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert bundle in html
    # The assets are really there, served by the app itself (whitenoise), not fetched from outside.
    asset = APIClient().get(bundle)
    assert asset.status_code == 200
    asset.close()


JUNK_VALUES: list[Any] = [None, True, -1, 10**30, 1.5, "", "x" * 10_000, "\x00", {"a": 1}, [1, [2]], "１２３", "²",
                          "9" * 5000, "1e3"]


def _write_endpoints(world: Any) -> list[tuple[str, str, dict[str, Any]]]:
    a1 = world.account_a1
    contact = a1.customer.contacts.first()
    return [
        ("post", "customers/", {"unit": world.county_a1.pk, "customer": {}, "premise": {}, "account": {},
                                "contacts": [{}]}),
        ("patch", f"customers/{a1.customer_id}/", {"version": 1, "name": "n", "unit": world.county_a1.pk,
                                                   "kind": "person", "id_type": "resident_id", "id_number": "1"}),
        ("post", "accounts/", {"customer": a1.customer_id, "premise": a1.premise_id, "utility": "power",
                               "customer_class": "p_pub_residential", "number": "1", "opened_on": "2020-01-01"}),
        ("post", f"accounts/{a1.pk}/status/", {"to_status": "suspended", "reason": "r"}),
        ("post", f"accounts/{a1.pk}/manager/", {"manager": world.manager_a1.pk, "reason": "r"}),
        ("post", "premises/", {"unit": world.county_a1.pk, "province": "p", "city": "c", "district": "d"}),
        ("patch", f"premises/{a1.premise_id}/", {"room": "1", "region_class": "urban"}),
        ("post", "contacts/", {"customer": a1.customer_id, "name": "n", "phone": "13900001111",
                               "is_primary": False}),
        ("patch", f"contacts/{contact.pk}/", {"phone": "13900001111", "extension": "1", "is_primary": True}),
        ("post", "auth/token/", {"username": "agent_a1", "password": "x"}),
    ]


def test_junk_input_never_gives_a_500(world: Any) -> None:
    client = client_for(world.admin)
    for method, path, fields in _write_endpoints(world):
        send = getattr(client, method)
        wholes: list[Any] = [{}, [], "text", 42, None]
        for whole in wholes:
            response = send(f"{API}/{path}", whole, format="json")
            assert response.status_code < 500, (path, whole)
        for field in fields:
            for junk in JUNK_VALUES:
                response = send(f"{API}/{path}", {**fields, field: junk}, format="json")
                assert response.status_code < 500, (path, field, junk, response.content[:300])
                body: dict[str, Any] = response.json() if response.status_code >= 400 else {}
                if response.status_code == 400 and body["code"] == "invalid":
                    assert body["errors"], (path, field, junk, body)


@pytest.mark.parametrize("param", ["q", "unit", "kind", "cursor", "page_size"])
def test_junk_query_params_never_give_a_500(world: Any, param: str) -> None:
    client = client_for(world.admin)
    for junk in ["", "x" * 5000, "9" * 5000, "²", "\x00", "-1", str(10**30), "1.5", "１", "%00", "[]"]:
        for path in ("customers/", "accounts/", "premises/", "org-units/", "staff/", "customers/lookup/"):
            response = client.get(f"{API}/{path}", {param: junk, "phone": junk})
            assert response.status_code < 500, (path, param, junk)
