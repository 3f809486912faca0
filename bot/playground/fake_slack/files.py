"""The fake Slack's file methods: files.getUploadURLExternal, the upload URL (in
transport), files.completeUploadExternal and files.info — refusing what Slack
refuses: an upload whose bytes differ from the length it announced, an alt text over
1,000 characters, a channel given by name instead of ID, a thread_ts that is not a
message of that channel, completing a file twice, and an unknown file id."""

from __future__ import annotations

import copy
from typing import Any

from bot.playground.fake_slack.common import MAX_TEXT_LEN, _int_arg, _SlackError

MAX_FILE_BYTES = 1024**3  # Slack's 1 GB limit per file
MAX_ALT_TXT = 1000
_MIMETYPES = {"png": ("image/png", "png"), "txt": ("text/plain", "text"), "csv": ("text/csv", "csv")}


class Files:
    """Mixin of FakeSlack (through Methods): the file methods."""

    def _file_methods(self) -> dict[str, Any]:
        return {
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
        }

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        length = _int_arg(args, "length", -1)
        if not filename or length < 0:
            raise _SlackError("invalid_arguments")
        if length > MAX_FILE_BYTES:
            raise _SlackError("file_too_large")
        alt = args.get("alt_txt")
        if alt is not None and len(str(alt)) > MAX_ALT_TXT:
            raise _SlackError("invalid_arguments")
        fid = self._next_id("F")
        self.files[fid] = {
            "id": fid,
            "name": filename,
            "title": filename,
            "length": length,
            "size": 0,
            "content": b"",
            "uploaded": False,
            "alt_txt": alt,
            "channels": [],
            "completed": False,
            "thread_ts": None,
        }
        return {"upload_url": f"{self.base_url}/upload/{fid}", "file_id": fid}

    def _file_object(self, f: dict[str, Any]) -> dict[str, Any]:
        ext = f["name"].rsplit(".", 1)[-1].lower() if "." in f["name"] else ""
        mimetype, filetype = _MIMETYPES.get(ext, ("application/octet-stream", "binary"))
        out = {
            "id": f["id"],
            "created": 1700000000,
            "name": f["name"],
            "title": f["title"],
            "mimetype": mimetype,
            "filetype": filetype,
            "size": f["size"],
            "user": self.bot_user_id,
            "is_external": False,
            "url_private": f"https://files.fake.slack.com/files-pri/{self.team_id}-{f['id']}/{f['name']}",
            "permalink": f"https://fake.slack.com/files/{self.bot_user_id}/{f['id']}/{f['name']}",
            "channels": list(f["channels"]),
        }
        if f.get("alt_txt"):
            out["alt_txt"] = f["alt_txt"]
        return out

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise _SlackError("invalid_arguments")
        for item in items:
            f = self.files.get(item.get("id")) if isinstance(item, dict) else None
            if f is None or not f["uploaded"]:
                raise _SlackError("file_not_found")
            if f["completed"]:
                raise _SlackError("file_already_completed")
            if f["size"] != f["length"]:
                raise _SlackError("file_upload_size_mismatch")
        channels = []
        if args.get("channel_id"):
            channels.append(args["channel_id"])
        channels += [c for c in str(args.get("channels") or "").split(",") if c]
        if any(c.startswith("#") for c in channels):
            raise _SlackError("invalid_channel")  # IDs only, unlike chat.postMessage
        cids = [self._resolve_channel(c) for c in channels]
        for cid in cids:
            self._require_member(cid)
        thread_ts = args.get("thread_ts") or None
        if thread_ts:
            if len(cids) != 1:
                raise _SlackError("invalid_arguments")  # a thread is in one channel
            if not any(m["ts"] == thread_ts for m in self.messages.get(cids[0], [])):
                raise _SlackError("invalid_thread_ts")
        initial = args.get("initial_comment") or ""
        if len(initial) > MAX_TEXT_LEN:
            raise _SlackError("msg_too_long")
        out = []
        for item in items:
            f = self.files[item["id"]]
            f["title"] = item.get("title") or f["name"]
            f["completed"] = True
            f["channels"] = cids
            f["thread_ts"] = thread_ts
            out.append(self._file_object(f))
        for cid in cids:
            msg = self._bot_message({"text": initial})
            msg.update({"files": copy.deepcopy(out), "upload": True, "display_as_bot": False})
            self._store(cid, msg, thread_ts)
        return {"files": out}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(args.get("file") or "")
        if f is None or not f["completed"]:
            raise _SlackError("file_not_found")
        return {"file": self._file_object(f), "comments": [], "response_metadata": {"next_cursor": ""}}
