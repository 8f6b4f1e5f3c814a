"""key=value replies, recordFinder listings and config tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porteiro.exceptions import MalformedInputError
from porteiro.wire.kv import (
    OK_BODY,
    format_kv,
    format_records,
    format_table,
    is_ok,
    parse_kv,
    parse_records,
    parse_table,
)

OFFICIAL_RECORDS = (
    "found=2\r\n"
    "records[0].RecNo=100\r\nrecords[0].CreateTime=1629721071\r\nrecords[0].CardNo=12EA3004\r\n"
    "records[0].CardName=NAME\r\nrecords[0].UserID=1021\r\nrecords[0].Status=1\r\n"
    "records[0].Type=Entry\r\nrecords[0].Method=15\r\nrecords[0].Door=0\r\n"
    "records[0].ReaderID=1\r\nrecords[0].ErrorCode=0\r\n"
    "records[1].RecNo=101\r\nrecords[1].CardNo=A=B\r\n"
)


@pytest.mark.parametrize("body", [b"OK", b"OK\r\n", b"  OK \n", "OK"])
def test_ok(body: bytes | str) -> None:
    assert is_ok(body)
    assert parse_kv(body) == {}


def test_not_ok() -> None:
    assert not is_ok(b"Error\r\nBad Request!\r\n")
    assert OK_BODY == b"OK\r\n"


def test_info_lines_lf_and_values_with_equals() -> None:
    assert parse_kv(b"Info.status=Close\n") == {"Info.status": "Close"}
    assert parse_kv(b"result=2024-01-02 10:00:00\r\n") == {"result": "2024-01-02 10:00:00"}
    assert parse_kv(b"\xef\xbb\xbfsn=ABC=1\r\n\r\nversion=3.0\r\n") == {
        "sn": "ABC=1", "version": "3.0"}


def test_line_without_equals_is_a_clear_error() -> None:
    with pytest.raises(MalformedInputError, match="line 2 is not key=value"):
        parse_kv(b"a=1\r\nError\r\n")


def test_official_record_listing() -> None:
    page = parse_records(OFFICIAL_RECORDS)
    assert page.found == 2
    assert page.total_count is None
    assert page.records[0]["Method"] == "15"
    assert page.records[0]["CardNo"] == "12EA3004"
    assert page.records[1] == {"RecNo": "101", "CardNo": "A=B"}


def test_records_out_of_order_with_gaps_and_total_count() -> None:
    body = ("found=2\ntotalCount=900\nrecords[5].RecNo=6\nrecords[2].RecNo=3\n"
            "records[2].ImageInfo.Path=/a.jpg\n")
    page = parse_records(body)
    assert page.total_count == 900
    assert page.records == ({"RecNo": "3", "ImageInfo.Path": "/a.jpg"}, {"RecNo": "6"})


def test_empty_listing_and_garbage() -> None:
    assert parse_records(b"found=0\r\n").records == ()
    with pytest.raises(MalformedInputError):
        parse_records(b"found=lots\r\n")
    with pytest.raises(MalformedInputError):
        parse_records(b"hello=1\r\n")


def test_config_table_nested() -> None:
    body = ("table.AccessControl[0].Name=Door1\r\ntable.AccessControl[0].State=Normal\r\n"
            "table.AccessControl[1].Name=Door2\r\ntable.NTP.Address=pool.ntp.org\r\n"
            "table.NTP.Enable=true\r\n"
            "table.PictureHttpUpload.UploadServerList[0].Address=192.168.1.200\r\n")
    table = parse_table(body)
    assert table["AccessControl"] == [{"Name": "Door1", "State": "Normal"}, {"Name": "Door2"}]
    assert table["NTP"] == {"Address": "pool.ntp.org", "Enable": "true"}
    assert table["PictureHttpUpload"]["UploadServerList"][0]["Address"] == "192.168.1.200"


def test_table_without_prefix_sparse_and_conflicting_shapes() -> None:
    table = parse_table("A[2].B=x\nC=1\nC.D=2\n")
    assert table["A"] == [None, None, {"B": "x"}]
    assert table["C"] == {"": "1", "D": "2"}


def test_table_refuses_absurd_index() -> None:
    with pytest.raises(MalformedInputError, match="too large"):
        parse_table("A[999999999].B=1")


def test_serializers() -> None:
    assert format_kv({"Info.status": "Close", "Enable": True}) == (
        b"Info.status=Close\r\nEnable=true\r\n")
    assert format_records([{"RecNo": 1, "Status": 1}], total_count=5) == (
        b"found=1\r\ntotalCount=5\r\nrecords[0].RecNo=1\r\nrecords[0].Status=1\r\n")
    assert format_table("NTP", {"Enable": False, "Port": 123}) == (
        b"table.NTP.Enable=false\r\ntable.NTP.Port=123\r\n")


_keys = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1,
                max_size=8)
_values = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp", "Cs")),
                  max_size=20).map(str.strip)


@given(st.dictionaries(_keys, _values, max_size=8))
def test_kv_round_trip(pairs: dict[str, str]) -> None:
    assert parse_kv(format_kv(pairs)) == pairs


@given(st.lists(st.dictionaries(_keys, _values, min_size=1, max_size=5), max_size=6))
def test_records_round_trip(records: list[dict[str, str]]) -> None:
    page = parse_records(format_records(records))
    assert page.found == len(records)
    assert list(page.records) == records


_tables = st.recursive(
    _values,
    lambda inner: st.dictionaries(_keys, inner, min_size=1, max_size=3)
    | st.lists(st.dictionaries(_keys, inner, min_size=1, max_size=3), min_size=1, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(_keys, _tables, min_size=1, max_size=4))
def test_table_round_trip(value: dict[str, object]) -> None:
    assert parse_table(format_table("Root", value)) == {"Root": value}
