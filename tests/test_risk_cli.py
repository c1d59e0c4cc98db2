"""The ``foreland risk`` command: generate, run, show, load; bad input is one line and exit status 2."""
from __future__ import annotations

import duckdb
import pytest

from foreland.cli import main
from risk_fixtures import small_db


def test_generate_run_show(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    assert main(["risk", "generate", "--db", str(db), "--equities", "60", "--bonds", "60", "--equity-portfolios", "3",
                 "--bond-portfolios", "2", "--mixed-portfolios", "1", "--books", "0", "--start", "2025-03-03"]) == 0
    out = capsys.readouterr().out
    assert "portfolios 6" in out
    con = duckdb.connect(str(db), read_only=True)
    n_eq = con.execute("SELECT count(*) FROM portfolios WHERE kind = 'equity'").fetchall()[0][0]
    con.close()
    assert n_eq == 3
    assert main(["risk", "run", "var", "--db", str(db), "--scheduler", "sync", "--window", "100",
                 "--portfolios", "EQ-00001,FI-00002", "--confidence", "0.975"]) == 0
    assert "2 computed, 0 already done, 0 failed" in capsys.readouterr().out
    assert main(["risk", "run", "var", "--db", str(db), "--scheduler", "sync", "--window", "100",
                 "--portfolios", "EQ-00001", "FI-00002", "--confidence", "0.975"]) == 0
    assert "0 computed, 2 already done" in capsys.readouterr().out
    assert main(["risk", "show", "--db", str(db), "--job", "var"]) == 0
    shown = capsys.readouterr().out
    assert "var_97.5" in shown and "EQ-00001" in shown and "FI-00002" in shown


@pytest.mark.parametrize("argv,needle", [
    (["run", "var", "--portfolios", "NOPE"], "unknown portfolio 'NOPE'"),
    (["run", "var", "--confidence", "1.5"], "--confidence: must be strictly between 0 and 1"),
    (["run", "var", "--method", "guess"], "--method: must be one of"),
    (["run", "brinson", "--linking", "frongello"], "--linking: must be one of"),
    (["run", "stress", "--hist-window", "500"], "--hist-window"),
    (["run", "var", "--date", "2025-13-01"], "--date: must be YYYY-MM-DD"),
    (["run", "var", "--scheduler", "nowhere"], "--scheduler"),
    (["show", "--job", "campisi"], "no stored results"),
    (["load", "--table", "holdings", "--file", "missing.parquet"], "--file"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, needle):
    db = small_db(tmp_path)
    code = main(["risk", argv[0]] + argv[1:2] * (argv[0] == "run") + ["--db", str(db)]
                + (argv[2:] if argv[0] == "run" else argv[1:]) + (["--scheduler", "sync"] if argv[0] == "run" and "--scheduler" not in argv else []))
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_database(tmp_path, capsys):
    assert main(["risk", "run", "var", "--db", str(tmp_path / "nope.duckdb"), "--scheduler", "sync"]) == 2
    assert "does not exist" in capsys.readouterr().err
