"""Answering Discord interactions with the core: persistent buttons, modals, and deferral.

Every interaction is answered within Discord's 3 seconds: the core call starts at
once, and if it has not finished after `DEFER_AFTER` seconds the interaction is
deferred and the answer follows up. Buttons are `CoreButton` dynamic items whose
custom id is ``action|value``, so any client with the item registered can handle a
click on a message posted before a restart. Core forms become modals of at most five
inputs; longer forms are asked page by page, and field errors come back as a private
message with a button that reopens the form filled in, each error under its field.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.adapters.discord.dialect import DISCORD
from bot.adapters.discord.embeds import (
    allowed_mentions_for,
    embeds_for,
    files_for,
    mention_content,
)
from bot.core.context import Origin
from bot.core.core import Core
from bot.core.messages import (
    Button,
    ButtonStyle,
    FieldKind,
    Form,
    FormErrors,
    FormField,
    Reply,
    clip,
)
from bot.core.messages import Field as ReplyField

DEFER_AFTER = 1.5  # seconds; Discord drops an interaction not answered within 3
MODAL_TIMEOUT = 30 * 60.0  # an unsubmitted modal is forgotten after this long
FORM_PAGE = 5  # inputs per Discord modal
MAX_CUSTOM_ID = 100
_STYLES = {
    ButtonStyle.DEFAULT: discord.ButtonStyle.secondary,
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}


def core_of(interaction: discord.Interaction) -> Core:
    """The cibot core behind the client that received `interaction`."""
    return interaction.client.core  # type: ignore[attr-defined]


def claim(interaction: discord.Interaction) -> None:
    """Note that a cibot handler is answering `interaction` (see `is_claimed`)."""
    interaction.extras["cibot.claimed"] = True


def is_claimed(interaction: discord.Interaction) -> bool:
    """Whether a cibot handler took `interaction` on; unclaimed ones reached no live button or form."""
    return bool(interaction.extras.get("cibot.claimed")) or interaction.response.is_done()


def origin_of(interaction: discord.Interaction) -> Origin:
    """Who sent `interaction` and from where, in the core's terms (DMs have no guild)."""
    user = interaction.user
    return Origin("discord", str(user.id), str(interaction.channel_id or ""), str(interaction.guild_id or ""),
                  user_name=getattr(user, "display_name", "") or user.name)


