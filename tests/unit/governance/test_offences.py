"""Offence catalogues: shipped ones load, lookups fail clearly, merging is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceledger.errors import ConfigError, InvalidInput
from faceledger.governance import (
    SeverityClass,
    extend_catalogue,
    load_catalogue,
    load_profile,
    shipped_catalogues,
    shipped_profiles,
)
from faceledger.governance.offences import parse_catalogue


@pytest.mark.parametrize("name", ["eu", "lab", "maryland", "massachusetts", "washington"])
def test_shipped_catalogue_loads(name: str) -> None:
    catalogue = load_catalogue(name)
    assert catalogue.name == name
    assert len(catalogue) >= 3
    assert all(isinstance(o.severity, SeverityClass) for o in catalogue)
    assert catalogue.to_dict()["offences"][0]["code"] == min(o.code for o in catalogue)


def test_every_profile_names_a_shipped_catalogue() -> None:
    names = {load_profile(p).request.offence_catalogue for p in shipped_profiles()}
    assert names == set(shipped_catalogues())


def test_lookup() -> None:
    catalogue = load_catalogue("massachusetts")
    assert catalogue.get("shoplifting").severity is SeverityClass.MISDEMEANOUR
    assert "murder" in catalogue and "jaywalking" not in catalogue
    with pytest.raises(InvalidInput) as caught:
        catalogue.get("jaywalking")
    assert caught.value.message == (
        "Offence code 'jaywalking' is not in the massachusetts offence catalogue."
    )
    assert caught.value.details == {"catalogue": "massachusetts", "code": "jaywalking"}


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "extra.yaml"
    path.write_text("name: extra\ntitle: Extra offences\n" + body, encoding="utf-8")
    return path


def test_extend_adds_codes(tmp_path: Path) -> None:
    extra = _write(
        tmp_path,
        "offences:\n"
        "  - {code: carjacking, name: Carjacking, severity: violent_felony}\n"
        "  - {code: murder, name: Murder, severity: violent_felony,\n"
        "     citation: 'M.G.L. c. 265 § 1'}\n",
    )
    base = load_catalogue("massachusetts")
    merged = extend_catalogue(base, extra)
    assert merged.name == "massachusetts"
    assert len(merged) == len(base) + 1
    assert merged.get("carjacking").severity is SeverityClass.VIOLENT_FELONY


def test_extend_rejects_a_conflicting_code(tmp_path: Path) -> None:
    extra = _write(tmp_path, "offences:\n  - {code: shoplifting, name: S, severity: felony}\n")
    with pytest.raises(
        ConfigError, match="Offence code 'shoplifting' in catalogue extra conflicts"
    ):
        extend_catalogue(load_catalogue("massachusetts"), extra)


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        pytest.param(
            "colour: red\noffences: []\n", "colour", "unknown key colour", id="unknown-key"
        ),
        pytest.param("offences: []\n", "offences", "non-empty list", id="empty-list"),
        pytest.param(
            "offences:\n  - {code: x, name: X, severity: heinous}\n",
            "offences[0].severity",
            "must be one of violent_felony, felony",
            id="unknown-severity",
        ),
        pytest.param(
            "offences:\n  - {code: x, name: X, severity: felony, fine: 10}\n",
            "offences[0].fine",
            "unknown key offences[0].fine",
            id="unknown-offence-key",
        ),
        pytest.param(
            "offences:\n  - {code: x, name: X, severity: felony}\n"
            "  - {code: x, name: Y, severity: felony}\n",
            "x",
            "code 'x' appears twice",
            id="duplicate-code",
        ),
        pytest.param(
            "offences:\n  - {code: 'Bad Code', name: X, severity: felony}\n",
            "offences[0].code",
            "must be a lower-case code",
            id="bad-code",
        ),
        pytest.param(
            "offences:\n  - {code: x, name: 7, severity: felony}\n",
            "offences[0].name",
            "must be a non-empty string, got 7",
            id="wrong-type",
        ),
    ],
)
def test_malformed_catalogue(tmp_path: Path, body: str, key: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_catalogue(path)
    assert message in caught.value.message
    assert str(path) in caught.value.message
    assert caught.value.details["key"] == key


def test_unknown_catalogue_name_and_bad_yaml() -> None:
    with pytest.raises(ConfigError, match="Unknown offence catalogue 'atlantis'"):
        load_catalogue("atlantis")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        parse_catalogue("offences: [", source="inline")
