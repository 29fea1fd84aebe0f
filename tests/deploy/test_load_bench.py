"""The load benchmark's pure parts: wrk's summary, percentiles, the same-token URL for another server."""

from __future__ import annotations

import pytest

from bench.load_bench import load, on_other_server, parse_wrk, percentile, tampered

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:41234/dialog/send?contentId=1&jwt=x
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    48.10ms   30.02ms 412.55ms   80.11%
    Req/Sec   340.12     60.55   490.00     70.00%
  Latency Distribution
     50%   42.62ms
     75%   58.01ms
     90%   81.70ms
     99%    1.56s
  6790 requests in 10.02s, 21.77MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 2
Requests/sec:    677.64
Transfer/sec:      2.17MB
"""


def test_parse_wrk_reads_totals_failures_and_percentiles() -> None:
    result = parse_wrk("pagemail", WRK_OUTPUT, 10)
    assert result.requests == 6790 and result.seconds == pytest.approx(10.02)
    assert result.failures == 2 + 3 + 1
    assert result.p50_ms == pytest.approx(42.62) and result.p99_ms == pytest.approx(1560.0)
    assert result.per_second == pytest.approx(6790 / 10.02)


def test_parse_wrk_without_errors_and_in_microseconds() -> None:
    output = WRK_OUTPUT.replace("42.62ms", "812.00us").split("  Socket errors")[0] + "Requests/sec: 1.0\n"
    result = parse_wrk("ace", output, 10)
    assert result.failures == 0 and result.p50_ms == pytest.approx(0.812)


def test_parse_wrk_refuses_unexpected_output() -> None:
    with pytest.raises(RuntimeError, match="unexpected wrk output"):
        parse_wrk("x", "unable to connect to 127.0.0.1:1 Connection refused", 10)


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0
    assert percentile([], 50) == 0.0 and percentile([7.0], 99) == 7.0


def test_same_token_on_another_server_and_a_tampered_copy() -> None:
    url = "http://127.0.0.1:8000/dialog/send?contentId=1&spaceKey=DOC&jwt=a.b.c"
    assert on_other_server(url, "http://127.0.0.1:9000") == (
        "http://127.0.0.1:9000/dialog/send?contentId=1&spaceKey=DOC&jwt=a.b.c"
    )
    assert tampered(url) == "http://127.0.0.1:8000/dialog/send?contentId=1&spaceKey=XDOC&jwt=a.b.c"


def test_load_refuses_other_hosts() -> None:
    with pytest.raises(ValueError, match="only ever targets this machine"):
        load("x", "http://example.com/dialog/send", 1, 1)
