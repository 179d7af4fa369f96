"""Regenerate `ag_ui_pb2.py` (and its `.pyi` stub) from `ag_ui.proto` with protoc.

Run `python -m agui_conformance.protobuf.generate` after changing the .proto.
Needs grpcio-tools (a development tool, not a dependency: it bundles protoc and
the well-known `google/protobuf/*.proto` files). The runtime floor in
pyproject.toml (`protobuf>=`) must be at least the version the generated module
checks for (`ValidateProtobufRuntimeVersion`).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = "ag_ui.proto"


def protoc(*args: str) -> int:
    """Run grpcio-tools' protoc over `ag_ui.proto` with extra `args`; its exit code."""
    from importlib.resources import files

    from grpc_tools import protoc as tool  # type: ignore[import-untyped]

    well_known = str(files("grpc_tools") / "_proto")
    return int(tool.main(["protoc", f"-I{HERE}", f"-I{well_known}", *args, str(HERE / PROTO)]))


def main() -> int:
    return protoc(f"--python_out={HERE}", f"--pyi_out={HERE}")


if __name__ == "__main__":
    sys.exit(main())
