"""The 'foreland forecast' command end to end on small data, and one-line errors with exit status 2."""
import pandas as pd
import pytest

from foreland.cli import main

SMALL_ARGS = ["--epochs", "2", "--hidden", "8", "--val-days", "15", "--train-days", "120"]


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    d = tmp_path_factory.mktemp("fc")
    assert main(["forecast", "generate", "--out", str(d / "m.parquet"), "--calendar-out", str(d / "cal.csv"),
                 "--products", "1", "--days", "220", "--seed", "4"]) == 0
    return d


def test_train_predict_explain(market, capsys):
    d = market
    data, cal, model = str(d / "m.parquet"), str(d / "cal.csv"), str(d / "model.pkl")
    assert main(["forecast", "train", data, "--calendar", cal, "--model", model, *SMALL_ARGS]) == 0
    out = capsys.readouterr().out
    assert "volume T+1:" in out and "saved" in out
    assert main(["forecast", "predict", data, "--calendar", cal, "--model", model, "--out", str(d / "p.csv")]) == 0
    pred = pd.read_csv(d / "p.csv")
    assert set(pred["model"]) == {"persistence", "seq2seq", "arima", "svr", "fused"}
    assert set(pred["target"]) == {"volume", "open_interest"} and (pred["forecast"] >= 0).all()
    contract = pred["contract"].iloc[0]
    png = d / "lime.png"
    assert main(["forecast", "explain", data, "--calendar", cal, "--model", model, "--contract", contract,
                 "--horizon", "2", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "contribution_pct" in out and png.stat().st_size > 1000
    # the model was trained with a calendar: data without it has different features
    assert main(["forecast", "predict", data, "--model", model]) == 2
    assert "features differ" in capsys.readouterr().err


def test_evaluate_writes_tables_and_plots(market, capsys):
    d = market
    out_dir = d / "eval"
    assert main(["forecast", "evaluate", str(d / "m.parquet"), "--calendar", str(d / "cal.csv"), "--models", "arima,svr",
                 "--test-days", "10", "--out-dir", str(out_dir), *SMALL_ARGS]) == 0
    text = capsys.readouterr().out
    assert "beats_all_singles" in text and "acc_lo" in text and "fused_best" in text and "arima+level" in text
    cases = pd.read_csv(out_dir / "cases.csv")
    assert set(cases["model"]) == {"arima", "svr", "fused", "persistence"}
    assert len(list(out_dir.glob("forecast_*.png"))) == 4


@pytest.mark.parametrize("argv,needle", [
    (["forecast", "predict", "missing.csv", "--model", "x.pkl"], "no such model file"),
    (["forecast", "evaluate", "demo", "--models", "arima,lstm"], "models: choose"),
    (["forecast", "evaluate", "demo", "--val-days", "2"], "val_days: must be >= 5"),
    (["forecast", "evaluate", "demo", "--val-blocks", "0"], "val_blocks: must be >= 1"),
    (["forecast", "evaluate", "demo", "--skip-folds", "-1"], "skip_folds: must be >= 0"),
    (["forecast", "evaluate", "demo", "--skip-folds", "30"], "not enough history"),
    (["forecast", "report", "--datasets", "demo,nyse"], "datasets: choose from demo, sp500"),
])
def test_bad_input_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("foreland forecast: error:")


def test_malformed_file_reports_line(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("date,contract,close,volume\n2021-01-04,CF105,1,10\n2021-01-05,CF105,1,ten\n", encoding="utf-8")
    assert main(["forecast", "evaluate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 'volume': 'ten' is not a number" in err and "Traceback" not in err
    model = tmp_path / "m.pkl"
    model.write_bytes(b"not a pickle")
    assert main(["forecast", "predict", str(f), "--model", str(model)]) == 2
    assert "not a forecast model bundle" in capsys.readouterr().err


def test_works_without_torch(tmp_path):
    """With PyTorch unavailable, the package imports, ARIMA+SVR run, and asking for Seq2Seq is a one-line error."""
    import subprocess
    import sys

    code = f"""
import sys

class NoTorch:
    # behave as if PyTorch were not installed (a None entry in sys.modules would confuse scipy)
    def find_spec(self, name, path=None, target=None):
        if name == 'torch' or name.startswith('torch.'):
            raise ModuleNotFoundError("No module named 'torch'")
        return None

sys.meta_path.insert(0, NoTorch())
import forecast
from foreland.cli import main
rc = main(['forecast', 'generate', '--out', r'{tmp_path / "m.parquet"}', '--products', '1', '--days', '200'])
assert rc == 0
rc = main(['forecast', 'train', r'{tmp_path / "m.parquet"}', '--model', r'{tmp_path / "m.pkl"}',
           '--models', 'arima,svr', '--val-days', '15', '--train-days', '100'])
assert rc == 0, rc
rc = main(['forecast', 'train', r'{tmp_path / "m.parquet"}', '--model', r'{tmp_path / "m2.pkl"}', '--val-days', '15'])
assert rc == 2, rc
assert 'torch' not in sys.modules
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "needs PyTorch" in res.stderr
