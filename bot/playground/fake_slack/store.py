"""The fake workspace's state: ids and timestamps, channels and membership, stored
messages, and the objects Slack answers with."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.playground.fake_slack.blockkit import _block_errors
from bot.playground.fake_slack.common import (
    MAX_MESSAGE_BLOCKS,
    MAX_TEXT_LEN,
    _int_arg,
    _SlackError,
    _truthy,
    _ts_key,
)


class Store:
    """Mixin of FakeSlack: the workspace state."""

    def _next_ts(self) -> str:
        self._ts_micros += 100
        return f"{self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:09d}"

    def _open_dm(self, user_ids: list[str]) -> str:
        if len(user_ids) == 1:
            cid = self.dm_channel_id(user_ids[0])
        else:
            digest = hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()[:10].upper()
            cid = "G" + digest
        self._dms.setdefault(cid, list(user_ids))
        return cid

    def _resolve_channel(self, ref: Any) -> str:
        """Map a channel id, #name, user id (DM) or opened D… id to a channel id."""
        if not isinstance(ref, str) or not ref:
            raise _SlackError("channel_not_found")
        hidden = self.channels.get(ref)
        if hidden is not None and hidden.get("private") and not hidden["bot_is_member"]:
            raise _SlackError("channel_not_found")  # Slack hides a private channel from a bot not in it
        if ref in self.channels or ref in self._dms:
            return ref
        if ref in self.users:
            return self._open_dm([ref])
        name = ref.lstrip("#")
        for c in self.channels.values():
            if c["name"] == name:
                return c["id"]
        raise _SlackError("channel_not_found")

    def _require_member(self, cid: str) -> None:
        ch = self.channels.get(cid)
        if ch is not None and not ch["bot_is_member"]:
            raise _SlackError("not_in_channel")

    def _find_message(self, cid: str, ts: Any) -> dict[str, Any]:
        for m in self.messages.get(cid, []):
            if m["ts"] == ts:
                return m
        raise _SlackError("message_not_found")

    def _store(self, cid: str, msg: dict[str, Any], thread_ts: str | None) -> str:
        ts = self._next_ts()
        msg["ts"] = ts
        if thread_ts:
            msg["thread_ts"] = thread_ts
            for parent in self.messages.get(cid, []):
                if parent["ts"] == thread_ts:
                    msg["parent_user_id"] = parent.get("user")
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    users = parent.setdefault("reply_users", [])
                    if msg.get("user") not in users:
                        users.append(msg.get("user"))
                    parent["reply_users_count"] = len(users)
                    parent["latest_reply"] = ts
        self.messages.setdefault(cid, []).append(msg)
        return ts

    def _check_content(self, args: dict[str, Any], *, require: bool = True) -> None:
        text = args.get("text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if require and not text and not blocks and not attachments:
            raise _SlackError("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT_LEN:
            raise _SlackError("msg_too_long")
        if blocks not in (None, ""):
            errors = _block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
            if errors:
                raise _SlackError("invalid_blocks", errors=errors, response_metadata={"messages": errors})
        metadata = args.get("metadata")
        well_formed = (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        )
        if metadata not in (None, "") and not well_formed:
            raise _SlackError("invalid_metadata_format")

    def _bot_message(self, args: dict[str, Any]) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": args.get("text") or "",
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key) not in (None, ""):
                msg[key] = args[key]
        return msg

    def _public(self, msg: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        if not with_metadata:
            out.pop("metadata", None)
        return out

    @staticmethod
    def _page(
        items: list[dict[str, Any]], args: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        limit = _int_arg(args, "limit", 100) or 100
        cursor = args.get("cursor") or ""
        start = 0
        if cursor:
            try:
                start = int(base64.b64decode(cursor).decode().split(":", 1)[1])
            except (ValueError, IndexError):
                raise _SlackError("invalid_cursor") from None
        page = items[start : start + limit]
        more = start + limit < len(items)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return page, {"has_more": more, "response_metadata": {"next_cursor": next_cursor}}

    @staticmethod
    def _in_window(items: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        inclusive = _truthy(args.get("inclusive"))
        oldest = _ts_key(args["oldest"]) if args.get("oldest") not in (None, "") else None
        latest = _ts_key(args["latest"]) if args.get("latest") not in (None, "") else None
        out = []
        for m in items:
            k = _ts_key(m["ts"])
            if oldest is not None and (k < oldest or (k == oldest and not inclusive)):
                continue
            if latest is not None and (k > latest or (k == latest and not inclusive)):
                continue
            out.append(m)
        return out

    def _user_object(self, u: dict[str, Any]) -> dict[str, Any]:
        tz_offset, tz_label = 0, u["tz"]
        try:
            now = datetime.now(ZoneInfo(u["tz"]))
            offset = now.utcoffset()
            tz_offset = int(offset.total_seconds()) if offset is not None else 0
            tz_label = now.tzname() or u["tz"]
        except (ZoneInfoNotFoundError, ValueError):
            pass
        profile: dict[str, Any] = {"real_name": u["name"], "display_name": u["name"], "team": self.team_id}
        if u["email"]:
            profile["email"] = u["email"]
        if u["is_bot"]:
            profile["bot_id"] = self.bot_id if u["id"] == self.bot_user_id else "B" + u["id"][1:]
        return {
            "id": u["id"],
            "team_id": self.team_id,
            "name": u["name"],
            "real_name": u["name"],
            "deleted": False,
            "tz": u["tz"],
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "is_bot": u["is_bot"],
            "is_app_user": False,
            "profile": profile,
        }

    def _channel_object(self, cid: str) -> dict[str, Any]:
        if cid in self._dms:
            members = self._dms[cid]
            if cid.startswith("D"):
                return {
                    "id": cid,
                    "created": 1700000000,
                    "is_im": True,
                    "is_org_shared": False,
                    "user": members[0],
                    "is_user_deleted": False,
                    "is_member": True,
                    "priority": 0,
                }
            return {
                "id": cid,
                "name": "mpdm-" + "--".join(members),
                "created": 1700000000,
                "is_channel": False,
                "is_group": False,
                "is_im": False,
                "is_mpim": True,
                "is_private": True,
                "is_member": True,
            }
        ch = self.channels[cid]
        private = cid.startswith("G") or bool(ch.get("private"))
        obj = {
            "id": cid,
            "name": ch["name"],
            "name_normalized": ch["name"],
            "created": 1700000000,
            "creator": self.bot_user_id,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_member": ch["bot_is_member"],
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if ch["members"] is not None:
            obj["num_members"] = len(ch["members"]) + (1 if ch["bot_is_member"] else 0)
        return obj

    # ------------------------------------------------------------------ Web API methods
