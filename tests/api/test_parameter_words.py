"""A query parameter of the wrong type is said in the API's words, not pydantic's: a page
that is not a whole number "must be a whole number" (it said "Input should be a valid
integer, unable to parse string as an integer"), and the answer still matches the served
OpenAPI document (`Api` checks every answer)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/alerts", "/activity"])
@pytest.mark.parametrize("page", ["abc", "1.5"])
def test_a_page_that_is_not_a_whole_number_says_so(api, path: str, page: str) -> None:
    refused = api.get(path, query={"page": page}, status=400).json()
    assert {"field": "page", "message": "must be a whole number"} in refused["errors"]
    assert "Input should be" not in str(refused)
