"""The benchmark results math: percentiles, playout gaps, per-call slopes, overhead."""

import pytest

from voxline.bench.scenario.results import sweep_figures, turn_overhead_ms, worker_figures
from voxline.bench.scenario.stats import (
    linear_fit,
    percentile,
    playout_gaps,
    rss_per_call_mib,
    summarize,
)


def test_percentiles_interpolate_between_ranks():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 95) == 7.0
    assert percentile([3, 1, 2], 0) == 1 and percentile([3, 1, 2], 100) == 3


def test_percentile_refuses_nonsense():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_skips_missing_values_and_says_how_many_counted():
    figure = summarize([10.0, None, 20.0, 30.0])
    assert figure == {"count": 3, "p50": 20.0, "p95": 29.0, "p99": 29.8, "max": 30.0}
    assert summarize([None]) == {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}


def test_gaps_are_holes_inside_audio_not_silences_between_answers():
    track = [0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1] + [0] * 40 + [1, 0]
    # leading silence: not a gap; 1 tick and 3 ticks inside audio: gaps; 40 ticks: a pause
    assert playout_gaps([bool(t) for t in track]) == [1, 3]
    assert playout_gaps([True] * 10) == []
    assert playout_gaps([]) == []


def test_linear_fit():
    slope, intercept = linear_fit([0, 1, 2, 3], [1, 3, 5, 7])
    assert slope == pytest.approx(2) and intercept == pytest.approx(1)
    assert linear_fit([1, 1], [2, 3]) is None  # x does not vary
    with pytest.raises(ValueError):
        linear_fit([1, 2], [1])


def test_rss_per_call_is_a_slope_against_active_calls_not_rss_over_calls():
    # 100 MiB baseline, +0.5 MiB for every active call; calls join one per second.
    spans = [(float(i), 100.0) for i in range(10)]
    samples = [(t + 0.5, 100.0 + 0.5 * min(10, int(t) + 1)) for t in range(12)]
    assert rss_per_call_mib(samples, spans) == pytest.approx(0.5)
    # RSS / calls would have said ~10.5 MiB per call at the end.


def test_worker_figures_over_a_ramp():
    spans = [(0.0, 10.0), (1.0, 10.0)]
    samples = [(-1.0, 1.0, 100.0), (0.5, 11.0, 101.0), (1.5, 21.0, 102.0), (2.5, 21.0, 102.0)]
    figures = worker_figures(samples, idle=(-2.0, -0.5), window=(0.0, 10.0), spans=spans,
                             calls=2)
    assert figures["cpu_percent_idle"] == 1.0
    assert figures["cpu_percent_mean"] == 21.0  # while both calls were up
    assert figures["cpu_percent_per_call"] == pytest.approx(10.0)
    assert figures["rss_idle_mib"] == 100.0 and figures["rss_peak_mib"] == 102.0
    assert figures["rss_per_call_mib"] == pytest.approx(1.0)


def test_sweep_slopes_from_the_steps():
    steps = [{"calls": n, "worker": {"rss_peak_mib": 150 + 0.25 * n, "cpu_percent_mean": 2 * n}}
             for n in (1, 10, 50)]
    assert sweep_figures(steps) == {"rss_peak_per_call_mib": 0.25, "cpu_percent_per_call": 2.0}


def test_turn_overhead_subtracts_window_and_vad_tail_and_adds_the_capture_frame():
    assert turn_overhead_ms(735.0, 600, 130.0) == pytest.approx(25.0)
    assert turn_overhead_ms(None, 600, 130.0) is None
    assert turn_overhead_ms(735.0, 600, None) is None
