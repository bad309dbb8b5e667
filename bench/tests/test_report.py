"""The rendered report: the summary table, the burst, refusals and missing counters."""

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.burst import BurstResult, logged_problems, longest_gap, status_counts
from benchmarks.drive import percentile
from benchmarks.mongo_target import ServerDescription, address_of
from benchmarks.plots import draw_all
from benchmarks.report import render
from benchmarks.results import ROWS, Measured, RunResult, measurements, save
from benchmarks.results import load as load_result

from .conftest import load


def _summary_line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {label} |"))


def test_summary_shows_ratio_goal_and_verdict_per_operation(run_result: RunResult) -> None:
    text = render(run_result, "benchmarks")
    login = _summary_line(text, "successful non-first login")
    assert "**1.03 / 1.12**" in login and "≤ 1.10" in login and "**not met**" in login
    context = _summary_line(text, "successful non-first login (context)")
    assert "**1.10 / 1.20**" in context and "| report |" in context
    me = _summary_line(text, "`GET /v1/accounts/me`")
    assert "**1.20 / 1.20**" in me and "| met |" in me
    assert "| report |" in _summary_line(text, "first login")


def test_summary_gives_the_operations_metered_per_size(run_result: RunResult) -> None:
    text = render(run_result, "benchmarks")
    assert "operations metered (idle share of their CPU)" in text
    assert _summary_line(text, "successful non-first login").endswith("| 100 / 100 |")


def test_the_password_operations_cpu_is_split_between_event_loops_and_other_threads(
    run_result: RunResult,
) -> None:
    text = render(run_result, "benchmarks")
    split = next(line for line in text.splitlines() if line.startswith("Where the password"))
    login_ms = [item.cost.cpu_per_op * 1000 for item in _login_items(run_result) if item.cost]
    loops = " / ".join(f"{value / 4:.2f}" for value in login_ms)
    others = " / ".join(f"{value * 3 / 4:.2f}" for value in login_ms)
    assert (
        f"successful non-first login: event loops {loops} ms, other threads {others} ms "
        "(whole ÷ other threads 1.33 / 1.33)"
    ) in split
    assert "registration: event loops" in split
    # The lean login: a quarter of its 32 ms in the loops, the rest in other threads, and
    # 32 ms against a 30 ms verification.
    assert (
        "the lean login (the same work, no middleware): event loops 8.00 / 8.00 ms, other "
        "threads 24.00 / 24.00 ms (whole ÷ other threads 1.33 / 1.33), 1.07 / 1.07 of one "
        "Argon2id verification"
    ) in split
    # The lean registration, 30 ms against a 31 ms hash.
    assert (
        "the lean registration (the same work, no middleware): event loops 7.50 / 7.50 ms, "
        "other threads 22.50 / 22.50 ms (whole ÷ other threads 1.33 / 1.33), 0.97 / 0.97 of "
        "one Argon2id hash"
    ) in split
    assert "GET /v1/accounts/me" not in split


def _login_items(r: RunResult) -> list[Measured]:
    return [item for item in measurements(ROWS[0], r) if item.cost is not None]


def test_a_missing_commands_counter_is_shown_as_missing_not_as_a_number(
    run_result: RunResult,
) -> None:
    text = render(run_result, "benchmarks")
    assert "n/a (counter missing)" in _summary_line(text, "registration")
    assert "| 3.00 / 3.00 |" in _summary_line(text, "successful non-first login")


def test_burst_section_states_answers_vouchers_and_the_first_hundred(
    run_result: RunResult,
) -> None:
    text = render(run_result, "benchmarks")
    assert "1000 answered 200 (all 200)" in text
    assert "| vouchers | 100 (exactly 100) |" in text
    assert "| held by the first 100 by first-login order | yes |" in text
    assert "16 requests in flight" in text


def test_burst_awaits_one_event_per_login_answered_200_only() -> None:
    burst = BurstResult(logins=1000, concurrency=16, throttle_raised=False)
    burst.statuses = {200: 997, 503: 2, 0: 1}
    assert burst.logins_ok == 997
    assert status_counts(burst.not_ok) == "1 answered nothing, 2 answered 503"
    burst.statuses = {200: 1000}
    assert status_counts(burst.not_ok) == ""


def test_burst_section_names_the_logins_not_answered_200(run_result: RunResult) -> None:
    assert run_result.burst is not None
    run_result.burst.statuses = {200: 999, 503: 1}
    run_result.burst.events_handled = 999
    run_result.burst.failed_after = [31.24]
    run_result.burst.logged_problems = {"database_error OperationFailure": 1}
    text = render(run_result, "benchmarks")
    assert "999 answered 200, 1 answered 503 (**not all 200**)" in text
    assert (
        "| logins not answered 200 | **1** (1 answered 503): no event was awaited for them; "
        "answered after 31.2 s; the login service logged 1 `database_error OperationFailure` |"
    ) in text
    assert "| events handled by the consumers | 999 of 999 (one per login answered 200) |" in text


def test_the_burst_counts_the_warnings_and_errors_the_login_service_logged(
    tmp_path: Path,
) -> None:
    log = tmp_path / "login.log"
    earlier = b'{"event": "database_error", "error": "AutoReconnect", "level": "error"}\n'
    log.write_bytes(earlier)
    lines = [
        {"event": "request", "status": 200, "level": "info"},
        {"event": "database_error", "error": "OperationFailure", "code": 112, "level": "error"},
        {"event": "database_error", "error": "OperationFailure", "code": 112, "level": "error"},
        {"event": "database_unavailable", "error": "NetworkTimeout", "level": "warning"},
    ]
    with log.open("ab") as out:
        out.write(b"Traceback: not JSON\n")
        out.writelines(json.dumps(line).encode() + b"\n" for line in lines)
    assert logged_problems(log, len(earlier)) == {
        "database_error OperationFailure (code 112)": 2,
        "database_unavailable NetworkTimeout": 1,
    }
    assert logged_problems(tmp_path / "missing.log", 0) == {}


