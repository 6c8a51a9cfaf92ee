"""The progress chart: an indicator's value per period against its targets and baseline, as PNG bytes.

Drawn with matplotlib's Agg canvas and its object API (no pyplot, no global state),
so it is safe in the worker thread the Core runs flows in. It plots only the totals
`bot.measures.progress` let the viewer see.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.dates import AutoDateLocator, DateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from bot.core.messages import Image  # noqa: E402
from bot.measures.indicators import target_for  # noqa: E402
from bot.measures.progress import PeriodTotal  # noqa: E402
from bot.measures.units import format_value  # noqa: E402
from storage.measures import Indicator, IndicatorTarget, Polarity, Unit  # noqa: E402


def progress_chart(indicator: Indicator, totals: list[PeriodTotal], targets: list[IndicatorTarget]) -> Image | None:
    """A line chart of `totals` with `targets` as markers, or None when no total can be shown."""
    shown = [t for t in totals if t.value is not None]
    if not shown:
        return None
    unit = Unit(indicator.unit)
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # matplotlib plots dates through its unit converters; its type stubs accept only numbers
    axes.plot([t.start for t in shown], [t.value for t in shown], marker="o", linewidth=2,  # type: ignore[arg-type]
              markersize=6 if len(shown) <= 24 else 3,
              color="#1f6fb2", label="Initiative")
    if targets:
        axes.plot([t.by for t in targets], [t.value for t in targets], linestyle="none", marker="D",  # type: ignore[arg-type]
                  markersize=8, color="#d1495b", label="Target")
        axes.plot([shown[-1].start, targets[-1].by], [shown[-1].value, targets[-1].value],  # type: ignore[arg-type]
                  linestyle=":", color="#d1495b", linewidth=1)
    if indicator.baseline_value is not None:
        axes.axhline(indicator.baseline_value, linestyle="--", color="#888888", linewidth=1, label="Baseline")
    better = "higher" if indicator.polarity == Polarity.HIGHER else "lower"
    axes.set_title(f"{indicator.name[:70]} ({better} is better)", fontsize=10)
    axes.yaxis.set_major_formatter(lambda value, _pos: format_value(unit, value))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=8))
    axes.xaxis.set_major_formatter(DateFormatter("%b %Y"))
    axes.yaxis.set_major_locator(MaxNLocator(5))
    axes.tick_params(labelsize=8)
    figure.subplots_adjust(left=0.16, right=0.97, top=0.9, bottom=0.12)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    latest = shown[-1]
    target = target_for(targets, latest.start)
    alt = (f"{indicator.name}: {format_value(unit, latest.value)} in {latest.period}"
           + (f", target {format_value(unit, target.value)} by {target.by:%b %Y}" if target else ""))
    return Image(buffer.getvalue(), alt, filename=f"{indicator.key}-{latest.period}.png")
