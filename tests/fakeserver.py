"""An OpenAI-compatible server of our own, real HTTP on loopback, with scripted faults.

It speaks just enough of vLLM's API for the client (GET /health, GET /version,
GET /v1/models, POST /v1/chat/completions) and answers each chat request with the next scripted
action, so tests can make a server that is slow, flaky, rude or down.

Actions (strings, so they can come from the command line too):

    ok           a valid reply with the requested number of pairs
    429[:S]      HTTP 429 with Retry-After: S (default 1)
    500, 503, 400, 401, 404, 422 ...   that status with a vLLM-style error body
    drop         close the connection without answering
    hang[:S]     wait S seconds (default 30), then answer ok
    nojson       prose with no JSON at all
    fenced       the pairs inside a ```json fence with prose around it
    prose        the pairs as bare JSON with prose before and after
    truncated    the pairs cut off in the middle of the last one, finish_reason "length"
    ctrl         raw newlines and tabs inside the JSON strings
    noash        half of the gyaru lines without あーし
    repeat       the pairs of the previous ok reply again

A rewrite request (`generate --input`: the user message lists `{"id": N, "standard":
...}` lines) is answered with one aligned rewrite per input for `ok`, and these
scripted misalignments:

    misalign     the first two items swap their standard lines (each answers the other)
    skip         the last input gets no item
    restate      the first item changes its standard line
    wrongid      the first item carries an id that is not in the batch

Judge requests (the judge step of a run, `client judge`) take their actions from
`judge_script` (default ok), never from `script`, and answer with grades from
`judge_grader` (tests/judgefake.py lists the content actions: ok, broken, short...;
the transport ones above, 429, 500, drop, hang, work for them too).

A model that ignores `response_format` and answers in its own shape (no ids, prose
around the JSON, grades in words, pairs instead of grades...): `shape=OwnShape(...)`
(tests/ownshape.py lists the modes). Every request the scripts leave at `ok`, judge
requests included, is answered in that shape; its action is recorded as `own:MODE`.

Use it in tests as a context manager (it runs in a background thread), or by
hand: `python -m tests.fakeserver --port 8000 --latency 1 --script 429,500,drop`
(`--shape noids,pairs --shape-seed 7` for a model in its own shape).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests import pair_corpus
from tests.judgefake import Grader, good_grades, is_judge_request, judge_content
from tests.ownshape import OwnShape

BATCH_RE = re.compile(r"バッチ番号は(\d+)")
INPUT_LINE_RE = re.compile(r'^\{"id": \d+, "standard": .*\}$', re.MULTILINE)
COUNT_RE = re.compile(r"ちょうど(\d+)組")


def make_pairs(
    n: int, tag: str, *, topics: Iterable[str] = ("Tech", "Streaming", "Daily", "Gaming")
) -> list[dict[str, str]]:
    """n pairs that pass every check, distinct from every other tag's (tests/pair_corpus.py)."""
    topic_list = list(topics)
    pairs = []
    for i in range(n):
        standard, gyaru = pair_corpus.pair(tag, i)
        pairs.append(
            {"topic": topic_list[i % len(topic_list)], "standard": standard, "gyaru": gyaru}
        )
    return pairs


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float
    action: str | None = None
    # A judge request (grading pairs), not a generation request.
    judge: bool = False

    @property
    def batch(self) -> int | None:
        if not isinstance(self.body, dict):
            return None
        for message in self.body.get("messages", []):
            match = BATCH_RE.search(str(message.get("content", "")))
            if match:
                return int(match.group(1))
        return None

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """The inputs a rewrite request lists ([] for a free-generation request)."""
        return inputs_of(self.body) if isinstance(self.body, dict) else []


def inputs_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    for message in body.get("messages", []):
        if message.get("role") == "user":
            found = INPUT_LINE_RE.findall(str(message.get("content", "")))
            return [json.loads(line) for line in found]
    return []


# Polite endings and their casual forms, for the sentences the tests send (a persona
# line keeping です/ます is the wrong register, and the checks reject it).
CASUAL_ENDINGS = (
    ("できました", "できた"), ("買いました", "買った"), ("降ります", "降る"), ("見ます", "見る"),
    ("でした", "だった"), ("です", "じゃん"),
)  # fmt: skip


def rewrite(standard: str) -> str:
    """A persona line for `standard` that passes the default persona's checks."""
    core = standard.rstrip("。！!？?")
    for polite, casual in CASUAL_ENDINGS:
        if core.endswith(polite):
            core = core.removesuffix(polite) + casual
            break
    return f"{core}って、あーし的にマジそれな〜"


def rewrites(name: str, inputs: list[dict[str, Any]], topic: str) -> list[dict[str, Any]]:
    items = [
        {"id": i["id"], "standard": i["standard"], "topic": topic, "gyaru": rewrite(i["standard"])}
        for i in inputs
    ]
    if name == "misalign" and len(items) > 1:
        items[0]["standard"], items[1]["standard"] = items[1]["standard"], items[0]["standard"]
    elif name == "skip":
        items = items[:-1]
    elif name == "restate":
        items[0]["standard"] = items[0]["standard"] + "ね、本当に"
    elif name == "wrongid":
        items[0]["id"] = 10**9
    elif name == "noash":
        for item in items[::2]:
            item["gyaru"] = item["gyaru"].replace("あーし", "うち")
    elif name != "ok":
        raise ValueError(f"unknown rewrite action {name!r}")
    return items


