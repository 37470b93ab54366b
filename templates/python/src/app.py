"""`{{name}}`: an airssys component in Python.

It implements the contract in wit/component.wit (package
airssys:component@0.1.0, world `plugin`: it exports `guest` and may import
`host`), built with componentize-py, every WASI import stubbed out (see
build.sh): the code gets data only through `execute` and logs through
`host.log`.

What it does: it upper-cases the ASCII letters a-z of its input and keeps
every other byte as it is ("hello, wörld" becomes "HELLO, WöRLD"), with the
optional config `prefix` put in front. Any other config key is an
`invalid-config` error at `init`. The templates of `airssys new` in Rust, C
and JavaScript behave exactly the same.
"""

from typing import List, Optional, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import (
    Capability,
    ComponentMetadata,
    Error,
    ErrorKind,
    HealthStatus,
    HealthStatus_Healthy,
    Input,
    Output,
    Value_Text,
)


def _err(kind: ErrorKind, message: str) -> Err:
    return Err(Error(kind=kind, message=message, retryable=False))


class Guest(exports.Guest):
    # The `prefix` config: set by init, None before it and after shutdown.
    prefix: Optional[bytes] = None

    def init(self, config: List[Tuple[str, str]]) -> None:
        prefix = b""
        for key, value in config:
            if key != "prefix":
                raise _err(ErrorKind.INVALID_CONFIG, f"unknown config key `{key}`: the only key is `prefix`")
            prefix = value.encode("utf-8")
        Guest.prefix = prefix

    def execute(self, input: Input) -> Output:
        if Guest.prefix is None:
            raise _err(ErrorKind.NOT_INITIALIZED, "execute was called before init")
        # bytes.upper() changes only the ASCII letters a-z.
        data = Guest.prefix + bytes(input.data).upper()
        host.log(host.LogLevel.DEBUG, "upper-cased the input", [("bytes", str(len(input.data)))])
        return Output(data=data, metadata=[("content-type", Value_Text("text/plain"))])

    def shutdown(self) -> None:
        Guest.prefix = None

    def metadata(self) -> ComponentMetadata:
        return ComponentMetadata(
            name="{{name}}",
            version="0.1.0",
            description="Upper-cases the ASCII letters of its input",
            accepts=["text/plain"],
            produces=["text/plain"],
            stateful=False,
        )

    def required_capabilities(self) -> List[Capability]:
        return []

    def health(self) -> HealthStatus:
        return HealthStatus_Healthy()
