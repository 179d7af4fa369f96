"""The pytest plugin as users meet it: a pytester run with the plugin auto-loaded."""

from __future__ import annotations

import pytest

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
                                  headers={"Content-Type": "application/json"}, timeout=10)
            assert validate_recording(response.content, request=body).findings == []

        def test_assert_conformant_raises_with_rule_and_fix():
            events = [{"type": "TEXT_MESSAGE_START", "messageId": "m"}]
            with pytest.raises(ConformanceError) as info:
                assert_conformant(events)
            assert "lifecycle-first-event" in str(info.value)
            assert "fix:" in str(info.value)

        def test_agui_validate_fixture(agui_validate):
            ok = [{"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.1"},
                  {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}]
            assert agui_validate(ok).findings == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
