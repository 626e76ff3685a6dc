"""Chinese full-text search over published articles.

Text is cut into words by jieba (search mode, with a utility dictionary so 阶梯电价 yields 阶梯, 电价
and 阶梯电价), so a query for 停电 matches the word 停电 and never every article holding the character
电. The words go into ``SearchEntry`` and then into the database's own engine: an FTS5 table on SQLite
(ranked by bm25) or a weighted tsvector with a GIN index on PostgreSQL (ranked by ts_rank). Both are
built from the same word lists, so the two databases agree on what matches.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection

from .models import ArticleRevision, SearchEntry

MAX_QUERY_CHARS = 500  # longer search strings are refused (the desk's suggestions cut to this)
MAX_QUERY_TERMS = 24
MAX_POSITIONS = 16383  # PostgreSQL's limit for a tsvector position

# Words that carry no meaning for retrieval in callers' questions and article text.
STOPWORDS = frozenset((  # noqa: SIM905
    "的 了 是 我 你 他 她 它 们 我们 你们 他们 在 和 与 及 或 吗 呢 吧 啊 呀 哦 "
    "嗯 请问 请 一下 有 没有 这 那 这个 那个 就 也 都 要 会 能 可以 怎么 怎么办 怎样 "
    "什么 如何 为什么 为何 哪里 哪些 多少 几 一个 家 家里 我家 现在 已经 还 又 被 把 "
    "给 对 从 向 到 以 及其 等 之 其 该 由 于 为 并 而 但 如 若 如果 则 时 后 前 "
    "中 内 上 下 个 次 您 您好 谢谢 知道 问 问问 想 想问 帮 帮忙 看看 一直 突然 所以 "
    "因为 然后 就是 还是 可能 应该 需要 进行 相关 有关 规定 情况 问题 "
    "这么 那么 这样 那样 时候 什么时候 啥 咋 咋办 为啥 怎么样 "
).split())

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's dictionary takes about a second to load: do it once per process, on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(60)
                tok = jieba.Tokenizer()
                tok.initialize()
                tok.load_userdict(str(Path(__file__).with_name("data") / "userdict.txt"))
                _tokenizer = tok
    return _tokenizer


def words(text: str) -> list[str]:
    """All indexable words of ``text`` in order, lower-cased, without punctuation or stopwords."""
    out: list[str] = []
    for raw in _jieba().cut_for_search(text or ""):
        for word in _WORD.findall(raw.lower()):
            if word not in STOPWORDS and word != "_":
                out.append(word)
    return out


def query_terms(text: str) -> list[str]:
    """The distinct words of a search string. Single Chinese characters are dropped when the query
    has longer words: 停电了 means 停电, not everything containing 停 or 电."""
    seen: dict[str, None] = {}
    for word in words((text or "")[:MAX_QUERY_CHARS]):
        seen.setdefault(word, None)
    terms = list(seen)
    if any(len(t) > 1 or not _CJK.match(t) for t in terms):
        terms = [t for t in terms if len(t) > 1 or not _CJK.match(t)]
    return terms[:MAX_QUERY_TERMS]


@dataclass(frozen=True)
class Filters:
    category_ids: Sequence[int] | None = None
    utility: str | None = None  # "power" / "gas": articles for that utility or for both
    region_ids: Sequence[int] | None = None  # the caller's unit and its ancestors; None: any region
    today: date | None = None


def _entry_fields(revision: ArticleRevision) -> dict[str, Any]:
    return {
        "revision": revision,
        "title_terms": " ".join(words(revision.title)),
        "tag_terms": " ".join(words(" ".join(revision.tag_list))),
        "body_terms": " ".join(words(f"{revision.summary}\n{revision.body}")),
        "category_id": revision.category_id,
        "utility": revision.utility,
        "region_id": revision.region_id,
        "valid_from": revision.valid_from,
        "valid_to": revision.valid_to,
    }


def tsvector_literal(title: str, tags: str, body: str) -> str:
    """A tsvector in PostgreSQL's input syntax with positions and weights (A title, B tags, C body),
    built here so that no server-side parser or locale decides what a Chinese word is."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for weight, text in (("A", title), ("B", tags), ("C", body)):
        for word in text.split():
            pos = min(pos + 1, MAX_POSITIONS)
            slots = positions.setdefault(word, [])
            if len(slots) < 256:  # PostgreSQL keeps at most 256 positions per lexeme
                slots.append(f"{pos}{weight}")
    return " ".join(f"'{w}':{','.join(p)}" for w, p in positions.items())


