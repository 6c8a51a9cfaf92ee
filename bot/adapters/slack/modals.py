"""Core forms as Slack modals, and submitted modal state back into the core's terms.

The modal's `callback_id` is the form's action id; its `private_metadata` carries the
form's value plus the channel and response_url the form was opened from, so the
answer to a submission appears where the user started. Each field is an input block
whose `block_id` and `action_id` are the field's name, which is also how Slack
attaches `response_action: errors` messages to fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.adapters.slack.blocks import plain
from bot.core.messages import FieldKind, Form, FormErrors, FormField

TITLE_MAX = 24
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
INPUT_MAX = 3000
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
METADATA_MAX = 3000
ERROR_MAX = 2000


@dataclass(frozen=True)
class FormOrigin:
    """What a modal must remember between opening and submission."""

    value: str = ""
    channel_id: str = ""
    response_url: str = ""

    def encode(self) -> str:
        """The private_metadata string for this origin (the response_url is dropped if too long)."""
        data = {"v": self.value, "c": self.channel_id, "u": self.response_url}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > METADATA_MAX:
            text = json.dumps({"v": self.value, "c": self.channel_id}, separators=(",", ":"))
        if len(text) > METADATA_MAX:
            raise ValueError("a form's value must stay well under 3000 characters")
        return text

    @classmethod
    def decode(cls, text: str) -> FormOrigin:
        """The origin stored in a modal's private_metadata (empty when there is none)."""
        data = json.loads(text) if text else {}
        return cls(data.get("v", ""), data.get("c", ""), data.get("u", ""))


def form_view(form: Form, origin: FormOrigin) -> dict[str, Any]:
    """The modal view that shows `form`, remembering `origin`."""
    return {
        "type": "modal",
        "callback_id": form.action,
        "private_metadata": origin.encode(),
        "title": plain(form.title, TITLE_MAX),
        "submit": plain(form.submit_label, TITLE_MAX),
        "close": plain("Cancel", TITLE_MAX),
        "blocks": [_input_block(f) for f in form.fields],
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted value of every field of a modal, by field name ("" when left empty)."""
    values: dict[str, str] = {}
    for block_id, actions in view.get("state", {}).get("values", {}).items():
        for state in actions.values():
            option = state.get("selected_option") or {}
            values[block_id] = state.get("value") or option.get("value") or ""
    return values


def modal_errors(view: dict[str, Any], errors: FormErrors) -> dict[str, str]:
    """`errors` keyed by the modal's block ids; an error for an unknown field goes on the first one."""
    block_ids = [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"]
    shown: dict[str, str] = {}
    for name, message in errors.errors.items():
        key = name if name in block_ids or not block_ids else block_ids[0]
        shown[key] = f"{shown[key]} {message}" if key in shown else message
    return {key: message[:ERROR_MAX] for key, message in shown.items()}


def _input_block(field: FormField) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.name,
        "label": plain(field.label, LABEL_MAX),
        "element": _element(field),
        "optional": not field.required,
    }
    if field.hint:
        block["hint"] = plain(field.hint, LABEL_MAX)
    return block


def _element(field: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"action_id": field.name}
    if field.kind == FieldKind.CHOICE:
        options = [{"text": plain(label, OPTION_TEXT_MAX), "value": value[:OPTION_VALUE_MAX]}
                   for value, label in field.choices[:OPTIONS_MAX]]
        element.update(type="static_select", options=options)
        initial = next((o for o in options if o["value"] == field.initial), None)
        if initial:
            element["initial_option"] = initial
    elif field.kind == FieldKind.NUMBER:
        element.update(type="number_input", is_decimal_allowed=True)
    else:
        element.update(type="plain_text_input", max_length=min(field.max_length, INPUT_MAX))
        if field.kind == FieldKind.LONG_TEXT:
            element["multiline"] = True
    if field.initial and field.kind != FieldKind.CHOICE:
        element["initial_value"] = field.initial
    if field.placeholder:
        element["placeholder"] = plain(field.placeholder, PLACEHOLDER_MAX)
    return element
