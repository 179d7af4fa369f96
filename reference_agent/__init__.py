"""The agui-conformance reference agent: a complete, deterministic AG-UI 1.1
server (FastAPI on uvicorn) with fault modes that each break exactly one rule.

    from reference_agent.server import running_agent
    with running_agent() as agent:
        ...  # POST RunAgentInput to agent.url
"""

from reference_agent.app import AgentConfig, create_app
from reference_agent.faults import FAULTS

__all__ = ["FAULTS", "AgentConfig", "create_app"]
