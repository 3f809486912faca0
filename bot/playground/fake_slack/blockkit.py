"""Block Kit as Slack checks it: the fake refuses (invalid_blocks) what Slack
refuses, so a builder over a limit fails in tests, not in a workspace."""

from __future__ import annotations

from typing import Any

from bot.playground.fake_slack.common import (
    _BLOCK_TYPES,
    MAX_ACTIONS_ELEMENTS,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELD_TEXT,
    MAX_HEADER_TEXT,
    MAX_ID_LEN,
    MAX_PRIVATE_METADATA,
    MAX_SECTION_FIELDS,
    MAX_SECTION_TEXT,
    MAX_VIEW_BLOCKS,
    MAX_VIEW_TITLE,
)

# --------------------------------------------------------------------------- Block Kit checks


def _text_errors(obj: Any, ptr: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must provide an object [json-pointer:{ptr}]"]
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        return [f"must be one of {list(allowed)} [json-pointer:{ptr}/type]"]
    text = obj.get("text")
    if not isinstance(text, str):
        return [f"must provide a string [json-pointer:{ptr}/text]"]
    if not text:
        return [f"must be more than 0 characters [json-pointer:{ptr}/text]"]
    if len(text) > max_len:
        return [f"must be less than {max_len + 1} characters [json-pointer:{ptr}/text]"]
    return []


def _element_errors(el: Any, ptr: str) -> list[str]:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [f"missing required field: type [json-pointer:{ptr}]"]
    errors: list[str] = []
    action_id = el.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ID_LEN):
        errors.append(f"must be less than {MAX_ID_LEN + 1} characters [json-pointer:{ptr}/action_id]")
    if el["type"] == "button":
        errors += _text_errors(el.get("text"), f"{ptr}/text", max_len=MAX_BUTTON_TEXT, plain_only=True)
        value = el.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            errors.append(f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{ptr}/value]")
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be one of ['primary', 'danger'] [json-pointer:{ptr}/style]")
    for key, limit in (("options", 100), ("option_groups", 100)):
        opts = el.get(key)
        if opts is not None and (not isinstance(opts, list) or len(opts) > limit):
            errors.append(f"must be less than {limit + 1} items [json-pointer:{ptr}/{key}]")
    return errors


def _block_errors(blocks: Any, *, max_blocks: int, ptr: str = "/blocks") -> list[str]:
    """Return Slack-style error strings for ``blocks`` (empty when Slack would accept them)."""
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{ptr}]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"must be less than {max_blocks + 1} items [json-pointer:{ptr}]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bp = f"{ptr}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{bp}]")
            continue
        kind = block["type"]
        if kind not in _BLOCK_TYPES:
            errors.append(f"unsupported type: {kind} [json-pointer:{bp}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > MAX_ID_LEN:
                errors.append(f"must be less than {MAX_ID_LEN + 1} characters [json-pointer:{bp}/block_id]")
            elif block_id in seen_ids:
                errors.append(f"duplicate block_id: {block_id} [json-pointer:{bp}/block_id]")
            else:
                seen_ids.add(block_id)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{bp}]")
            if "text" in block:
                errors += _text_errors(block["text"], f"{bp}/text", max_len=MAX_SECTION_TEXT)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
                    errors.append(
                        f"must be less than {MAX_SECTION_FIELDS + 1} items [json-pointer:{bp}/fields]"
                    )
                else:
                    for j, f in enumerate(fields):
                        errors += _text_errors(f, f"{bp}/fields/{j}", max_len=MAX_FIELD_TEXT)
            if "accessory" in block:
                errors += _element_errors(block["accessory"], f"{bp}/accessory")
        elif kind == "header":
            errors += _text_errors(block.get("text"), f"{bp}/text", max_len=MAX_HEADER_TEXT, plain_only=True)
        elif kind in ("actions", "context"):
            limit = MAX_ACTIONS_ELEMENTS if kind == "actions" else MAX_CONTEXT_ELEMENTS
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errors.append(f"must provide a non-empty array [json-pointer:{bp}/elements]")
            elif len(elements) > limit:
                errors.append(f"must be less than {limit + 1} items [json-pointer:{bp}/elements]")
            elif kind == "actions":
                for j, el in enumerate(elements):
                    errors += _element_errors(el, f"{bp}/elements/{j}")
        elif kind == "input":
            errors += _text_errors(block.get("label"), f"{bp}/label", max_len=2000, plain_only=True)
            if "element" not in block:
                errors.append(f"missing required field: element [json-pointer:{bp}]")
            else:
                errors += _element_errors(block["element"], f"{bp}/element")
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                errors.append(f"missing required field: image_url [json-pointer:{bp}]")
            if not isinstance(block.get("alt_text"), str):
                errors.append(f"missing required field: alt_text [json-pointer:{bp}]")
    return errors


def _view_errors(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["must provide an object [json-pointer:/view]"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append("must be one of ['modal', 'home'] [json-pointer:/view/type]")
    if "blocks" not in view:
        errors.append("missing required field: blocks [json-pointer:/view]")
    else:
        errors += _block_errors(view["blocks"], max_blocks=MAX_VIEW_BLOCKS, ptr="/view/blocks")
    if kind == "modal":
        if "title" not in view:
            errors.append("missing required field: title [json-pointer:/view]")
        else:
            errors += _text_errors(view["title"], "/view/title", max_len=MAX_VIEW_TITLE, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                errors += _text_errors(view[key], f"/view/{key}", max_len=MAX_VIEW_TITLE, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            errors.append("submit is required when an input block is present [json-pointer:/view/submit]")
    pm = view.get("private_metadata")
    if pm is not None and (not isinstance(pm, str) or len(pm) > MAX_PRIVATE_METADATA):
        errors.append(
            f"must be less than {MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]"
        )
    for key in ("callback_id", "external_id"):
        v = view.get(key)
        if v is not None and (not isinstance(v, str) or len(v) > MAX_ID_LEN):
            errors.append(f"must be less than {MAX_ID_LEN + 1} characters [json-pointer:/view/{key}]")
    return errors