def _write_index(cursor: Any, entries: Sequence[SearchEntry]) -> None:
    """Put the entries' words into the database's engine (the entries' rows exist already)."""
    if connection.vendor == "sqlite":
        ids = [[e.article_id] for e in entries]
        cursor.executemany("DELETE FROM knowledge_fts WHERE rowid = %s", ids)
        cursor.executemany("DELETE FROM knowledge_fts_head WHERE rowid = %s", ids)
        cursor.executemany(
            "INSERT INTO knowledge_fts(rowid, title_terms, tag_terms, body_terms) VALUES (%s, %s, %s, %s)",
            [[e.article_id, e.title_terms, e.tag_terms, e.body_terms] for e in entries],
        )
        cursor.executemany(
            "INSERT INTO knowledge_fts_head(rowid, title_terms, tag_terms) VALUES (%s, %s, %s)",
            [[e.article_id, e.title_terms, e.tag_terms] for e in entries],
        )
    else:
        cursor.executemany(
            "UPDATE knowledge_searchentry SET document = %s::tsvector, head = %s::tsvector WHERE article_id = %s",
            [[tsvector_literal(e.title_terms, e.tag_terms, e.body_terms),
              tsvector_literal(e.title_terms, e.tag_terms, ""), e.article_id] for e in entries],
        )


def index_article(article_id: int, revision: ArticleRevision | None) -> None:
    """Make the search index show ``revision`` for the article, or nothing when ``revision`` is None.
    Call inside the service's transaction."""
    SearchEntry.objects.filter(article_id=article_id).delete()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # The FTS5 tables keep their own copy of the words, so a row left behind by a deleted entry
            # can always be removed by rowid (and is never returned: searches join the entries).
            cursor.execute("DELETE FROM knowledge_fts WHERE rowid = %s", [article_id])
            cursor.execute("DELETE FROM knowledge_fts_head WHERE rowid = %s", [article_id])
        if revision is None:
            return
        _write_index(cursor, [SearchEntry.objects.create(article_id=article_id, **_entry_fields(revision))])


def index_bulk(revisions: Iterable[ArticleRevision], *, batch: int = 2000) -> int:
    """Index many newly published revisions at once (seeding, demo and benchmark data). Articles must
    not be indexed yet. Returns how many were indexed."""
    count = 0
    chunk: list[SearchEntry] = []

    def flush() -> None:
        SearchEntry.objects.bulk_create(chunk)
        with connection.cursor() as cursor:
            _write_index(cursor, chunk)
        chunk.clear()

    for revision in revisions:
        chunk.append(SearchEntry(article_id=revision.article_id, **_entry_fields(revision)))
        count += 1
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    return count


@dataclass(frozen=True)
class Hit:
    article_id: int
    revision_id: int
    score: float


def _filter_sql(filters: Filters) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.today is not None:
        clauses.append("(e.valid_from IS NULL OR e.valid_from <= %s) AND (e.valid_to IS NULL OR e.valid_to >= %s)")
        params += [filters.today, filters.today]
    if filters.category_ids is not None:
        ids = [int(i) for i in filters.category_ids] or [0]
        clauses.append(f"e.category_id IN ({','.join(['%s'] * len(ids))})")
        params += ids
    if filters.utility:
        clauses.append("e.utility IN (%s, 'both')")
        params.append(filters.utility)
    if filters.region_ids is not None:
        ids = [int(i) for i in filters.region_ids]
        if ids:
            clauses.append(f"(e.region_id IS NULL OR e.region_id IN ({','.join(['%s'] * len(ids))}))")
            params += ids
        else:
            clauses.append("e.region_id IS NULL")
    return "".join(f" AND {c}" for c in clauses), params


# Stages that could match most of the base rank a sample of their first matches instead of all of
# them: a word in most titles or bodies says little, and ranking every match would cost time in
# proportion to the size of the knowledge base.
HEAD_CANDIDATES = 1500
BODY_CANDIDATES = 200
RERANK = 30  # title matches re-ordered by how many of the query's words the whole article holds


def _sqlite_stage(cursor: Any, table: str, weights: str, match: str, where: str, params: list[Any],
                  limit: int, exclude: Sequence[int], cap: int | None) -> list[Hit]:
    skip = f" AND e.article_id NOT IN ({','.join(str(int(i)) for i in exclude)})" if exclude else ""
    if cap:
        # Without ORDER BY, FTS5 stops after the first matches and computes bm25 for those only.
        sql = (f"SELECT e.article_id, e.revision_id, f.score FROM (SELECT rowid, bm25({table}, {weights}) AS score "  # noqa: S608
               f"FROM {table} WHERE {table} MATCH %s LIMIT {int(cap)}) f "
               f"JOIN knowledge_searchentry e ON e.article_id = f.rowid WHERE 1 = 1{where}{skip} "
               "ORDER BY f.score, e.article_id LIMIT %s")
    else:
        sql = (f"SELECT e.article_id, e.revision_id, bm25({table}, {weights}) AS score FROM {table} "  # noqa: S608
               f"JOIN knowledge_searchentry e ON e.article_id = {table}.rowid WHERE {table} MATCH %s{where}{skip} "
               "ORDER BY score, e.article_id LIMIT %s")
    cursor.execute(sql, [match, *params, limit])
    return [Hit(a, r, -float(s)) for a, r, s in cursor.fetchall()]


