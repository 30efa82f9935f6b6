from __future__ import annotations

import pytest

from a1rt.cli import main


def test_cli_bad_variable_is_one_line_and_exit_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("A1RT_PORT", "not-a-port")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "A1RT_PORT" in err and "Traceback" not in err


def test_cli_bad_option_is_one_line_and_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--port", "eighty"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--port" in err


def test_cli_unknown_command_is_one_line_and_exit_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["fly"])
    assert raised.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cli_unknown_model_is_one_line_and_exit_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["evaluate", "no_such_model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_model" in err
    assert main(["train", "no_such_model"]) == 2
    assert "expected one of" in capsys.readouterr().err
