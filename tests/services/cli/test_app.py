import pytest

from agentdeck.cli.app import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["up", "--bogus"], "No such option: --bogus"),
        (["launch"], "No such command 'launch'"),
    ],
)
def test_a_bad_argument_gets_one_clear_line(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("agentdeck: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_help_lists_up(capsys):
    assert main(["--help"]) == 0
    assert "up" in capsys.readouterr().out