def _pg_stage(cursor: Any, column: str, query: str, where: str, params: list[Any], limit: int,
              exclude: Sequence[int], cap: int | None) -> list[Hit]:
    skip = f" AND e.article_id <> ALL(ARRAY[{','.join(str(int(i)) for i in exclude)}]::bigint[])" if exclude else ""
    if cap:
        sql = (f"SELECT c.article_id, c.revision_id, ts_rank(c.{column}, c.q, 1) AS score FROM ("  # noqa: S608
               f"SELECT e.article_id, e.revision_id, e.{column}, q FROM knowledge_searchentry e, "
               f"CAST(%s AS tsquery) q WHERE e.{column} @@ q{where}{skip} LIMIT {int(cap)}) c "
               "ORDER BY score DESC, c.article_id LIMIT %s")
    else:
        sql = (f"SELECT e.article_id, e.revision_id, ts_rank(e.{column}, q, 1) AS score "  # noqa: S608
               f"FROM knowledge_searchentry e, CAST(%s AS tsquery) q WHERE e.{column} @@ q{where}{skip} "
               "ORDER BY score DESC, e.article_id LIMIT %s")
    cursor.execute(sql, [query, *params, limit])
    return [Hit(a, r, float(s)) for a, r, s in cursor.fetchall()]


def _rerank(hits: list[Hit], terms: Sequence[str]) -> list[Hit]:
    """Order the best title matches by how many of the query's words the whole article holds (a
    caller's sentence names the problem in several words; the title holds only some), keeping the
    title ranking between articles that hold as many."""
    head, tail = hits[:RERANK], hits[RERANK:]
    wanted = set(terms)
    rows = SearchEntry.objects.filter(article_id__in=[h.article_id for h in head]).values_list(
        "article_id", "title_terms", "tag_terms", "body_terms")
    words_of = {a: set(f"{t} {g} {b}".split()) & wanted for a, t, g, b in rows}
    order = {h.article_id: i for i, h in enumerate(head)}
    head.sort(key=lambda h: (-len(words_of.get(h.article_id, ())), order[h.article_id]))
    return head + tail


def _stages(terms: Sequence[str]) -> list[tuple[str, str, int | None]]:
    """(index, operator, candidate cap) in the order tried."""
    stages: list[tuple[str, str, int | None]] = []
    if len(terms) > 1:
        stages.append(("head", "AND", None))  # every word in the title or tags: the best matches
    stages.append(("head", "OR", HEAD_CANDIDATES))
    stages.append(("body", "OR", BODY_CANDIDATES))
    return stages


def search(terms: Sequence[str], filters: Filters, *, limit: int = 20, offset: int = 0) -> list[Hit]:
    """Articles matching any of ``terms``, best first.

    Stages keep the time bounded however common a word is: articles with every query word in the
    title or tags; then articles with some of them there (re-ordered by how many of the words the
    whole article holds); then, if those are not enough, articles with the words in the body only.
    Title matches always come before body-only ones.
    """
    if not terms:
        return []
    need = offset + limit
    where, params = _filter_sql(filters)
    sqlite = connection.vendor == "sqlite"
    hits: list[Hit] = []
    with connection.cursor() as cursor:
        for index, op, cap in _stages(terms):
            if len(hits) >= need:
                break
            seen = [h.article_id for h in hits]
            if sqlite:
                match = f" {op} ".join('"' + t.replace('"', "") + '"' for t in terms)
                table, weights = (("knowledge_fts_head", "10.0, 4.0") if index == "head"
                                  else ("knowledge_fts", "10.0, 4.0, 1.0"))
                found = _sqlite_stage(cursor, table, weights, match, where, params, need - len(hits), seen, cap)
            else:
                joiner = " & " if op == "AND" else " | "
                query = joiner.join("'" + t.replace("'", "").replace("\\", "") + "'" for t in terms)
                column = "head" if index == "head" else "document"
                found = _pg_stage(cursor, column, query, where, params, need - len(hits), seen, cap)
            hits += found
            if index == "head" and op == "OR":
                hits = _rerank(hits, terms)
    return hits[offset:need]


def highlight(text: str, terms: Sequence[str], *, width: int | None = None) -> str:
    """HTML-escaped ``text`` with the query words in <mark>. With ``width``, a window of about that
    many characters around the first match (the article's opening when nothing matches)."""
    text = text or ""
    ordered = sorted({t for t in terms if t}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(t) for t in ordered), re.IGNORECASE) if ordered else None
    if width is not None and len(text) > width:
        first = pattern.search(text) if pattern else None
        start = max(0, (first.start() if first else 0) - width // 4)
        end = min(len(text), start + width)
        text = ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")
    if pattern is None:
        return html.escape(text)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        out.append(f"<mark>{html.escape(m.group(0))}</mark>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)
