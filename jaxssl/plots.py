"""PNG figures of runs and sweeps: learning curves and error-rate bar charts.

Figures are drawn with matplotlib's Agg canvas directly, without pyplot, so
nothing here needs a display or changes matplotlib's global backend. Every
PNG is written atomically: to `path + ".tmp.png"`, then renamed onto `path`,
so a reader never sees half a file.
"""

import os
import statistics

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jaxssl import metrics_log

LEARNING_CURVE_FILE = "learning_curve.png"

# (record kind, metric, legend label, line style) of each learning-curve series.
_CURVE_SERIES = (
    ("eval", "accuracy", "test accuracy", "-"),
    ("eval", "ema_accuracy", "test accuracy (EMA)", "-"),
    ("train", "mask_rate", "mask rate", "--"),
    ("train", "pseudo_label_accuracy", "pseudo-label accuracy", "--"),
)


def _save_atomically(figure: Figure, path: str) -> None:
  """Writes `figure` as a PNG to `path` through a temporary file."""
  tmp = path + ".tmp.png"
  FigureCanvasAgg(figure)
  figure.savefig(tmp, format="png")
  os.replace(tmp, path)


def _series(records: list[dict], kind: str, metric: str) -> tuple[list[int], list[float]]:
  """(steps, values) of `metric` over the records of `kind` that carry it."""
  points = [(r["step"], r[metric]) for r in records if r["kind"] == kind and metric in r]
  return [step for step, _ in points], [value for _, value in points]


def learning_curve(records: list[dict], path: str, title: str = "") -> None:
  """Writes a PNG of a run's accuracies and pseudo-label statistics against steps.

  Solid lines: test accuracy of the raw and EMA weights (eval records).
  Dashed lines: mask rate and pseudo-label accuracy (train records). All are
  fractions on one [0, 1] axis; series absent from `records` are left out.

  Args:
    records: metrics.jsonl records, `{"step", "kind", ...values}`, in step order.
    path: the PNG to write.
    title: the figure title.
  """
  figure = Figure(figsize=(7, 4.5), layout="constrained")
  axes = figure.add_subplot()
  for kind, metric, label, style in _CURVE_SERIES:
    steps, values = _series(records, kind, metric)
    if steps:
      # A marker keeps a one-point series visible.
      axes.plot(steps, values, style, label=label, marker="o" if len(steps) == 1 else None)
  axes.set_ylim(0, 1)
  axes.set_xlabel("step")
  axes.set_ylabel("fraction")
  axes.set_title(title, fontsize="small")
  axes.grid(alpha=0.3)
  if axes.lines:
    axes.legend(loc="lower right")
  _save_atomically(figure, path)


def learning_curve_with_reference(rows: list[dict], reference: dict[int, tuple[float, float]],
                                  path: str, title: str = "") -> None:
  """Writes a PNG of a benchmark's curve next to a reference range per step.

  Args:
    rows: one dict per evaluation with "step", "ema", "raw" (accuracies),
      "mask_rate" and "pseudo_label_accuracy" (fractions).
    reference: step -> (low, high) EMA accuracy in %, drawn as error bars.
    path: the PNG to write.
    title: the figure title.
  """
  figure = Figure(figsize=(7, 4.5), layout="constrained")
  axes = figure.add_subplot()
  steps = [row["step"] for row in rows]
  for key, label, style in (("ema", "test accuracy (EMA)", "-"), ("raw", "test accuracy", "-"),
                            ("mask_rate", "mask rate", "--"),
                            ("pseudo_label_accuracy", "masked pseudo-label accuracy", "--")):
    axes.plot(steps, [100 * row[key] for row in rows], style, label=label,
              marker="o" if len(steps) == 1 else None)
  shown = {step: band for step, band in reference.items()
           if not steps or step <= 1.5 * max(steps)}
  if shown:
    centres = [(low + high) / 2 for low, high in shown.values()]
    half_widths = [(high - low) / 2 for low, high in shown.values()]
    axes.errorbar(list(shown), centres, yerr=half_widths, fmt="none", ecolor="black",
                  capsize=4, label="reference EMA accuracy")
  axes.set_ylim(0, 100)
  axes.set_xlabel("step")
  axes.set_ylabel("%")
  axes.set_title(title, fontsize="small")
  axes.grid(alpha=0.3)
  axes.legend(loc="lower right", fontsize="small")
  _save_atomically(figure, path)


