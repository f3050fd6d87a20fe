"""A local stand-in for the Apify API v2 on 127.0.0.1, following the wire contract apify-client 3.x
relies on (../shared/research/apify.md section 4): the scrape step reaches it through
APIFY_API_BASE_URL exactly as it would reach api.apify.com.

- POST /v2/actors/{owner~name}/runs (and the legacy /v2/acts/ alias): start a run -> 201 {"data": Run}
- GET  /v2/actor-runs/{id}?waitForFinish=N: READY, then RUNNING, then the actor's final status
- GET  /v2/datasets/{id}/items?offset&limit (and /v2/actor-runs/{id}/dataset/items): a bare JSON
  array with the five X-Apify-Pagination-* headers, at most `page_size` items a page
- GET  /v2/datasets/{id}; POST /v2/actor-runs/{id}/abort
- errors as {"error": {"type", "message"}}; gzip bodies both ways; the token is checked in the
  Authorization: Bearer header; every request is recorded so tests can count runs started.

Actors are simulated from a catalogue (handle -> items) and read the input fields the real actors
read (profiles / username / usernames, resultsPerPage / resultsLimit, includeSharesCount); maxItems
and maxTotalChargeUsd cap the dataset as they cap charges on Apify. Instagram items are built from
real 2026 actor output (tests/fixtures/real/instagram/, provenance in its README): the slim
post-scraper items, the reel scraper's reels with views, the profile scraper's record whose
latestPosts list carousel children; only ids, handles and counts are changed.
"""
from __future__ import annotations

import copy
import functools
import gzip
import itertools
import json
import re
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
START_PRICE, RESULT_PRICE = 0.005, 0.003   # pay per event, as clockworks/tiktok-scraper charges
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED")


# --- actor simulators: run input -> dataset items -------------------------------------------
def _handles(run_input: dict, field: str) -> list[str]:
    values = run_input.get(field) or []
    return [str(v).rstrip("/").rsplit("/", 1)[-1].lstrip("@").lower() for v in values]


def profile_posts_actor(catalogue: dict[str, list[dict]], handles_field: str, limit_field: str) -> Callable:
    """An actor returning the latest posts of each profile in its input (handle -> items)."""
    def run(run_input: dict) -> list[dict]:
        limit = int(run_input.get(limit_field) or 10**6)
        return [item for h in _handles(run_input, handles_field) for item in catalogue.get(h, [])[:limit]]
    return run


def tiktok_profile_scraper(catalogue: dict[str, list[dict]]) -> Callable:
    return profile_posts_actor(catalogue, "profiles", "resultsPerPage")


def instagram_post_scraper(catalogue: dict[str, list[dict]]) -> Callable:
    return profile_posts_actor(catalogue, "username", "resultsLimit")


def instagram_reel_scraper(catalogue: dict[str, list[dict]]) -> Callable:
    """apify/instagram-reel-scraper over the post scraper's catalogue: each profile's videos, as
    reels with views; sharesCount only with the paid includeSharesCount add-on."""
    def run(run_input: dict) -> list[dict]:
        limit = int(run_input.get("resultsLimit") or 10**6)
        shares = run_input.get("includeSharesCount") is True
        return [instagram_reel_item(post, h, shares) for h in _handles(run_input, "username")
                for post in [p for p in catalogue.get(h, []) if _is_video(p)][:limit]]
    return run


def instagram_profile_scraper(records: dict[str, dict]) -> Callable:
    def run(run_input: dict) -> list[dict]:
        return [records[h] for h in _handles(run_input, "usernames") if h in records]
    return run


def with_items(actor: Callable, extra: list[dict]) -> Callable:
    """The same actor, also pushing `extra` (error items, strangers) after its own items."""
    def run(run_input: dict) -> list[dict]:
        return actor(run_input) + copy.deepcopy(extra)
    return run


