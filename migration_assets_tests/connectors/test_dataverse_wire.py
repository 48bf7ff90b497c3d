"""Pure tests of the Dataverse connector's wire helpers: $batch bodies, OData literals, file names."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from migration_assets.connectors.dataverse.batch import BatchRequest, PartResponse, build_batch, error_text, parse_batch
from migration_assets.connectors.dataverse.documents import safe_folder, safe_name
from migration_assets.connectors.dataverse.metadata import MetadataCache
from migration_assets.connectors.dataverse.odata import in_filter, key_problem, key_segment, literal
from migration_assets.errors import ConnectorError, RemoteRejected


def test_batch_body_uses_crlf_only_and_one_changeset_per_group():
    groups = [
        [BatchRequest("PATCH", "/api/data/v9.2/accounts(accountnumber='A')", {"name": "A"})],
        [
            BatchRequest("PATCH", "/x(1)", {"a": 1}),
            BatchRequest("PATCH", "/x(1)", {"b": 2}, {"If-Match": "*"}),
        ],
    ]
    content_type, body = build_batch(groups)
    text = body.decode()
    assert content_type.startswith('multipart/mixed; boundary="batch_')
    assert "\n" not in text.replace("\r\n", "")
    assert text.count('Content-Type: multipart/mixed; boundary="changeset_') == 2
    assert "Content-ID: 3" in text and "If-Match: *" in text
    assert text.endswith("--\r\n")


def test_batch_response_parses_changesets_and_failed_changeset_in_order():
    body = (
        "--batchresponse_1\r\n"
        "Content-Type: multipart/mixed; boundary=changesetresponse_a\r\n\r\n"
        "--changesetresponse_a\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "Content-ID: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        "OData-EntityId: http://h/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)\r\n\r\n"
        '{"accountid":"00000000-0000-0000-0000-000000000001"}\r\n'
        "--changesetresponse_a\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n"
        "--changesetresponse_a--\r\n"
        "--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n"
        '{"error":{"code":"0x80044331","message":"too long"}}\r\n'
        "--batchresponse_1--\r\n"
    )
    groups = parse_batch("multipart/mixed; boundary=batchresponse_1", body.encode())
    assert [[r.status for r in g] for g in groups] == [[201, 204], [400]]
    assert groups[0][0].body["accountid"].endswith("1")
    assert "odata-entityid" in groups[0][0].headers
    assert groups[1][0].error_text() == "0x80044331 too long"


def test_error_text_renders_code_and_message_or_status():
    assert error_text(404, {"error": {"code": "0x80040217", "message": "gone"}}) == "0x80040217 gone"
    assert error_text(500, "boom") == "HTTP 500 boom"


def test_literal_doubles_single_quotes_and_renders_scalars():
    assert literal("O'Brien") == "'O''Brien'"
    assert literal(None) == "null"
    assert literal(True) == "true"
    assert literal(5) == "5"


def test_key_segment_quotes_and_percent_encodes_spaces():
    assert key_segment("cs_externalid", "O'B 1") == "(cs_externalid='O''B%201')"


@pytest.mark.parametrize("value", ["A-1", "cs.0001_x~", "Zoë", "a b", "100%", "x#y", "é'(1)", "tab\there", ""])
def test_key_segment_encodes_exactly_as_quote_would(value: str) -> None:
    # plain keys skip `quote`; whatever it would change still goes through it
    assert key_segment("k", value) == "(k=" + quote(literal(value), safe="'()=,-._~") + ")"


def test_key_values_with_url_breaking_characters_are_refused_with_reason():
    for value in ("a/b", "a+b", "50%", "x:y", "a?b", "a\\b", "a&b", "a*b", "<a>"):
        assert "forbidden" in (key_problem(value) or ""), value
    assert key_problem("ABC-123") is None


def test_in_filter_lists_quoted_values():
    assert in_filter("k", ["a", "b'c"]) == "Microsoft.Dynamics.CRM.In(PropertyName='k',PropertyValues=['a','b''c'])"


def test_safe_name_replaces_forbidden_characters_and_keeps_extension():
    assert safe_name('re: "draft" <v2>?.pdf') == "re_ _draft_ _v2__.pdf"
    assert safe_name("../../etc/passwd") == "_._etc_passwd"
    assert safe_name("  report..final.docx  ") == "report.final.docx"
    assert safe_name("...") == "file"
    assert safe_name("a" * 300 + ".txt").endswith(".txt") and len(safe_name("a" * 300 + ".txt")) == 200


def test_safe_folder_drops_dot_segments():
    assert safe_folder("cases/../C-1/./docs:x") == "cases/C-1/docs_x"


class _AnsweringApi:
    """A Dataverse API whose `$batch` answers are given: the answers the strict emulator never gives."""

    def __init__(self, answers: list[list[PartResponse]]) -> None:
        self.answers = answers

    def url(self, path: str) -> str:
        return f"/api/data/v9.2/{path}"

    async def batch(self, groups: list) -> list[list[PartResponse]]:
        return self.answers


async def test_option_reads_in_one_batch_raise_a_refused_part_and_a_short_answer_as_errors() -> None:
    refused = PartResponse(404, {}, {"error": {"code": "0x80060888", "message": "no such table"}})
    with pytest.raises(RemoteRejected, match="no such table") as caught:
        await MetadataCache(_AnsweringApi([[refused]]))._options("cs_nothing", {"Picklist"})  # type: ignore[arg-type]
    assert caught.value.status == 404
    with pytest.raises(ConnectorError, match="2 metadata reads answered 1 parts"):
        await MetadataCache(_AnsweringApi([[PartResponse(200, {}, {"value": []})]]))._options(  # type: ignore[arg-type]
            "account", {"Picklist", "State"}
        )
