"""The timing arithmetic of the Performance page: elapsed time of a build, projections, recorded benchmarks."""

from pathlib import Path

import pandas as pd
import pytest

from ksc.book import sweep_speed
from ksc.chapters import performance, train_speed
from ksc.runtime import budgets

RECORDED = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def times(rows):
    """Chapter rows (chapter, wall seconds, finish as seconds after 12:00)."""
    return pd.DataFrame(
        [
            {
                "chapter": c,
                "wall_seconds": w,
                "finished_at": (pd.Timestamp("2026-12-03T12:00:00+00:00") + pd.Timedelta(seconds=f)).isoformat(),
            }
            for c, w, f in rows
        ]
    )


def test_elapsed_time_is_the_sum_plus_gaps_in_a_row_and_less_than_the_sum_side_by_side():
    in_a_row = times([("00_a", 10, 10), ("01_b", 20, 35), ("90_ledger", 5, 45)])  # gaps of 5 s
    assert performance.elapsed_seconds(in_a_row) == pytest.approx(45)
    side_by_side = times([("00_a", 30, 30), ("01_b", 28, 29), ("90_ledger", 5, 40)])
    assert performance.elapsed_seconds(side_by_side) == pytest.approx(40)
    assert performance.elapsed_seconds(side_by_side) < side_by_side.wall_seconds.sum()
    assert performance.kernel_start_seconds(in_a_row) == pytest.approx(5)
    assert performance.kernel_start_seconds(side_by_side) == pytest.approx(6)  # the ledger after 01_b
    overlapping = times([("00_a", 30, 30), ("01_b", 28, 29)])
    assert performance.kernel_start_seconds(overlapping, default=15.0) == 15.0  # no chapter followed another


def test_projected_build_one_worker_is_the_sum_and_many_workers_the_longest_chapter_then_the_back_matter():
    book = times([("00_a", 10, 0), ("01_b", 40, 0), ("02_c", 35, 0), ("90_ledger", 5, 0), ("95_perf", 7, 0)])
    projected = performance.projected_build(book, workers=(1, 2, 3, 16), start_seconds=1).set_index("workers")
    assert projected.projected_seconds[1] == pytest.approx(10 + 40 + 35 + 5 + 7 + 5 * 1)
    assert projected.projected_seconds[2] == pytest.approx(11 + 36 + 6 + 8)  # 00 then 02 on one worker, 01 alone
    assert projected.projected_seconds[3] == projected.projected_seconds[16] == pytest.approx(41 + 6 + 8)
    assert projected.projected_seconds.is_monotonic_decreasing


def test_same_metrics_ignores_times_and_folders_and_sees_any_other_difference():
    a = pd.DataFrame({"run": ["01-seed=0"], "seed": [0], "test_mse": [0.1184], "wall_seconds": [3.1]})
    b = a.assign(run="elsewhere", wall_seconds=9.0)
    assert sweep_speed.same_metrics(a, b)
    assert not sweep_speed.same_metrics(a, b.assign(test_mse=0.1185))
    assert not sweep_speed.same_metrics(a, pd.concat([b, b]))


def test_sweep_projection_halves_with_twice_the_workers_until_one_round():
    projected = sweep_speed.projection(60.0, points=100, workers=(1, 2, 50, 100, 200)).set_index("workers")
    assert projected.projected_minutes[1] == pytest.approx(100)
    assert projected.projected_minutes[2] == pytest.approx(50)
    assert projected.projected_minutes[50] == projected.projected_minutes[2] / 25
    assert projected.rounds[100] == projected.rounds[200] == 1


def test_recorded_benchmarks_are_read_each_by_its_own_reader():
    speedups = performance.recorded_speedups(RECORDED)
    assert len(speedups) and set(speedups.file.str.split("-").str[0]) == {"train_speed"}
    sweeps = sweep_speed.recorded(RECORDED)
    assert len(sweeps) >= 1 and set(sweeps.file.str.split("-").str[0]) == {"sweep_workers"}
    # the recorded sweep ran every point both ways and with the same numbers
    assert (sweeps.points == 8).all() and sweeps.same_metrics.all()
    assert (sweeps.speedup == sweeps.serial_seconds / sweeps.parallel_seconds).all()
    nist_speed = performance.recorded_nist_speed(RECORDED)
    assert len(nist_speed) >= 1 and nist_speed.same_pvalues.all()
    before, after = (
        nist_speed["seconds per sequence, NIST's C code"],
        nist_speed["seconds per sequence, ksc, all blocks at once"],
    )
    assert (nist_speed.speedup == before / after).all()


def test_budget_table_scales_budgets_by_machine_speed_and_sees_which_chapters_ran_side_by_side():
    book = times([("00_a", 30, 30), ("01_b", 28, 29), ("90_ledger", 12, 45)])  # 00 and 01 overlap, 90 after them
    table = performance.budget_table(book, 2.0, {"00_a": 10, "01_b": 20, "90_ledger": 5}).set_index("chapter")
    assert table.shared.to_dict() == {"00_a": True, "01_b": True, "90_ledger": False}
    assert table.budget_at_this_speed.to_dict() == {"00_a": 20, "01_b": 40, "90_ledger": 10}
    assert table.within.to_dict() == {"00_a": False, "01_b": True, "90_ledger": False}


