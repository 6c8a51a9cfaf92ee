"""The local console: type `/ci ...`, read replies as terminal text, pick buttons by number.

Interactive on a terminal; when stdin is a pipe it reads one line at a time, so a
session can be scripted. Forms become prompts, one field per line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.core.context import Origin
from bot.core.core import Core
from bot.core.messages import Button, Form, FormErrors, FormField, Reply

PROMPT = "ci> "
WIDTH = 72


def format_reply(reply: Reply) -> str:
    """`reply` as terminal text; buttons become numbered choices."""
    lines: list[str] = []
    if reply.title:
        lines += [reply.title, "=" * min(len(reply.title), WIDTH)]
    for section in reply.sections:
        lines += [section, ""]
    for f in reply.fields:
        lines.append(f"{f.label}: {f.value}")
    if reply.fields:
        lines.append("")
    if reply.context:
        lines += [f"({reply.context})", ""]
    for number, button in enumerate(reply.buttons, start=1):
        lines.append(f"  [{number}] {button.label}")
    if reply.ephemeral and not reply.buttons:
        lines.append("(only you can see this)")
    return "\n".join(lines).rstrip() + "\n"


class ConsoleSession:
    """One person's conversation with the bot in a terminal or a script."""

    def __init__(
        self,
        core: Core,
        origin: Origin,
        *,
        read: Callable[[str], str | None],
        out: TextIO,
        charts: Path = Path("data/charts"),
    ) -> None:
        self.core = core
        self.origin = origin
        self.read = read
        self.out = out
        self.charts = charts
        self.buttons: list[Button] = []

    def run(self) -> None:
        """Read and answer lines until end of input or `quit`."""
        self.out.write("cibot console. Type /ci help for commands, a number to press a button, quit to leave.\n")
        self.out.write(self.speaker() + "\n")
        while (line := self.read(PROMPT)) is not None:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line in {"quit", "exit"}:
                break
            self.handle(line)

    def speaker(self) -> str:
        """Who this session speaks as, or, for an unknown key, what a guest can do and the keys there are."""
        speaker = self.core.speaker(self.origin)
        if speaker is not None:
            return f"You are {speaker}."
        keys = self.core.member_keys(self.origin, 13)
        shown = ", ".join(keys[:12]) + (", …" if len(keys) > 12 else "")
        known = f" Members: {shown}." if keys else " Load an initiative first: cibot load FILE."
        several = " --initiative SLUG" if any(key.endswith(")") for key in keys) else ""
        return (f"No member has the key “{self.origin.user_id}”: you can read /ci help and /ci glossary. "
                f"To act as a member, start with cibot shell{several} --as KEY.{known}")

    def handle(self, line: str) -> None:
        """Answer one typed line: a command or the number of a button."""
        if line.isascii() and line.isdigit() and len(line) < 10:
            if not self.buttons:
                self.out.write("There are no buttons to press; type a /ci command.\n")
                return
            index = int(line) - 1
            if not 0 <= index < len(self.buttons):
                self.out.write(f"Pick a number from 1 to {len(self.buttons)}.\n")
                return
            button = self.buttons[index]
            self.show(self.core.interact_sync(self.origin, button.action, button.value, {}))
            return
        command = line.removeprefix("/ci").strip() if _is_command(line) else line
        self.show(self.core.command_sync(self.origin, command))

    def show(self, reply: Reply | FormErrors) -> None:
        """Print `reply`, save its image, and fill in its form if it has one."""
        if isinstance(reply, FormErrors):
            self.show_errors(reply, ())
            return
        self.buttons = list(reply.buttons)
        if reply.title or reply.sections or reply.fields:
            self.out.write(format_reply(reply))
        if reply.image is not None:
            self.charts.mkdir(parents=True, exist_ok=True)
            path = self.charts / f"{int(time.time() * 1000)}-{reply.image.filename}"
            path.write_bytes(reply.image.data)
            self.out.write(f"Chart saved to {path} ({reply.image.alt})\n")
        if reply.form is not None:
            self.fill(reply.form)

    def fill(self, form: Form) -> None:
        """Prompt for each field of `form`, submit, and re-ask only the fields with errors.

        Valid answers are kept between attempts. A line starting with ``/ci`` cancels the
        form (saying so) and runs as a command, so a typed command never becomes a field's value.
        """
        self.out.write(f"{form.title} (empty line on a required field cancels; a /ci command leaves the form)\n")
        values = {f.name: f.initial for f in form.fields}
        pending = list(form.fields)
        while pending:
            for field in pending:
                choices = f" [{'/'.join(v for v, _ in field.choices)}]" if field.choices else ""
                current = values[field.name]
                default = f" ({current if len(current) <= 40 else current[:39] + '…'})" if current else ""
                answer = self.read(f"{field.label}{choices}{default}: ")
                if answer is None:
                    self.out.write("Form cancelled.\n")
                    return
                if _is_command(answer):
                    self.out.write(f"Form “{form.title}” cancelled; nothing was saved. Running your command.\n")
                    self.handle(answer.strip())
                    return
                values[field.name] = answer.strip() or current
                if field.required and not values[field.name]:
                    self.out.write("Form cancelled.\n")
                    return
            result = self.core.interact_sync(self.origin, form.action, form.value, values)
            if isinstance(result, FormErrors):
                self.show_errors(result, form.fields)
                wrong = [f for f in form.fields if f.name in result.errors]
                if not wrong:  # the errors name no field of the form: nothing to re-ask
                    return
                if any(f in pending for f in wrong) and len(pending) < len(form.fields):
                    # re-asked and still wrong: the problem may be another answer (a total, a sum)
                    self.out.write("The problem may be in another answer, so here they all are again; "
                                   "press Enter to keep one.\n")
                    pending = list(form.fields)
                else:
                    pending = wrong
                    values.update({f.name: f.initial for f in wrong})
                continue
            self.show(result)
            return

    def show_errors(self, errors: FormErrors, fields: tuple[FormField, ...]) -> None:
        """Print each field's problem under the label the person was asked for."""
        labels = {f.name: f.label for f in fields}
        for name, message in errors.errors.items():
            self.out.write(f"{labels.get(name, name)}: {message}\n")


def _is_command(line: str) -> bool:
    """True for a typed `/ci` command (``/ci``, ``/ci glossary x``), not for a word starting with it."""
    word = line.strip().split(maxsplit=1)[:1]
    return word == ["/ci"]
