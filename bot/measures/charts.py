"""The progress chart: an indicator's value per period against its targets and baseline, as PNG bytes.

Drawn with matplotlib's Agg canvas and its object API (no pyplot, no global state, no backend switch),
so it is safe in the worker thread the Core runs flows in. It plots only the totals
`bot.measures.progress` let the viewer see.
"""

from __future__ import annotations

import io

from bot.core.messages import Image
from bot.measures.indicators import target_for
from bot.measures.progress import PeriodTotal
from bot.measures.units import format_value
from storage.measures import Indicator, IndicatorTarget, Polarity, Unit


def progress_chart(indicator: Indicator, totals: list[PeriodTotal], targets: list[IndicatorTarget]) -> Image | None:
    """A line chart of the final `totals` with `targets` as markers, or None when no final total can be shown.

    A period still in progress is marked as such: a hollow point when the viewer may see
    its running total, else a shaded band saying how many partners have reported.
    matplotlib is imported here, on the first chart, so the bot starts without it.
    """
    shown = [t for t in totals if t.value is not None and t.final]
    if not shown:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    unit = Unit(indicator.unit)
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # matplotlib plots dates through its unit converters; its type stubs accept only numbers
    better = "higher" if indicator.polarity == Polarity.HIGHER else "lower"
    axes.plot([t.start for t in shown], [t.value for t in shown], marker="o", linewidth=2,  # type: ignore[arg-type]
              markersize=6 if len(shown) <= 24 else 3,
              color="#1f6fb2", label=f"Initiative ({better} is better)")
    pending = totals[-1] if totals and not totals[-1].final else None
    if pending is not None and pending.value is not None:
        axes.plot([pending.start], [pending.value], linestyle="none", marker="o",  # type: ignore[arg-type]
                  markerfacecolor="white", color="#1f6fb2", label=f"{pending.period} in progress")
    elif pending is not None:
        axes.axvline(pending.start, color="#bbbbbb", linewidth=6, alpha=0.5,  # type: ignore[arg-type]
                     label=f"{pending.period} in progress ({pending.submitted} of {pending.expected})")
    if targets:
        axes.plot([t.by for t in targets], [t.value for t in targets], linestyle="none", marker="D",  # type: ignore[arg-type]
                  markersize=8, color="#d1495b", label="Target")
        axes.plot([shown[-1].start, targets[-1].by], [shown[-1].value, targets[-1].value],  # type: ignore[arg-type]
                  linestyle=":", color="#d1495b", linewidth=1)
    if indicator.baseline_value is not None:
        axes.axhline(indicator.baseline_value, linestyle="--", color="#888888", linewidth=1, label="Baseline")
    axes.yaxis.set_major_formatter(lambda value, _pos: format_value(unit, value))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)  # a fixed corner: "best" costs a search on every draw
    axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))
    axes.xaxis.set_major_formatter(DateFormatter("%b %Y"))
    axes.yaxis.set_major_locator(MaxNLocator(4))
    axes.tick_params(labelsize=8)
    figure.subplots_adjust(left=0.16, right=0.97, top=0.95, bottom=0.12)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # a chart compresses well anyway
    latest = shown[-1]
    target = target_for(targets, latest.start)
    alt = (f"{indicator.name}: {format_value(unit, latest.value)} in {latest.period}"
           + (f", target {format_value(unit, target.value)} by {target.by:%b %Y}" if target else "")
           + (f"; {pending.period} in progress, {pending.reported}" if pending else ""))
    return Image(buffer.getvalue(), alt, filename=f"{indicator.key}-{latest.period}.png")