def test_budget_table_judges_nothing_it_cannot_judge():
    book = times([("00_a", 30, 30), ("01_b", 28, 29), ("02_c", 1, 40)]).assign(at_defaults=[True, False, True])
    table = performance.budget_table(book, 2.0, {"00_a": 20, "01_b": 20}).set_index("chapter")
    assert table.within.to_dict() == {"00_a": True, "01_b": None, "02_c": None}  # not at defaults; no budget
    unknown_speed = performance.budget_table(book, float("nan"), {"00_a": 20, "01_b": 20})
    assert unknown_speed.within.isna().all()


def test_the_reference_speed_is_the_recorded_keras_fit_time_of_the_cpu():
    seconds = performance.reference_fit_seconds(RECORDED / budgets.REFERENCE)
    assert seconds is not None and 1.0 < seconds < 5.0  # a V4 fit of 2000 images for 10 epochs on this CPU kind
    assert performance.reference_fit_seconds(RECORDED / "no-such-file.json") is None


def test_chapter_times_say_which_chapters_ran_at_their_defaults(tmp_path):
    from ksc.runtime.results import write_results

    write_results(tmp_path, "00_a", {"n": 5}, [{"wall_seconds": 1.0}], wall_seconds=3.0)
    write_results(tmp_path, "01_b", {"n": 2}, [], wall_seconds=4.0)
    found = performance.chapter_times(
        tmp_path, ["00_a", "01_b", "02_missing"], defaults={"00_a": {"n": 5}, "01_b": {"n": 5}}
    )
    assert found.set_index("chapter").at_defaults.to_dict() == {"00_a": True, "01_b": False}
    assert "at_defaults" not in performance.chapter_times(tmp_path, ["00_a"])


def speed_rows(fit_seconds, ksc_seconds):
    """A speedups table: Keras fit, and the batched trainer at M = 1 and 10 in a first call."""
    rows = [
        {"way": train_speed.FIT_WAY, "members": 1, "graph": "built for every model", "seconds_per_run": fit_seconds}
    ]
    for m, seconds in zip((1, 10), ksc_seconds):
        rows.append({"way": train_speed.KSC_WAY, "members": m, "graph": "first call", "seconds_per_run": seconds})
    table = pd.DataFrame(rows)
    table["speedup_vs_fit"] = fit_seconds / table.seconds_per_run
    return table


def test_the_performance_page_reads_the_speed_the_training_speed_page_measured(tmp_path):
    from declared_results import write_declared as write_results

    speed, paper = performance.measured_speed(tmp_path)
    assert speed.empty and not paper and pd.isna(performance.fit_seconds(speed))
    assert performance.fastest_first_call(speed) is None
    table = speed_rows(9.0, [8.0, 3.0])
    write_results(
        tmp_path, train_speed.TRAIN_SPEED_CHAPTER, dict(train_speed.PAPER_SETTING), [], tables={"speedups": table}
    )
    speed, paper = performance.measured_speed(tmp_path)
    assert paper and performance.fit_seconds(speed) == 9.0 and performance.fastest_first_call(speed).members == 10
    write_results(tmp_path, train_speed.TRAIN_SPEED_CHAPTER, {**train_speed.PAPER_SETTING, "epochs": 1}, [])
    assert not performance.measured_speed(tmp_path)[1]  # timed at another scale: nothing is judged against it


def test_targets_at_the_reference_speed_divide_by_the_speed_ratio_and_unknown_values_judge_nothing():
    speed = speed_rows(9.0, [8.0, 3.0])  # 3 s per model-run, 3x faster than fit
    found = performance.targets(speed, elapsed=2400.0, sixteen=800.0, summed=4000.0, speed_ratio=4.0).set_index(
        "target"
    )
    assert found.met.to_dict() == {
        "seconds per model-run <= 2": False,
        "speed-up over Keras fit >= 3": True,
        "chapters' elapsed time <= 900 s": False,
        "16 cores, projected: chapters <= 300 s": False,
        performance.REFERENCE_SERIAL_TARGET: False,  # 4000 s / 4 = 1000 s (the elapsed time would give 600 s)
        performance.REFERENCE_SIXTEEN_TARGET: False,  # 2 x 800 s / 4 = 400 s (without the factor 2: 200 s)
        "(former) all chapters' wall times <= 600 s": False,
    }
    assert found.measured[performance.REFERENCE_SIXTEEN_TARGET] == pytest.approx(400.0)
    faster = performance.targets(speed, elapsed=2400.0, sixteen=500.0, summed=3200.0, speed_ratio=4.0).set_index(
        "target"
    )
    assert (
        faster.met[performance.REFERENCE_SERIAL_TARGET] and faster.met[performance.REFERENCE_SIXTEEN_TARGET]
    )  # 800, 250
    unknown = performance.targets(pd.DataFrame(), 2400.0, 900.0, 4000.0, float("nan")).set_index("target").met
    judged_without_speed = {t: v for t, v in unknown.items() if v is not None}  # no timings, no speed ratio
    assert judged_without_speed == {
        "chapters' elapsed time <= 900 s": False,
        "16 cores, projected: chapters <= 300 s": False,
        "(former) all chapters' wall times <= 600 s": False,
    }
