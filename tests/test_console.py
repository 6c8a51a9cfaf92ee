"""The console adapter as a person at a terminal uses it: numbered buttons, forms as prompts,
field errors asked again, charts saved to a file, and scripted input."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from bot import cli
from bot.adapters.console import ConsoleSession
from bot.bootstrap import dialects_only
from bot.core.args import Args
from bot.core.context import Context, Origin
from bot.core.core import Core
from bot.core.messages import Image, Reply
from bot.core.registry import Access
from storage.db import session_scope
from storage.models import GlossaryTerm, TermStatus
from tests.factories import seed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


class Script:
    """Typed lines fed to the console one prompt at a time, recording every prompt shown."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        return self.lines.pop(0) if self.lines else None


def run(core: Core, who: str, *lines: str, charts: Path = Path("data/charts")) -> tuple[str, Script]:
    """Play `lines` to the console as member `who`; return what it printed and the script."""
    out, script = io.StringIO(), Script(*lines)
    ConsoleSession(core, Origin("console", who), read=script, out=out, charts=charts).run()
    return out.getvalue(), script


def terms(engine) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        return [(t.term, str(t.status)) for t in session.exec(select(GlossaryTerm).order_by(GlossaryTerm.id))]


def test_buttons_are_numbered_and_picked_by_typing_the_number(core: Core, engine) -> None:
    seed(engine)
    printed, script = run(core, "lena", "/ci glossary data walk", "1", "", "Looking at data together.", "")
    assert "  [1] Propose a definition" in printed
    assert "Term (data walk): " in script.prompts
    assert "Added as a proposed term" in printed
    assert terms(engine) == [("data walk", TermStatus.PROPOSED.value)]

    printed, _ = run(core, "james", "1", "/ci glossary data walk", "3", "1")
    assert "There are no buttons to press; type a /ci command." in printed
    assert "  [1] Approve" in printed
    assert "Pick a number from 1 to 1." in printed
    assert "Approved by James Carter." in printed
    assert terms(engine) == [("data walk", TermStatus.AGREED.value)]


def test_a_form_field_with_an_error_is_asked_again_by_its_label(core: Core, engine) -> None:
    seed(engine)
    printed, script = run(core, "lena", "/ci glossary data walk", "1",
                          "", "x" * 2001, "", "Looking at data together.")
    assert "Definition: The definition is 2001 characters long; the limit is 2000." in printed
    asked = [p for p in script.prompts if p != "ci> "]
    assert asked == ["Term (data walk): ", "Definition: ", "Context (optional): ", "Definition: "]
    assert terms(engine) == [("data walk", TermStatus.PROPOSED.value)]


def test_an_empty_required_field_cancels_the_form_and_writes_nothing(core: Core, engine) -> None:
    seed(engine)
    printed, _ = run(core, "lena", "/ci glossary data walk", "1", "", "", "/ci glossary list")
    assert "Form cancelled." in printed
    assert "The glossary is empty" in printed  # the session goes on after the cancel
    assert terms(engine) == []


def test_an_image_is_saved_to_a_file_and_its_path_printed(engine, tmp_path: Path) -> None:
    seed(engine)
    registry = dialects_only()

    def chart(ctx: Context, args: Args) -> Reply:
        return Reply(title="Progress", image=Image(PNG, "Readiness by quarter", "progress.png"))

    registry.command("chart", chart, summary="A chart.", usage="/ci chart", access=Access.ANYONE)
    printed, _ = run(Core(engine, registry), "maria", "/ci chart", charts=tmp_path / "charts")
    saved = list((tmp_path / "charts").iterdir())
    assert len(saved) == 1 and saved[0].name.endswith("progress.png")
    assert saved[0].read_bytes() == PNG
    assert f"Chart saved to {saved[0]} (Readiness by quarter)" in printed


def test_the_session_says_who_you_are_or_which_keys_exist(core: Core, engine) -> None:
    seed(engine)
    assert "You are Maria Lopez, Riverbend Children's Alliance." in run(core, "maria")[0]
    stranger = run(core, "zed", "/ci glossary add x = y")[0]
    assert "No member has the key “zed”" in stranger
    assert "Members: aisha, james, lena, maria, olga, tom." in stranger
    assert "cibot shell --as KEY" in stranger


def test_scripted_input_skips_comments_and_stops_at_quit(core: Core, engine) -> None:
    seed(engine)
    printed, script = run(core, "maria", "# a comment", "", "/ci help glossary", "quit", "/ci help")
    assert printed.count("/ci glossary add") >= 1
    assert script.lines == ["/ci help"]  # nothing after quit is read
    bare, _ = run(core, "maria", "/ci")
    assert "cibot commands" in bare


def test_piped_stdin_is_read_line_by_line_and_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("/ci help\nquit"))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    read = cli._reader()
    assert read("ci> ") == "/ci help"
    assert read("ci> ") == "quit"
    assert read("ci> ") is None
    assert out.getvalue() == "ci> /ci help\nci> quit\n"


def test_a_command_typed_into_a_form_cancels_it_and_runs(core: Core, engine) -> None:
    seed(engine)
    printed, script = run(core, "lena", "/ci glossary data walk", "1", "/ci glossary bbo")
    assert "Form “Propose a definition” cancelled; nothing was saved. Running your command." in printed
    assert "bbo" in printed.split("Running your command.")[1]  # the lookup ran
    assert terms(engine) == []  # no term called "/ci glossary bbo"
    printed, _ = run(core, "lena", "/ci glossary data walk", "1", "", "/ci", "/ci glossary list")
    assert "cancelled; nothing was saved" in printed and "cibot commands" in printed
    assert terms(engine) == []


def test_a_sum_error_asks_again_then_asks_every_answer_keeping_the_valid_ones(core: Core, engine) -> None:
    from tests.measures_factory import add_indicators

    cast = seed(engine)
    add_indicators(engine, cast)
    # tom reports enrolled children by zip code: the three zips must add up to the total
    printed, script = run(core, "tom", "/ci submit enrolled", "100", "50", "30", "15", "",
                          "50",           # first category re-asked: still 95
                          "", "", "", "20", "")  # every answer again: Enter keeps, the last zip fixed
    asked = [p for p in script.prompts if p != "ci> "]
    assert printed.count("Zip code adds up to 95, 5 less than the total 100") == 2
    assert asked[5:] == ["Zip code: 60601: ",  # only the field with the error, first
                         "Children in quality pre-K (count) (100): ", "Zip code: 60601 (50): ",
                         "Zip code: 60602 (30): ", "Zip code: 60603 (15): ", "Note (optional): "]
    assert "The problem may be in another answer, so here they all are again; press Enter to keep one." in printed
    assert "Recorded 100 as Children in quality pre-K" in printed
