"""Unit tests of report.py, run natively:

    python3 -m unittest discover -s sample-projects/iot-sensors/src/sensor-report
"""

import json
import unittest

import report

T1 = [
    '{"sensor":"t1","ts":1700000000,"value":20}',
    '{"sensor":"t1","ts":1700000060,"value":20.5}',
    '{"sensor":"t1","ts":1700000120,"value":19.5}',
    '{"sensor":"t1","ts":1700000180,"value":90}',
]


def run(lines, config=()):
    text, count = report.report("\n".join(lines).encode(), report.Settings.from_config(config))
    return json.loads(text), count


class ReportTest(unittest.TestCase):
    def test_statistics_per_sensor_and_a_robust_outlier(self):
        summary, count = run(T1 + ['{"sensor":"t0","ts":1,"value":5}'])
        self.assertEqual(list(summary["sensors"]), ["t0", "t1"])
        self.assertEqual(
            summary["sensors"]["t1"],
            {"count": 4, "min": 19.5, "max": 90.0, "mean": 37.5, "median": 20.25, "stdev": 35.0,
             "outliers": [1700000180]},
        )
        self.assertEqual(summary["sensors"]["t0"]["stdev"], None)
        self.assertEqual((summary["readings"], count), (5, 1))

    def test_equal_readings_have_no_outliers_and_mad_zero_falls_back(self):
        summary, _ = run(['{"sensor":"a","ts":%d,"value":7}' % i for i in range(3)])
        self.assertEqual(summary["sensors"]["a"]["outliers"], [])
        lines = ['{"sensor":"a","ts":%d,"value":7}' % i for i in range(5)] + ['{"sensor":"a","ts":9,"value":70}']
        summary, _ = run(lines)
        self.assertEqual(summary["sensors"]["a"]["outliers"], [9])

    def test_config_changes_rounding_and_outlier_threshold(self):
        summary, count = run(T1, [("decimals", "0"), ("outlier_z", "1000")])
        self.assertEqual((summary["sensors"]["t1"]["median"], count), (20.0, 0))
        with self.assertRaises(report.ReportError) as caught:
            report.Settings.from_config([("decimals", "seven")])
        self.assertEqual(caught.exception.kind, "invalid-config")
        self.assertIn("decimals", caught.exception.message)
        with self.assertRaises(report.ReportError):
            report.Settings.from_config([("outlier_z", "-1")])

    def test_bad_input_names_the_line(self):
        for lines, wanted in [
            (['{"sensor":"t1","ts":1,"value":2}', "oops"], "line 2: not JSON"),
            (['{"sensor":"t1","ts":"x","value":2}'], "line 1: `ts`"),
            (['{"sensor":"t1","ts":1,"value":true}'], "line 1: `value`"),
            (["", "  "], "no readings"),
        ]:
            with self.assertRaises(report.ReportError) as caught:
                run(lines)
            self.assertEqual(caught.exception.kind, "invalid-input")
            self.assertIn(wanted, caught.exception.message)
        with self.assertRaises(report.ReportError) as caught:
            report.report(b"\xff", report.Settings())
        self.assertIn("not UTF-8", caught.exception.message)


if __name__ == "__main__":
    unittest.main()
