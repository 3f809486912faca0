"""The Web API methods the bot calls, each answering like Slack (same JSON shapes,
`ok`, `error`, `ts`) and refusing what Slack refuses."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from bot.playground.fake_slack.blockkit import _view_errors
from bot.playground.fake_slack.common import _SlackError, _truthy, _ts_key
from bot.playground.fake_slack.files import Files


class Methods(Files):
    """Mixin of FakeSlack: the Web API methods."""

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "reactions.add": self._reactions_add,
            **self._file_methods(),
        }

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": self.users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        self._check_content(args)
        msg = self._bot_message(args)
        thread_ts = args.get("thread_ts") or None
        if thread_ts and _truthy(args.get("reply_broadcast")):
            msg["subtype"] = "thread_broadcast"
        self._store(cid, msg, thread_ts)
        return {"channel": cid, "ts": msg["ts"], "message": self._public(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        msg = self._find_message(cid, args.get("ts"))
        if msg.get("user") != self.bot_user_id:
            raise _SlackError("cant_update_message")
        self._check_content(args, require=False)
        if args.get("text") is not None:
            msg["text"] = args["text"]
        for key in ("blocks", "attachments", "metadata"):  # absent: kept; empty: removed (like Slack)
            if args.get(key) is not None:
                if args[key] in ("", [], {}):
                    msg.pop(key, None)
                else:
                    msg[key] = args[key]
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": cid, "ts": msg["ts"], "text": msg["text"], "message": self._public(msg)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        user = args.get("user")
        if user not in self.users:
            raise _SlackError("user_not_found")
        members = self.channels[cid]["members"] if cid in self.channels else self._dms.get(cid)
        if members is not None and user not in members:
            raise _SlackError("user_not_in_channel")
        self._check_content(args)
        ts = self._next_ts()
        eph = self._bot_message(args)
        eph.update({"ts": ts, "channel": cid, "recipient": user})
        if args.get("thread_ts"):
            eph["thread_ts"] = args["thread_ts"]
        self.ephemerals.append(eph)
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        msg = self._find_message(cid, args.get("message_ts"))
        link = f"https://fake.slack.com/archives/{cid}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={cid}"
        return {"channel": cid, "permalink": link}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        top = [
            m
            for m in self.messages.get(cid, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        newest_first = sorted(self._in_window(top, args), key=lambda m: _ts_key(m["ts"]), reverse=True)
        page, meta = self._page(newest_first, args)
        with_md = _truthy(args.get("include_all_metadata"))
        return {"messages": [self._public(m, with_metadata=with_md) for m in page], "pin_count": 0, **meta}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        ts = args.get("ts")
        if not ts:
            raise _SlackError("invalid_arguments")
        msgs = self.messages.get(cid, [])
        parent = next((m for m in msgs if m["ts"] == ts), None)
        if parent is None:
            raise _SlackError("thread_not_found")
        replies = [m for m in msgs if m.get("thread_ts") == ts and m["ts"] != ts]
        thread = [parent, *sorted(self._in_window(replies, args), key=lambda m: _ts_key(m["ts"]))]
        page, meta = self._page(thread, args)
        with_md = _truthy(args.get("include_all_metadata"))
        return {"messages": [self._public(m, with_metadata=with_md) for m in page], **meta}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = args.get("channel")
        if cid not in self.channels and cid not in self._dms:
            raise _SlackError("channel_not_found")
        return {"channel": self._channel_object(cid)}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            cid = args["channel"]
            if cid not in self._dms:
                raise _SlackError("channel_not_found")
        else:
            users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
            if not users:
                raise _SlackError("users_list_not_supplied")
            if len(users) > 8:
                raise _SlackError("too_many_users")
            for u in users:
                if u not in self.users:
                    raise _SlackError("user_not_found")
            cid = self._open_dm(users)
        if _truthy(args.get("return_im")):
            return {"channel": self._channel_object(cid)}
        return {"channel": {"id": cid}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        u = self.users.get(args.get("user"))  # type: ignore[arg-type]
        if u is None:
            raise _SlackError("user_not_found")
        return {"user": self._user_object(u)}

    def _users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for u in self.users.values():
            if u["email"] and u["email"].lower() == email:
                return {"user": self._user_object(u)}
        raise _SlackError("users_not_found")

    def _checked_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        errors = _view_errors(view)
        if errors:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
            )
        return view  # type: ignore[return-value]

    def _make_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root: str | None = None,
        previous: str | None = None,
    ) -> dict[str, Any]:
        vid = view_id or self._next_id("V")
        stored = {
            "id": vid,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{self._seq}.{uuid.uuid4().hex[:8]}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root or vid,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if "title" in view:
            stored["title"] = view["title"]
        self.views[vid] = stored
        return copy.deepcopy(stored)

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing trigger_id"]}
            )
        view = self._checked_view(args)
        if view["type"] != "modal":
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] must be a modal"]}
            )
        return {"view": self._make_view(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(args)

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(args)
        vid = args.get("view_id")
        if not vid and args.get("external_id"):
            vid = next(
                (v["id"] for v in self.views.values() if v["external_id"] == args["external_id"]), None
            )
            if vid is None:
                raise _SlackError("not_found")
        if not vid:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing view_id"]}
            )
        old = self.views.get(vid)
        if old is None:
            raise _SlackError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise _SlackError("hash_conflict")
        return {
            "view": self._make_view(
                view, view_id=vid, root=old["root_view_id"], previous=old["previous_view_id"]
            )
        }

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if not user:
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing user_id"]}
            )
        if user not in self.users:
            raise _SlackError("user_not_found")
        view = self._checked_view(args)
        if view["type"] != "home":
            raise _SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] must be a home view"]}
            )
        old = self.home_tabs.get(user)
        if old is not None and args.get("hash") and args["hash"] != old["hash"]:
            raise _SlackError("hash_conflict")
        made = self._make_view(view, view_id=old["id"] if old else None)
        self.home_tabs[user] = copy.deepcopy(made)
        return {"view": made}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        self._require_member(cid)
        msg = self._find_message(cid, args.get("timestamp"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise _SlackError("invalid_name")
        reactions = msg.setdefault("reactions", [])
        for r in reactions:
            if r["name"] == name:
                if self.bot_user_id in r["users"]:
                    raise _SlackError("already_reacted")
                r["users"].append(self.bot_user_id)
                r["count"] += 1
                return {}
        reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        return {}
