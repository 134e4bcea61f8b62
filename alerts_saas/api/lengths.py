"""The longest text each field of the API's bodies takes, as the OpenAPI document says it:
read from the form (or model) field that judges it, so the document and the refusal agree
and no number is typed twice. The framework's own bound (`schemas.Closed`) stays the
fallback for text nothing else limits."""

from __future__ import annotations

from typing import Annotated, Any

from django import forms
from pydantic import Field
from pydantic.json_schema import JsonDict

from alerts_saas.alerts.forms import AlertForm, DetailForm
from alerts_saas.ingest.models import IngestKey


def most(field: forms.Field) -> JsonDict:
    """The document's words for what `field` (a form's text field) takes at most."""
    assert isinstance(field, forms.CharField) and field.max_length is not None
    return {"maxLength": field.max_length}


def _alert(name: str) -> Any:
    return Field(json_schema_extra=most(AlertForm.base_fields[name]))


AlertName = Annotated[str, _alert("name")]
Description = Annotated[str, _alert("description")]
GroupAttribute = Annotated[str, _alert("group_attribute")]
App = Annotated[str, _alert("match_app")]
Source = Annotated[str, _alert("match_source")]
Message = Annotated[str, _alert("match_message")]
Attribute = Annotated[str, _alert("match_attribute")]
AttributeEquals = Annotated[str, _alert("match_attribute_value")]
Summary = Annotated[str, _alert("summary_template")]
EventSource = Annotated[str, _alert("source")]
Component = Annotated[str, _alert("component")]
Group = Annotated[str, _alert("group")]
EventClass = Annotated[str, _alert("event_class")]
# Custom details: each key's and each value's bound.
DETAILS: JsonDict = {
    "propertyNames": most(DetailForm.base_fields["key"]),
    "additionalProperties": {"type": "string", **most(DetailForm.base_fields["value"])},
}
KeyName = Annotated[str, Field(json_schema_extra={"maxLength": IngestKey.name.field.max_length})]
