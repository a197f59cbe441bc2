"""Static evaluation of ARM template expressions: exact values for what can be known,
`Unresolved` (never a guess) for what cannot."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.sources.arm_expressions import MAX_COPY, Evaluator, Unresolved, is_expression

PARAMS = {"env": "Prod", "count": 3, "names": ["a", "b"], "cfg": {"Tier": "GeneralPurpose", "ha": {"mode": "SameZone"}},
          "secret": Unresolved("parameters('secret')")}
VARS = {"prefix": "[concat('odoo-', toLower(parameters('env')))]", "self": "[variables('self')]",
        "list": "[createArray(1, 2, 3)]"}


def ev(**extra_vars: Any) -> Evaluator:
    return Evaluator(dict(PARAMS), {**VARS, **extra_vars})


@pytest.mark.parametrize(("expression", "expected"), [
    ("[parameters('env')]", "Prod"),
    ("[parameters('ENV')]", "Prod"),  # names are case-insensitive
    ("[variables('prefix')]", "odoo-prod"),
    ("[concat(variables('prefix'), '-pg')]", "odoo-prod-pg"),
    ("[concat(createArray(1), createArray(2, 3))]", [1, 2, 3]),
    ("[format('{0}-{1}-{0}', 'a', 2)]", "a-2-a"),
    ("[if(equals(parameters('env'), 'Prod'), 'ZoneRedundant', 'Disabled')]", "ZoneRedundant"),
    ("[if(equals(parameters('env'), 'Dev'), reference('x').y, 'Disabled')]", "Disabled"),  # lazy branches
    ("[toLower('ABC')]", "abc"),
    ("[toUpper('abc')]", "ABC"),
    ("[union(createObject('a', 1, 'b', createObject('c', 2)), createObject('b', createObject('d', 3)))]",
     {"a": 1, "b": {"c": 2, "d": 3}}),
    ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
    ("[createObject('k', createArray('v'))]", {"k": ["v"]}),
    ("[parameters('cfg').tier]", "GeneralPurpose"),  # property access is case-insensitive
    ("[parameters('cfg')['ha'].mode]", "SameZone"),
    ("[parameters('names')[1]]", "b"),
    ("[resourceId('Microsoft.Storage/storageAccounts/blobServices', 'acct', 'default')]",
     "/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default"),
    ("[length(variables('list'))]", 3),
    ("[join(parameters('names'), ',')]", "a,b"),
    ("[tryGet(parameters('cfg'), 'ha', 'mode')]", "SameZone"),
    ("[tryGet(parameters('cfg'), 'missing')]", None),
    ("[coalesce(null(), 'x')]", "x"),
    ("[empty(createArray())]", True),
    ("[padLeft('7', 3, '0')]", "007"),
    ("[indexOf('abcabc', 'C')]", 2),
    ("[items(createObject('b', 2, 'a', 1))]", [{"key": "a", "value": 1}, {"key": "b", "value": 2}]),
    ("[string(createObject('a', true()))]", '{"a": true}'),
    ("[add(parameters('count'), 1)]", 4),
    # Lambdas, as Bicep compiles `map(xs, x => ...)` and friends.
    ("[map(parameters('names'), lambda('n', toUpper(lambdaVariables('n'))))]", ["A", "B"]),
    ("[map(parameters('names'), lambda('n', 'i', format('{0}{1}', lambdaVariables('n'), lambdaVariables('i'))))]",
     ["a0", "b1"]),
    ("[filter(createArray(3, 1, 2), lambda('x', greater(lambdaVariables('x'), 1)))]", [3, 2]),
    ("[reduce(createArray(3, 1, 2), 10, lambda('c', 'x', add(lambdaVariables('c'), lambdaVariables('x'))))]", 16),
    ("[sort(createArray(3, 1, 2), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]", [1, 2, 3]),
    ("[toObject(parameters('names'), lambda('n', lambdaVariables('n')), lambda('n', length(lambdaVariables('n'))))]",
     {"a": 1, "b": 1}),
    ("[mapValues(createObject('a', 1), lambda('v', add(lambdaVariables('v'), 1)))]", {"a": 2}),
])
def test_resolvable_expressions(expression: str, expected: Any) -> None:
    assert ev().evaluate(expression) == expected


@pytest.mark.parametrize("expression", [
    "[reference('pg').properties.fqdn]",
    "[resourceGroup().location]",
    "[uniqueString(resourceGroup().id)]",
    "[concat(parameters('secret'), '-x')]",  # an unknown argument makes the whole call unknown
    "[variables('self')]",  # a cycle
    "[variables('nope')]",
    "[copyIndex()]",  # outside a loop
    "[concat('a', ]",  # not an expression at all
    "[map(parameters('names'), lambda('n', reference(lambdaVariables('n')).id))]",  # unknown inside a lambda
    "[lambdaVariables('nowhere')]",
])
def test_unknowable_expressions_stay_unresolved(expression: str) -> None:
    assert ev().evaluate(expression) == Unresolved(expression)


def test_escaped_brackets_are_literal_text() -> None:
    assert is_expression("[[notAnExpression]") is False
    assert ev().resolve("[[notAnExpression]") == "[notAnExpression]"


def test_copy_scope_answers_named_and_unnamed_copy_index() -> None:
    e = ev()
    with e.copy_scope("disks", 2, resource_loop=True):
        assert (e.evaluate("[copyIndex()]"), e.evaluate("[copyIndex('disks', 1)]")) == (2, 3)
        with e.copy_scope("nics", 5):  # a property loop: named only
            assert (e.evaluate("[copyIndex()]"), e.evaluate("[copyIndex('nics')]")) == (2, 5)
    assert e.evaluate("[copyIndex()]") == Unresolved("[copyIndex()]")


def test_property_copy_expands_to_an_array() -> None:
    body = {"sku": "x", "copy": [{"name": "dataDisks", "count": "[parameters('count')]",
                                  "input": {"lun": "[copyIndex('dataDisks')]", "name": "[concat('d', "
                                                                                      "copyIndex('dataDisks', 1))]"}}]}
    assert ev().resolve(body) == {"sku": "x", "dataDisks": [{"lun": 0, "name": "d1"}, {"lun": 1, "name": "d2"},
                                                            {"lun": 2, "name": "d3"}]}


def test_property_copy_with_unknown_count_is_unresolved() -> None:
    body = {"copy": [{"name": "rules", "count": "[length(parameters('secret'))]", "input": {}}]}
    assert ev().resolve(body) == {"rules": Unresolved("[length(parameters('secret'))]")}


def test_variable_copy_loops_define_array_variables() -> None:
    e = ev(copy=[{"name": "subnets", "count": 2, "input": {"name": "[concat('snet-', copyIndex('subnets'))]"}}])
    assert e.evaluate("[variables('subnets')]") == [{"name": "snet-0"}, {"name": "snet-1"}]


def test_copy_count_is_capped_and_typed() -> None:
    e = ev()
    assert e.copy_count(100000) == MAX_COPY
    assert e.copy_count("[parameters('count')]") == 3
    assert e.copy_count("[parameters('secret')]") == Unresolved("[parameters('secret')]")
    assert e.copy_count("two") == Unresolved("two")
