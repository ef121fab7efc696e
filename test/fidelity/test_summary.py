"""The harness's bookkeeping for repeated runs (`--repeat`): medians, ranges and the
target count, on hand-made runs (no namespaces needed)."""

import fidelity as f


def run(goodput, retrans, first_loss, csv):
    return {"goodput": goodput, "retrans": retrans, "mean_cwnd": 10.0,
            "first_loss": first_loss, "csv": csv}


def test_medians_ranges_and_the_plotted_run():
    runs = [run(9.0, 27, 0.3, "a"), run(9.5, 8, 0.8, "b"), run(9.4, 7, None, "c"),
            {"error": "sender failed"}]
    m = f.median_of(runs)
    # Failed runs and missing first-loss times are left out of the medians.
    assert (m["goodput"], m["retrans"], m["first_loss"]) == (9.4, 8, 0.55)
    assert isinstance(m["retrans"], int)
    assert m["csv"] == "b", "the plotted trace is the median-retransmission run"
    assert f.fmt_runs(m, "retrans") == "8 [7-27]"
    assert m["retrans_mean"] == 14
    assert f.median_of([{"error": "x"}]) == {"error": "x"}


def test_verdict_counts_the_issue_targets():
    def cell(lx, lo, lx_runs=()):
        return {"linux": {"goodput": lx[0], "retrans": lx[1], "runs": list(lx_runs)},
                "libos": {"goodput": lo[0], "retrans": lo[1]}}
    results = [
        cell((10.0, 100), (9.2, 124)),   # both within target
        cell((10.0, 100), (8.9, 126)),   # goodput -11 %, retransmissions +26 %
        cell((10.0, 0), (10.0, 2)),      # +2 segments counts as a match
        cell((10.0, 0), (10.0, 3), [run(10.0, 0, None, ""), run(10.0, 5, None, "")]),
    ]
    v = f.verdict(results)
    assert "goodput within 10 %: 3/4" in v, v
    assert "2 segments: 2/4" in v, v
    assert "inside Linux's run range: 1/4" in v, v


def test_verdict_counts_means_when_runs_are_repeated():
    def stack(runs):
        return f.median_of([run(10.0, x, None, "") for x in runs])
    # Bimodal retransmissions: the medians land on different modes, the means agree.
    results = [{"linux": stack([400, 4300, 4400]), "libos": stack([450, 2000, 6800])},
               {"linux": stack([100, 100, 100]), "libos": stack([200, 200, 200])}]
    v = f.verdict(results)
    assert "2 segments: 0/2" in v, v
    assert "by the mean of the runs: 1/2" in v, v
    # Paired by seed: only 400 / 450 is within 25 %; every goodput matches.
    assert "run by run (same seed, same data lost): goodput 6/6, retransmissions 1/6" in v, v
