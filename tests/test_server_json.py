"""server.json is valid for the MCP Registry and describes this package."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import tavus_mcp

ROOT = Path(__file__).parent.parent
SCHEMA = ROOT.parent / "shared" / "mcp-registry" / "server.schema.json"


def _server_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "server.json").read_text())
    return loaded


@pytest.mark.skipif(not SCHEMA.exists(), reason="the registry schema lives in ../shared beside the checkout")
def test_validates_against_the_registry_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(_server_json())
    ]
    assert errors == []


def test_versions_match_the_package() -> None:
    server = _server_json()
    assert server["version"] == tavus_mcp.__version__
    assert [package["version"] for package in server["packages"]] == [tavus_mcp.__version__]


def test_describes_the_pypi_package_over_stdio_with_a_secret_key() -> None:
    (package,) = _server_json()["packages"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert package["registryType"] == "pypi"
    assert package["identifier"] == pyproject["project"]["name"] == "mcp-server-tavus"
    assert package["transport"] == {"type": "stdio"}
    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert set(variables) == {
        "TAVUS_API_KEY",
        "TAVUS_API_BASE_URL",
        "TAVUS_DEFAULT_REPLICA_ID",
        "TAVUS_DEFAULT_PERSONA_ID",
        "TAVUS_TIMEOUT",
        "TAVUS_LOG_LEVEL",
    }
    assert variables["TAVUS_API_KEY"]["isSecret"] is True
    assert variables["TAVUS_API_KEY"]["isRequired"] is True
    assert [name for name, variable in variables.items() if variable.get("isSecret")] == ["TAVUS_API_KEY"]
