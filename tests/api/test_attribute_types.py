"""Run attributes over the API: each type takes its own JSON type, refuses any other at
`attributes.<key>` naming what it takes, and never coerces (issue 22)."""

import pytest

from runs.models import AttributeType, Run
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/runs"
OPTIONS = ["Red", "Blue"]

# A value of each JSON type, for an attribute that does not take that type.
JSON_VALUES = {
    "string": "abc",
    "number": 5,
    "boolean": True,
    "null": None,
    "list": ["Red"],
    "object": {"Red": True},
}
# What each type takes, as (sent, answered): the answer is what the API sends back.
TAKES = {
    (AttributeType.TEXT, "string"): ("PO-4711", "PO-4711"),
    (AttributeType.NUMBER, "string"): ("5", "5"),
    (AttributeType.NUMBER, "number"): (4.50, "4.5"),
    (AttributeType.BOOLEAN, "boolean"): (False, False),
    (AttributeType.DATE, "string"): ("2030-01-31", "2030-01-31"),
    (AttributeType.SELECT, "string"): ("Red", "Red"),
    (AttributeType.MULTISELECT, "list"): (["Red", "Blue"], ["Red", "Blue"]),
    (AttributeType.USER, "string"): ("olga", "olga"),
}
# How a refusal names what the type takes.
NAMED = {
    AttributeType.TEXT: "text",
    AttributeType.NUMBER: "a number or its decimal text",
    AttributeType.BOOLEAN: "true or false",
    AttributeType.DATE: "a date as text (YYYY-MM-DD)",
    AttributeType.SELECT: "one of its options (text)",
    AttributeType.MULTISELECT: "a list of its options",
    AttributeType.USER: "a username (text)",
}


@pytest.fixture
def attribute(org):
    """Defines attribute "attr" of a type; a user "olga" for the user type to name."""
    factories.OperatorFactory(organisation=org, username="olga")

    def define(kind):
        return factories.RunAttributeDefinitionFactory(
            organisation=org, key="attr", label="Attr", type=kind, options=OPTIONS
        )

    return define


def refused_at_the_attribute(response, kind) -> str:
    assert response.status_code == 422, response.content
    (error,) = response.json()["errors"]
    assert (error["row"], error["field"]) == (0, "attributes.attr")
    assert error["message"].startswith(f"Attr is {NAMED[kind]}, not "), error["message"]
    assert not Run.objects.exists()
    return error["message"]


@pytest.mark.parametrize("json_type", JSON_VALUES)
@pytest.mark.parametrize("kind", AttributeType.values)
def test_each_attribute_type_takes_its_json_type_and_refuses_the_others(
    api, part, attribute, kind, json_type
):
    attribute(kind)
    sent, answered = TAKES.get((kind, json_type), (JSON_VALUES[json_type], None))

    response = api.post(URL, {"runs": [{"part": part.pk, "attributes": {"attr": sent}}]})

    if (kind, json_type) in TAKES:
        assert response.status_code == 201, response.json()
        assert response.json()["runs"][0]["attributes"] == {"attr": answered}
    elif json_type == "null":
        # Null is no value, for every type.
        assert response.status_code == 201, response.json()
        assert response.json()["runs"][0]["attributes"] == {}
    else:
        refused_at_the_attribute(response, kind)


@pytest.mark.parametrize(
    ("kind", "value", "given"),
    [
        (AttributeType.BOOLEAN, "abc", "text"),
        (AttributeType.BOOLEAN, "true", "text"),
        (AttributeType.BOOLEAN, 5, "a number"),
        (AttributeType.BOOLEAN, 0, "a number"),
        (AttributeType.BOOLEAN, [], "a list"),
        (AttributeType.BOOLEAN, "", "text"),
        (AttributeType.TEXT, ["a", "b"], "a list"),
        (AttributeType.TEXT, 12, "a number"),
        (AttributeType.MULTISELECT, 0, "a number"),
        (AttributeType.MULTISELECT, "Red", "text"),
        (AttributeType.MULTISELECT, ["Red", 1], "a list holding a number"),
        (AttributeType.NUMBER, {}, "an object"),
        (AttributeType.NUMBER, True, "true/false"),
        (AttributeType.DATE, 20300131, "a number"),
        (AttributeType.USER, ["olga"], "a list"),
        (AttributeType.USER, {"olga": 1}, "an object"),
        (AttributeType.SELECT, ["Red"], "a list"),
    ],
)
def test_values_are_never_coerced(api, part, attribute, kind, value, given):
    attribute(kind)
    response = api.post(URL, {"runs": [{"part": part.pk, "attributes": {"attr": value}}]})
    assert refused_at_the_attribute(response, kind).endswith(f", not {given}.")


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (AttributeType.NUMBER, "many", "Attr: Enter a number."),
        (AttributeType.DATE, "2030-02-30", "Attr: Enter a valid date."),
        (AttributeType.DATE, "31/01/2030", "Attr: give a date as YYYY-MM-DD."),
        (AttributeType.SELECT, "Green", "Attr: Select a valid choice."),
        (AttributeType.USER, "ghost", "Attr: not an active user of your organisation."),
        (AttributeType.TEXT, "x" * 501, "Attr: Ensure this value has at most 500 characters"),
    ],
)
def test_a_value_of_the_right_type_is_still_checked(api, part, attribute, kind, value, message):
    attribute(kind)
    response = api.post(URL, {"runs": [{"part": part.pk, "attributes": {"attr": value}}]})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "attributes.attr"
    assert error["message"].startswith(message), error["message"]


def test_an_unknown_attribute_is_named_at_its_key(api, part):
    response = api.post(URL, {"runs": [{"part": part.pk, "attributes": {"nope": 1}}]})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": 0, "field": "attributes.nope", "message": "There is no run attribute “nope”."}
    ]


def test_what_the_api_answers_it_accepts_back(api, org, part, attribute):
    """Numbers come back as exact decimal text (100 as "100", not "1E+2"), and that text is
    taken again: a client can copy one run's attributes onto the next."""
    attribute(AttributeType.NUMBER)
    for kind in AttributeType.values:
        factories.RunAttributeDefinitionFactory(organisation=org, key=f"a_{kind}", type=kind, options=OPTIONS)
    sent = {
        "attr": 100,
        "a_text": "PO-4711",
        "a_number": 0.125,
        "a_boolean": True,
        "a_date": "2030-01-31",
        "a_select": "Blue",
        "a_multiselect": ["Red"],
        "a_user": "olga",
    }
    created = api.post(URL, {"runs": [{"part": part.pk, "attributes": sent}]})
    assert created.status_code == 201, created.json()
    answered = api.get(created.json()["runs"][0]["links"]["self"]).json()["attributes"]
    assert answered == sent | {"attr": "100", "a_number": "0.125"}

    again = api.post(URL, {"runs": [{"part": part.pk, "attributes": answered}]})

    assert again.status_code == 201, again.json()
    assert again.json()["runs"][0]["attributes"] == answered
