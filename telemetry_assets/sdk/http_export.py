"""Export to the collector service (DESIGN §8): `POST {base_url}/ingest/{events|metrics|logs}`.

The body is NDJSON and a 202 answer means the records are durable. Connection errors,
timeouts, 5xx and 429 are retried with exponential backoff and jitter, re-sending the *same*
bytes: when a timed-out request did land, the copy is identical and the pipeline's identity
dedup removes it. Any other answer is final, so a 400 is counted as failed and logged once
instead of being hammered into the server. Standard library only (`urllib.request`).
"""

from __future__ import annotations

import http.client
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence

from .records import RecordKind

log = logging.getLogger(__name__)

DURABLE = 202


def _is_transient(status: int | None) -> bool:
    """No answer at all, server errors and rate limiting are worth another attempt."""
    return status is None or status == 429 or status >= 500


def _bodies(lines: Sequence[bytes], max_body_bytes: int) -> Iterator[tuple[bytes, int]]:
    """NDJSON bodies of at most `max_body_bytes` (a longer single line goes alone), with counts."""
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > max_body_bytes:
            yield b"".join(chunk), len(chunk)
            chunk, size = [], 0
        chunk.append(line + b"\n")
        size += len(line) + 1
    if chunk:
        yield b"".join(chunk), len(chunk)


class HttpExporter:
    """Posts NDJSON batches to the collector, retrying transient failures with the same bytes."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 10.0,
        max_body_bytes: int = 1 << 20,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Content-Type": "application/x-ndjson"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._max_body_bytes = max_body_bytes
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep

    def export(self, kind: RecordKind, lines: Sequence[bytes]) -> int:
        delivered = 0
        for body, count in _bodies(lines, self._max_body_bytes):
            if self._post(f"{self._base_url}/ingest/{kind}", body, count):
                delivered += count
        return delivered

    def tick(self) -> None:
        return None

    def close(self) -> None:
        return None

    def _post(self, url: str, body: bytes, count: int) -> bool:
        """One batch: True once the collector answered 202, False when it gave up on it."""
        attempt = 1
        while True:
            status, retry_after, detail = self._send(url, body)
            if status == DURABLE:
                return True
            if not _is_transient(status) or attempt >= self._max_attempts:
                log.warning(
                    "telemetry: %d records to %s failed after %d attempt(s): %s",
                    count,
                    url,
                    attempt,
                    detail,
                )
                return False
            self._sleep(self._backoff(attempt, retry_after))
            attempt += 1

    def _send(self, url: str, body: bytes) -> tuple[int | None, float | None, str]:
        """POST once: the status (None without an answer), Retry-After seconds, a description."""
        request = urllib.request.Request(url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                response.read()
                return response.status, None, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read(500).decode("utf-8", "replace")
            except (OSError, http.client.HTTPException):
                text = "(no body)"
            return exc.code, _retry_after(exc.headers.get("Retry-After")), f"HTTP {exc.code} {text}"
        except (OSError, http.client.HTTPException) as exc:
            return None, None, f"{type(exc).__name__}: {exc}"

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Equal jitter below an exponential ceiling; a Retry-After counts, up to the cap."""
        ceiling = min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._backoff_max_s))
        return delay


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; the HTTP-date form is ignored (the backoff applies instead)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
