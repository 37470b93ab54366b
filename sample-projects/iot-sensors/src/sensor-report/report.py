"""Statistics over sensor readings: the logic of the `sensor-report` component.

Pure Python with no airssys imports, so it runs (and is unit-tested) natively:

    python3 -m unittest discover -s sample-projects/iot-sensors/src/sensor-report

Input: NDJSON readings as `sensor-csv` writes them, one object per line,
`{"sensor":"t1","ts":1700000000,"value":21.5}`. Blank lines are skipped.

Output: one JSON object, keys in this order, sensors sorted by id:

    {"readings":4,"sensors":{"t1":{"count":4,"min":20.0,"max":90.0,
     "mean":37.5,"median":20.0,"stdev":35.0,"outliers":[1700000180]}}}

- `mean`, `median` and `stdev` are rounded to `decimals` places (config,
  default 2); `stdev` is the sample standard deviation, `null` for one reading.
- `outliers` lists the timestamps of the readings whose modified z-score
  (Iglewicz and Hoaglin: 0.6745 * (x - median) / MAD, MAD being the median
  absolute deviation) is above `outlier_z` (config, default 3.5). When the MAD
  is 0 (more than half of the readings are equal), the mean absolute deviation
  times 1.253314 stands in for MAD / 0.6745; when that is 0 too, every reading
  is equal and none is an outlier. The score is robust: one spike does not
  hide itself by inflating the spread, as it would with a plain z-score.
"""

import json
import math
import statistics

DEFAULT_DECIMALS = 2
DEFAULT_OUTLIER_Z = 3.5
MAX_DECIMALS = 6


class ReportError(Exception):
    """A failure with its contract error kind: `invalid-input` or `invalid-config`."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class Settings:
    """The component's configuration, checked once at `init`."""

    def __init__(self, decimals: int = DEFAULT_DECIMALS, outlier_z: float = DEFAULT_OUTLIER_Z):
        self.decimals = decimals
        self.outlier_z = outlier_z

    @classmethod
    def from_config(cls, config) -> "Settings":
        """Reads `decimals` (an integer 0..=6) and `outlier_z` (a finite number > 0).

        Unknown keys are ignored. A bad value raises `ReportError("invalid-config", ...)`
        naming the key, the value and what is allowed.
        """
        settings = cls()
        for key, value in config:
            if key == "decimals":
                if not value.strip().isdigit() or int(value) > MAX_DECIMALS:
                    raise ReportError(
                        "invalid-config",
                        f"decimals must be a whole number from 0 to {MAX_DECIMALS}, got {value!r}",
                    )
                settings.decimals = int(value)
            elif key == "outlier_z":
                try:
                    z = float(value)
                except ValueError:
                    z = math.nan
                if not math.isfinite(z) or z <= 0:
                    raise ReportError(
                        "invalid-config",
                        f"outlier_z must be a finite number above 0, got {value!r}",
                    )
                settings.outlier_z = z
        return settings


def parse_readings(text: str):
    """Parses NDJSON readings into `(sensor, ts, value)` tuples, in input order.

    Raises `ReportError("invalid-input", ...)` naming the (1-based) line of the
    first malformed reading, or when there is no reading at all.
    """
    readings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise ReportError("invalid-input", f"line {number}: not JSON: {err.msg} (column {err.colno})")
        if not isinstance(item, dict):
            raise ReportError("invalid-input", f"line {number}: a reading must be a JSON object")
        sensor, ts, value = item.get("sensor"), item.get("ts"), item.get("value")
        if not isinstance(sensor, str) or not sensor:
            raise ReportError("invalid-input", f"line {number}: `sensor` must be a non-empty string")
        if not isinstance(ts, int) or isinstance(ts, bool):
            raise ReportError("invalid-input", f"line {number}: `ts` must be an integer")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ReportError("invalid-input", f"line {number}: `value` must be a finite number")
        readings.append((sensor, ts, float(value)))
    if not readings:
        raise ReportError("invalid-input", "no readings: the input has no NDJSON lines")
    return readings


def outliers(values, outlier_z: float):
    """Indexes of the values whose modified z-score is above `outlier_z`."""
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        scale = mad / 0.6745
    else:
        scale = 1.253314 * statistics.fmean(deviations)
    if scale == 0:
        return []
    return [i for i, d in enumerate(deviations) if d / scale > outlier_z]


def summarize(readings, settings: Settings) -> dict:
    """The report for parsed readings (see the module docstring for its shape)."""
    by_sensor = {}
    for sensor, ts, value in readings:
        by_sensor.setdefault(sensor, []).append((ts, value))
    places = settings.decimals
    sensors = {}
    for sensor in sorted(by_sensor):
        points = by_sensor[sensor]
        values = [v for _, v in points]
        sensors[sensor] = {
            "count": len(values),
            "min": min(values),
            "max": max(values),
            "mean": round(statistics.fmean(values), places),
            "median": round(statistics.median(values), places),
            "stdev": round(statistics.stdev(values), places) if len(values) > 1 else None,
            "outliers": [points[i][0] for i in outliers(values, settings.outlier_z)],
        }
    return {"readings": len(readings), "sensors": sensors}


def report(data: bytes, settings: Settings) -> tuple:
    """Bytes in, `(json_text, outlier_count)` out; raises `ReportError` on bad input."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ReportError("invalid-input", f"the input is not UTF-8 (byte {err.start})")
    summary = summarize(parse_readings(text), settings)
    count = sum(len(s["outliers"]) for s in summary["sensors"].values())
    return json.dumps(summary, separators=(",", ":"), allow_nan=False), count
