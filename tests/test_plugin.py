"""The pytest plugin as users meet it: a pytester run with the plugin auto-loaded."""

from __future__ import annotations

import json

import pytest

from reference_agent.app import AgentConfig
from reference_agent.server import running_agent

pytest_plugins = ["pytester"]


def test_assert_conformant_and_reference_agent_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx, orjson, pytest
        from agui_conformance.plugin import ConformanceError, assert_conformant
        from agui_conformance.validator import validate_recording

        def test_reference_agent_is_conformant(reference_agent):
            body = {"threadId": "t", "runId": "r", "messages": [
                {"id": "u", "role": "user", "content": "hello"}]}
            response = httpx.post(reference_agent.url, content=orjson.dumps(body),
                                  headers={"Content-Type": "application/json",
                                           "Accept": "text/event-stream"}, timeout=10)
            assert validate_recording(response.content, request=body).findings == []

        def test_assert_conformant_raises_with_rule_and_fix():
            events = [{"type": "TEXT_MESSAGE_START", "messageId": "m"}]
            with pytest.raises(ConformanceError) as info:
                assert_conformant(events)
            assert "lifecycle-first-event" in str(info.value)
            assert "fix:" in str(info.value)

        def test_assert_conformant_threshold_by_level_or_value():
            from agui_conformance import Level
            ok = [{"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
                  {"type": "CUSTOM", "name": "", "value": 1},  # unprefixed name: a warning
                  {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}]
            assert_conformant(ok)
            for threshold in ("warning", Level.WARNING):
                with pytest.raises(ConformanceError) as info:
                    assert_conformant(ok, fail_on=threshold)
                assert "custom-name-unprefixed" in str(info.value)

        def test_agui_validate_fixture(agui_validate):
            ok = [{"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
                  {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}]
            assert agui_validate(ok).findings == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


HEAVY = ("pydantic", "httpx", "hypothesis", "jsonschema", "jsonschema_rs", "yaml", "asyncio")


def test_loading_the_plugin_stays_cheap() -> None:
    """pytest loads the plugin in every run where agui-conformance is installed: it must
    not pull in the validator, the models or the HTTP client until a test uses them."""
    import subprocess
    import sys

    code = (
        "import sys; import agui_conformance.plugin; "
        "print(sorted({m.split('.')[0] for m in sys.modules} | "
        "{m for m in sys.modules if m.startswith('agui_conformance')}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.replace("'", '"')))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    ours = {m for m in loaded if m.startswith("agui_conformance")}
    assert ours == {"agui_conformance", "agui_conformance.plugin", "agui_conformance.vocabulary"}


def test_the_package_exports_load_on_first_use() -> None:
    import agui_conformance

    assert set(agui_conformance.__all__) <= set(dir(agui_conformance))
    for name in agui_conformance.__all__:
        assert getattr(agui_conformance, name) is not None
    from agui_conformance import validate_events
    from agui_conformance.validator import validate_events as direct

    assert validate_events is direct
    with pytest.raises(AttributeError):
        agui_conformance.no_such_name  # noqa: B018


def test_agent_url_collects_one_item_per_case_and_names_the_broken_rule(
    pytester: pytest.Pytester,
) -> None:
    from agui_conformance.cases import load_cases
    from reference_agent.app import AgentConfig
    from reference_agent.server import running_agent

    with running_agent(AgentConfig(fault="wrong-thread-id")) as agent:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", agent.url, "-rs"
        )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 10
    assert outcomes.get("skipped", 0) >= 2  # auth probes: not applicable, never passed
    assert sum(outcomes.values()) - outcomes.get("seconds", 0) >= len(load_cases())
    result.stdout.fnmatch_lines(["*identity-thread-id-echo*", "*fix: *"])
    result.stdout.fnmatch_lines(["*not applicable*"])
    # the per-requirement item names the requirement and fails on its own rule
    assert "agui-conformance::minimal-input[LIFE-002]" in result.stdout.str()


def test_reference_agent_passes_through_the_plugin_with_markers(pytester: pytest.Pytester) -> None:
    from agui_conformance.cases import load_cases

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--agui-reference", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0
    assert outcomes["passed"] >= len(load_cases()) - 2
    # one item per case and per requirement; requirements no rule decides are skipped, not passed
    result.stdout.fnmatch_lines(["*not checkable: no rule decides*"])
    result.stdout.fnmatch_lines(["*not applicable*"])
    selected = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--agui-reference", "-m", "tool_calls", "--agui-examples", "0"
    )
    outcomes = selected.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and outcomes.get("deselected", 0) >= 10


def test_works_under_pytest_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    # the generated inputs are compared across faces in test_plugin_parity.py
    base = ("-p", "no:cacheprovider", "--agui-reference", "--agui-examples", "0")
    serial = pytester.runpytest_subprocess(*base)
    result = pytester.runpytest_subprocess(*base, "-n", "2")
    assert result.parseoutcomes()["passed"] == serial.parseoutcomes()["passed"]
    assert result.parseoutcomes().get("failed", 0) == 0


def test_pytest_html_extras_and_our_report_under_xdist(pytester: pytest.Pytester) -> None:
    """`pytest --html` shows each case's transcript and findings as an extra; `--agui-html`
    writes our own report from the results the xdist workers carried back."""
    from bs4 import BeautifulSoup

    with running_agent(AgentConfig(fault="wrong-run-id")) as agent:
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--agent-url",
            agent.url,
            "-n",
            "2",
            "-k",
            "minimal",
            "--html",
            "ph.html",
            "--self-contained-html",
            "--agui-html",
            "agui.html",
            "--agui-json",
            "agui.json",
        )
    result.assert_outcomes(failed=2, passed=6)  # the case and its run-id requirement fail
    extras = (pytester.path / "ph.html").read_text()
    assert "agui-case" in extras and "identity-run-id-echo" in extras
    soup = BeautifulSoup((pytester.path / "agui.html").read_text(), "html.parser")
    row = soup.select_one('#matrix tr[data-rule="identity-run-id-echo"]')
    assert row is not None and row["data-status"] == "failed"
    assert [d["id"] for d in soup.select("details.case")] == ["case-minimal-input"]
    data = json.loads((pytester.path / "agui.json").read_text())
    assert data["summary"]["passed"] is False


def test_the_agents_own_errors_fail_items_and_say_so(pytester: pytest.Pytester) -> None:
    """The pytest face agrees with `run`: RUN_ERROR on a valid input fails the case's
    items as the agent's own error, quoted, apart from protocol violations."""
    from tests.hostile_agents import agent, raw_error_without_tools, serve_app

    with serve_app(agent(raw_error_without_tools)) as url:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--agent-url", url, "-k", "minimal-input"
        )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["*agent error (not a protocol violation)*"])
    result.stdout.fnmatch_lines(["*has no len()*"])