# --- items in the real actor shapes (from tests/fixtures, re-owned and re-numbered) ----------
def _fixture(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def tiktok_items(handle: str, count: int, first_id: int) -> list[dict]:
    """`count` clockworks items of `handle`: a pinned slideshow first, then slideshows and videos."""
    templates = _fixture("tiktok_items.json")[:2]   # the slideshow and the video sample
    items = []
    for i in range(count):
        item = copy.deepcopy(templates[i % 2])
        post_id = str(first_id + i)
        item.update({"id": post_id, "isPinned": i == 0, "input": handle,
                     "webVideoUrl": f"https://www.tiktok.com/@{handle}/video/{post_id}"})
        item["authorMeta"].update({"name": handle, "profileUrl": f"https://www.tiktok.com/@{handle}"})
        items.append(item)
    return items


@functools.lru_cache(maxsize=None)
def _real_text(platform: str, name: str) -> str:
    return (FIXTURES / "real" / platform / name).read_text(encoding="utf-8")


def real_items(name: str, platform: str = "instagram") -> list[dict]:
    """The items of one real fixture file (tests/fixtures/real/<platform>/<name>), unchanged: a
    fresh copy each call, so a test may change it."""
    return json.loads(_real_text(platform, name))["items"]


def _is_video(item) -> bool:
    return isinstance(item, dict) and item.get("type") == "Video"


def _owner_id(handle: str) -> str:
    return str(zlib.crc32(handle.encode()))


def _views(post: dict) -> int:
    """A reel's views, fixed by its id, so every actor reports the same number for it."""
    return 40 + int(post["id"]) % 900


def instagram_items(handle: str, count: int, first_id: int) -> list[dict]:
    """`count` apify/instagram-post-scraper items of `handle` (the slim 2026 shape: no views, no
    carousel children, isPinned only when true): carousels, reels and images."""
    templates = [real_items("sidecar--kossof-post-scraper-2026-08.json")[0],
                 real_items("video--kossof-post-scraper-2026-08.json")[0],
                 real_items("image--kossof-post-scraper-2026-08.json")[0]]
    items = []
    for i in range(count):
        item = copy.deepcopy(templates[i % 3])
        code = f"D{first_id + i:010d}"
        item.update({"id": str(first_id + i), "shortCode": code, "url": f"https://www.instagram.com/p/{code}/",
                     "ownerUsername": handle, "ownerFullName": handle.title(), "ownerId": _owner_id(handle),
                     "likesCount": 10 + i, "commentsCount": i % 4})
        items.append(item)
    return items


def instagram_reel_item(post: dict, handle: str, shares: bool) -> dict:
    """The reel scraper's item for one of the post scraper's videos (the real reel's shape)."""
    item = copy.deepcopy(real_items("reel--kossof-reel-scraper-2026-08.json")[0])
    views = _views(post)
    item.update({key: post[key] for key in ("id", "shortCode", "url", "caption", "timestamp", "likesCount",
                                            "commentsCount", "ownerUsername", "ownerFullName", "ownerId")
                 if key in post})
    item.update({"inputUrl": f"https://www.instagram.com/{handle}", "isPinned": post.get("isPinned") is True,
                 "videoViewCount": views, "videoPlayCount": 3 * views + 7})
    if "coauthorProducers" in post:   # a collab reel lists its partners here too
        item["coauthorProducers"] = copy.deepcopy(post["coauthorProducers"])
    if shares:
        item["sharesCount"] = views // 20
    else:
        del item["sharesCount"]       # without the add-on the field is absent (the real CSV export)
    return item


def instagram_latest_post(post: dict) -> dict:
    """A profile record's latestPosts entry for a post: the real record's entry of the same type
    (a Sidecar keeps its four childPosts), with the post's ids and counts."""
    record = real_items("profile--kossof-profile-scraper-2026-08.json")[0]
    entry = copy.deepcopy(next(p for p in record["latestPosts"] if p["type"] == post["type"]))
    entry.update({key: post[key] for key in ("id", "shortCode", "url", "caption", "timestamp", "likesCount",
                                             "commentsCount", "ownerUsername", "ownerId") if key in post})
    if _is_video(post):
        entry["videoViewCount"] = _views(post)
    return entry


def instagram_profile_record(handle: str, followers: int, posts: list[dict] = ()) -> dict:
    """apify/instagram-profile-scraper's record for `handle` (the real record's shape), its
    latestPosts the 12 newest of `posts`."""
    record = copy.deepcopy(real_items("profile--kossof-profile-scraper-2026-08.json")[0])
    latest = [instagram_latest_post(p) for p in posts if isinstance(p, dict) and p.get("type")][:12]
    record.update({"id": _owner_id(handle), "username": handle, "url": f"https://www.instagram.com/{handle}",
                   "fullName": handle.title(), "biography": "Gentle parenting, one slide at a time",
                   "externalUrls": [], "externalUrl": None, "externalUrlShimmed": None,
                   "followersCount": followers, "followsCount": 80, "postsCount": 120, "latestPosts": latest})
    record["about"].update({"username": handle, "id": int(_owner_id(handle))})
    return record


# --- the server -----------------------------------------------------------------------------
@dataclass
class Fault:
    method: str
    path: re.Pattern
    status: int
    times: int
    message: str


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def error_body(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}


class FakeApify:
    """Simulated actors keyed by 'owner/name'; final status per actor (SUCCEEDED unless set)."""

    def __init__(self, token: str, page_size: int = 25, polls_to_finish: int = 2):
        self.token = token
        self.page_size = page_size
        self.polls_to_finish = polls_to_finish
        self.actors: dict[str, Callable[[dict], list[dict]]] = {}
        self.final_status: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.requests: list[dict] = []
        self.runs: dict[str, dict] = {}
        self.datasets: dict[str, list[dict]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeApify":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, path_regex: str, status: int = 500, times: int = 1,
             message: str = "Simulated failure") -> None:
        """The next `times` requests matching method and path get `status` (before any other check)."""
        self.faults.append(Fault(method, re.compile(path_regex), status, times, message))

    def runs_started(self, actor: str | None = None) -> list[dict]:
        """Recorded run starts that the server accepted (201), optionally for one actor."""
        safe = actor.replace("/", "~") if actor else None
        return [r for r in self.requests if r["method"] == "POST" and r["status"] == 201
                and r["path"].endswith("/runs") and (safe is None or f"/{safe}/" in r["path"])]

    # --- behaviour --------------------------------------------------------------------------
    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    def _authorized(self, headers: dict, query: dict) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}" or query.get("token") == self.token

    def route(self, method: str, path: str, query: dict, body) -> tuple[int, object, dict]:
        """(status, JSON body, extra headers) for one request."""
        m = re.fullmatch(r"/v2/(?:actors|acts)/([^/]+)/runs", path)
        if method == "POST" and m:
            return self._start(m.group(1).replace("~", "/"), query, body)
        m = re.fullmatch(r"/v2/actor-runs/([^/]+)", path)
        if method == "GET" and m:
            return self._poll(m.group(1))
        m = re.fullmatch(r"/v2/actor-runs/([^/]+)/abort", path)
        if method == "POST" and m and m.group(1) in self.runs:
            self.runs[m.group(1)].update(status="ABORTED", finishedAt=_now())
            return 200, {"data": self.runs[m.group(1)]}, {}
        m = re.fullmatch(r"/v2/datasets/([^/]+)/items", path) or \
            re.fullmatch(r"/v2/actor-runs/([^/]+)/dataset/items", path)
        if method == "GET" and m:
            dataset = m.group(1) if path.startswith("/v2/datasets/") else \
                self.runs.get(m.group(1), {}).get("defaultDatasetId")
            return self._items(dataset, query)
        m = re.fullmatch(r"/v2/datasets/([^/]+)", path)
        if method == "GET" and m and m.group(1) in self.datasets:
            return 200, {"data": self._dataset(m.group(1))}, {}
        return 404, error_body("page-not-found", f"We have bad news: there is no API endpoint at {path}"), {}

    def _start(self, actor: str, query: dict, body) -> tuple[int, object, dict]:
        if actor not in self.actors:
            return 404, error_body("record-not-found", f"Actor {actor} was not found"), {}
        if not isinstance(body, dict):
            return 400, error_body("invalid-input", "Input must be a JSON object"), {}
        items = json.loads(json.dumps(self.actors[actor](body)))  # a copy, as if sent over the wire
        if "maxItems" in query:
            items = items[:int(query["maxItems"])]
        if "maxTotalChargeUsd" in query:   # a pay-per-event actor stops charging (and pushing) at the cap
            affordable = int((float(query["maxTotalChargeUsd"]) - START_PRICE) / RESULT_PRICE)
            items = items[:max(affordable, 0)]
        number = next(self._ids)
        run_id, dataset_id = f"run{number:04d}", f"ds{number:04d}"
        self.datasets[dataset_id] = items
        self.runs[run_id] = {
            "id": run_id, "actId": actor.replace("/", "~"), "userId": "fakeUser", "startedAt": _now(),
            "status": "READY", "meta": {"origin": "API"}, "stats": {}, "polls": 0, "finalStatus":
            self.final_status.get(actor, "SUCCEEDED"),
            "options": {"build": "latest", "timeoutSecs": int(query.get("timeout", 3600)),
                        "memoryMbytes": int(query.get("memory", 1024)), "diskMbytes": 2048},
            "buildId": "fakeBuild", "buildNumber": "0.0.1", "defaultKeyValueStoreId": f"kv{number:04d}",
            "defaultDatasetId": dataset_id, "defaultRequestQueueId": f"rq{number:04d}",
            "usageTotalUsd": round(START_PRICE + RESULT_PRICE * len(items), 4),
            "chargedEventCounts": {"actor-start": 1, "result": len(items)},
        }
        return 201, {"data": self._public(run_id)}, {"Location": f"{self.url}/v2/actor-runs/{run_id}"}

    def _poll(self, run_id: str) -> tuple[int, object, dict]:
        run = self.runs.get(run_id)
        if run is None:
            return 404, error_body("record-not-found", "Actor run was not found"), {}
        if run["status"] not in TERMINAL:
            run["polls"] += 1
            if run["polls"] >= self.polls_to_finish:
                run.update(status=run["finalStatus"], finishedAt=_now())
                if run["status"] != "SUCCEEDED":
                    run["statusMessage"] = f"Actor run ended {run['status']} (simulated)"
            else:
                run["status"] = "RUNNING"
        return 200, {"data": self._public(run_id)}, {}

    def _public(self, run_id: str) -> dict:
        return {k: v for k, v in self.runs[run_id].items() if k not in ("polls", "finalStatus")}

    def _items(self, dataset_id: str | None, query: dict) -> tuple[int, object, dict]:
        if dataset_id not in self.datasets:
            return 404, error_body("record-not-found", "Dataset was not found"), {}
        items = self.datasets[dataset_id]
        offset = int(query.get("offset", 0))
        limit = min(int(query.get("limit", self.page_size)), self.page_size)
        page = items[offset:offset + limit]
        headers = {"X-Apify-Pagination-Total": str(len(items)), "X-Apify-Pagination-Offset": str(offset),
                   "X-Apify-Pagination-Count": str(len(page)), "X-Apify-Pagination-Limit": str(limit),
                   "X-Apify-Pagination-Desc": "false"}
        return 200, page, headers

    def _dataset(self, dataset_id: str) -> dict:
        count = len(self.datasets[dataset_id])
        return {"id": dataset_id, "userId": "fakeUser", "createdAt": _now(), "modifiedAt": _now(),
                "accessedAt": _now(), "itemCount": count, "cleanItemCount": count,
                "consoleUrl": f"https://console.apify.com/storage/datasets/{dataset_id}"}

    # --- HTTP -------------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's naming
                self._serve("GET")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                raw = self.rfile.read(int(headers.get("content-length", 0) or 0))
                if headers.get("content-encoding") == "gzip":
                    raw = gzip.decompress(raw)
                body = json.loads(raw) if raw else None
                with fake._lock:
                    fault = fake._fault(method, parts.path)
                    if fault is not None:
                        status, answer, extra = fault.status, error_body("internal-server-error", fault.message), {}
                    elif not fake._authorized(headers, query):
                        status, answer, extra = 401, error_body(
                            "token-not-valid", "Authentication token is not valid"), {}
                    else:
                        status, answer, extra = fake.route(method, parts.path, query, body)
                    fake.requests.append({"method": method, "path": parts.path, "query": query,
                                          "headers": headers, "body": body, "status": status})
                self._send(status, answer, extra, "gzip" in headers.get("accept-encoding", ""))

            def _send(self, status: int, answer, extra: dict, gzip_ok: bool) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                if gzip_ok:
                    data = gzip.compress(data)
                    self.send_header("Content-Encoding", "gzip")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep pytest output clean
                pass

        return Handler
