"""The `sensor-report` component: the airssys contract around `report.py`.

Built with componentize-py against wit/component.wit (world `plugin`), WASI
stubbed out: see sample-projects/build-python.sh.
"""

from typing import List, Tuple

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
    Value_S64,
    Value_Text,
)

import report

KINDS = {
    "invalid-input": ErrorKind.INVALID_INPUT,
    "invalid-config": ErrorKind.INVALID_CONFIG,
}


def _err(kind: ErrorKind, message: str) -> Err:
    return Err(Error(kind=kind, message=message, retryable=False))


class Guest(exports.Guest):
    settings = None

    def init(self, config: List[Tuple[str, str]]) -> None:
        try:
            Guest.settings = report.Settings.from_config(config)
        except report.ReportError as err:
            raise _err(KINDS[err.kind], err.message)

    def execute(self, input: Input) -> Output:
        if Guest.settings is None:
            raise _err(ErrorKind.NOT_INITIALIZED, "execute was called before init")
        try:
            text, outlier_count = report.report(input.data, Guest.settings)
        except report.ReportError as err:
            raise _err(KINDS[err.kind], err.message)
        host.log(
            host.LogLevel.DEBUG,
            f"sensor-report: {outlier_count} outlier(s)",
            [("request_id", input.context.request_id)],
        )
        host.emit_metric("sensor_report_outliers", float(outlier_count), [])
        port = "outliers" if outlier_count else "ok"
        return Output(
            data=text.encode("utf-8"),
            metadata=[
                ("content-type", Value_Text("application/json")),
                ("port", Value_Text(port)),
                ("outliers", Value_S64(outlier_count)),
            ],
        )

    def shutdown(self) -> None:
        Guest.settings = None

    def metadata(self) -> ComponentMetadata:
        return ComponentMetadata(
            name="sensor-report",
            version="1.0.0",
            description="Per-sensor statistics and robust outliers of NDJSON readings (Python)",
            accepts=["application/x-ndjson"],
            produces=["application/json"],
            stateful=False,
        )

    def required_capabilities(self) -> List[Capability]:
        return []

    def health(self) -> HealthStatus:
        return HealthStatus_Healthy()
