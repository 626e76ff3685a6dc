"""Knowledge API: search and reading for every signed-in user, drafts and review steps for editors,
errors as clear 400/403/404/409 answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kefu.knowledge.choices import ArticleStatus
from kefu.knowledge.models import Article, Category
from kefu.knowledge.services import article_create, article_submit
from kefu.knowledge.tests.factories import make_article
from kefu.org.tests.apiclient import API, client_for
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

SEARCH = f"{API}/knowledge/search/"
DRAFTS = f"{API}/knowledge/drafts/"


def category(code: str = "tariff-power") -> Category:
    return Category.objects.get(code=code)


def payload(**over: Any) -> dict[str, Any]:
    return {"title": "居民阶梯电价执行口径说明", "summary": "阶梯电价按年累计电量分三档。",
            "body": "阶梯电价按年度累计。峰谷电价可同时执行。", "category": category().pk, "utility": "power",
            "tags": ["阶梯", "电价"], "source": "测试依据文件", **over}


def published(editor: Any, publisher: Any, **over: Any) -> Article:
    return make_article(editor, approver=publisher, **payload(**over))


@pytest.fixture
def leader(world: World) -> Any:
    return make_staff("kb_api_leader", unit=world.county_a1, roles=["shift_leader"])


def hit_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()]


# --- readers -----------------------------------------------------------------------------------


def test_search_answers_hits_with_highlights(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor)
    response = client_for(world.agent_a1).get(SEARCH, {"q": "阶梯电价", "limit": "50"})
    rows = {row["id"]: row for row in response.json()}
    assert article.pk in rows
    row = rows[article.pk]
    assert row["number"] == article.number and row["title"] == "居民阶梯电价执行口径说明"
    assert "<mark>阶梯电价</mark>" in row["title_html"] and "<mark>" in row["snippet_html"]
    assert row["category"]["code"] == "tariff-power" and row["utility"] == "power"
    assert row["score"] > 0 and row["url"] == f"/knowledge/{article.pk}/"


def test_search_works_with_a_token(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor)
    token, _ = Token.objects.get_or_create(user=world.agent_a1)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert article.pk in hit_ids(client.get(SEARCH, {"q": "阶梯电价", "limit": "50"}))
    assert APIClient().get(SEARCH, {"q": "阶梯电价"}).status_code in (401, 403)


def test_search_filters_and_limit(world: World, leader: Any) -> None:
    power = published(leader, world.supervisor, title="峰谷电价时段说明")
    gas = published(leader, world.supervisor, title="燃气峰谷价格对照", utility="gas",
                    category=category("tariff-gas").pk)
    client = client_for(world.agent_a1)
    ids = hit_ids(client.get(SEARCH, {"q": "峰谷", "utility": "gas"}))
    assert gas.pk in ids and power.pk not in ids
    ids = hit_ids(client.get(SEARCH, {"q": "峰谷", "category": str(category("tariff-power").pk)}))
    assert power.pk in ids and gas.pk not in ids
    assert len(hit_ids(client.get(SEARCH, {"q": "峰谷", "limit": "1"}))) == 1


def test_a_very_long_query_is_a_400_on_q(world: World) -> None:
    response = client_for(world.agent_a1).get(SEARCH, {"q": "电" * 10_000})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "q" in body["errors"]
    assert "500" in body["errors"]["q"][0]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "abc"}, {"category": "x"}, {"utility": "water"},
                                   {"offset": "-1"}])
def test_bad_search_parameters_name_the_field(world: World, query: dict[str, str]) -> None:
    response = client_for(world.agent_a1).get(SEARCH, {"q": "电价", **query})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == set(query)


def test_punctuation_only_finds_nothing(world: World, leader: Any) -> None:
    published(leader, world.supervisor)
    assert hit_ids(client_for(world.agent_a1).get(SEARCH, {"q": "！？。，、……"})) == []
    assert hit_ids(client_for(world.agent_a1).get(SEARCH)) == []


def test_published_article_for_readers(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor, valid_to="2099-12-31")
    response = client_for(world.agent_a1).get(f"{API}/knowledge/articles/{article.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == article.pk and body["number"] == article.number and body["revision"] == 1
    assert body["tags"] == ["阶梯", "电价"] and body["valid_to"] == "2099-12-31" and body["region"] is None


def test_unpublished_and_out_of_area_articles_are_404(world: World, leader: Any) -> None:
    unpublished = article_create(actor=leader, data=payload())
    local = published(leader, world.supervisor, region=world.county_a1.pk)
    assert client_for(world.agent_a1).get(f"{API}/knowledge/articles/{unpublished.pk}/").status_code == 404
    assert client_for(world.agent_a1).get(f"{API}/knowledge/articles/{local.pk}/").status_code == 200
    assert client_for(world.agent_a2).get(f"{API}/knowledge/articles/{local.pk}/").status_code == 404
    assert local.pk not in hit_ids(client_for(world.agent_a2).get(SEARCH, {"q": "阶梯电价", "limit": "50"}))


# --- editors -----------------------------------------------------------------------------------


def test_the_whole_workflow(world: World, leader: Any) -> None:
    editor, director = client_for(leader), client_for(world.supervisor)
    response = editor.post(DRAFTS, payload(title="全流程测试文章：电费发票开具"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    pk, version = body["id"], body["version"]
    assert body["status"] == "draft" and body["allowed_actions"] == ["submit"]
    assert pk not in hit_ids(client_for(world.agent_a1).get(SEARCH, {"q": "电费发票"}))

    response = editor.post(f"{DRAFTS}{pk}/submit/", {"version": version}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "review"
    version = response.json()["version"]
    assert editor.post(f"{DRAFTS}{pk}/approve/", {"version": version}, format="json").status_code == 403

    response = director.post(f"{DRAFTS}{pk}/approve/", {"version": version}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "published" and body["published_revision"] == 1
    assert [e["action"] for e in body["events"]] == ["create", "submit", "approve"]
    assert pk in hit_ids(client_for(world.agent_a1).get(SEARCH, {"q": "电费发票"}))

    response = director.post(f"{DRAFTS}{pk}/retire/", {"reason": "政策废止"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "retired"
    assert pk not in hit_ids(client_for(world.agent_a1).get(SEARCH, {"q": "电费发票"}))


def test_a_stale_version_is_a_409_and_changes_nothing(world: World, leader: Any) -> None:
    editor = client_for(leader)
    pk = editor.post(DRAFTS, payload(), format="json").json()["id"]
    response = editor.patch(f"{DRAFTS}{pk}/", {"title": "第一次修改", "version": 1}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "第一次修改"
    assert response.json()["tags"] == ["阶梯", "电价"]  # fields not sent are kept
    response = editor.patch(f"{DRAFTS}{pk}/", {"title": "过期的修改", "version": 1}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert editor.post(f"{DRAFTS}{pk}/submit/", {"version": 1}, format="json").status_code == 409
    article = Article.objects.get(pk=pk)
    assert article.title == "第一次修改" and article.status == ArticleStatus.DRAFT


def test_update_needs_the_version(world: World, leader: Any) -> None:
    editor = client_for(leader)
    pk = editor.post(DRAFTS, payload(), format="json").json()["id"]
    response = editor.patch(f"{DRAFTS}{pk}/", {"title": "没有版本"}, format="json")
    assert response.status_code == 400 and "version" in response.json()["errors"]
    response = editor.put(f"{DRAFTS}{pk}/", {**payload(title="整体替换"), "version": 1}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "整体替换"


def test_bad_drafts_name_the_field(world: World, leader: Any) -> None:
    editor = client_for(leader)
    before = Article.objects.count()
    for body, field in [
        (payload(title=""), "title"),
        ({k: v for k, v in payload().items() if k != "title"}, "title"),
        (payload(category=999_999), "category"),
        (payload(utility="water"), "utility"),
        (payload(region=world.county_b1.pk), "region"),  # outside the editor's units
        (payload(valid_from="2026-05-01", valid_to="2026-01-01"), "valid_to"),
        (payload(titel="typo"), "titel"),
        (payload(title="x" * 201), "title"),
    ]:
        response = editor.post(DRAFTS, body, format="json")
        assert response.status_code == 400, (field, response.content)
        assert field in response.json()["errors"], (field, response.json())
    assert Article.objects.count() == before


def test_reject_needs_a_reason_and_a_wrong_status_is_409(world: World, leader: Any) -> None:
    director = client_for(world.supervisor)
    pk = client_for(leader).post(DRAFTS, payload(), format="json").json()["id"]
    response = director.post(f"{DRAFTS}{pk}/approve/", {}, format="json")
    assert response.status_code == 409  # a draft is not in review
    article_submit(actor=leader, article_id=pk)
    response = director.post(f"{DRAFTS}{pk}/reject/", {"reason": " "}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = director.post(f"{DRAFTS}{pk}/reject/", {"reason": "数据来源不对"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "draft"


def test_drafts_are_for_editors_of_the_unit(world: World, leader: Any) -> None:
    article = article_create(actor=leader, data=payload())
    agent = client_for(world.agent_a1)
    assert agent.get(DRAFTS).status_code == 403
    assert agent.get(f"{DRAFTS}{article.pk}/").status_code == 403
    assert agent.post(DRAFTS, payload(), format="json").status_code == 403
    peer = client_for(make_staff("kb_api_peer", unit=world.county_a2, roles=["shift_leader"]))
    assert peer.get(f"{DRAFTS}{article.pk}/").status_code == 404
    assert peer.post(f"{DRAFTS}{article.pk}/submit/", {}, format="json").status_code == 404
    assert article.pk not in {row["id"] for row in peer.get(DRAFTS).json()["results"]}
    director = client_for(world.supervisor)
    assert article.pk in {row["id"] for row in director.get(DRAFTS).json()["results"]}
    assert director.get(f"{DRAFTS}{article.pk}/").status_code == 200


def test_draft_list_filters(world: World, leader: Any) -> None:
    editor = client_for(leader)
    first = editor.post(DRAFTS, payload(title="停电报修草稿"), format="json").json()["id"]
    second = editor.post(DRAFTS, payload(title="投诉处理待审"), format="json").json()["id"]
    article_submit(actor=leader, article_id=second)
    rows = editor.get(DRAFTS, {"status": "review"}).json()["results"]
    assert [r["id"] for r in rows] == [second]
    rows = editor.get(DRAFTS, {"q": "报修"}).json()["results"]
    assert [r["id"] for r in rows] == [first]
    assert editor.get(DRAFTS, {"status": "bogus"}).status_code == 400
    assert editor.get(f"{DRAFTS}abc/").status_code == 404


def test_huge_ids_are_404_not_errors(world: World) -> None:
    huge = 10**30
    assert client_for(world.agent_a1).get(f"{API}/knowledge/articles/{huge}/").status_code == 404
    assert client_for(world.supervisor).get(f"{DRAFTS}{huge}/").status_code == 404