class CoreButton(discord.ui.DynamicItem[discord.ui.Button], template=r"(?P<action>[a-z][a-z0-9_.:-]*)\|(?P<value>.*)"):
    """A button whose custom id ``action|value`` is all the state a click needs."""

    def __init__(self, action: str, value: str, *, label: str = "…",
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        custom_id = f"{action}|{value}"
        if len(custom_id) > MAX_CUSTOM_ID:
            raise ValueError(f"button id {custom_id!r} is longer than Discord's {MAX_CUSTOM_ID} characters")
        super().__init__(discord.ui.Button(label=clip(label, 80), style=style, custom_id=custom_id))
        self.action = action
        self.value = value

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> CoreButton:
        """Rebuild the button from a clicked component: the state is in the match."""
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(match["action"], match["value"], label=(button and button.label) or "…",
                   style=(button and button.style) or discord.ButtonStyle.secondary)

    async def callback(self, interaction: discord.Interaction) -> None:
        """Send the click to the core and show what it answers."""
        await answer(interaction, core_of(interaction).interact(origin_of(interaction), self.action, self.value))


def button_view(buttons: list[Button], view: discord.ui.View | None = None) -> discord.ui.View | None:
    """A persistent view holding `buttons` (added to `view` when given), or None without any."""
    if not buttons and view is None:
        return None
    view = view or discord.ui.View(timeout=None)
    for button in buttons[:25 - len(view.children)]:
        view.add_item(CoreButton(button.action, button.value, label=button.label, style=_STYLES[button.style]))
    return view


@dataclass
class FormState:
    """A form being filled in: the values so far, the page shown, and errors to fix."""

    form: Form
    values: dict[str, str] = field(default_factory=dict)
    page: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> list[tuple[FormField, ...]]:
        """The form's fields in modal-sized pages."""
        fields = self.form.fields
        return [fields[i:i + FORM_PAGE] for i in range(0, len(fields), FORM_PAGE)] or [()]

    def first_page_with_errors(self) -> int:
        """The page holding the first field with an error (0 when none is on the form)."""
        return next((i for i, page in enumerate(self.pages) if any(f.name in self.errors for f in page)), 0)


class FormModal(discord.ui.Modal):
    """One page of a core form as a Discord modal."""

    def __init__(self, state: FormState) -> None:
        pages = state.pages
        suffix = f" ({state.page + 1}/{len(pages)})" if len(pages) > 1 else ""
        super().__init__(title=clip(state.form.title or "Form", 45 - len(suffix)) + suffix, timeout=MODAL_TIMEOUT)
        self.state = state
        for form_field in pages[state.page]:
            self.add_item(_input(form_field, state.values.get(form_field.name, form_field.initial),
                                 state.errors.get(form_field.name, "")))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Keep this page's values; ask for the next page, or send the whole form to the core."""
        claim(interaction)
        state = self.state
        values = {**state.values, **_submitted(self)}
        if state.page + 1 < len(state.pages):
            following = FormState(state.form, values, state.page + 1)
            await interaction.response.send_message(
                f"Part {state.page + 1} of {len(state.pages)} saved.", ephemeral=True,
                view=FormLauncher(following, "Continue"), allowed_mentions=discord.AllowedMentions.none())
            return
        work = core_of(interaction).interact(origin_of(interaction), state.form.action, state.form.value, values)
        await answer(interaction, work, form=FormState(state.form, values))


class FormLauncher(discord.ui.View):
    """A short-lived view with one button that opens a form (modals need a click to open)."""

    def __init__(self, state: FormState, label: str) -> None:
        super().__init__(timeout=MODAL_TIMEOUT)
        self.state = state
        button: discord.ui.Button[FormLauncher] = discord.ui.Button(label=clip(label, 80),
                                                                    style=discord.ButtonStyle.primary)
        button.callback = self.open  # type: ignore[method-assign]
        self.add_item(button)

    async def open(self, interaction: discord.Interaction) -> None:
        """Open the form's modal."""
        claim(interaction)
        await interaction.response.send_modal(FormModal(self.state))


async def answer(interaction: discord.Interaction, work: Awaitable[Reply | FormErrors], *,
                 form: FormState | None = None) -> None:
    """Answer `interaction` with the outcome of the core call `work`.

    Defers when the core takes longer than `DEFER_AFTER`; `form` is the submitted
    form, needed to offer a corrected resubmission when the core returns errors.
    """
    claim(interaction)
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done:
        await _defer(interaction)
    result = await task
    if isinstance(result, FormErrors):
        await show_errors(interaction, form, result)
    else:
        await show(interaction, result)


async def show(interaction: discord.Interaction, reply: Reply) -> None:
    """Show `reply` as the answer to `interaction`: a modal, an updated card, or a new message."""
    if reply.form is not None and _can_open_modal(interaction):
        await interaction.response.send_modal(FormModal(FormState(reply.form)))
        return
    view = None
    if reply.form is not None:
        view = FormLauncher(FormState(reply.form), f"Open: {reply.form.title}")
    await _deliver(interaction, reply, button_view(reply.buttons, view))


async def show_errors(interaction: discord.Interaction, form: FormState | None, errors: FormErrors) -> None:
    """List each field's error privately, with a button reopening the form as it was filled in."""
    labels = {f.name: f.label for f in form.form.fields} if form else {}
    reply = Reply(title="Some answers need fixing",
                  fields=[ReplyField(labels.get(name, name), DISCORD.escape(message), inline=False)
                          for name, message in errors.errors.items()],
                  ephemeral=True)
    view = None
    if form is not None:
        retry = FormState(form.form, form.values, errors=dict(errors.errors))
        retry.page = retry.first_page_with_errors()
        view = FormLauncher(retry, "Fix the form")
    await _deliver(interaction, reply, view)


def _input(form_field: FormField, value: str, error: str) -> discord.ui.Label[Any]:
    description = clip(f"⚠ {error}" if error else form_field.hint, 100) or None
    component: discord.ui.Item[Any]
    if form_field.kind == FieldKind.CHOICE and 0 < len(form_field.choices) <= 25:
        component = discord.ui.Select(
            custom_id=form_field.name, required=form_field.required,
            min_values=1 if form_field.required else 0, max_values=1,
            options=[discord.SelectOption(label=clip(label, 100), value=choice[:100], default=choice == value)
                     for choice, label in form_field.choices])
    else:
        long = form_field.kind == FieldKind.LONG_TEXT
        component = discord.ui.TextInput(
            custom_id=form_field.name, required=form_field.required,
            style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
            max_length=max(1, min(form_field.max_length, 4000)),
            placeholder=clip(form_field.placeholder, 100) or None, default=value[:4000] or None)
    return discord.ui.Label(text=clip(form_field.label, 45), description=description, component=component)


def _submitted(modal: discord.ui.Modal) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in modal.walk_children():
        if isinstance(item, discord.ui.TextInput):
            values[item.custom_id] = item.value
        elif isinstance(item, discord.ui.Select):
            values[item.custom_id] = str(item.values[0]) if item.values else ""
    return values


def _can_open_modal(interaction: discord.Interaction) -> bool:
    return (interaction.type in (discord.InteractionType.application_command, discord.InteractionType.component)
            and not interaction.response.is_done())


def _updates_in_place(interaction: discord.Interaction, reply: Reply) -> bool:
    """A public answer to a button on a public message replaces that message (a card that changed)."""
    message = interaction.message
    return (interaction.type == discord.InteractionType.component and not reply.ephemeral
            and message is not None and not message.flags.ephemeral)


async def _defer(interaction: discord.Interaction) -> None:
    if interaction.type == discord.InteractionType.component:
        await interaction.response.defer()
    else:
        await interaction.response.defer(ephemeral=True, thinking=True)


async def _deliver(interaction: discord.Interaction, reply: Reply, view: discord.ui.View | None) -> None:
    content = mention_content(reply)
    common: dict[str, Any] = {"embeds": embeds_for(reply), "allowed_mentions": allowed_mentions_for(reply)}
    files = files_for(reply)
    edit = {**common, "content": content, "attachments": files, "view": view}  # None clears old buttons
    send = {**common, **({"content": content} if content else {}), **({"files": files} if files else {}),
            **({"view": view} if view is not None else {})}
    response = interaction.response
    if _updates_in_place(interaction, reply):
        if response.is_done():
            await interaction.edit_original_response(**edit)
        else:
            await response.edit_message(**edit)
    elif not response.is_done():
        await response.send_message(**send, ephemeral=reply.ephemeral)
    elif interaction.type == discord.InteractionType.component:
        await interaction.followup.send(**send, ephemeral=reply.ephemeral)
    elif reply.ephemeral:
        await interaction.edit_original_response(**edit)
    else:  # the private "thinking…" placeholder gives way to a public message
        await interaction.delete_original_response()
        await interaction.followup.send(**send)
