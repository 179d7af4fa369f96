"""Regenerate `ag_ui_pb2.py` (and its `.pyi` stub) from `ag_ui.proto` with protoc.

Run `python -m agui_conformance.protobuf.generate` after changing the .proto.
Needs grpcio-tools (a development tool, not a dependency: it bundles protoc). The runtime floor in
pyproject.toml (`protobuf>=`) must be at least the version the generated module
checks for (`ValidateProtobufRuntimeVersion`): the committed module was made with
grpcio-tools 1.71.0 (protoc 29.0, gencode 5.29.0) so that protobuf 5.29 and later
load it; a newer protoc writes a module that demands its own runtime or newer.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = "ag_ui.proto"


def protoc(*args: str) -> int:
    """Run grpcio-tools' protoc over `ag_ui.proto` with extra `args`; its exit code."""
    from grpc_tools import protoc as tool  # type: ignore[import-untyped]

    return int(tool.main(["protoc", f"-I{HERE}", *args, str(HERE / PROTO)]))


def main() -> int:
    return protoc(f"--python_out={HERE}", f"--pyi_out={HERE}")


if __name__ == "__main__":
    sys.exit(main())
