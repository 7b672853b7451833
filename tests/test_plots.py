"""Learning-curve and sweep bar-chart PNGs."""
import json
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from jaxssl import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _write_metrics(workdir, records):
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    f.writelines(json.dumps(record) + "\n" for record in records)


def _assert_png(path):
  """A nonempty PNG file that PIL decodes, with no temporary file left beside it."""
  with open(path, "rb") as f:
    assert f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
  with Image.open(path) as image:
    image.load()
    assert image.format == "PNG"
    assert image.width > 0 and image.height > 0
  assert not [name for name in os.listdir(os.path.dirname(path)) if ".tmp" in name]


def _fixmatch_records(num_evals):
  """Train and eval records of a FixMatch-like run, every 10 steps."""
  records = []
  for i in range(1, num_evals + 1):
    step = 10 * i
    records.append({"step": step, "kind": "train", "loss": 1.0 / i,
                    "supervised_loss": 0.5 / i, "mask_rate": 0.1 * i / num_evals + 0.5,
                    "pseudo_label_accuracy": 0.9, "steps_per_second": 12.0})
    records.append({"step": step, "kind": "eval", "accuracy": 0.5 + 0.4 * i / num_evals,
                    "ema_accuracy": 0.55 + 0.4 * i / num_evals})
  return records


def test_write_learning_curve_writes_a_png(tmp_path):
  _write_metrics(tmp_path, _fixmatch_records(num_evals=5))
  path = plots.write_learning_curve(str(tmp_path))
  assert path == os.path.join(str(tmp_path), "learning_curve.png")
  _assert_png(path)


def test_learning_curve_without_train_series_and_one_record(tmp_path):
  path = str(tmp_path / "curve.png")
  plots.learning_curve([{"step": 100, "kind": "eval", "accuracy": 0.7}], path)
  _assert_png(path)


def test_write_learning_curve_skips_a_cut_line_and_repeated_steps(tmp_path):
  records = _fixmatch_records(num_evals=3) + _fixmatch_records(num_evals=2)
  _write_metrics(tmp_path, records)
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"step": 40, "kind": "ev')
  _assert_png(plots.write_learning_curve(str(tmp_path)))


def test_write_learning_curve_needs_eval_records(tmp_path):
  assert plots.write_learning_curve(str(tmp_path)) is None
  _write_metrics(tmp_path, [r for r in _fixmatch_records(3) if r["kind"] == "train"])
  assert plots.write_learning_curve(str(tmp_path)) is None
  assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl"]


def test_error_bars_writes_a_png(tmp_path):
  rows = {"fixmatch": {20: [30.0, 35.5, 28.1], -1: [2.0, 2.5, 2.2]},
          "supervised": {20: [60.0], -1: [3.0, 3.1, 2.9]}}
  path = str(tmp_path / "sweep.png")
  plots.error_bars(rows, path, title="digits")
  _assert_png(path)


def test_error_bars_of_25_rows_keeps_every_legend_entry_inside_and_every_colour_distinct():
  # A sweep of every method with Noisy Student's rounds has 25 rows (digits20.png): one
  # legend column of 26 entries ran off the bottom, and tab20 gave the 1st and 21st one colour.
  rows = {f"method{i}": {20: [float(i), i + 1.0]} for i in range(25)}
  figure = plots._error_bars_figure(rows, "digits", "test error (%)")
  renderer = FigureCanvasAgg(figure).get_renderer()
  figure.draw(renderer)
  axes = figure.axes[0]
  legend = axes.get_legend()
  assert sorted(t.get_text() for t in legend.get_texts()) == sorted([*rows, "worst seed"])
  inside, box = legend.get_window_extent(renderer), figure.bbox
  assert box.x0 <= inside.x0 and inside.x1 <= box.x1 and box.y0 <= inside.y0 and inside.y1 <= box.y1
  colours = {tuple(container.patches[0].get_facecolor()) for container in axes.containers
             if hasattr(container, "patches")}
  assert len(colours) == 25
