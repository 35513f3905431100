from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from stadswacht.errors import StadswachtError
from stadswacht.forecast.crowd_table import CountsError, CountTable, read_melbourne_counts
from tests.forecast.conftest import FIXTURE

HEADER = "Date,Day_of_week,Hour,SensorID,SensorName,PedestrianCount\n"


def write(tmp_path: Path, text: str, name: str = "counts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_the_real_slice_into_an_hourly_matrix() -> None:
    table = read_melbourne_counts(FIXTURE)
    assert table.sensors == ("4", "13")
    assert table.step_minutes == 60.0
    assert table.times[0] == np.datetime64("2013-10-07T00:00")
    assert table.times[-1] == np.datetime64("2014-01-19T23:00")
    assert table.counts.shape == (15 * 168, 2)
    assert table.metadata["rows"] == 5040
    assert table.metadata["sensor_names"]["13"] == "Flagstaff Station"
    # First row of the slice: 07-Oct-2013, hour 0, Town Hall (West).
    first = FIXTURE.read_text().splitlines()[1].split(",")
    assert first[3] == "4"
    assert table.counts[0, 0] == float(first[5])


def test_reads_a_zip_like_the_published_one(tmp_path: Path) -> None:
    archive = tmp_path / "counts.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURE, "pedestriancounts_melbourne.csv")
    from_zip = read_melbourne_counts(archive)
    from_csv = read_melbourne_counts(FIXTURE)
    np.testing.assert_array_equal(from_zip.counts, from_csv.counts)
    assert from_zip.sensors == from_csv.sensors


def test_missing_hours_and_nan_counts_are_nan_and_rows_without_sensor_are_skipped(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "Date,Hour,SensorID,PedestrianCount\n"
        "2012-01-01,0,1,10\n"
        "2012-01-01,0,2,NaN\n"
        "2012-01-01,3,1,7\n"
        "2012-01-01,1,NaN,5\n",
    )
    table = read_melbourne_counts(path)
    assert table.sensors == ("1", "2")
    assert table.counts.shape == (4, 2)
    assert table.counts[:, 0].tolist()[0] == 10.0
    assert np.isnan(table.counts[1:3, 0]).all()
    assert np.isnan(table.counts[:, 1]).all()
    assert table.metadata["skipped_rows"] == 1


@pytest.mark.parametrize(
    ("row", "line", "field"),
    [
        ("32-Foo-2012,Sunday,0,4,X,1", 3, "Date"),
        ("01-Jan-2012,Sunday,24,4,X,1", 3, "Hour"),
        ("01-Jan-2012,Sunday,x,4,X,1", 3, "Hour"),
        ("01-Jan-2012,Sunday,1,4,X,-3", 3, "PedestrianCount"),
        ("01-Jan-2012,Sunday,1,4,X,many", 3, "PedestrianCount"),
        ("01-Jan-2012,Sunday", 3, "fields"),
    ],
)
def test_malformed_rows_name_file_line_and_field(
    tmp_path: Path, row: str, line: int, field: str
) -> None:
    path = write(tmp_path, HEADER + "01-Jan-2012,Sunday,0,4,X,5\n" + row + "\n")
    with pytest.raises(CountsError, match=rf"counts\.csv, line {line}: .*{field}"):
        read_melbourne_counts(path)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(CountsError, match="no such counts file"):
        read_melbourne_counts(tmp_path / "absent.csv")
    with pytest.raises(CountsError, match="line 1: the header lacks Hour"):
        read_melbourne_counts(write(tmp_path, "Date,SensorID,PedestrianCount\n"))
    with pytest.raises(CountsError, match="empty"):
        read_melbourne_counts(write(tmp_path, ""))
    with pytest.raises(CountsError, match="no counts"):
        read_melbourne_counts(write(tmp_path, HEADER))
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.csv", HEADER)
        z.writestr("b.csv", HEADER)
    with pytest.raises(CountsError, match=r"exactly one \.csv"):
        read_melbourne_counts(archive)


def test_counts_error_is_a_stadswacht_value_error() -> None:
    assert issubclass(CountsError, StadswachtError)
    assert issubclass(CountsError, ValueError)


def test_table_refuses_irregular_times() -> None:
    times = np.array(["2024-01-01T00", "2024-01-01T01", "2024-01-01T03"], dtype="datetime64[s]")
    with pytest.raises(CountsError, match="one constant step"):
        CountTable.from_arrays(times, ["a"], [[1.0], [2.0], [3.0]])
