import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def pprint_json(value: Any) -> str:
    """JSON indented for reading; the template escapes it."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
