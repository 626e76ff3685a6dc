"""Knowledge pages as agents and editors use them: search with highlighted hits, browsing, the article
page, the editors' list, the editor and the review steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse

from kefu.knowledge.choices import ArticleStatus
from kefu.knowledge.models import Article, Category
from kefu.knowledge.services import article_submit
from kefu.knowledge.tests.factories import make_article
from kefu.knowledge.views import reader
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def category(code: str = "tariff-power") -> Category:
    return Category.objects.get(code=code)


# Content the assertions below look for; the shared factory writes and publishes it.
CONTENT = {"title": "居民阶梯电价执行口径说明", "summary": "阶梯电价按年累计电量分三档。",
           "body": "第一段：阶梯电价按年度累计。\n\n第二段：峰谷电价可同时执行。", "category": "tariff-power",
           "tags": "阶梯, 电价", "source": "测试依据文件"}


def draft(editor: Any, **over: Any) -> Article:
    return make_article(editor, **{**CONTENT, **over})


def published(editor: Any, publisher: Any, **over: Any) -> Article:
    return make_article(editor, approver=publisher, **{**CONTENT, **over})


@pytest.fixture
def leader(world: World) -> Any:
    """A shift leader at county A1: writes articles, may not publish them."""
    return make_staff("kb_leader_a1", unit=world.county_a1, roles=["shift_leader"])


# --- search ------------------------------------------------------------------------------------


def test_search_shows_highlighted_hits_with_category_region_and_validity(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor, valid_from="2025-01-01")
    response = login(world.agent_a1).get(reverse("knowledge:search"), {"q": "阶梯电价"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-article="{article.pk}"' in html
    assert "<mark>阶梯电价</mark>" in html
    assert "Power tariffs and bills" in html  # the category, in the reader's language
    assert "2025-01-01" in html and "Everywhere" in html


def test_hits_are_escaped_while_the_marks_stay(world: World, leader: Any) -> None:
    published(leader, world.supervisor, title="阶梯电价 <script>alert(1)</script>")
    html = login(world.agent_a1).get(reverse("knowledge:search"), {"q": "阶梯电价"}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html and "<mark>阶梯电价</mark>" in html


def test_filters_narrow_by_category_and_utility(world: World, leader: Any) -> None:
    power = published(leader, world.supervisor, title="峰谷电价时段说明", utility="power")
    gas = published(leader, world.supervisor, title="燃气峰谷电价对照", utility="gas",
                    category=category("tariff-gas").pk)
    client = login(world.agent_a1)
    url = reverse("knowledge:search")
    html = client.get(url, {"q": "峰谷", "utility": "gas"}).content.decode()
    assert f'data-article="{gas.pk}"' in html and f'data-article="{power.pk}"' not in html
    # A parent category takes in the ones below it.
    html = client.get(url, {"q": "峰谷", "category": str(category("tariff").pk)}).content.decode()
    assert f'data-article="{gas.pk}"' in html and f'data-article="{power.pk}"' in html
    html = client.get(url, {"q": "峰谷", "category": str(category("tariff-power").pk)}).content.decode()
    assert f'data-article="{gas.pk}"' not in html and f'data-article="{power.pk}"' in html


def test_unknown_filter_values_are_messages_not_errors(world: World) -> None:
    response = login(world.agent_a1).get(reverse("knowledge:search"), {"q": "电价", "category": "abc",
                                                                       "utility": "water"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="category"' in html and 'data-field="utility"' in html


def test_a_very_long_query_shows_the_limit(world: World) -> None:
    response = login(world.agent_a1).get(reverse("knowledge:search"), {"q": "电" * 10_000})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The search text is too long (at most 500 characters)." in html
    assert 'id="hits"' not in html


def test_punctuation_only_finds_nothing(world: World, leader: Any) -> None:
    published(leader, world.supervisor)
    response = login(world.agent_a1).get(reverse("knowledge:search"), {"q": "，。！？…——"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="no-results"' in html and 'data-article="' not in html


def test_more_appends_the_next_hits(world: World, leader: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "PAGE_SIZE", 2)
    for n in range(3):
        published(leader, world.supervisor, title=f"电费缴纳渠道说明{n}")
    client = login(world.agent_a1)
    html = client.get(reverse("knowledge:search"), {"q": "电费缴纳"}).content.decode()
    assert html.count('data-article="') == 2 and "More results" in html
    response = client.get(reverse("knowledge:search"), {"q": "电费缴纳", "offset": "2"}, HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert "<html" not in fragment  # only the next hits, appended in place
    assert fragment.count('data-article="') >= 1 and "<mark>" in fragment


def test_without_a_query_the_page_browses_by_category(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor, title="新发布的测试文章", category=category("faq").pk)
    client = login(world.agent_a1)
    html = client.get(reverse("knowledge:search")).content.decode()
    assert 'id="category-tree"' in html and "Frequently asked questions" in html
    assert "新发布的测试文章" in html  # recently published
    # The category link lists its articles.
    html = client.get(reverse("knowledge:search"), {"category": str(category("faq").pk)}).content.decode()
    assert f'data-article="{article.pk}"' in html


def test_regional_articles_are_for_their_area(world: World, leader: Any) -> None:
    local = published(leader, world.supervisor, title="县A1本地电价执行说明", region=world.county_a1.pk)
    url = reverse("knowledge:search")
    assert f'data-article="{local.pk}"' in login(world.agent_a1).get(url, {"q": "本地电价"}).content.decode()
    assert f'data-article="{local.pk}"' not in login(world.agent_a2).get(url, {"q": "本地电价"}).content.decode()
    article_url = reverse("knowledge:article", args=[local.pk])
    assert login(world.agent_a1).get(article_url).status_code == 200
    assert login(world.supervisor).get(article_url).status_code == 200
    assert login(world.agent_a2).get(article_url).status_code == 404
    assert login(world.outsider).get(article_url).status_code == 404


def test_search_needs_sign_in(world: World) -> None:
    response = Client().get(reverse("knowledge:search"))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- article page ------------------------------------------------------------------------------


def test_article_page_shows_the_published_revision(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor, valid_to="2099-12-31")
    html = login(world.agent_a1).get(reverse("knowledge:article", args=[article.pk])).content.decode()
    assert "<p>第一段：阶梯电价按年度累计。</p>" in html and "<p>第二段：峰谷电价可同时执行。</p>" in html
    assert "测试依据文件" in html and "阶梯" in html and "2099-12-31" in html
    assert "Revision 1" in html and article.number in html


def test_an_edit_in_progress_is_not_what_agents_read(world: World, leader: Any) -> None:
    article = published(leader, world.supervisor)
    client = login(leader)
    response = client.post(reverse("knowledge:edit", args=[article.pk]), {
        "title": "改过的标题", "body": "改过的正文", "category": category().pk, "utility": "power",
        "version": Article.objects.get(pk=article.pk).version})
    assert response.status_code == 302
    html = login(world.agent_a1).get(reverse("knowledge:article", args=[article.pk])).content.decode()
    assert "居民阶梯电价执行口径说明" in html and "改过的标题" not in html


def test_drafts_and_unknown_articles_are_404(world: World, leader: Any) -> None:
    article = draft(leader)
    client = login(world.agent_a1)
    assert client.get(reverse("knowledge:article", args=[article.pk])).status_code == 404
    assert client.get(reverse("knowledge:article", args=[999_999_999])).status_code == 404


# --- editors -----------------------------------------------------------------------------------


def test_agents_cannot_open_the_editor_pages(world: World, leader: Any) -> None:
    article = draft(leader)
    client = login(world.agent_a1)
    assert client.get(reverse("knowledge:manage")).status_code == 403
    assert client.get(reverse("knowledge:create")).status_code == 403
    assert client.get(reverse("knowledge:edit", args=[article.pk])).status_code == 403
    assert client.post(reverse("knowledge:action", args=[article.pk, "submit"]), {"version": 1}).status_code == 403
    assert "Manage articles" not in client.get(reverse("knowledge:search")).content.decode()


def test_editors_see_only_their_units_articles(world: World, leader: Any) -> None:
    mine = draft(leader, title="A1的草稿")
    peer = make_staff("kb_leader_a2", unit=world.county_a2, roles=["shift_leader"])
    theirs = draft(peer, title="A2的草稿")
    html = login(leader).get(reverse("knowledge:manage")).content.decode()
    assert "A1的草稿" in html and "A2的草稿" not in html
    assert login(leader).get(reverse("knowledge:edit", args=[theirs.pk])).status_code == 404
    # The city director looks after both counties.
    html = login(world.supervisor).get(reverse("knowledge:manage")).content.decode()
    assert "A1的草稿" in html and "A2的草稿" in html
    assert login(world.supervisor).get(reverse("knowledge:edit", args=[mine.pk])).status_code == 200


def test_manage_filters_by_status_and_title(world: World, leader: Any) -> None:
    draft(leader, title="停电报修草稿")
    in_review = draft(leader, title="投诉处理待审")
    article_submit(actor=leader, article_id=in_review.pk)
    client = login(world.supervisor)
    html = client.get(reverse("knowledge:manage"), {"status": "review"}).content.decode()
    assert "投诉处理待审" in html and "停电报修草稿" not in html
    assert 'id="tab-review"' in html  # publishers get the review queue
    html = client.get(reverse("knowledge:manage"), {"q": "报修"}).content.decode()
    assert "停电报修草稿" in html and "投诉处理待审" not in html
    assert 'id="tab-review"' not in login(leader).get(reverse("knowledge:manage")).content.decode()
    assert client.get(reverse("knowledge:manage"), {"status": "bogus"}).status_code == 400


def test_create_saves_a_draft(world: World, leader: Any) -> None:
    client = login(leader)
    assert client.get(reverse("knowledge:create")).status_code == 200
    response = client.post(reverse("knowledge:create"), {
        "title": "新文章", "summary": "摘要", "body": "正文", "category": category().pk, "utility": "both",
        "region": world.county_a1.pk, "tags": "甲，乙", "valid_from": "2026-01-01", "source": "依据"})
    article = Article.objects.get(title="新文章")
    assert response.status_code == 302 and response["Location"] == reverse("knowledge:edit", args=[article.pk])
    assert article.status == ArticleStatus.DRAFT and article.unit == world.county_a1
    assert article.tag_list == ["甲", "乙"] and article.region == world.county_a1


def test_an_article_without_a_title_comes_back_with_the_message(world: World, leader: Any) -> None:
    before = Article.objects.count()
    response = login(leader).post(reverse("knowledge:create"), {"title": "", "body": "正文",
                                                                 "category": category().pk, "utility": "power"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="title"' in html and "正文" in html  # what was typed stays
    assert Article.objects.count() == before


def test_the_service_names_the_field_it_refuses(world: World, leader: Any) -> None:
    response = login(leader).post(reverse("knowledge:create"), {
        "title": "日期颠倒", "body": "正文", "category": category().pk, "utility": "power",
        "valid_from": "2026-05-01", "valid_to": "2026-01-01"})
    assert response.status_code == 400
    assert "The end of validity is before its start." in response.content.decode()


def test_a_stale_version_is_a_conflict_and_changes_nothing(world: World, leader: Any) -> None:
    article = draft(leader)
    client = login(leader)
    form = {"title": "第一次修改", "body": "正文", "category": category().pk, "utility": "power",
            "version": article.version}
    assert client.post(reverse("knowledge:edit", args=[article.pk]), form).status_code == 302
    response = client.post(reverse("knowledge:edit", args=[article.pk]), {**form, "title": "过期的修改"})
    assert response.status_code == 409
    assert "Someone else changed this article" in response.content.decode()
    assert Article.objects.get(pk=article.pk).title == "第一次修改"


def test_buttons_follow_status_and_role(world: World, leader: Any) -> None:
    article = draft(leader)

    def buttons(user: Any) -> set[str]:
        html = login(user).get(reverse("knowledge:edit", args=[article.pk])).content.decode()
        return {chunk.split('"', 1)[0] for chunk in html.split('data-action="')[1:]}

    assert buttons(leader) == {"submit"}
    article_submit(actor=leader, article_id=article.pk)
    assert buttons(leader) == set()
    assert buttons(world.supervisor) == {"approve", "reject", "retire"}


def test_review_steps_through_the_pages(world: World, leader: Any) -> None:
    article = draft(leader, title="走流程的文章")
    editor, director = login(leader), login(world.supervisor)

    def step(client: Client, action: str, **data: Any) -> Any:
        version = Article.objects.get(pk=article.pk).version
        return client.post(reverse("knowledge:action", args=[article.pk, action]), {"version": version, **data})

    assert step(editor, "submit").status_code == 302
    assert step(editor, "approve").status_code == 403  # a shift leader does not publish
    response = step(director, "reject")
    assert response.status_code == 400 and "Say why the article goes back to draft." in response.content.decode()
    assert step(director, "reject", reason="来源写错了").status_code == 302
    assert Article.objects.get(pk=article.pk).status == ArticleStatus.DRAFT
    assert "来源写错了" in editor.get(reverse("knowledge:edit", args=[article.pk])).content.decode()
    assert step(editor, "submit").status_code == 302
    assert step(director, "approve").status_code == 302
    html = login(world.agent_a1).get(reverse("knowledge:search"), {"q": "走流程"}).content.decode()
    assert f'data-article="{article.pk}"' in html
    # A step the status no longer allows is refused with its reason.
    response = step(director, "approve")
    assert response.status_code == 409 and 'id="step-error"' in response.content.decode()
    assert director.post(reverse("knowledge:action", args=[article.pk, "explode"]), {}).status_code == 404


def test_a_step_from_a_stale_page_is_a_conflict(world: World, leader: Any) -> None:
    article = draft(leader)
    response = login(leader).post(reverse("knowledge:action", args=[article.pk, "submit"]),
                                  {"version": article.version + 5})
    assert response.status_code == 409 and 'id="conflict"' in response.content.decode()
    assert Article.objects.get(pk=article.pk).status == ArticleStatus.DRAFT


def test_huge_ids_are_404_not_errors(world: World) -> None:
    huge = 10**30
    assert login(world.agent_a1).get(reverse("knowledge:article", args=[huge])).status_code == 404
    client = login(world.supervisor)
    assert client.get(reverse("knowledge:edit", args=[huge])).status_code == 404
    assert client.post(reverse("knowledge:action", args=[huge, "submit"]), {"version": 1}).status_code == 404


def test_pages_speak_chinese_by_default(world: World, leader: Any, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    article = published(leader, world.supervisor)
    client = login(world.agent_a1)
    html = client.get(reverse("knowledge:search")).content.decode()
    assert "电价电费" in html and "Power tariffs and bills" not in html
    html = client.get(reverse("knowledge:search"), {"q": "阶梯电价"}).content.decode()
    assert "<mark>阶梯电价</mark>" in html
    assert client.get(reverse("knowledge:article", args=[article.pk])).status_code == 200
    assert login(leader).get(reverse("knowledge:edit", args=[article.pk])).status_code == 200