def schema_topic(body: dict[str, Any]) -> str:
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    array = (schema.get("properties") or {}).get("pairs") or {}
    item = array.get("items") or (array.get("prefixItems") or [{}])[0]
    topics = ((item.get("properties") or {}).get("topic") or {}).get("enum") or ["Daily"]
    return str(topics[0])


def chat_completion(
    response_id: str,
    model: str,
    text: str,
    finish: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
) -> dict[str, Any]:
    """A chat completion body in the shape vLLM's OpenAI server answers with."""
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total_tokens,
        },
    }


@dataclass
class FakeServer:
    latency_s: float = 0.0
    script: Iterable[str] = ()
    # Batch number -> actions for that batch's successive attempts (before `script`).
    per_batch: dict[int, list[str]] = field(default_factory=dict)
    model: str = "fake-model"
    api_key: str | None = None
    max_model_len: int = 8192
    # What GET /version answers, as vLLM does; None: no such route (not vLLM).
    vllm_version: str | None = "0.32.0"
    host: str = "127.0.0.1"
    port: int = 0
    record_bodies: bool = True
    # Decide the action from the request instead of the script (runs before it).
    chooser: Callable[[RecordedRequest], str | None] | None = None
    # Actions for successive judge requests (then "ok"), and the grades "ok" gives.
    judge_script: Iterable[str] = ()
    judge_grader: Grader = good_grades
    # A model in its own shape: what every request the scripts leave at "ok" gets.
    shape: OwnShape | None = None

    def __post_init__(self) -> None:
        self._script: deque[str] = deque(self.script)
        self._judge_script: deque[str] = deque(self.judge_script)
        self._per_batch = {k: deque(v) for k, v in self.per_batch.items()}
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._last_pairs: list[dict[str, str]] = []
        self._counter = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Generation requests (chat completions asking for pairs)."""
        return [r for r in self.requests if r.path.endswith("/chat/completions") and not r.judge]

    @property
    def judge_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions") and r.judge]

    async def serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> FakeServer:
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self.serve())
            except asyncio.CancelledError:
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="fakeserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        def close() -> None:
            server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(close)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP --------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = raw.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                body_bytes = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._dispatch(
                    method, target.split("?")[0], headers, body_bytes, writer
                )
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        reason = {
            200: "OK",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(status, "Error")
        head = [
            f"HTTP/1.1 {status} {reason}",
            "content-type: application/json",
            f"content-length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()

    @staticmethod
    def _error(status: int, message: str) -> dict[str, Any]:
        kind = {400: "BadRequestError", 401: "Unauthorized", 404: "NotFoundError"}.get(
            status, "InternalServerError"
        )
        return {"error": {"message": message, "type": kind, "param": None, "code": status}}

    def _authorised(self, headers: dict[str, str]) -> bool:
        return self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"

    def _next_action(self, request: RecordedRequest, body: dict[str, Any]) -> str:
        action = self._scripted_action(request)
        if action == "ok" and self.shape is not None:
            mode = self.shape.mode_for(body)
            return "ok" if mode == "ok" else f"own:{mode}"
        return action

    def _scripted_action(self, request: RecordedRequest) -> str:
        with self._lock:
            if self.chooser is not None:
                chosen = self.chooser(request)
                if chosen is not None:
                    return chosen
            if request.judge:
                return self._judge_script.popleft() if self._judge_script else "ok"
            batch = request.batch
            if batch is not None and self._per_batch.get(batch):
                return self._per_batch[batch].popleft()
            if self._script:
                return self._script.popleft()
        return "ok"

    async def _dispatch(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body_bytes: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        try:
            body = json.loads(body_bytes) if body_bytes else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method,
            path,
            headers,
            body if self.record_bodies else None,
            time.monotonic(),
            judge=is_judge_request(body),
        )
        with self._lock:
            self.requests.append(request)
        if path == "/health":
            await self._send(writer, 200, {})
            return True
        if path == "/version" and method == "GET" and self.vllm_version is not None:
            # vLLM serves it at the root, outside /v1 and the API key check.
            await self._send(writer, 200, {"version": self.vllm_version})
            return True
        if not self._authorised(headers):
            await self._send(writer, 401, {"error": "Unauthorized"})
            return True
        if path == "/v1/models" and method == "GET":
            await self._send(
                writer,
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": self.model,
                            "object": "model",
                            "created": 0,
                            "owned_by": "fake",
                            "root": self.model,
                            "max_model_len": self.max_model_len,
                        }
                    ],
                },
            )
            return True
        if path != "/v1/chat/completions" or method != "POST":
            await self._send(writer, 404, self._error(404, f"no route {method} {path}"))
            return True
        if not isinstance(body, dict) or body.get("model") != self.model:
            name = body.get("model") if isinstance(body, dict) else None
            await self._send(writer, 404, self._error(404, f"The model `{name}` does not exist."))
            return True
        action = self._next_action(request, body)
        request.action = action
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._act(action, body, writer, judge=request.judge)
        finally:
            self.in_flight -= 1

    async def _act(
        self, action: str, body: dict[str, Any], writer: asyncio.StreamWriter, *, judge: bool
    ) -> bool:
        name, _, arg = action.partition(":")
        if name == "hang":
            await asyncio.sleep(float(arg or 30))
            name = "ok"
        elif self.latency_s:
            await asyncio.sleep(self.latency_s)
        if name == "drop":
            writer.transport.abort()
            return False
        if name.isdigit():
            status = int(name)
            extra = {"retry-after": arg or "1"} if status == 429 else {}
            await self._send(
                writer, status, self._error(status, f"scripted failure {status}"), extra
            )
            return True
        if name == "own":
            text, finish = self._own_shape(arg, body, judge=judge)
        elif judge:
            text, finish = judge_content(name, body, self.judge_grader)
        else:
            text, finish = self._content(name, body)
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 2
        completion_tokens = max(len(text) // 2, 1)
        await self._send(
            writer,
            200,
            chat_completion(
                f"chatcmpl-{self._counter}",
                self.model,
                text,
                finish,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + len(text) // 2,
            ),
        )
        return True

    def _own_shape(self, mode: str, body: dict[str, Any], *, judge: bool) -> tuple[str, str]:
        """The reply the schema asks for, bent into the model's own shape `mode`."""
        assert self.shape is not None
        if judge:
            text, finish = judge_content("ok", body, self.judge_grader)
        else:
            text, finish = self._content("ok", body)
        return self.shape.reply(body, text, mode), finish

    def _requested_pairs(self, body: dict[str, Any]) -> int:
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
        items = (schema.get("properties") or {}).get("pairs") or {}
        if isinstance(items.get("minItems"), int):
            return int(items["minItems"])
        for message in body.get("messages", []):
            match = COUNT_RE.search(str(message.get("content", "")))
            if match:
                return int(match.group(1))
        return 5

    def _content(self, name: str, body: dict[str, Any]) -> tuple[str, str]:
        inputs = inputs_of(body)
        if inputs:
            items = rewrites(name, inputs, schema_topic(body))
            return json.dumps({"pairs": items}, ensure_ascii=False), "stop"
        n = self._requested_pairs(body)
        with self._lock:
            self._counter += 1
            # Unique across servers and requests, so only scripted repeats are duplicates.
            tag = f"{self.port}x{self._counter}"
        if name == "repeat" and self._last_pairs:
            pairs = [dict(p) for p in self._last_pairs]
        else:
            pairs = make_pairs(n, tag)
            with self._lock:
                self._last_pairs = [dict(p) for p in pairs]
        doc = json.dumps({"pairs": pairs}, ensure_ascii=False)
        if name in ("ok", "repeat"):
            return doc, "stop"
        if name == "nojson":
            return "ごめんなさい、今はお手伝いできません。", "stop"
        if name == "fenced":
            return (
                f"はい、作りました！\n```json\n{json.dumps(pairs, ensure_ascii=False, indent=2)}\n```\nどうでしょう？",
                "stop",
            )
        if name == "prose":
            return f"以下が結果です。\n{doc}\n以上です。", "stop"
        if name == "truncated":
            cut = doc.rfind('{"topic"')
            return doc[: cut + 30], "length"
        if name == "ctrl":
            for pair in pairs:
                pair["standard"] = pair["standard"].replace("。", "。\n", 1)
                pair["gyaru"] = pair["gyaru"].replace("、", "、\t", 1)
            return json.dumps({"pairs": pairs}, ensure_ascii=False).replace("\\n", "\n").replace(
                "\\t", "\t"
            ), "stop"
        if name == "noash":
            for pair in pairs[::2]:
                pair["gyaru"] = pair["gyaru"].replace("あーし", "うち")
            return json.dumps({"pairs": pairs}, ensure_ascii=False), "stop"
        raise ValueError(f"unknown action {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each chat reply")
    parser.add_argument(
        "--script", default="", help="comma-separated actions for successive chat requests"
    )
    parser.add_argument(
        "--judge-script", default="", help="comma-separated actions for successive judge requests"
    )
    parser.add_argument(
        "--shape",
        default="",
        help="answer in a model's own shape: comma-separated modes of tests/ownshape.py, or all",
    )
    parser.add_argument("--shape-seed", type=int, default=0, help="draws the mode of each request")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--api-key", default=None)
    parser.add_argument(
        "--no-record", action="store_true", help="keep no request bodies (long benchmarks)"
    )
    args = parser.parse_args()
    server = FakeServer(
        latency_s=args.latency,
        script=[a for a in args.script.split(",") if a],
        judge_script=[a for a in args.judge_script.split(",") if a],
        model=args.model,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        record_bodies=not args.no_record,
        shape=OwnShape.parse(args.shape, args.shape_seed) if args.shape else None,
    )
    print(f"serving {server.model} on http://{args.host}:{args.port}/v1", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.serve())


if __name__ == "__main__":
    main()
