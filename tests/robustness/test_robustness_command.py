"""python -m jaxssl.robustness: bad input ends with one line and exit status 2, the workdirs untouched."""

import json

import pytest

from jaxssl.robustness import command, evaluate


def snapshot(directory) -> dict:
  return {path: (path.read_bytes() if path.is_file() else None, path.stat().st_mtime_ns)
          for path in directory.rglob("*")}


@pytest.fixture
def runs(tmp_path):
  """A finished run (results.json) and an unfinished one (config.json only)."""
  finished, unfinished = tmp_path / "finished", tmp_path / "unfinished"
  for workdir in (finished, unfinished):
    workdir.mkdir()
    (workdir / "config.json").write_text(json.dumps({"data": {"source": "digits"}}))
  (finished / "results.json").write_text(json.dumps({"steps": 10}))
  return tmp_path


@pytest.mark.parametrize("argv, message", [
    (["--workdirs={runs}/finished"], "--baseline is required"),
    (["--baseline={runs}/missing"], "No run at {runs}/missing: the folder does not exist"),
    (["--baseline={runs}/finished", "--workdirs=a={runs}/unfinished"],
     "{runs}/unfinished holds no finished run"),
    (["--baseline={runs}/seed{{seed}}"], "--split_seeds is empty"),
    (["--baseline={runs}/finished", "--split_seeds=a"], "give integers"),
    (["--baseline={runs}/finished", "--out={runs}/finished/table.md"], "lies inside the run"),
    (["--baseline={runs}/finished", "--weights=best"], "--weights"),
])
def test_bad_input_is_one_line_and_exit_status_2(capsys, runs, argv, message):
  before = snapshot(runs)
  status = command.run(["robustness", *(arg.format(runs=runs) for arg in argv)])
  err = capsys.readouterr().err
  assert status == 2
  assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
  assert message.format(runs=runs) in err
  assert snapshot(runs) == before


def test_a_staged_run_means_its_final_stage(tmp_path):
  (tmp_path / "round1_student").mkdir()
  (tmp_path / "round1_student" / "results.json").write_text("{}")
  (tmp_path / "results.json").write_text(json.dumps(
      {"stages": [{"stage": "round0_teacher"}, {"stage": "round1_student"}]}))
  assert evaluate.finished_run(str(tmp_path)) == str(tmp_path / "round1_student")


def test_the_table_puts_the_baseline_at_100():
  figures = {}
  for label, scale in (("sup", 1.0), ("fm", 0.5)):
    for seed in (0, 1):
      figures[label, seed] = evaluate.Robustness(
          clean_error=0.1 * scale, corruption_errors={"fog": [0.2 * scale + 0.01 * seed] * 5},
          flip_probabilities={"rotate": 0.1 * scale})
  rows = command.summarize(figures, ["sup", "fm"], [0, 1])
  assert rows["sup"]["mCE"] == [100.0, 100.0] and rows["sup"]["mFR"] == [100.0, 100.0]
  assert rows["fm"]["mFR"] == pytest.approx([50.0, 50.0])
  assert rows["fm"]["clean error %"] == pytest.approx([5.0, 5.0])
  table = command.markdown(rows, "sup", [0, 1], "ema", 0, "python -m jaxssl.robustness")
  assert "| sup | 10.0 ± 0.0 | 100.0 ± 0.0 |" in table

