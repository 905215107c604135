"""analysis._progress.ProgressBar: the one bar the command line hands to dynsys."""

from analysis._progress import ProgressBar


def test_progress_bar_follows_the_calls_and_closes(capsys):
    with ProgressBar("census", unit="input") as bar:
        assert bar.bar is None  # no bar before the total is known
        bar(0, 8)
        bar(5, 8)
        assert (bar.bar.n, bar.bar.total) == (5, 8)
        bar(8, 8)
    assert bar.bar.n == 8
    err = capsys.readouterr().err
    assert "census" in err and "8/8" in err


def test_a_bar_never_called_draws_nothing(capsys):
    with ProgressBar("idle"):
        pass
    assert capsys.readouterr().err == ""