def test_an_all_200_burst_has_no_row_for_other_answers(run_result: RunResult) -> None:
    text = render(run_result, "benchmarks")
    assert "logins not answered 200" not in text
    assert "| events handled by the consumers | 1,000 of 1,000 (one per login" in text


def test_a_load_generator_bound_bare_rate_gives_no_read_ratio(run_result: RunResult) -> None:
    run_result.sizes[0] = replace(run_result.sizes[0], bare=load(248.0))
    text = render(run_result, "benchmarks")
    assert "n/a: bare rate 248 req/s is below 1000 req/s" in text


def test_report_names_a_real_server_and_its_version(run_result: RunResult) -> None:
    run_result.server = ServerDescription("MongoDB", "db1:27017", "8.0.4", "rs0")
    text = render(run_result, "benchmarks")
    assert "MongoDB 8.0.4 at `db1:27017`, replica set `rs0`" in text
    assert "stand-in" not in text.split("## Summary")[0]


def test_every_plot_the_report_shows_is_written(run_result: RunResult, tmp_path: Path) -> None:
    draw_all(run_result, tmp_path)
    shown = re.findall(r"\]\(benchmarks/([a-z-]+\.png)\)", render(run_result, "benchmarks"))
    assert len(shown) == 5
    assert all((tmp_path / name).stat().st_size > 1000 for name in shown)


def test_longest_gap_finds_where_answers_paused() -> None:
    gap = longest_gap([0.0, 0.1, 0.2, 5.2, 5.3])
    assert gap is not None and round(gap.seconds, 3) == 5.0 and gap.at == 0.2


def test_percentile_is_nearest_rank() -> None:
    assert percentile([float(v) for v in range(1, 101)], 0.99) == 99.0
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN


def test_address_of_never_carries_credentials() -> None:
    assert address_of("mongodb://user:secret@db1:27017,db2:27017/?replicaSet=rs0") == (
        "db1:27017,db2:27017"
    )


def test_failed_checks_and_tracing_cost_are_reported_side_by_side(
    run_result: RunResult,
) -> None:
    lines = render(run_result, "benchmarks").splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.startswith(f"| {label}"))

    assert row("an unknown identifier").endswith("| 29.8 |")
    assert row("a wrong password, hash of the old parameters (m=19456,t=2), padded").endswith(
        "| **30.1** |"
    )
    assert row("the same without the padding").endswith("| 21.3 |")
    # The paired rounds' median, not the ratio of each side's median (1.068 here).
    assert row("on |") == "| on | 38.76 | **1.019** | 1.086, 1.013, 1.019 |"


def test_every_paired_rounds_ratio_is_shown_per_size(run_result: RunResult) -> None:
    text = render(run_result, "benchmarks")
    assert (
        "(ratios of every round: logins 1.20, 1.03, 0.90 / 1.20, 1.12, 0.90; "
        "registrations 1.10, 1.00 / 1.10, 1.00; `/v1/accounts/me` 1.20, 1.10 / 1.20, 1.10; "
        "`/v1/vouchers` 1.50, 1.40 / 1.50, 1.40)"
    ) in text


def test_the_template_is_filled_entirely(run_result: RunResult) -> None:
    text = render(run_result, "benchmarks")
    assert "$" not in text
    for heading in ("## 1. Launch burst", "## 6. A failed password check", "## 7. What tracing"):
        assert heading in text


def test_each_goal_rows_median_interval_is_given_or_why_not(run_result: RunResult) -> None:
    run_result.sizes[0].round_ratios["login"] = [1.12, 1.04, 1.20, 1.08, 1.15]
    text = render(run_result, "benchmarks")
    assert (
        "successful non-first login 1.040 to 1.200 (94%) / none (3 rounds); registration none "
        "(2 rounds) / none (2 rounds)"
    ) in text
    # An interval at one size only: the other size's median decides, as before.
    assert "**not met**" in _summary_line(text, "successful non-first login")


def test_a_saved_run_renders_the_same_report_and_keeps_no_session(
    run_result: RunResult, tmp_path: Path
) -> None:
    first = run_result.sizes[0]
    opened = replace(first.first_logins, tokens=["header.session-of-a-first-login.signature"])
    run_result.sizes[0] = replace(first, first_logins=opened)
    path = tmp_path / "benchmarks.json"
    save(run_result, path)
    assert "session-of-a-first-login" not in path.read_text()
    again = load_result(path)
    assert render(again, "benchmarks") == render(run_result, "benchmarks")
    assert again.burst is not None and again.burst.statuses == {200: 1000}


def test_render_writes_the_report_next_to_a_saved_run_and_refuses_run_options(
    run_result: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "quick" / "benchmarks.json"
    save(run_result, saved)  # its folder did not exist
    monkeypatch.setattr(sys, "argv", ["benchmarks", "--render", str(saved), "--quick"])
    with pytest.raises(SystemExit):
        main()
    assert not saved.with_suffix(".md").exists()
    monkeypatch.setattr(sys, "argv", ["benchmarks", "--render", str(saved)])
    main()
    assert saved.with_suffix(".md").read_text() == render(run_result, "benchmarks")
    assert len(list((tmp_path / "quick" / "benchmarks").glob("*.png"))) == 5