def _latest_records(workdir: str) -> list[dict]:
  """The records of workdir/metrics.jsonl, the last one kept per (kind, step), by step.

  A resumed run writes again the steps after its checkpoint; its records
  replace the earlier attempt's.
  """
  latest = {(r["kind"], r["step"]): r for r in metrics_log.read_records(workdir)}
  return sorted(latest.values(), key=lambda r: r["step"])


def write_learning_curve(workdir: str) -> str | None:
  """Plots workdir/metrics.jsonl to workdir/learning_curve.png (see `learning_curve`).

  Returns:
    The PNG's path, or None (and nothing written) when the workdir has no
    metrics file or no eval record yet.
  """
  records = _latest_records(workdir)
  if not any(r["kind"] == "eval" for r in records):
    return None
  path = os.path.join(workdir, LEARNING_CURVE_FILE)
  learning_curve(records, path, title=os.path.normpath(workdir))
  return path


def _label_count_name(num_labels: int) -> str:
  """Axis tick of a label count; -1 stands for every label."""
  return "all labels" if num_labels < 0 else f"{num_labels} labels"


# Legend entries per column beside a bar chart: what fits its 4.5-inch height in small type.
_LEGEND_ROWS_PER_COLUMN = 16


def _row_colours(num_rows: int) -> list:
  """A colour per bar row: tab10 up to ten rows, tab20 up to twenty, then tab20 and tab20b (40)."""
  if num_rows <= 10:
    palettes = ["tab10"]
  elif num_rows <= 20:
    palettes = ["tab20"]
  else:
    palettes = ["tab20", "tab20b"]
  colours = [colour for name in palettes for colour in matplotlib.colormaps[name].colors]
  return [colours[i % len(colours)] for i in range(num_rows)]


def error_bars(rows: dict[str, dict[int, list[float]]], path: str, title: str,
               ylabel: str = "test error (%)") -> None:
  """Writes a grouped bar chart of a sweep table as a PNG.

  One group per label count, one bar per row (method) in it: the bar is the
  mean over seeds, the error bar the sample standard deviation (0 for one
  seed, as in the sweep's markdown table), and a dark red "v" marks the worst
  seed (the largest value). Cells without values get no bar. Every row has
  its own colour up to 40 rows, and the legend beside the bars takes as many
  columns as it needs to stay inside the figure.

  Args:
    rows: row name -> label count (-1 for all labels) -> values, one per seed.
    path: the PNG to write.
    title: the figure title.
    ylabel: the y-axis label.
  """
  _save_atomically(_error_bars_figure(rows, title, ylabel), path)


def _error_bars_figure(rows: dict[str, dict[int, list[float]]], title: str,
                       ylabel: str) -> Figure:
  """The figure `error_bars` writes."""
  label_counts = sorted({n for cells in rows.values() for n in cells},
                        key=lambda n: (n < 0, n))
  bar_width = 0.8 / max(len(rows), 1)
  figure = Figure(figsize=(max(6.0, 4 + 0.4 * len(label_counts) * len(rows)), 4.5),
                  layout="constrained")
  axes = figure.add_subplot()
  colours = _row_colours(len(rows))
  for row_index, (name, cells) in enumerate(rows.items()):
    groups = [g for g, n in enumerate(label_counts) if cells.get(n)]
    values = [cells[label_counts[g]] for g in groups]
    positions = np.array(groups) + (row_index - (len(rows) - 1) / 2) * bar_width
    means = [statistics.mean(v) for v in values]
    stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
    axes.bar(positions, means, bar_width, yerr=stds, capsize=3, label=name,
             color=colours[row_index])
    axes.plot(positions, [max(v) for v in values], "v", color="darkred", markersize=5)
  axes.plot([], [], "v", color="darkred", markersize=5, label="worst seed")
  axes.set_xticks(range(len(label_counts)), [_label_count_name(n) for n in label_counts])
  axes.set_ylabel(ylabel)
  axes.set_title(title)
  axes.grid(axis="y", alpha=0.3)
  axes.set_axisbelow(True)
  legend_entries = len(rows) + 1  # and the worst-seed marker
  axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),  # beside the bars
              ncols=-(-legend_entries // _LEGEND_ROWS_PER_COLUMN))
  return figure
