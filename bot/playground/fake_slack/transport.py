"""How a request reaches a method: failure rules, hangs, the Web API dispatch, the
response_url and the file upload URL."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.playground.fake_slack.blockkit import _block_errors
from bot.playground.fake_slack.common import (
    _JSON_FIELDS,
    MAX_MESSAGE_BLOCKS,
    MAX_TEXT_LEN,
    Call,
    ResponseCall,
    _Headers,
    _Rule,
    _SlackError,
    _truthy,
)
from bot.playground.fake_slack.http import _Handler, _parse_body
from bot.slack.scopes import scope_needed


class Transport:
    """Mixin of FakeSlack: request handling."""

    def _take_rule(self, method: str, *, api: bool = True) -> _Rule | None:
        for rule in self._rules:
            if rule.method == method or (api and rule.method == "*"):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                return rule
        return None

    def _hang(self, handler: _Handler, ev: threading.Event) -> None:
        while not ev.wait(0.02):
            if handler.peer_gone():
                break
        with self._cond:
            if ev in self._hung:
                self._hung.remove(ev)
            self._cond.notify_all()
        handler.close_connection = True

    def _failure(self, rule: _Rule) -> tuple[int, dict[str, Any], dict[str, str]]:
        if rule.error is not None:
            return 200, {"ok": False, "error": rule.error}, {}
        headers: dict[str, str] = {}
        if rule.status == 429:
            headers["Retry-After"] = str(rule.retry_after if rule.retry_after is not None else 1)
            return 429, {"ok": False, "error": "ratelimited"}, headers
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        error = "internal_error" if rule.status >= 500 else f"http_{rule.status}"
        return rule.status, {"ok": False, "error": error}, headers

    def _handle_http(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        raw = handler.read_body()
        headers = _Headers(handler.headers.items())
        if path.startswith("/api/"):
            self._handle_api(handler, path[len("/api/") :], parts.query, raw, headers)
        elif path.startswith("/response/"):
            self._handle_response_url(handler, path[len("/response/") :], raw, headers)
        elif path.startswith("/upload/"):
            self._handle_upload(handler, path[len("/upload/") :], raw)
        else:
            handler.send(404, {"ok": False, "error": "not_found"})

    def _handle_api(self, handler: _Handler, method: str, query: str, raw: bytes, headers: _Headers) -> None:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        parse_error: str | None = None
        try:
            args.update(_parse_body(headers.get("Content-Type", ""), raw))
        except _SlackError as e:
            parse_error = e.error
        token = args.pop("token", None) or None
        auth = headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or token
        bad_json: set[str] = set()
        for key in _JSON_FIELDS:
            if isinstance(args.get(key), str) and args[key] != "":
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    bad_json.add(key)

        ev: threading.Event | None = None
        extra_headers: dict[str, str] = {}
        with self._cond:
            rule = self._take_rule(method)
            if rule is not None and rule.late:
                ev = threading.Event()
                self._hung.append(ev)
                late = Call(method, args, token, headers, {}, time.monotonic(), 0)
                self.calls.append(late)
                self._cond.notify_all()
        if rule is not None and rule.late and ev is not None:
            ev.wait()  # past the client's timeout: it has given up by the time Slack acts
            with self._cond:
                late.response = self._dispatch(method, args, token, parse_error, bad_json)
                late.status = 200
                self._cond.notify_all()
            handler.send(200, late.response)  # to a client that is no longer listening
            return
        with self._cond:
            if rule is not None and rule.drop:
                body = self._dispatch(method, args, token, parse_error, bad_json)
                self.calls.append(Call(method, args, token, headers, body, time.monotonic(), 0))
                self._cond.notify_all()
                handler.close_connection = True
                return  # the work is done; the connection closes with no answer
            if rule is not None and rule.hang:
                ev = threading.Event()
                self._hung.append(ev)
                status, body = 0, {}
            elif rule is not None:
                status, body, extra_headers = self._failure(rule)
            else:
                status = 200
                body = self._dispatch(method, args, token, parse_error, bad_json)
                if token == self.bot_token:  # Slack names the token's scopes on every answer
                    extra_headers["x-oauth-scopes"] = ",".join(sorted(self.scopes))
            self.calls.append(Call(method, args, token, headers, body, time.monotonic(), status))
            self._cond.notify_all()
        if ev is not None:
            self._hang(handler, ev)
            return
        handler.send(status, body, extra_headers)

    def _dispatch(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        parse_error: str | None,
        bad_json: set[str],
    ) -> dict[str, Any]:
        fn = self._methods().get(method)
        try:
            if fn is None:
                raise _SlackError("unknown_method")
            if not token:
                raise _SlackError("not_authed")
            if method == "apps.connections.open":
                return {"ok": True, **fn({"_token": token})}
            if token != self.bot_token:
                raise _SlackError("invalid_auth")
            needed = self._scope_for(method, args)
            if needed is not None and needed not in self.scopes:
                raise _SlackError("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))
            if parse_error:
                raise _SlackError(parse_error)
            if "blocks" in bad_json:
                raise _SlackError("invalid_blocks_format")
            if "metadata" in bad_json:
                raise _SlackError("invalid_metadata_format")
            if bad_json:
                raise _SlackError("invalid_arguments")
            result = fn(args)
        except _SlackError as e:
            return {"ok": False, "error": e.error, **e.extra}
        return {"ok": True, **result}

    def _scope_for(self, method: str, args: dict[str, Any]) -> str | None:
        """The scope Slack would ask of this call (by conversation type for conversations.*)."""
        channel = args.get("channel") if isinstance(args.get("channel"), str) else None
        is_mpim = channel is not None and channel.startswith("G") and channel in self._dms
        return scope_needed(method, channel, is_mpim=is_mpim)

    def _handle_response_url(self, handler: _Handler, token: str, raw: bytes, headers: _Headers) -> None:
        url = f"{self.base_url}/response/{token}"
        try:
            body = _parse_body(headers.get("Content-Type") or "application/json", raw)
            if "payload" in body and isinstance(body["payload"], str):
                body = json.loads(body["payload"])
        except (_SlackError, ValueError):
            body = {"_raw": raw.decode("utf-8", "replace")}
        ev: threading.Event | None = None
        extra: dict[str, str] = {}
        with self._cond:
            rule = self._take_rule("response_url", api=False)
            if rule is not None and rule.hang:
                ev = threading.Event()
                self._hung.append(ev)
                status, answer = 0, {}
            elif rule is not None:
                status, answer, extra = self._failure(rule)
            else:
                status, answer = self._response_url_answer(token, body)
            self.responses.append(ResponseCall(url, body, headers, status, time.monotonic()))
            self._cond.notify_all()
        if ev is not None:
            self._hang(handler, ev)
            return
        handler.send(status, answer, extra)

    def _response_url_answer(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        uses = self._response_urls.get(token)
        if uses is None:
            return 404, {"ok": False, "error": "expired_url"}
        if uses <= 0:
            return 404, {"ok": False, "error": "used_url"}
        if "_raw" in body:
            return 400, {"ok": False, "error": "invalid_payload"}
        if not _truthy(body.get("delete_original")):
            if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
                return 400, {"ok": False, "error": "no_text"}
            if "blocks" in body:
                errors = _block_errors(body["blocks"], max_blocks=MAX_MESSAGE_BLOCKS)
                if errors:
                    return 400, {"ok": False, "error": "invalid_blocks", "errors": errors}
            if isinstance(body.get("text"), str) and len(body["text"]) > MAX_TEXT_LEN:
                return 400, {"ok": False, "error": "msg_too_long"}
        self._response_urls[token] = uses - 1
        return 200, {"ok": True}

    def _handle_upload(self, handler: _Handler, file_id: str, raw: bytes) -> None:
        ev: threading.Event | None = None
        extra: dict[str, str] = {}
        answer: Any
        with self._cond:
            rule = self._take_rule("upload", api=False)
            f = self.files.get(file_id)
            if rule is not None and rule.hang:
                ev = threading.Event()
                self._hung.append(ev)
            elif rule is not None:
                status, answer, extra = self._failure(rule)
            elif f is None:
                status, answer = 404, "file not found"
            else:
                f.update(content=raw, size=len(raw), uploaded=True)
                status, answer = 200, f"OK - {len(raw)}"
            self._cond.notify_all()
        if ev is not None:
            self._hang(handler, ev)
            return
        handler.send(status, answer, extra)

    # ------------------------------------------------------------------ helpers (call with lock held)
